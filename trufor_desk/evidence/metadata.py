"""Metadata an examiner reads before trusting pixels: EXIF, XMP, ICC, JPEG structure, thumbnail.

Everything here is read from ``evidence.raw`` (the bytes that were hashed), never from the
file again, and nothing is written.  Metadata is hostile input: every section is best
effort and a malformed part becomes a note in its section, never an exception.  The
containers that matter most for forensics (JPEG markers, PNG chunks, the TIFF IFD that
holds the EXIF thumbnail) are parsed here directly with bounds checks, so truncated or
odd files still report what they do contain; Pillow supplies tag decoding and ICC names.

Facts worth an examiner's attention are collected in ``Metadata.warnings``.  They are
observations, not verdicts: a missing EXIF block or an editor's name in ``Software`` is
common in innocent files too.

JPEG quantisation tables are stored in natural (row-major 8x8) order.  The file stores
them in zigzag order; current Pillow (verified on 13.0; older releases returned zigzag
order) already returns ``img.quantization`` in natural order, since its DQT handler maps
through ``zigzag_index``.  We parse the DQT segments ourselves and undo the zigzag with
:data:`ZIGZAG`, so the result does not depend on the Pillow version; a mismatch with
Pillow's tables is recorded as a note, and a test checks both agree.

Thumbnail comparison thresholds (PSNR between the EXIF thumbnail and the main image
box-downscaled to the thumbnail's size, best of the 8 orientations):

* >= 25 dB: matches (camera thumbnails are small, heavily compressed and resampled
  differently, so typical genuine pairs land at 28-40 dB);
* 18-25 dB: partly matches (global adjustments, a large local edit, or a different
  resampling/crop);
* < 18 dB: differs (different content: the image was probably edited or replaced after
  the thumbnail was written, or the thumbnail was transplanted).

A small local edit usually does not show in a 160x120 thumbnail, so "matches" is no proof
of authenticity.
"""

from __future__ import annotations

import io
import math
import re
import struct
import warnings as _warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Metadata", "extract_metadata", "metadata_rows", "orientation_text", "estimate_ijg_quality",
           "ijg_table", "IJG_LUMINANCE", "IJG_CHROMINANCE", "ZIGZAG", "parse_jpeg_markers",
           "compare_thumbnail"]

# ---------------------------------------------------------------------------------------
# constants

ORIENTATION_MEANING = {
    1: "normal",
    2: "mirror horizontal",
    3: "rotate 180",
    4: "mirror vertical",
    5: "mirror horizontal and rotate 270 CW",
    6: "rotate 90 CW",
    7: "mirror horizontal and rotate 90 CW",
    8: "rotate 270 CW",
}

# JPEG standard (ITU-T T.81) Annex K, tables K.1 and K.2, natural (row-major) order.
IJG_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)
IJG_CHROMINANCE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
) + (99,) * 32


def _zigzag() -> tuple[int, ...]:
    """ZIGZAG[k] = natural (row-major) index of the k-th coefficient in zigzag order."""
    out = []
    for s in range(15):
        cells = [(r, s - r) for r in range(8) if 0 <= s - r < 8]
        cells.sort(key=lambda rc: rc[0], reverse=(s % 2 == 0))
        out.extend(r * 8 + c for r, c in cells)
    return tuple(out)


ZIGZAG = _zigzag()

_EDITORS = re.compile(
    r"photoshop|lightroom|gimp|affinity|paint\.net|pixelmator|snapseed|picsart|canva|capture one|"
    r"darktable|rawtherapee|luminar|facetune|photoscape|acdsee|corel|paintshop|fotor|krita|photopea|"
    r"meitu|faceapp|imagemagick|graphicsmagick|photoshop express|photo ?editor|fotoworks|airbrush|"
    r"photodirector|inpaint|remini|lensa|stable diffusion|midjourney|dall.?e|firefly",
    re.IGNORECASE)

THUMB_MATCH_DB = 25.0
THUMB_DIFFER_DB = 18.0
_MAX_XMP_REPORT = 256 * 1024      # characters of the XMP packet kept in to_dict()
_MAX_XMP_PARSE = 2 << 20          # characters of the XMP packet searched for fields
_MAX_TEXT_VALUE = 4096            # characters of one text value kept
_MAX_SEGMENTS_LISTED = 200
_MAX_THUMB_PIXELS = 16_000_000
_MAX_INFLATE = 4 << 20            # bytes a compressed PNG text chunk may expand to


def orientation_text(value: Any) -> str:
    """``6`` -> ``"6 = rotate 90 CW"`` (the EXIF meaning: how to turn stored pixels for display)."""
    try:
        v = int(value)
    except (TypeError, ValueError):
        return f"{value!r} (not a number)"
    return f"{v} = {ORIENTATION_MEANING.get(v, 'invalid value')}"


# ---------------------------------------------------------------------------------------
# result


@dataclass
class Metadata:
    """What the file says about itself.  Each section is a plain dict with a ``notes`` list."""

    file: dict = field(default_factory=dict)
    exif: dict = field(default_factory=dict)
    xmp: dict = field(default_factory=dict)
    icc: dict = field(default_factory=dict)
    jpeg: dict | None = None            # JPEG files only
    png: dict | None = None             # PNG files only (chunk list, text chunks)
    thumbnail: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    thumbnail_rgb: np.ndarray | None = field(default=None, repr=False)   # decoded EXIF thumbnail
    thumbnail_diff: np.ndarray | None = field(default=None, repr=False)  # |thumb - image| per pixel, float32

    def to_dict(self) -> dict:
        """JSON-ready (no NaN/inf, no bytes, no arrays): the thumbnail is reported by its size."""
        d = {"file": self.file, "exif": self.exif, "xmp": dict(self.xmp), "icc": self.icc, "jpeg": self.jpeg,
             "png": self.png, "thumbnail": self.thumbnail, "warnings": list(self.warnings)}
        packet = d["xmp"].get("packet")
        if isinstance(packet, str) and len(packet) > _MAX_XMP_REPORT:
            d["xmp"]["packet"] = packet[:_MAX_XMP_REPORT]
            d["xmp"]["packet_truncated_in_report"] = True
        return _jsonable(d)

    @classmethod
    def from_dict(cls, d: dict) -> Metadata:
        """Rebuild from :meth:`to_dict` output (pixels of the thumbnail are not kept there)."""
        return cls(file=dict(d.get("file") or {}), exif=dict(d.get("exif") or {}), xmp=dict(d.get("xmp") or {}),
                   icc=dict(d.get("icc") or {}), jpeg=d.get("jpeg"), png=d.get("png"),
                   thumbnail=dict(d.get("thumbnail") or {}), warnings=list(d.get("warnings") or []))


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (bool, type(None), str)):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else str(f)
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, (bytes, bytearray)):
        return _fmt_bytes(bytes(v))
    return str(v)


def _short(msg: BaseException) -> str:
    s = str(msg).splitlines()[0] if str(msg) else ""
    s = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", " (embedded data)", s)
    return f"{type(msg).__name__}: {s}" if s else type(msg).__name__


# ---------------------------------------------------------------------------------------
# value formatting


def _fmt_bytes(b: bytes, limit: int = 32) -> str:
    """Printable text if it is text, else ``0x0102... (N bytes)``."""
    stripped = b.rstrip(b"\x00")
    if stripped and len(stripped) <= _MAX_TEXT_VALUE and all(32 <= c < 127 or c in (9, 10, 13) for c in stripped):
        return stripped.decode("ascii")
    head = b[:limit].hex()
    return f"0x{head}{'...' if len(b) > limit else ''} ({len(b)} byte{'s' if len(b) != 1 else ''})"


