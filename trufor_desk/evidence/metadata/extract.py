"""``extract_metadata``: every source read from ``evidence.raw``, each one failing on its own.

Everything is read from the bytes that were hashed, never from the file again, and nothing
is written.  Metadata is hostile input: every source is best effort, and a malformed part
becomes a note in its section (and a warning), never an exception, so a broken block never
fails an intake and never hides the other sections.  Our own parsers read the containers
(JPEG markers, PNG chunks, the TIFF IFD holding the EXIF thumbnail) and the XMP key fields;
Pillow decodes EXIF tags and ICC names; exiv2 adds maker notes, IPTC, every XMP property
and the embedded previews, and its absence is a warning, not an error.
"""

from __future__ import annotations

import io
import warnings as _warnings

from .exif import exif_section
from .exiv2_tags import exiv2_version, read_exiv2
from .icc import icc_section
from .jpeg_structure import (
    check_pillow_tables,
    exif_tiff_from_jpeg,
    jpeg_section,
    parse_jpeg_markers,
    strip_exif_header,
)
from .model import Metadata
from .png import png_section
from .previews import previews_section
from .thumbnail import thumbnail_section
from .values import short_error
from .warnings import collect_warnings, date_order_warnings, exiv2_warnings, malformed_warnings
from .xmp import history_events, xmp_section


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
        md.file["notes"].append(f"Pillow could not open the bytes for metadata: {short_error(exc)}")

    jpeg_segs = None
    if raw[:2] == b"\xff\xd8":
        try:
            parsed = parse_jpeg_markers(raw)
            jpeg_segs = parsed["segments"]
            md.jpeg = jpeg_section(raw, parsed)
            if img is not None and hasattr(img, "quantization"):
                check_pillow_tables(img, md.jpeg)
        except Exception as exc:
            md.jpeg = {"notes": [f"JPEG structure could not be parsed: {short_error(exc)}"]}
    if raw[:8] == b"\x89PNG\r\n\x1a\n":
        try:
            md.png = png_section(raw)
        except Exception as exc:
            md.png = {"notes": [f"PNG chunks could not be parsed: {short_error(exc)}"]}

    raw_ifds: dict = {}
    if img is not None:
        try:
            block = exif_tiff_from_jpeg(jpeg_segs) if jpeg_segs is not None else None
            if block is None and isinstance(img.info.get("exif"), (bytes, bytearray)):
                block = strip_exif_header(bytes(img.info["exif"]))
            md.exif, raw_ifds = exif_section(img, block)
        except Exception as exc:
            md.exif = {"present": False, "tags": {}, "summary": {}, "notes": [f"EXIF: {short_error(exc)}"]}
    else:
        md.exif = {"present": False, "tags": {}, "summary": {}, "notes": ["not read (image not opened)"]}
    try:
        md.xmp = xmp_section(img, jpeg_segs, md.png, raw)
    except Exception as exc:
        md.xmp = {"present": False, "notes": [f"XMP: {short_error(exc)}"]}
    try:
        md.icc = icc_section(img, jpeg_segs)
    except Exception as exc:
        md.icc = {"present": False, "notes": [f"ICC: {short_error(exc)}"]}
    try:
        md.thumbnail = thumbnail_section(evidence, fmt, img, jpeg_segs, md)
    except Exception as exc:
        md.thumbnail = {"present": False, "notes": [f"thumbnail: {short_error(exc)}"]}
    if md.png is not None:
        md.png.pop("_xmp", None)

    exif_segments = [(s["offset"], s["length"]) for s in jpeg_segs or [] if s.get("kind") == "Exif"]
    ex2 = read_exiv2(raw, exif_segments)
    try:
        _merge_exiv2(md, ex2, evidence)
    except Exception as exc:
        md.file["notes"].append(f"exiv2 results could not be merged: {short_error(exc)}")
    md.thumbnail.pop("_data", None)
    for check in (lambda: collect_warnings(md, fmt, raw_ifds or {}),
                  lambda: exiv2_warnings(md, ex2.available, ex2.error),
                  lambda: date_order_warnings(md)):
        try:
            check()
        except Exception as exc:
            md.warnings.append(f"(some checks failed: {short_error(exc)})")
    malformed_warnings(md)
    return md


def _merge_exiv2(md: Metadata, ex2, evidence) -> None:
    """exiv2's sections into ``md``: maker notes, IPTC, XMP properties and history, previews."""
    if not ex2.available:
        return
    md.file["metadata_reader"] = exiv2_version()
    if ex2.unsupported:
        md.file["notes"].append("exiv2 does not read this format: no maker notes, IPTC or XMP properties")
        return
    md.makernote, md.iptc = ex2.makernote, ex2.iptc
    md.exif.setdefault("notes", []).extend(ex2.exif_notes)
    if ex2.error:
        md.file["notes"].append(ex2.error)
    tags = md.exif.get("tags") or {}
    if not md.makernote.get("present") and isinstance(tags.get("MakerNote"), str) and not ex2.error:
        md.makernote["notes"].append("a maker note is present but exiv2 does not decode it "
                                     "(unknown maker or format)")
    x = md.xmp
    x.setdefault("notes", []).extend(ex2.xmp_notes)
    if ex2.xmp_properties:
        x["properties"] = ex2.xmp_properties
        x["history"] = history_events(ex2.xmp_properties)
        if not x.get("present"):
            x.update(present=True, source="exiv2")
    thumb = md.thumbnail.get("_data")
    md.previews = previews_section(evidence, ex2, thumb)
