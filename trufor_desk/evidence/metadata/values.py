"""Turning untrusted metadata values into bounded, printable, JSON-ready ones.

Every source module formats what it read through these helpers, so a value is never
bytes, NaN or an unbounded string by the time it reaches a section, a row or a case file.
Also here: the limits shared by the sources, the pattern of editing software that the
warnings look for, and the meaning of the EXIF Orientation values.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

MAX_TEXT_VALUE = 4096            # characters of one text value kept

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

# names of image editors and generators: a match in a software field is worth an examiner's look
EDITORS = re.compile(
    r"photoshop|lightroom|gimp|affinity|paint\.net|pixelmator|snapseed|picsart|canva|capture one|"
    r"darktable|rawtherapee|luminar|facetune|photoscape|acdsee|corel|paintshop|fotor|krita|photopea|"
    r"meitu|faceapp|imagemagick|graphicsmagick|photoshop express|photo ?editor|fotoworks|airbrush|"
    r"photodirector|inpaint|remini|lensa|stable diffusion|midjourney|dall.?e|firefly",
    re.IGNORECASE)


def orientation_text(value: Any) -> str:
    """``6`` -> ``"6 = rotate 90 CW"`` (the EXIF meaning: how to turn stored pixels for display)."""
    try:
        v = int(value)
    except (TypeError, ValueError):
        return f"{value!r} (not a number)"
    return f"{v} = {ORIENTATION_MEANING.get(v, 'invalid value')}"


def short_error(msg: BaseException) -> str:
    """``TypeName: first line`` of an exception, without object addresses."""
    s = str(msg).splitlines()[0] if str(msg) else ""
    s = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", " (embedded data)", s)
    return f"{type(msg).__name__}: {s}" if s else type(msg).__name__


def clip_text(s: str, limit: int = MAX_TEXT_VALUE) -> str:
    s = s.replace("\x00", "").strip()
    return s if len(s) <= limit else s[:limit] + "..."


def fmt_bytes(b: bytes, limit: int = 32) -> str:
    """Printable text if it is text, else ``0x0102... (N bytes)``."""
    stripped = b.rstrip(b"\x00")
    if stripped and len(stripped) <= MAX_TEXT_VALUE and all(32 <= c < 127 or c in (9, 10, 13) for c in stripped):
        return stripped.decode("ascii")
    head = b[:limit].hex()
    return f"0x{head}{'...' if len(b) > limit else ''} ({len(b)} byte{'s' if len(b) != 1 else ''})"


def fmt_value(v: Any, tag_name: str = "") -> Any:
    """A decoded tag value (Pillow types, bytes, rationals, tuples) as a bounded JSON value."""
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
        return f"<maker note, {len(v)} bytes> " + fmt_bytes(bytes(v[:16]), 16)
    if isinstance(v, (bytes, bytearray)):
        if tag_name.endswith("VersionID") and 1 < len(v) <= 8:
            return ".".join(str(c) for c in v)
        if len(v) == 1:
            return v[0]
        return fmt_bytes(bytes(v))
    if isinstance(v, str):
        return clip_text(v)
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
        items = [fmt_value(x) for x in v[:64]]
        if len(v) > 64:
            items.append(f"... ({len(v)} values)")
        return items
    if isinstance(v, dict):
        return {str(k): fmt_value(x) for k, x in list(v.items())[:64]}
    return str(v)


def as_float(v: Any) -> float | None:
    try:
        if hasattr(v, "numerator") and hasattr(v, "denominator"):
            return float(v.numerator) / float(v.denominator) if v.denominator else None
        f = float(v)
        return f if math.isfinite(f) else None
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None


def as_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray)):
        v = bytes(v).rstrip(b"\x00").decode("latin-1")
    s = str(v).replace("\x00", "").strip()
    return s or None


def jsonable(v: Any) -> Any:
    """Plain JSON types only: no NaN/inf, no bytes, no numpy values."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, (bool, type(None), str)):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else str(f)
    if isinstance(v, np.ndarray):
        return jsonable(v.tolist())
    if isinstance(v, (bytes, bytearray)):
        return fmt_bytes(bytes(v))
    return str(v)