def _fmt_value(v: Any, tag_name: str = "") -> Any:
    if tag_name == "UserComment" and isinstance(v, (bytes, bytearray)) and len(v) >= 8:
        code, body = bytes(v[:8]), bytes(v[8:])
        if code.startswith(b"ASCII"):
            return body.rstrip(b"\x00 ").decode("ascii", "replace")
        if code.startswith(b"UNICODE"):
            for enc in ("utf-16-be", "utf-16-le"):
                try:
                    return body.decode(enc).rstrip("\x00 ")
                except UnicodeDecodeError:
                    continue
        if not body.strip(b"\x00 "):
            return ""
    if tag_name == "MakerNote" and isinstance(v, (bytes, bytearray)):
        return f"<maker note, {len(v)} bytes> " + _fmt_bytes(bytes(v[:16]), 16)
    if isinstance(v, (bytes, bytearray)):
        if tag_name.endswith("VersionID") and 1 < len(v) <= 8:
            return ".".join(str(c) for c in v)
        if len(v) == 1:
            return v[0]
        return _fmt_bytes(bytes(v))
    if isinstance(v, str):
        v = v.replace("\x00", "").strip()
        return v if len(v) <= _MAX_TEXT_VALUE else v[:_MAX_TEXT_VALUE] + "..."
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if hasattr(v, "numerator") and hasattr(v, "denominator"):   # IFDRational, Fraction
        num, den = v.numerator, v.denominator
        try:
            if den == 0:
                return f"{num}/0"
            return round(float(num) / float(den), 8)
        except (TypeError, ValueError, OverflowError):
            return str(v)
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (tuple, list)):
        items = [_fmt_value(x) for x in v[:64]]
        if len(v) > 64:
            items.append(f"... ({len(v)} values)")
        return items
    if isinstance(v, dict):
        return {str(k): _fmt_value(x) for k, x in list(v.items())[:64]}
    return str(v)


def _as_float(v: Any) -> float | None:
    try:
        if hasattr(v, "numerator") and hasattr(v, "denominator"):
            return float(v.numerator) / float(v.denominator) if v.denominator else None
        f = float(v)
        return f if math.isfinite(f) else None
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray)):
        v = bytes(v).rstrip(b"\x00").decode("latin-1")
    s = str(v).replace("\x00", "").strip()
    return s or None


# ---------------------------------------------------------------------------------------
# JPEG container


_MARKER_NAMES = {0xC4: "DHT", 0xC8: "JPG", 0xCC: "DAC", 0xD8: "SOI", 0xD9: "EOI", 0xDA: "SOS", 0xDB: "DQT",
                 0xDC: "DNL", 0xDD: "DRI", 0xDE: "DHP", 0xDF: "EXP", 0xFE: "COM", 0x01: "TEM"}
_SOF_KIND = {0xC0: "baseline", 0xC1: "extended sequential", 0xC2: "progressive", 0xC3: "lossless",
             0xC5: "differential sequential", 0xC6: "differential progressive", 0xC7: "differential lossless",
             0xC9: "extended sequential, arithmetic", 0xCA: "progressive, arithmetic",
             0xCB: "lossless, arithmetic", 0xCD: "differential sequential, arithmetic",
             0xCE: "differential progressive, arithmetic", 0xCF: "differential lossless, arithmetic"}


def _marker_name(m: int) -> str:
    if m in _SOF_KIND:
        return f"SOF{m - 0xC0}"
    if 0xE0 <= m <= 0xEF:
        return f"APP{m - 0xE0}"
    if 0xD0 <= m <= 0xD7:
        return f"RST{m - 0xD0}"
    if 0xF0 <= m <= 0xFD:
        return f"JPG{m - 0xF0}"
    return _MARKER_NAMES.get(m, f"0xFF{m:02X}")


def _app_kind(m: int, payload: bytes) -> str:
    p = payload
    if m == 0xE0:
        if p.startswith(b"JFIF\x00"):
            return "JFIF" + (f" {p[5]}.{p[6]:02d}" if len(p) >= 7 else "")
        if p.startswith(b"JFXX\x00"):
            return "JFIF extension (JFXX thumbnail)"
        if p.startswith(b"AVI1"):
            return "AVI1 (motion JPEG)"
    if m == 0xE1:
        if p.startswith(b"Exif\x00"):
            return "Exif"
        if p.startswith(b"http://ns.adobe.com/xap/1.0/\x00"):
            return "XMP"
        if p.startswith(b"http://ns.adobe.com/xmp/extension/\x00"):
            return "Extended XMP"
    if m == 0xE2:
        if p.startswith(b"ICC_PROFILE\x00"):
            return f"ICC profile chunk {p[12]}/{p[13]}" if len(p) >= 14 else "ICC profile"
        if p.startswith(b"MPF\x00"):
            return "MPF (multi-picture format)"
        if p.startswith(b"FPXR"):
            return "FlashPix"
    if m == 0xEC and p.startswith(b"Ducky"):
        return "Ducky (Photoshop Save for Web)"
    if m == 0xED and p.startswith(b"Photoshop 3.0\x00"):
        return "Photoshop IRB"
    if m == 0xEE and p.startswith(b"Adobe"):
        return "Adobe" + (f" (transform {p[11]})" if len(p) >= 12 else "")
    ident = p[:16].split(b"\x00", 1)[0]
    if ident and all(32 <= c < 127 for c in ident):
        return ident.decode("ascii")
    return "unknown"


def _skip_entropy(raw: bytes, pos: int) -> int:
    """Offset of the next real marker after entropy-coded data, or len(raw) if none."""
    n = len(raw)
    while True:
        i = raw.find(b"\xff", pos)
        if i < 0 or i + 1 >= n:
            return n
        b = raw[i + 1]
        if b == 0x00 or 0xD0 <= b <= 0xD7:
            pos = i + 2
        elif b == 0xFF:
            pos = i + 1
        else:
            return i


def parse_jpeg_markers(raw: bytes) -> dict:
    """Walk the JPEG marker structure of ``raw``; never raises, truncation becomes a note.

    Returns ``segments`` (marker, offset, length, kind, and ``payload`` bytes for the
    segments we read later: kept out of :meth:`Metadata.to_dict`), ``eoi_offset`` and ``notes``.
    """
    segs: list[dict] = []
    notes: list[str] = []
    n = len(raw)
    if raw[:2] != b"\xff\xd8":
        return {"segments": segs, "eoi_offset": None, "notes": ["no JPEG start-of-image marker"]}
    segs.append({"marker": "SOI", "offset": 0, "length": 2})
    pos, eoi = 2, None
    while pos < n:
        if raw[pos] != 0xFF:
            nxt = raw.find(b"\xff", pos)
            notes.append(f"{(nxt if nxt >= 0 else n) - pos} unexpected bytes at offset {pos}")
            if nxt < 0:
                break
            pos = nxt
            continue
        while pos < n and raw[pos] == 0xFF:
            pos += 1
        if pos >= n:
            notes.append("file ends inside a marker")
            break
        m, start = raw[pos], pos - 1
        pos += 1
        if m == 0x00:
            notes.append(f"stray 0xFF00 at offset {start}")
            continue
        if m == 0xD9:
            segs.append({"marker": "EOI", "offset": start, "length": 2})
            eoi = start
            break
        if m == 0xD8 or m == 0x01 or 0xD0 <= m <= 0xD7:
            segs.append({"marker": _marker_name(m), "offset": start, "length": 2})
            continue
        if pos + 2 > n:
            notes.append(f"file truncated in the {_marker_name(m)} marker at offset {start}")
            break
        length = struct.unpack(">H", raw[pos:pos + 2])[0]
        if length < 2:
            notes.append(f"invalid length {length} in {_marker_name(m)} at offset {start}; parsing stopped")
            break
        payload = raw[pos + 2:pos + length]
        seg = {"marker": _marker_name(m), "code": m, "offset": start, "length": length + 2, "payload": payload}
        if 0xE0 <= m <= 0xEF:
            seg["kind"] = _app_kind(m, payload)
        segs.append(seg)
        if pos + length > n:
            notes.append(f"file truncated inside {seg['marker']} at offset {start} "
                         f"({pos + length - n} bytes missing)")
            break
        pos += length
        if m == 0xDA:
            pos = _skip_entropy(raw, pos)
            if pos >= n:
                notes.append("file ends inside entropy-coded data (no end-of-image marker): truncated")
    if eoi is None and not any("truncated" in s or "ends inside" in s for s in notes):
        notes.append("no end-of-image marker")
    return {"segments": segs, "eoi_offset": eoi, "notes": notes}


