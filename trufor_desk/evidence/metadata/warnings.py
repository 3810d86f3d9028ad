"""Observations worth an examiner's attention, collected from every section into ``Metadata.warnings``.

They are observations, not verdicts: a missing EXIF block or an editor's name in ``Software``
is common in innocent files too.  Each check reads the sections only (never the bytes), so
the warnings are a pure function of what the sources reported.
"""

from __future__ import annotations

import re
from datetime import datetime

from .exiv2_tags import EXIV2_MISSING
from .model import Metadata
from .previews import preview_label
from .values import EDITORS, orientation_text
from .xmp import event_text

MAX_EDITOR_EVENTS_LISTED = 3


def collect_warnings(md: Metadata, fmt: str, raw_ifds: dict) -> None:
    """Append every observation to ``md.warnings``, in a fixed order (container, EXIF, XMP, JPEG, ...)."""
    w = md.warnings
    ex = md.exif
    summ = ex.get("summary", {}) if ex else {}
    if ex.get("block_bytes") is not None and not ex.get("present"):
        w.append("EXIF block present but unreadable (malformed or truncated)")
    elif not ex.get("present"):
        common = fmt not in ("JPEG", "TIFF", "MPO", "HEIF", "HEIC", "WEBP")
        w.append("no EXIF metadata (stripped or never written" + ("; common for this format)" if common else ")"))
    sw = summ.get("Software")
    if sw and EDITORS.search(sw):
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
    if ct and EDITORS.search(ct) and not (sw and ct in sw):
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
            if c and EDITORS.search(str(c)):
                w.append(f"JPEG comment mentions software: {str(c)[:80]!r}")
        if any("truncated" in n for n in j.get("notes", [])):
            w.append("JPEG structure is truncated")
    p = md.png
    if p:
        for k, v in p.get("text", {}).items():
            if k.lower() in ("software", "comment", "description") and EDITORS.search(str(v)):
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


def exiv2_warnings(md: Metadata, exiv2_available: bool, exiv2_error: str | None) -> None:
    """What exiv2 found (or could not read): maker notes, IPTC, XMP history, previews, dates."""
    w = md.warnings
    if not exiv2_available:
        w.append(EXIV2_MISSING)
        return
    if exiv2_error:
        w.append(f"malformed metadata: {exiv2_error}")
    x = md.xmp or {}
    said = {str(v) for v in ((md.exif or {}).get("summary", {}).get("Software"),
                             (x.get("fields") or {}).get("CreatorTool")) if v}
    editing = [e for e in x.get("history", []) if e.get("softwareAgent") and EDITORS.search(e["softwareAgent"])]
    if editing:
        listed = "; ".join(event_text(e) for e in editing[:MAX_EDITOR_EVENTS_LISTED])
        more = f" and {len(editing) - MAX_EDITOR_EVENTS_LISTED} more" if len(editing) > MAX_EDITOR_EVENTS_LISTED else ""
        w.append(f"XMP history records {len(editing)} event{'s' if len(editing) > 1 else ''} by editing "
                 f"software: {listed}{more}")
        said.update(e["softwareAgent"] for e in editing)
    for key, value in (x.get("properties") or {}).items():
        local = re.split(r"[.:/]", key)[-1]
        if local in ("Software", "CreatorTool", "Producer", "softwareAgent") and "History[" not in key \
                and EDITORS.search(value) and value not in said:
            w.append(f"XMP {key} says {value!r}")
            said.add(value)
    ipt = (md.iptc or {}).get("summary", {})
    prog = ipt.get("Originating program")
    if prog and EDITORS.search(prog):
        version = ipt.get("Program version")
        w.append(f"IPTC originating program says {prog!r}" + (f" (version {version})" if version else ""))
    for item in (md.previews or {}).get("items", []):
        cmp = item.get("comparison") or {}
        if cmp.get("status") == "differs":
            w.append(f"embedded preview ({preview_label(item)}) differs from the image: {cmp['verdict']}")
        elif cmp.get("status") == "partial":
            w.append(f"embedded preview ({preview_label(item)}) only partly matches the image: {cmp['verdict']}")


_DATE = re.compile(r"^\s*(\d{4})[:-](\d{2})[:-](\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")


def _parse_date(s) -> tuple[datetime, bool] | None:
    """(local wall-clock time, has a time of day) of an EXIF or XMP date; the zone is ignored."""
    m = _DATE.match(str(s or ""))
    if not m:
        return None
    try:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if m.group(4) is None:
            return datetime(y, mo, d), False
        return datetime(y, mo, d, int(m.group(4)), int(m.group(5)), int(m.group(6) or 0)), True
    except ValueError:
        return None


def date_order_warnings(md: Metadata) -> None:
    """A capture date later than a modification date: a camera cannot write that; a person can."""
    summ = (md.exif or {}).get("summary", {})
    props = (md.xmp or {}).get("properties") or {}
    fields = (md.xmp or {}).get("fields") or {}
    original = [("DateTimeOriginal", summ.get("DateTimeOriginal")),
                ("XMP exif:DateTimeOriginal", props.get("exif.DateTimeOriginal"))]
    modified = [("DateTime (ModifyDate)", summ.get("DateTime")),
                ("XMP xmp:ModifyDate", props.get("xmp.ModifyDate") or fields.get("ModifyDate"))]
    name_o, value_o = next(((n, v) for n, v in original if _parse_date(v)), (None, None))
    if value_o is None:
        return
    o, o_time = _parse_date(value_o)
    for name_m, value_m in modified:
        parsed = _parse_date(value_m)
        if parsed is None:
            continue
        m, m_time = parsed
        later = o > m if (o_time and m_time) else o.date() > m.date()
        if later:
            md.warnings.append(f"{name_o} ({value_o}) is later than {name_m} ({value_m}): the capture date "
                               "comes after the last change, so one of the dates was set or edited by hand "
                               "(or the clock was reset)")


def malformed_warnings(md: Metadata) -> None:
    """One warning per section whose notes say a block could not be read."""
    for sec_name, label in (("exif", "EXIF"), ("xmp", "XMP"), ("icc", "ICC"), ("thumbnail", "EXIF thumbnail"),
                            ("makernote", "maker-note"), ("iptc", "IPTC"), ("previews", "embedded preview")):
        sec = getattr(md, sec_name) or {}
        bad = [n for n in sec.get("notes", []) if ("could not" in n or "unreadable" in n or "exiv2 error" in n
                                                   or "Failed to decode" in n)
               and not n.startswith("EXIF block of")]
        if bad:
            md.warnings.append(f"malformed {label} metadata: {bad[0]}")
