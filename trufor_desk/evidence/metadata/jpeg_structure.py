"""The JPEG container walked by hand: marker order, APP segment kinds, frame, DQT tables, comments.

Parsed directly with bounds checks, so a truncated or odd file still reports what it does
contain; nothing here raises on bad input, a problem becomes a note.  The segments' payloads
are kept for the other readers (EXIF block, XMP packet, ICC chunks) and left out of the
section that is stored.
"""

from __future__ import annotations

import struct
from typing import Any

from .jpeg_quality import IJG_CHROMINANCE, IJG_LUMINANCE, ZIGZAG, estimate_ijg_quality
from .values import fmt_value, short_error

MAX_SEGMENTS_LISTED = 200

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


def jpeg_section(raw: bytes, parsed: dict) -> dict:
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
                comments.append(fmt_value(s["payload"].rstrip(b"\x00").decode("utf-8", "replace")))
        except Exception as exc:  # one bad segment must not hide the others
            notes.append(f"{s['marker']} at offset {s['offset']}: {short_error(exc)}")

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
    for s in segs[:MAX_SEGMENTS_LISTED]:
        e = {"marker": s["marker"], "offset": s["offset"], "length": s["length"]}
        if "kind" in s:
            e["kind"] = s["kind"]
        listed.append(e)
    sec["segments"] = listed
    if len(segs) > MAX_SEGMENTS_LISTED:
        notes.append(f"{len(segs)} segments, only the first {MAX_SEGMENTS_LISTED} listed")
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


def exif_tiff_from_jpeg(segs: list[dict]) -> bytes | None:
    for s in segs:
        if s.get("code") == 0xE1 and s["payload"].startswith(b"Exif\x00"):
            p = s["payload"]
            return p[6:] if p[5:6] == b"\x00" else p[5:]
    return None


def strip_exif_header(b: bytes | None) -> bytes | None:
    if not b:
        return None
    if b.startswith(b"Exif\x00\x00"):
        return b[6:]
    if b.startswith(b"Exif\x00"):
        return b[5:]
    return b


def check_pillow_tables(img, jpeg: dict) -> None:
    """Cross-check our DQT parse with Pillow's (natural order in current Pillow)."""
    try:
        pq = {str(k): list(v) for k, v in dict(img.quantization).items()}
    except Exception:
        return
    for k, t in jpeg.get("quantization", {}).items():
        flat = [v for row in t["table"] for v in row]
        if k in pq and pq[k] != flat:
            jpeg["notes"].append(f"quantisation table {k}: Pillow reports different values than the DQT segment")