def _parse_dqt(payload: bytes, tables: dict, notes: list[str]) -> None:
    p = 0
    while p < len(payload):
        pq, tq = payload[p] >> 4, payload[p] & 15
        size = 64 * (2 if pq else 1)
        body = payload[p + 1:p + 1 + size]
        if len(body) < size:
            notes.append(f"quantisation table {tq} is truncated")
            return
        zz = (struct.unpack(">64H", body) if pq else tuple(body))
        natural = [0] * 64
        for k, v in enumerate(zz):
            natural[ZIGZAG[k]] = int(v)
        tables[tq] = {"precision_bits": 16 if pq else 8, "values": natural}
        p += 1 + size


def _parse_sof(code: int, payload: bytes) -> dict:
    if len(payload) < 6:
        raise ValueError("SOF segment too short")
    prec, h, w, nc = payload[0], *struct.unpack(">HH", payload[1:5]), payload[5]
    comps = []
    for i in range(nc):
        c = payload[6 + 3 * i:9 + 3 * i]
        if len(c) < 3:
            raise ValueError("SOF component list truncated")
        comps.append({"id": c[0], "h": c[1] >> 4, "v": c[1] & 15, "table": c[2]})
    return {"marker": _marker_name(code), "coding": _SOF_KIND.get(code, "unknown"), "precision": prec,
            "width": w, "height": h, "components": comps}


def _subsampling(comps: list[dict]) -> str:
    if len(comps) == 1:
        return "greyscale (no chroma)"
    if len(comps) != 3:
        return f"{len(comps)} components: " + ", ".join(f"{c['h']}x{c['v']}" for c in comps)
    (yh, yv), (bh, bv), (rh, rv) = [(c["h"], c["v"]) for c in comps]
    if (bh, bv) != (rh, rv) or bh == 0 or bv == 0:
        return "unusual: " + ", ".join(f"{c['h']}x{c['v']}" for c in comps)
    ratio = (yh / bh, yv / bv)
    name = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0", (4, 1): "4:1:1",
            (4, 2): "4:1:0"}.get(ratio, "unusual")
    return f"{name} (Y {yh}x{yv}, Cb {bh}x{bv}, Cr {rh}x{rv})"


