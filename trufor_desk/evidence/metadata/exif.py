"""EXIF through Pillow: every tag of IFD0, Exif, GPS, Interop and IFD1 by Pillow's names, and the summary.

Pillow is the baseline that is always installed, so these tag names, the summary (make,
model, dates, software, exposure, GPS, orientation) and the raw numeric IFD mapping that the
warnings compare (pixel dimensions) never depend on exiv2.  What Pillow cannot decode
(maker notes, IPTC, every XMP property, embedded previews) comes from :mod:`.exiv2_tags`.
"""

from __future__ import annotations

import warnings as _warnings
from typing import Any

from .values import MAX_TEXT_VALUE, as_float, as_text, fmt_value, orientation_text, short_error


def exif_section(img, block: bytes | None) -> tuple[dict, dict]:
    """Returns (section, raw numeric mapping {ifd: {tag: value}}) for the summary/warnings."""
    from PIL import ExifTags

    sec: dict[str, Any] = {"present": False, "tags": {}, "summary": {}, "notes": []}
    notes = sec["notes"]
    raw_ifds: dict[str, dict] = {"0": {}, "exif": {}, "gps": {}}
    try:
        ex = img.getexif()
    except Exception as exc:
        notes.append(f"EXIF block could not be read: {short_error(exc)}")
        return sec, raw_ifds
    tags: dict[str, Any] = sec["tags"]

    def put(name: str, value: Any, prefix: str) -> None:
        key = name if name not in tags else f"{prefix}.{name}"
        tags[key] = fmt_value(value, name)

    pointers = {0x8769, 0x8825, 0xA005}
    try:
        for t, v in ex.items():
            raw_ifds["0"][t] = v
            if t not in pointers:
                put(ExifTags.TAGS.get(t, f"Tag0x{t:04X}"), v, "IFD0")
    except Exception as exc:
        notes.append(f"IFD0: {short_error(exc)}")
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
            notes.append(f"{label} IFD could not be read: {short_error(exc)}")
            continue
        try:
            for t, v in d.items():
                if key:
                    raw_ifds[key][t] = v
                if t in pointers:
                    continue
                name = names.get(t, f"Tag0x{t:04X}")
                if label == "Thumbnail":
                    tags[f"Thumbnail.{name}"] = fmt_value(v, name)
                else:
                    put(name, v, label)
        except Exception as exc:
            notes.append(f"{label} IFD: {short_error(exc)}")
    sec["present"] = bool(tags)
    if block is not None:
        sec["block_bytes"] = len(block)
        if not tags:
            notes.append(f"EXIF block of {len(block)} bytes present but unreadable (malformed or truncated)")
    try:
        sec["summary"] = _exif_summary(raw_ifds, notes)
    except Exception as exc:
        notes.append(f"summary: {short_error(exc)}")
    if isinstance(sec["summary"].get("GPS latitude"), float):
        sec["gps_decimal"] = {"latitude": sec["summary"]["GPS latitude"],
                              "longitude": sec["summary"]["GPS longitude"]}
    return sec, raw_ifds


def _dms(v: Any) -> float:
    if isinstance(v, (tuple, list)):
        parts = [as_float(x) for x in v] + [0.0, 0.0]
        if parts[0] is None:
            raise ValueError(f"bad GPS coordinate {v!r}")
        d, m, s = parts[0], parts[1] or 0.0, parts[2] or 0.0
        return d + m / 60 + s / 3600
    f = as_float(v)
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
        t = as_text(v)
        if t:
            s[name] = t[:MAX_TEXT_VALUE]
    if 0x0112 in i0:
        s["Orientation"] = orientation_text(i0[0x0112])
    et = as_float(ie.get(0x829A))
    if et:
        s["ExposureTime"] = (f"1/{round(1 / et)} s" if et < 1 and abs(1 / et - round(1 / et)) < 0.05
                             else f"{et:g} s")
    fn = as_float(ie.get(0x829D))
    if fn:
        s["FNumber"] = f"f/{fn:g}"
    iso = ie.get(0x8827, ie.get(0x8833))
    if iso is not None:
        s["ISO"] = fmt_value(iso[0] if isinstance(iso, (tuple, list)) and iso else iso)
    fl = as_float(ie.get(0x920A))
    if fl:
        s["FocalLength"] = f"{fl:g} mm"
    if 0x0002 in ig and 0x0004 in ig:
        try:
            lat, lon = _dms(ig[0x0002]), _dms(ig[0x0004])
            if (as_text(ig.get(0x0001)) or "N").upper().startswith("S"):
                lat = -lat
            if (as_text(ig.get(0x0003)) or "E").upper().startswith("W"):
                lon = -lon
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                notes.append(f"GPS position out of range ({lat}, {lon})")
            s["GPS latitude"], s["GPS longitude"] = round(lat, 7), round(lon, 7)
            s["GPS position"] = f"{lat:.6f}, {lon:.6f}"
            alt = as_float(ig.get(0x0006))
            if alt is not None:
                ref = ig.get(0x0005)
                below = (ref in (1, b"\x01")) or (isinstance(ref, bytes) and ref[:1] == b"\x01")
                s["GPS altitude"] = f"{-alt if below else alt:g} m"
        except Exception as exc:
            notes.append(f"GPS position could not be decoded: {short_error(exc)}")
    gps_date = as_text(ig.get(0x001D))
    if gps_date:
        s["GPS date"] = gps_date
    return s
