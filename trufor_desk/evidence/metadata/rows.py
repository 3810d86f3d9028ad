"""Metadata as (section, key, value) text rows: what the window's tree, the case file and the report show.

Rows are the stored form of the metadata in a case (``EvidenceRef.metadata``), so their
sections and keys are stable names; the report picks a readable subset of them.
"""

from __future__ import annotations

from typing import Any

from .model import Metadata
from .previews import preview_label
from .values import orientation_text
from .xmp import event_text

LONG_TEXT = 2000                 # characters of an IPTC/XMP/maker-note value kept in a row


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

    def add(sec: str, key: str, val: Any, limit: int = 300) -> None:
        rows.append((sec, str(key), _str(val, limit)))

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
    if f.get("metadata_reader"):
        add("File", "Metadata read with", f["metadata_reader"])
    notes("File", f)

    for i, w in enumerate(md.warnings, 1):
        add("Warnings", str(i), w)

    ex = md.exif or {}
    for k, v in ex.get("summary", {}).items():
        add("EXIF summary", k, v)
    mn, ip = md.makernote or {}, md.iptc or {}
    for k, v in mn.get("summary", {}).items():
        add("Maker notes summary", k, v)
    for k, v in ip.get("summary", {}).items():
        add("IPTC summary", k, v, LONG_TEXT)
    if not ex.get("present"):
        add("EXIF", "present", "no")
    for k, v in ex.get("tags", {}).items():
        add("EXIF", k, v)
    notes("EXIF", ex)
    _exiv2_rows(mn, ip, add, notes)

    x = md.xmp or {}
    if x.get("present"):
        add("XMP", "Source", x.get("source"))
        add("XMP", "Packet", f"{x.get('length', 0)} characters")
        for k, v in (x.get("fields") or {}).items():
            add("XMP", k, v)
    else:
        add("XMP", "present", "no")
    notes("XMP", x)
    for i, e in enumerate(x.get("history") or [], 1):
        add("XMP history", str(i), event_text(e), LONG_TEXT)
    for k, v in (x.get("properties") or {}).items():
        add("XMP properties", k, v, LONG_TEXT)

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

    pv = md.previews or {}
    shown = [item for item in pv.get("items", []) if not item.get("same_as_exif_thumbnail")]
    for n, item in enumerate(shown, 1):
        key = f"Preview {n}"
        add("Embedded previews", key, preview_label(item))
        cmp = item.get("comparison")
        if cmp:
            add("Embedded previews", f"{key} verdict", cmp.get("verdict"))
            add("Embedded previews", f"{key} PSNR (dB)", cmp.get("psnr_db"))
        if item.get("note"):
            add("Embedded previews", f"{key} note", item["note"])
    notes("Embedded previews", pv)
    return rows


def _exiv2_rows(mn: dict, ip: dict, add, notes) -> None:
    """Every decoded maker-note tag and every IPTC dataset (empty sections when exiv2 is missing)."""
    if mn:
        if mn.get("present"):
            add("Maker notes", "Maker note", ", ".join(mn.get("groups", [])) +
                (f" (byte order {mn['byte_order']})" if mn.get("byte_order") else ""))
            for k, v in mn.get("tags", {}).items():
                add("Maker notes", k, v, LONG_TEXT)
        else:
            add("Maker notes", "present", "no")
        notes("Maker notes", mn)
    if ip:
        if ip.get("present"):
            for k, v in ip.get("datasets", {}).items():
                add("IPTC", k, v, LONG_TEXT)
        else:
            add("IPTC", "present", "no")
        notes("IPTC", ip)