def ijg_table(base: tuple[int, ...] | list[int], quality: int) -> list[int]:
    """The table libjpeg's ``jpeg_set_quality(quality, force_baseline=TRUE)`` writes."""
    q = min(max(int(quality), 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return [min(max((b * scale + 50) // 100, 1), 255) for b in base]


def estimate_ijg_quality(values: list[int], base: tuple[int, ...] | list[int]) -> dict:
    """Closest IJG quality for one natural-order table; ``standard`` if it is exactly that table."""
    t = np.asarray(values, np.int64)
    best = None
    for q in range(100, 0, -1):
        ref = np.asarray(ijg_table(base, q), np.int64)
        diff = np.abs(t - ref)
        key = (int(diff.sum()), -q)
        if best is None or key < best[0]:
            best = (key, q, int(diff.max()), float(diff.mean()))
    (total, _), q, dmax, dmean = best
    standard = total == 0
    text = (f"standard IJG table at quality {q}" if standard
            else f"non-standard (closest Q\u2248{q}, max deviation {dmax})")
    return {"quality": q, "standard": standard, "max_deviation": dmax, "mean_deviation": round(dmean, 3),
            "text": text}


def _jpeg_section(raw: bytes, parsed: dict) -> dict:
    notes = list(parsed["notes"])
    segs = parsed["segments"]
    tables: dict[int, dict] = {}
    sof = None
    comments: list[str] = []
    for s in segs:
        code = s.get("code")
        try:
            if code == 0xDB:
                _parse_dqt(s["payload"], tables, notes)
            elif code in _SOF_KIND and sof is None:
                sof = _parse_sof(code, s["payload"])
            elif code == 0xFE:
                comments.append(_fmt_value(s["payload"].rstrip(b"\x00").decode("utf-8", "replace")))
        except Exception as exc:  # one bad segment must not hide the others
            notes.append(f"{s['marker']} at offset {s['offset']}: {_short(exc)}")

    sec: dict[str, Any] = {"notes": notes}
    if sof:
        sec["coding"] = sof["coding"]
        sec["progressive"] = "progressive" in sof["coding"]
        sec["sof"] = sof["marker"]
        sec["precision_bits"] = sof["precision"]
        sec["frame_size"] = [sof["width"], sof["height"]]
        sec["components"] = sof["components"]
        sec["subsampling"] = _subsampling(sof["components"])
    else:
        notes.append("no start-of-frame marker found")

    # table roles: the table used by the first component is luminance, the others chrominance
    roles: dict[int, str] = {}
    if sof:
        for i, c in enumerate(sof["components"]):
            roles.setdefault(c["table"], "luminance" if i == 0 else "chrominance")
    qt = {}
    for tid in sorted(tables):
        role = roles.get(tid, "luminance" if tid == 0 else "chrominance")
        base = IJG_LUMINANCE if role == "luminance" else IJG_CHROMINANCE
        est = estimate_ijg_quality(tables[tid]["values"], base)
        vals = tables[tid]["values"]
        qt[str(tid)] = {"role": role, "precision_bits": tables[tid]["precision_bits"],
                        "table": [vals[r * 8:(r + 1) * 8] for r in range(8)], "ijg": est}
    sec["quantization"] = qt
    used = [qt[k] for k in qt if (not roles) or int(k) in roles]
    if used:
        qs = {t["ijg"]["quality"] for t in used}
        if all(t["ijg"]["standard"] for t in used) and len(qs) == 1:
            q = qs.pop()
            sec["quality_estimate"] = q
            sec["standard_tables"] = True
            sec["quality_text"] = f"standard IJG tables, quality {q}"
        else:
            lum = next((t for t in used if t["role"] == "luminance"), used[0])
            sec["quality_estimate"] = lum["ijg"]["quality"]
            sec["standard_tables"] = False
            sec["quality_text"] = (f"non-standard tables (closest IJG Q\u2248{lum['ijg']['quality']}, "
                                   f"max deviation {max(t['ijg']['max_deviation'] for t in used)})")

    listed = []
    for s in segs[:_MAX_SEGMENTS_LISTED]:
        e = {"marker": s["marker"], "offset": s["offset"], "length": s["length"]}
        if "kind" in s:
            e["kind"] = s["kind"]
        listed.append(e)
    sec["segments"] = listed
    if len(segs) > _MAX_SEGMENTS_LISTED:
        notes.append(f"{len(segs)} segments, only the first {_MAX_SEGMENTS_LISTED} listed")
    sec["markers"] = [s["marker"] + (f" {s['kind']}" if "kind" in s else "") for s in segs
                      if s["marker"] not in ("SOI", "EOI") and not s["marker"].startswith("RST")]
    sec["app_segments"] = sum(1 for s in segs if s["marker"].startswith("APP"))
    sec["scans"] = sum(1 for s in segs if s["marker"] == "SOS")
    sec["comments"] = comments
    eoi = parsed["eoi_offset"]
    sec["trailing_bytes"] = len(raw) - (eoi + 2) if eoi is not None else 0
    if eoi is not None and sec["trailing_bytes"]:
        tail = raw[eoi + 2:]
        sec["trailing_contains_jpeg"] = b"\xff\xd8\xff" in tail
    return sec


def _exif_tiff_from_jpeg(segs: list[dict]) -> bytes | None:
    for s in segs:
        if s.get("code") == 0xE1 and s["payload"].startswith(b"Exif\x00"):
            p = s["payload"]
            return p[6:] if p[5:6] == b"\x00" else p[5:]
    return None


def _strip_exif_header(b: bytes | None) -> bytes | None:
    if not b:
        return None
    if b.startswith(b"Exif\x00\x00"):
        return b[6:]
    if b.startswith(b"Exif\x00"):
        return b[5:]
    return b


# ---------------------------------------------------------------------------------------
# PNG container


def _parse_png(raw: bytes) -> dict:
    notes: list[str] = []
    chunks: list[dict] = []
    text: dict[str, str] = {}
    xmp = None
    pos = 8
    n = len(raw)
    end = None
    while pos + 8 <= n:
        length, ctype = struct.unpack(">I4s", raw[pos:pos + 8])
        name = ctype.decode("latin-1")
        data = raw[pos + 8:pos + 8 + length]
        if len(data) < length:
            notes.append(f"file truncated inside the {name} chunk at offset {pos}")
            chunks.append({"chunk": name, "offset": pos, "length": length})
            break
        crc = raw[pos + 8 + length:pos + 12 + length]
        if len(crc) == 4 and zlib.crc32(ctype + data) != struct.unpack(">I", crc)[0]:
            notes.append(f"{name} chunk at offset {pos} has a bad CRC")
        if chunks and chunks[-1]["chunk"] == name == "IDAT":
            chunks[-1]["count"] = chunks[-1].get("count", 1) + 1
            chunks[-1]["length"] += length
        else:
            chunks.append({"chunk": name, "offset": pos, "length": length})
        try:
            if name in ("tEXt", "zTXt", "iTXt"):
                key, val = _png_text(name, data)
                if key == "XML:com.adobe.xmp" and xmp is None:
                    xmp = val
                else:
                    text[key] = _fmt_value(val)
        except Exception as exc:
            notes.append(f"{name} chunk at offset {pos}: {_short(exc)}")
        pos += 12 + length
        if name == "IEND":
            end = pos
            break
    if end is None:
        notes.append("no IEND chunk: truncated or damaged")
    trailing = n - end if end is not None else 0
    return {"chunks": chunks, "text": text, "trailing_bytes": trailing, "notes": notes, "_xmp": xmp}


def _inflate(data: bytes) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, _MAX_INFLATE)
    if d.unconsumed_tail:
        raise ValueError(f"compressed text expands beyond {_MAX_INFLATE} bytes; not decompressed")
    return out


def _png_text(name: str, data: bytes) -> tuple[str, str]:
    key, _, rest = data.partition(b"\x00")
    k = key.decode("latin-1")
    if name == "tEXt":
        return k, rest.decode("latin-1")
    if name == "zTXt":
        return k, _inflate(rest[1:]).decode("latin-1")
    comp_flag = rest[0] if rest else 0
    rest = rest[2:]
    _lang, _, rest = rest.partition(b"\x00")
    _tkey, _, body = rest.partition(b"\x00")
    if comp_flag:
        body = _inflate(body)
    return k, body.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------
# TIFF IFD1 (EXIF thumbnail)


def _ifd1_thumbnail(tiff: bytes) -> tuple[bytes | None, dict]:
    """JPEG bytes of the IFD1 thumbnail of an EXIF TIFF block; raises ValueError when malformed."""
    if tiff[:2] == b"II":
        e = "<"
    elif tiff[:2] == b"MM":
        e = ">"
    else:
        raise ValueError("EXIF block has no TIFF byte-order mark")
    n = len(tiff)

    def u16(o: int) -> int:
        if o < 0 or o + 2 > n:
            raise ValueError(f"EXIF offset {o} outside the block ({n} bytes)")
        return struct.unpack(e + "H", tiff[o:o + 2])[0]

    def u32(o: int) -> int:
        if o < 0 or o + 4 > n:
            raise ValueError(f"EXIF offset {o} outside the block ({n} bytes)")
        return struct.unpack(e + "I", tiff[o:o + 4])[0]

    if u16(2) != 42:
        raise ValueError("EXIF TIFF header has a wrong magic number")
    ifd0 = u32(4)
    next_ifd = u32(ifd0 + 2 + 12 * u16(ifd0))
    if next_ifd == 0:
        return None, {}
    tags: dict[int, int] = {}
    for i in range(min(u16(next_ifd), 512)):
        o = next_ifd + 2 + 12 * i
        tag, typ = u16(o), u16(o + 2)
        if typ == 3:
            tags[tag] = u16(o + 8)
        elif typ == 4:
            tags[tag] = u32(o + 8)
    info = {"compression": tags.get(0x0103), "width_tag": tags.get(0x0100), "height_tag": tags.get(0x0101)}
    off, length = tags.get(0x0201), tags.get(0x0202)
    if off is None or length is None:
        if tags.get(0x0103) == 1 or 0x0111 in tags:
            info["uncompressed"] = True
        return None, info
    info["offset"], info["length"] = off, length
    if off + length > n:
        info["truncated"] = True
    return tiff[off:off + length], info


_ORIENT_TRANSFORMS = [  # (name, function on HxWxC array), the 8 symmetries of the rectangle
    ("as stored", lambda a: a),
    ("mirrored", lambda a: a[:, ::-1]),
    ("rotated 180", lambda a: a[::-1, ::-1]),
    ("flipped vertically", lambda a: a[::-1]),
    ("transposed", lambda a: a.transpose(1, 0, 2)),
    ("rotated 90 CW", lambda a: np.rot90(a, -1)),
    ("transversed", lambda a: np.rot90(a, 2).transpose(1, 0, 2)),
    ("rotated 90 CCW", lambda a: np.rot90(a, 1)),
]
# the transform that EXIF orientation N asks for (stored -> display), in the names above
_DISPLAY_TRANSFORM = {1: "as stored", 2: "mirrored", 3: "rotated 180", 4: "flipped vertically", 5: "transposed",
                      6: "rotated 90 CW", 7: "transversed", 8: "rotated 90 CCW"}


def _black_bars(t: np.ndarray, level: float = 16.0) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) rows/cols of near-black letterboxing around a thumbnail."""
    g = t.astype(np.float32).max(axis=2)
    rows, cols = g.mean(axis=1), g.mean(axis=0)
    rmax, cmax = g.max(axis=1), g.max(axis=0)
    dark_r = (rows < level) & (rmax < 3 * level)
    dark_c = (cols < level) & (cmax < 3 * level)

    def run(mask: np.ndarray) -> int:
        k = 0
        while k < len(mask) and mask[k]:
            k += 1
        return k

    top, bottom = run(dark_r), run(dark_r[::-1])
    left, right = run(dark_c), run(dark_c[::-1])
    h, w = g.shape
    if top + bottom >= h // 2:
        top = bottom = 0
    if left + right >= w // 2:
        left = right = 0
    return top, bottom, left, right


def _psnr_mad(a: np.ndarray, b: np.ndarray) -> tuple[float, float, np.ndarray]:
    d = np.abs(a.astype(np.float32) - b.astype(np.float32))
    mse = float((d ** 2).mean())
    psnr = 99.0 if mse <= 1e-10 else min(99.0, 10 * math.log10(255.0 ** 2 / mse))
    return round(psnr, 2), round(float(d.mean()), 2), d.mean(axis=2)


def _centre_crop(a: np.ndarray, aspect: float) -> np.ndarray:
    h, w = a.shape[:2]
    if w / h > aspect:
        nw = max(1, round(h * aspect))
        x0 = (w - nw) // 2
        return a[:, x0:x0 + nw]
    nh = max(1, round(w / aspect))
    y0 = (h - nh) // 2
    return a[y0:y0 + nh]


def compare_thumbnail(image_rgb: np.ndarray, thumb_rgb: np.ndarray, orientation: int | None = None) -> dict:
    """Compare an EXIF thumbnail with the main image box-downscaled to its size.

    All 8 orientations of the image are tried (some software stores the thumbnail already
    turned for display), black letterbox bars around the thumbnail are removed when that
    brings its aspect closer to the image's, and when the aspects differ the centre crop of
    the image is tried too (some cameras crop rather than letterbox).  The stored orientation
    is preferred unless another one matches clearly better.  Returns a dict (PSNR, MAD,
    aspect, verdict, status in {"match", "partial", "differs"}) and, under ``_diff``, the
    per-pixel mean absolute difference (float32, thumbnail-sized) of the comparison used.
    """
    from PIL import Image

    th, tw = thumb_rgb.shape[:2]
    bars = _black_bars(thumb_rgb)
    variants = [(thumb_rgb, (0, 0, 0, 0))]
    if any(bars):
        t, b, l_, r = bars
        variants.append((thumb_rgb[t:th - b, l_:tw - r], bars))
    ih, iw = image_rgb.shape[:2]
    # reduce the big image once (box filter) to a few times the thumbnail; the 8 transforms are then cheap
    base = Image.fromarray(np.ascontiguousarray(image_rgb))
    factor = max(1, min(ih, iw) // (4 * max(th, tw, 1)))
    if factor > 1:
        base = base.reduce(factor)
    base_arr = np.asarray(base)
    results = []
    for name, fn in _ORIENT_TRANSFORMS:
        arr = fn(base_arr)
        swapped = name in ("transposed", "rotated 90 CW", "transversed", "rotated 90 CCW")
        img_aspect = (ih / iw) if swapped else (iw / ih)
        # the thumbnail variant (with or without letterbox) whose aspect is closest to this orientation
        t, vbars = min(variants, key=lambda v: abs(math.log((v[0].shape[1] / v[0].shape[0]) / img_aspect)))
        t_aspect = t.shape[1] / t.shape[0]
        aspect_match = abs(t_aspect / img_aspect - 1) < 0.05
        size = (t.shape[1], t.shape[0])
        small = np.asarray(Image.fromarray(np.ascontiguousarray(arr)).resize(size, Image.Resampling.BOX))
        psnr, mad, diff = _psnr_mad(small, t)
        crop = False
        if not aspect_match:
            cc = _centre_crop(arr, t_aspect)
            small_c = np.asarray(Image.fromarray(np.ascontiguousarray(cc)).resize(size, Image.Resampling.BOX))
            psnr_c, mad_c, diff_c = _psnr_mad(small_c, t)
            if psnr_c > psnr + 3:
                psnr, mad, diff, crop = psnr_c, mad_c, diff_c, True
        results.append({"orientation": name, "psnr_db": psnr, "mad": mad, "aspect_match": aspect_match,
                        "thumbnail_aspect": round(t_aspect, 4), "image_aspect": round(img_aspect, 4),
                        "letterbox": list(vbars) if any(vbars) else None, "centre_crop": crop, "_diff": diff})
    same = results[0]
    best = max(results, key=lambda r: r["psnr_db"])
    # another orientation only counts when it genuinely matches, not when it is marginally less bad
    use = best if best["psnr_db"] >= THUMB_DIFFER_DB and best["psnr_db"] > same["psnr_db"] + 3 else same
    out = {k: use[k] for k in ("orientation", "psnr_db", "mad", "aspect_match", "thumbnail_aspect", "image_aspect",
                               "letterbox", "centre_crop")}
    out["as_stored_psnr_db"] = same["psnr_db"]
    out["best_orientation"], out["best_psnr_db"] = best["orientation"], best["psnr_db"]
    out["per_orientation"] = {r["orientation"]: r["psnr_db"] for r in results}
    psnr = use["psnr_db"]
    where = "" if use is same else f" when the image is {use['orientation']}"
    if use is not same and orientation and _DISPLAY_TRANSFORM.get(int(orientation)) == use["orientation"]:
        where += " (the display orientation of the EXIF Orientation tag)"
    what = "the centre of the image" if use["centre_crop"] else "the image"
    if psnr >= THUMB_MATCH_DB:
        verdict, status = f"thumbnail matches {what} (PSNR {psnr:.0f} dB{where})", "match"
    elif psnr >= THUMB_DIFFER_DB:
        verdict, status = (f"thumbnail partly matches {what} (PSNR {psnr:.0f} dB{where}): colour/tone changes, "
                           "a large local edit, a crop or a different resampling"), "partial"
    else:
        verdict, status = (f"thumbnail differs from the image (PSNR {psnr:.0f} dB{where}): the image may have been "
                           "edited or replaced after the thumbnail was written"), "differs"
    if use["centre_crop"] and status == "match":
        verdict += "; the thumbnail was cropped to its own aspect ratio (some cameras do this)"
    elif not use["aspect_match"]:
        verdict += (f"; aspect ratios differ (thumbnail {use['thumbnail_aspect']:.3f}, image "
                    f"{use['image_aspect']:.3f}): the image may have been cropped")
    out["status"] = status
    out["verdict"] = verdict
    out["_diff"] = use["_diff"]
    return out


# ---------------------------------------------------------------------------------------
# sections


def _exif_section(img, block: bytes | None) -> tuple[dict, dict]:
    """Returns (section, raw numeric mapping {ifd: {tag: value}}) for the summary/warnings."""
    from PIL import ExifTags

    sec: dict[str, Any] = {"present": False, "tags": {}, "summary": {}, "notes": []}
    notes = sec["notes"]
    raw_ifds: dict[str, dict] = {"0": {}, "exif": {}, "gps": {}}
    try:
        ex = img.getexif()
    except Exception as exc:
        notes.append(f"EXIF block could not be read: {_short(exc)}")
        return sec, raw_ifds
    tags: dict[str, Any] = sec["tags"]

    def put(name: str, value: Any, prefix: str) -> None:
        key = name if name not in tags else f"{prefix}.{name}"
        tags[key] = _fmt_value(value, name)

    pointers = {0x8769, 0x8825, 0xA005}
    try:
        for t, v in ex.items():
            raw_ifds["0"][t] = v
            if t not in pointers:
                put(ExifTags.TAGS.get(t, f"Tag0x{t:04X}"), v, "IFD0")
    except Exception as exc:
        notes.append(f"IFD0: {_short(exc)}")
    interop_names = {1: "InteropIndex", 2: "InteropVersion", 0x1000: "RelatedImageFileFormat",
                     0x1001: "RelatedImageWidth", 0x1002: "RelatedImageLength"}
    for ifd_id, label, names, key in ((ExifTags.IFD.Exif, "Exif", ExifTags.TAGS, "exif"),
                                      (ExifTags.IFD.GPSInfo, "GPS", ExifTags.GPSTAGS, "gps"),
                                      (ExifTags.IFD.Interop, "Interop", interop_names, None),
                                      (ExifTags.IFD.IFD1, "Thumbnail", ExifTags.TAGS, None)):
        try:
            with _warnings.catch_warnings():
                _warnings.simplefilter("ignore")
                d = ex.get_ifd(ifd_id)
        except KeyError:
            continue
        except Exception as exc:
            notes.append(f"{label} IFD could not be read: {_short(exc)}")
            continue
        try:
            for t, v in d.items():
                if key:
                    raw_ifds[key][t] = v
                if t in pointers:
                    continue
                name = names.get(t, f"Tag0x{t:04X}")
                if label == "Thumbnail":
                    tags[f"Thumbnail.{name}"] = _fmt_value(v, name)
                else:
                    put(name, v, label)
        except Exception as exc:
            notes.append(f"{label} IFD: {_short(exc)}")
    sec["present"] = bool(tags)
    if block is not None:
        sec["block_bytes"] = len(block)
        if not tags:
            notes.append(f"EXIF block of {len(block)} bytes present but unreadable (malformed or truncated)")
    try:
        sec["summary"] = _exif_summary(raw_ifds, notes)
    except Exception as exc:
        notes.append(f"summary: {_short(exc)}")
    if isinstance(sec["summary"].get("GPS latitude"), float):
        sec["gps_decimal"] = {"latitude": sec["summary"]["GPS latitude"],
                              "longitude": sec["summary"]["GPS longitude"]}
    return sec, raw_ifds


def _dms(v: Any) -> float:
    if isinstance(v, (tuple, list)):
        parts = [_as_float(x) for x in v] + [0.0, 0.0]
        if parts[0] is None:
            raise ValueError(f"bad GPS coordinate {v!r}")
        d, m, s = parts[0], parts[1] or 0.0, parts[2] or 0.0
        return d + m / 60 + s / 3600
    f = _as_float(v)
    if f is None:
        raise ValueError(f"bad GPS coordinate {v!r}")
    return f


def _exif_summary(ifds: dict[str, dict], notes: list[str]) -> dict:
    i0, ie, ig = ifds["0"], ifds["exif"], ifds["gps"]
    s: dict[str, Any] = {}
    for name, v in (("Make", i0.get(0x010F)), ("Model", i0.get(0x0110)), ("Software", i0.get(0x0131)),
                    ("DateTimeOriginal", ie.get(0x9003)), ("DateTimeDigitized", ie.get(0x9004)),
                    ("DateTime", i0.get(0x0132)), ("LensModel", ie.get(0xA434)),
                    ("Artist", i0.get(0x013B)), ("ImageDescription", i0.get(0x010E))):
        t = _text(v)
        if t:
            s[name] = t[:_MAX_TEXT_VALUE]
    if 0x0112 in i0:
        s["Orientation"] = orientation_text(i0[0x0112])
    et = _as_float(ie.get(0x829A))
    if et:
        s["ExposureTime"] = (f"1/{round(1 / et)} s" if et < 1 and abs(1 / et - round(1 / et)) < 0.05
                             else f"{et:g} s")
    fn = _as_float(ie.get(0x829D))
    if fn:
        s["FNumber"] = f"f/{fn:g}"
    iso = ie.get(0x8827, ie.get(0x8833))
    if iso is not None:
        s["ISO"] = _fmt_value(iso[0] if isinstance(iso, (tuple, list)) and iso else iso)
    fl = _as_float(ie.get(0x920A))
    if fl:
        s["FocalLength"] = f"{fl:g} mm"
    if 0x0002 in ig and 0x0004 in ig:
        try:
            lat, lon = _dms(ig[0x0002]), _dms(ig[0x0004])
            if (_text(ig.get(0x0001)) or "N").upper().startswith("S"):
                lat = -lat
            if (_text(ig.get(0x0003)) or "E").upper().startswith("W"):
                lon = -lon
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                notes.append(f"GPS position out of range ({lat}, {lon})")
            s["GPS latitude"], s["GPS longitude"] = round(lat, 7), round(lon, 7)
            s["GPS position"] = f"{lat:.6f}, {lon:.6f}"
            alt = _as_float(ig.get(0x0006))
            if alt is not None:
                ref = ig.get(0x0005)
                below = (ref in (1, b"\x01")) or (isinstance(ref, bytes) and ref[:1] == b"\x01")
                s["GPS altitude"] = f"{-alt if below else alt:g} m"
        except Exception as exc:
            notes.append(f"GPS position could not be decoded: {_short(exc)}")
    gps_date = _text(ig.get(0x001D))
    if gps_date:
        s["GPS date"] = gps_date
    return s


_XMP_START = re.compile(rb"<\?xpacket begin|<x:xmpmeta|<x:xapmeta")
_XMP_END = re.compile(rb"<\?xpacket end[^>]*>|</x:xmpmeta>|</x:xapmeta>")


def _find_xmp_in_bytes(raw: bytes) -> bytes | None:
    m = _XMP_START.search(raw)
    if not m:
        return None
    e = _XMP_END.search(raw, m.start(), m.start() + (16 << 20))
    if not e:
        return raw[m.start():m.start() + (1 << 20)]
    # prefer the outermost end: an xpacket end tag after </x:xmpmeta>
    e2 = re.compile(rb"<\?xpacket end[^>]*>").search(raw, e.end(), e.end() + 8192)
    return raw[m.start():(e2 or e).end()]


def _element(x: str, local: str, start: int = 0) -> tuple[str, int] | None:
    """Inner text of the first ``<prefix:local ...>...</prefix:local>`` (linear time, no backtracking)."""
    m = re.compile(r"<((?:[\w.-]{1,40}:)?)" + local + r"(?=[\s/>])[^>]{0,4000}>").search(x, start)
    if not m or x[m.end() - 2] == "/":
        return None
    close = x.find(f"</{m.group(1)}{local}>", m.end())
    if close < 0:
        return None
    return x[m.end():close], close


def _xmp_field(x: str, local: str) -> str | None:
    """An XMP property written as an attribute (``xmp:CreatorTool="..."``) or as an element."""
    m = re.search(r":" + local + r"\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", x)
    if m:
        return (m.group(1) if m.group(1) is not None else m.group(2)).strip() or None
    el = _element(x, local)
    if el:
        inner = " ".join(re.sub(r"<[^>]*>", " ", el[0]).split())
        return inner or None
    return None


def _xmp_section(img, jpeg_segs: list[dict] | None, png: dict | None, raw: bytes) -> dict:
    sec: dict[str, Any] = {"present": False, "notes": []}
    packet: bytes | str | None = None
    source = None
    if jpeg_segs:
        for s in jpeg_segs:
            if s.get("code") == 0xE1 and s["payload"].startswith(b"http://ns.adobe.com/xap/1.0/\x00"):
                packet, source = s["payload"][29:], "JPEG APP1 XMP segment"
                break
        if any(s.get("kind") == "Extended XMP" for s in jpeg_segs):
            sec["notes"].append("Extended XMP segments present (not merged)")
    if packet is None and png and png.get("_xmp"):
        packet, source = png["_xmp"], "PNG iTXt XML:com.adobe.xmp"
    if packet is None and img is not None:
        for k in ("xmp", "XML:com.adobe.xmp"):
            v = img.info.get(k)
            if v:
                packet, source = v, f"Pillow info[{k!r}]"
                break
        if packet is None:
            try:
                v = getattr(img, "tag_v2", {}).get(700)
                if v:
                    packet, source = v, "TIFF tag 700"
            except Exception:
                pass
    if packet is None:
        b = _find_xmp_in_bytes(raw)
        if b:
            packet, source = b, "XMP packet found by scanning the file"
    if packet is None:
        return sec
    if isinstance(packet, (bytes, bytearray)):
        bp = bytes(packet)
        if bp.startswith((b"\xfe\xff", b"\xff\xfe")):
            text = bp.decode("utf-16", "replace")
        else:
            text = bp.decode("utf-8", "replace")
    elif isinstance(packet, (tuple, list)):
        text = "".join(str(p) for p in packet)
    else:
        text = str(packet)
    text = text.rstrip("\x00 \n")
    sec.update(present=True, source=source, packet=text, length=len(text))
    fields: dict[str, Any] = {}
    full, text = text, text[:_MAX_XMP_PARSE]
    try:
        for local in ("CreatorTool", "CreateDate", "ModifyDate", "MetadataDate", "DateCreated", "DocumentID",
                      "OriginalDocumentID", "InstanceID", "Rating", "Label"):
            v = _xmp_field(text, local)
            if v:
                fields[local] = v[:_MAX_TEXT_VALUE]
        h = _element(text, "History")
        if h:
            body = h[0]
            fields["HistoryEntries"] = len(re.findall(r"<rdf:li\b", body))
            acts = [a or b for a, b in re.findall(r":action\s*=\s*\"([^\"]*)\"|:action>([^<]*)<", body)]
            if acts:
                fields["HistoryActions"] = acts[:50]
            ag: list[str] = []
            for a, b in re.findall(r":softwareAgent\s*=\s*\"([^\"]*)\"|:softwareAgent>([^<]*)<", body):
                v = (a or b).strip()
                if v and v not in ag:
                    ag.append(v)
            if ag:
                fields["HistorySoftware"] = ag[:20]
        if re.search(r":DerivedFrom\b", text):
            fields["DerivedFrom"] = True
    except Exception as exc:
        sec["notes"].append(f"XMP fields could not be parsed: {_short(exc)}")
    if len(full) > _MAX_XMP_PARSE:
        sec["notes"].append(f"only the first {_MAX_XMP_PARSE} characters of the XMP packet were parsed")
    sec["fields"] = fields
    return sec


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


def _icc_section(img, jpeg_segs: list[dict] | None) -> dict:
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
        sec["notes"].append(f"LittleCMS could not read the profile: {_short(exc)}")
    if not desc:
        try:
            desc = _icc_desc_fallback(icc)
        except Exception as exc:
            sec["notes"].append(f"profile description unreadable: {_short(exc)}")
    if desc:
        sec["description"] = desc
    return sec


def _thumbnail_section(ev, fmt: str, img, jpeg_segs: list[dict] | None, md: Metadata) -> dict:
    from PIL import Image

    sec: dict[str, Any] = {"present": False, "notes": []}
    tiff = None
    if jpeg_segs is not None:
        tiff = _exif_tiff_from_jpeg(jpeg_segs)
    elif fmt == "TIFF":
        tiff = ev.raw
    elif img is not None:
        v = img.info.get("exif")
        tiff = _strip_exif_header(bytes(v)) if isinstance(v, (bytes, bytearray)) else None
    if not tiff:
        return sec
    try:
        data, info = _ifd1_thumbnail(tiff)
    except Exception as exc:
        sec["notes"].append(f"EXIF thumbnail directory unreadable: {_short(exc)}")
        return sec
    if info.get("uncompressed"):
        sec["notes"].append("uncompressed (TIFF-strip) thumbnail present, not decoded")
    if data is None:
        return sec
    sec.update(present=True, size_bytes=len(data), offset=info.get("offset"))
    if info.get("truncated"):
        sec["notes"].append("thumbnail runs past the end of the EXIF block (truncated)")
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            t = Image.open(io.BytesIO(data))
            if t.size[0] * t.size[1] > _MAX_THUMB_PIXELS:
                raise ValueError(f"thumbnail of {t.size[0]}x{t.size[1]} pixels refused")
            sec["format"] = t.format
            t = t.convert("RGB")
            arr = np.asarray(t, np.uint8).copy()
    except Exception as exc:
        sec["notes"].append(f"thumbnail could not be decoded: {_short(exc)}")
        return sec
    md.thumbnail_rgb = arr
    sec["width"], sec["height"] = int(arr.shape[1]), int(arr.shape[0])
    try:
        if getattr(ev, "rgb", None) is None or ev.rgb.size == 0:
            raise ValueError("no decoded main image to compare with")
        cmp = compare_thumbnail(ev.rgb, arr, ev.exif_orientation)
        md.thumbnail_diff = cmp.pop("_diff").astype(np.float32)
        sec["comparison"] = cmp
    except Exception as exc:
        sec["notes"].append(f"thumbnail comparison failed: {_short(exc)}")
    return sec


# ---------------------------------------------------------------------------------------
# warnings


def _collect_warnings(md: Metadata, fmt: str, raw_ifds: dict) -> None:
    w = md.warnings
    ex = md.exif
    summ = ex.get("summary", {}) if ex else {}
    if ex.get("block_bytes") is not None and not ex.get("present"):
        w.append("EXIF block present but unreadable (malformed or truncated)")
    elif not ex.get("present"):
        common = fmt not in ("JPEG", "TIFF", "MPO", "HEIF", "HEIC", "WEBP")
        w.append("no EXIF metadata (stripped or never written" + ("; common for this format)" if common else ")"))
    sw = summ.get("Software")
    if sw and _EDITORS.search(sw):
        w.append(f"Software tag says {sw!r} (image-editing or processing software)")
    dt, dto = summ.get("DateTime"), summ.get("DateTimeOriginal")
    if dt and dto and dt != dto:
        w.append(f"DateTime ({dt}, last change) differs from DateTimeOriginal ({dto}, capture)")
    dtd = summ.get("DateTimeDigitized")
    if dtd and dto and dtd != dto:
        w.append(f"DateTimeDigitized ({dtd}) differs from DateTimeOriginal ({dto})")
    ie = raw_ifds.get("exif", {})
    ew, eh = ie.get(0xA002), ie.get(0xA003)
    fw, fh = md.file.get("width"), md.file.get("height")
    try:
        if ew and eh and fw and fh and {int(ew), int(eh)} != {int(fw), int(fh)}:
            w.append(f"EXIF says the image is {int(ew)}x{int(eh)} but it is {fw}x{fh}: "
                     "resized or cropped after capture")
    except (TypeError, ValueError):
        pass
    o = md.file.get("exif_orientation")
    if o and o != 1:
        w.append(f"EXIF Orientation {orientation_text(o)}: pixels are analysed in stored orientation, "
                 "a viewer shows them turned")
    x = md.xmp.get("fields", {}) if md.xmp else {}
    ct = x.get("CreatorTool")
    if ct and _EDITORS.search(ct) and not (sw and ct in sw):
        w.append(f"XMP CreatorTool says {ct!r}")
    if x.get("HistoryEntries"):
        agents = x.get("HistorySoftware") or []
        w.append(f"XMP editing history has {x['HistoryEntries']} entries"
                 + (f" ({', '.join(agents[:3])})" if agents else ""))
    if x.get("DerivedFrom") or (x.get("DocumentID") and x.get("OriginalDocumentID")
                                and x["DocumentID"] != x["OriginalDocumentID"]):
        w.append("XMP says this document is derived from another one")
    j = md.jpeg
    if j:
        if j.get("standard_tables") is False:
            w.append(f"non-standard quantisation tables ({j.get('quality_text')}): "
                     "typical of camera firmware or Adobe software, not of libjpeg")
        elif j.get("standard_tables") and summ.get("Make"):
            w.append(f"standard IJG quantisation tables (quality {j.get('quality_estimate')}) although EXIF names a "
                     f"camera ({summ['Make']}): most cameras use their own tables, so the file may have been "
                     "re-encoded by software")
        kinds = [s.get("kind", "") for s in j.get("segments", [])]
        if "Photoshop IRB" in kinds:
            w.append("APP13 Photoshop segment present (file written by Adobe software)")
        if "Ducky (Photoshop Save for Web)" in kinds:
            w.append("APP12 Ducky segment present (Photoshop 'Save for Web')")
        if j.get("trailing_bytes"):
            mpf = any(k.startswith("MPF") for k in kinds)
            extra = " (contains another JPEG)" if j.get("trailing_contains_jpeg") else ""
            if not mpf:
                w.append(f"{j['trailing_bytes']} bytes after the JPEG end-of-image marker{extra}: appended data")
        for c in j.get("comments", []):
            if c and _EDITORS.search(str(c)):
                w.append(f"JPEG comment mentions software: {str(c)[:80]!r}")
        if any("truncated" in n for n in j.get("notes", [])):
            w.append("JPEG structure is truncated")
    p = md.png
    if p:
        for k, v in p.get("text", {}).items():
            if k.lower() in ("software", "comment", "description") and _EDITORS.search(str(v)):
                w.append(f"PNG text chunk {k!r} says {str(v)[:80]!r}")
        if p.get("trailing_bytes"):
            w.append(f"{p['trailing_bytes']} bytes after the PNG IEND chunk: appended data")
    t = md.thumbnail
    if t.get("present") and "comparison" in t:
        status = t["comparison"].get("status")
        if status == "differs":
            w.append("EXIF thumbnail differs from the image: " + t["comparison"]["verdict"])
        elif status == "partial":
            w.append("EXIF thumbnail only partly matches the image: " + t["comparison"]["verdict"])
        if not t["comparison"].get("aspect_match") and not t["comparison"].get("centre_crop") and status == "match":
            w.append("EXIF thumbnail has a different aspect ratio from the image (cropped?)")


# ---------------------------------------------------------------------------------------
# entry points


def extract_metadata(evidence) -> Metadata:
    """Everything the file says about itself; reads ``evidence.raw`` only and never raises."""
    from PIL import Image

    md = Metadata()
    raw: bytes = bytes(getattr(evidence, "raw", b"") or b"")
    path = getattr(evidence, "path", None)
    fmt = getattr(evidence, "format", "") or ""
    md.file = {"name": getattr(path, "name", str(path) if path else None), "path": str(path) if path else None,
               "size_bytes": getattr(evidence, "size_bytes", len(raw)), "format": fmt,
               "mode": getattr(evidence, "mode", None), "width": getattr(evidence, "width", None),
               "height": getattr(evidence, "height", None), "sha256": getattr(evidence, "sha256", None),
               "md5": getattr(evidence, "md5", None), "conversions": list(getattr(evidence, "conversions", []) or []),
               "exif_orientation": getattr(evidence, "exif_orientation", None),
               "frames": getattr(evidence, "n_frames", 1), "notes": []}
    if not raw:
        md.file["notes"].append("the file's bytes were not kept with the evidence: no metadata read")
        md.warnings.append("metadata not available (file bytes not loaded)")
        return md

    img = None
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(raw))
    except Exception as exc:
        md.file["notes"].append(f"Pillow could not open the bytes for metadata: {_short(exc)}")

    jpeg_segs = None
    if raw[:2] == b"\xff\xd8":
        try:
            parsed = parse_jpeg_markers(raw)
            jpeg_segs = parsed["segments"]
            md.jpeg = _jpeg_section(raw, parsed)
            if img is not None and hasattr(img, "quantization"):
                _check_pillow_tables(img, md.jpeg)
        except Exception as exc:
            md.jpeg = {"notes": [f"JPEG structure could not be parsed: {_short(exc)}"]}
    if raw[:8] == b"\x89PNG\r\n\x1a\n":
        try:
            md.png = _parse_png(raw)
        except Exception as exc:
            md.png = {"notes": [f"PNG chunks could not be parsed: {_short(exc)}"]}

    raw_ifds: dict = {}
    if img is not None:
        try:
            block = _exif_tiff_from_jpeg(jpeg_segs) if jpeg_segs is not None else None
            if block is None and isinstance(img.info.get("exif"), (bytes, bytearray)):
                block = _strip_exif_header(bytes(img.info["exif"]))
            md.exif, raw_ifds = _exif_section(img, block)
        except Exception as exc:
            md.exif = {"present": False, "tags": {}, "summary": {}, "notes": [f"EXIF: {_short(exc)}"]}
    else:
        md.exif = {"present": False, "tags": {}, "summary": {}, "notes": ["not read (image not opened)"]}
    try:
        md.xmp = _xmp_section(img, jpeg_segs, md.png, raw)
    except Exception as exc:
        md.xmp = {"present": False, "notes": [f"XMP: {_short(exc)}"]}
    try:
        md.icc = _icc_section(img, jpeg_segs)
    except Exception as exc:
        md.icc = {"present": False, "notes": [f"ICC: {_short(exc)}"]}
    try:
        md.thumbnail = _thumbnail_section(evidence, fmt, img, jpeg_segs, md)
    except Exception as exc:
        md.thumbnail = {"present": False, "notes": [f"thumbnail: {_short(exc)}"]}
    if md.png is not None:
        md.png.pop("_xmp", None)
    try:
        _collect_warnings(md, fmt, raw_ifds or {})
    except Exception as exc:
        md.warnings.append(f"(some checks failed: {_short(exc)})")
    for sec_name, label in (("exif", "EXIF"), ("xmp", "XMP"), ("icc", "ICC"), ("thumbnail", "EXIF thumbnail")):
        sec = getattr(md, sec_name)
        bad = [n for n in sec.get("notes", []) if ("could not" in n or "unreadable" in n)
               and not n.startswith("EXIF block of")]
        if bad:
            md.warnings.append(f"malformed {label} metadata: {bad[0]}")
    return md


def _check_pillow_tables(img, jpeg: dict) -> None:
    """Cross-check our DQT parse with Pillow's (natural order in current Pillow)."""
    try:
        pq = {str(k): list(v) for k, v in dict(img.quantization).items()}
    except Exception:
        return
    for k, t in jpeg.get("quantization", {}).items():
        flat = [v for row in t["table"] for v in row]
        if k in pq and pq[k] != flat:
            jpeg["notes"].append(f"quantisation table {k}: Pillow reports different values than the DQT segment")


# ---------------------------------------------------------------------------------------
# rows for a GUI tree / report table


def _str(v: Any, limit: int = 300) -> str:
    if isinstance(v, float):
        s = f"{v:g}"
    elif isinstance(v, (list, tuple)):
        s = ", ".join(_str(x, limit) for x in v)
    elif isinstance(v, dict):
        s = "; ".join(f"{k}: {_str(x, limit)}" for k, x in v.items())
    elif v is None:
        s = ""
    else:
        s = str(v)
    return s if len(s) <= limit else s[:limit] + "\u2026"


def metadata_rows(md: Metadata) -> list[tuple[str, str, str]]:
    """(section, key, value) rows in reading order: file, warnings, EXIF summary, the rest."""
    rows: list[tuple[str, str, str]] = []

    def add(sec: str, key: str, val: Any) -> None:
        rows.append((sec, str(key), _str(val)))

    def notes(sec: str, d: dict | None) -> None:
        for n in (d or {}).get("notes", []) or []:
            add(sec, "note", n)

    f = md.file or {}
    for key, label in (("name", "Name"), ("size_bytes", "Size (bytes)"), ("format", "Format"), ("mode", "Mode"),
                       ("sha256", "SHA-256"), ("md5", "MD5")):
        if f.get(key) is not None:
            add("File", label, f[key])
    if f.get("width") is not None:
        add("File", "Dimensions", f"{f['width']} x {f['height']}")
    if f.get("exif_orientation"):
        add("File", "EXIF orientation", orientation_text(f["exif_orientation"]))
    if f.get("frames", 1) and f.get("frames", 1) > 1:
        add("File", "Frames", f["frames"])
    for c in f.get("conversions", []):
        add("File", "Decoding conversion", c)
    notes("File", f)

    for i, w in enumerate(md.warnings, 1):
        add("Warnings", str(i), w)

    ex = md.exif or {}
    for k, v in ex.get("summary", {}).items():
        add("EXIF summary", k, v)
    if not ex.get("present"):
        add("EXIF", "present", "no")
    for k, v in ex.get("tags", {}).items():
        add("EXIF", k, v)
    notes("EXIF", ex)

    x = md.xmp or {}
    if x.get("present"):
        add("XMP", "Source", x.get("source"))
        add("XMP", "Packet", f"{x.get('length', 0)} characters")
        for k, v in (x.get("fields") or {}).items():
            add("XMP", k, v)
    else:
        add("XMP", "present", "no")
    notes("XMP", x)

    c = md.icc or {}
    if c.get("present"):
        for key, label in (("description", "Description"), ("colour_space", "Colour space"),
                           ("device_class", "Device class"), ("pcs", "Connection space"), ("version", "Version"),
                           ("creator", "Creator"), ("size_bytes", "Size (bytes)")):
            if c.get(key) is not None:
                add("ICC profile", label, c[key])
    else:
        add("ICC profile", "present", "no")
    notes("ICC profile", c)

    j = md.jpeg
    if j:
        for key, label in (("quality_text", "Quality"), ("coding", "Coding"), ("subsampling", "Chroma subsampling"),
                           ("scans", "Scans"), ("app_segments", "APP segments"), ("trailing_bytes",
                                                                                   "Bytes after EOI")):
            if j.get(key) is not None:
                add("JPEG", label, j[key])
        for tid, t in (j.get("quantization") or {}).items():
            add("JPEG", f"Table {tid} ({t['role']})", t["ijg"]["text"])
            add("JPEG", f"Table {tid} values", " / ".join(" ".join(str(v) for v in row) for row in t["table"]))
        if j.get("markers"):
            add("JPEG", "Markers", j["markers"])
        for cm in j.get("comments", []):
            add("JPEG", "Comment", cm)
        notes("JPEG", j)

    p = md.png
    if p:
        chunks = [ch["chunk"] + (f" x{ch['count']}" if ch.get("count") else "") for ch in p.get("chunks", [])]
        add("PNG", "Chunks", chunks)
        for k, v in (p.get("text") or {}).items():
            add("PNG", f"Text: {k}", v)
        if p.get("trailing_bytes"):
            add("PNG", "Bytes after IEND", p["trailing_bytes"])
        notes("PNG", p)

    t = md.thumbnail or {}
    if t.get("present"):
        if t.get("width"):
            add("Thumbnail", "Size", f"{t['width']} x {t['height']} ({t.get('size_bytes')} bytes)")
        else:
            add("Thumbnail", "Size", f"{t.get('size_bytes')} bytes")
        cmp = t.get("comparison")
        if cmp:
            add("Thumbnail", "Verdict", cmp.get("verdict"))
            add("Thumbnail", "PSNR (dB)", cmp.get("psnr_db"))
            add("Thumbnail", "Mean abs. difference", cmp.get("mad"))
            add("Thumbnail", "Aspect ratio matches", "yes" if cmp.get("aspect_match") else "no")
            if cmp.get("orientation") != "as stored":
                add("Thumbnail", "Compared orientation", cmp.get("orientation"))
            if cmp.get("centre_crop"):
                add("Thumbnail", "Compared with", "centre crop of the image")
    else:
        add("Thumbnail", "present", "no")
    notes("Thumbnail", t)
    return rows
