"""The ICC colour profile: header fields, and its description through LittleCMS or our own tag walk.

A profile naming an editor's working space, or a display profile in a camera file, is a
hint about the file's path; the description is what an examiner recognises.
"""

from __future__ import annotations

import io
import struct
from typing import Any

from .values import short_error


def _icc_from_jpeg(segs: list[dict]) -> bytes | None:
    chunks = []
    for s in segs:
        p = s.get("payload", b"")
        if s.get("code") == 0xE2 and p.startswith(b"ICC_PROFILE\x00") and len(p) >= 14:
            chunks.append((p[12], p[14:]))
    if not chunks:
        return None
    return b"".join(c for _, c in sorted(chunks, key=lambda c: c[0]))


def _icc_desc_fallback(icc: bytes) -> str | None:
    if len(icc) < 132:
        return None
    count = struct.unpack(">I", icc[128:132])[0]
    for i in range(min(count, 256)):
        o = 132 + 12 * i
        if o + 12 > len(icc):
            break
        sig, off, size = struct.unpack(">4sII", icc[o:o + 12])
        if sig != b"desc":
            continue
        d = icc[off:off + size]
        if d[:4] == b"desc" and len(d) >= 12:
            n = struct.unpack(">I", d[8:12])[0]
            return d[12:12 + n].rstrip(b"\x00").decode("latin-1") or None
        if d[:4] == b"mluc" and len(d) >= 28:
            nrec, _ = struct.unpack(">II", d[8:16])
            if nrec:
                ln, lo = struct.unpack(">II", d[20:28])
                return d[lo:lo + ln].decode("utf-16-be", "replace").rstrip("\x00") or None
    return None


def icc_section(img, jpeg_segs: list[dict] | None) -> dict:
    sec: dict[str, Any] = {"present": False, "notes": []}
    icc = None
    if img is not None:
        icc = img.info.get("icc_profile")
    if not icc and jpeg_segs:
        icc = _icc_from_jpeg(jpeg_segs)
    if not icc:
        return sec
    icc = bytes(icc)
    sec.update(present=True, size_bytes=len(icc))
    if len(icc) >= 128:
        hdr = icc[:128]

        def sig(a: int) -> str:
            return hdr[a:a + 4].decode("latin-1").strip("\x00 ") or "?"

        sec["colour_space"] = sig(16)
        sec["pcs"] = sig(20)
        sec["device_class"] = {"mntr": "display", "scnr": "input", "prtr": "output", "link": "device link",
                               "spac": "colour space", "abst": "abstract", "nmcl": "named colour"}.get(
            hdr[12:16].decode("latin-1"), sig(12))
        sec["version"] = f"{hdr[8]}.{hdr[9] >> 4}"
        sec["creator"] = sig(80)
        declared = struct.unpack(">I", hdr[:4])[0]
        if declared != len(icc):
            sec["notes"].append(f"profile header says {declared} bytes, {len(icc)} present")
    else:
        sec["notes"].append("profile shorter than its 128-byte header")
    desc = None
    try:
        from PIL import ImageCms

        prof = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = (ImageCms.getProfileDescription(prof) or "").strip() or None
    except ImportError:
        pass
    except Exception as exc:
        sec["notes"].append(f"LittleCMS could not read the profile: {short_error(exc)}")
    if not desc:
        try:
            desc = _icc_desc_fallback(icc)
        except Exception as exc:
            sec["notes"].append(f"profile description unreadable: {short_error(exc)}")
    if desc:
        sec["description"] = desc
    return sec
