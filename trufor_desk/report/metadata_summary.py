"""Which metadata rows the report prints: a readable subset of the rows stored in the case.

The case keeps every row (the window shows them all); the report prints the EXIF summary,
the ICC description, the JPEG quality and structure, the thumbnail verdict and the key XMP
fields, then, with a budget of their own, the maker-note and IPTC summaries, the XMP
history events, the ``photoshop:*`` fields and the embedded previews, and says how many
rows it left out.
"""

from __future__ import annotations

MAX_METADATA_ROWS = 40

_META_KEEP = {
    "EXIF summary": None,
    "ICC profile": {"Description", "Colour space", "present"},
    "JPEG": {"Quality", "Coding", "Chroma subsampling", "Bytes after EOI", "Comment"},
    "Thumbnail": {"Size", "Verdict", "PSNR (dB)", "present"},
    "XMP": {"present", "CreatorTool", "CreateDate", "ModifyDate", "DateCreated", "HistoryEntries",
            "HistoryActions", "HistorySoftware", "DerivedFrom"},
    "PNG": {"Chunks", "Bytes after IEND"},
    "EXIF": {"present"},
}
# what exiv2 reads (maker notes, IPTC, XMP history and photoshop:* fields, previews): kept in row
# order among the rows above, with a budget of their own so that they never push those out
_META_KEEP_EXIV2 = {
    "Maker notes summary": None,
    "IPTC summary": None,
    "XMP history": None,
    "XMP properties": lambda key: key.startswith("photoshop."),
    "Embedded previews": lambda key: not key.endswith("PSNR (dB)"),
}
MAX_METADATA_ROWS_EXIV2 = 40
MAX_ROWS_PER_EXIV2_SECTION = 15


def metadata_subset(rows: list[list[str]]) -> tuple[list[tuple[str, str, str]], int]:
    """A readable subset of metadata rows: EXIF summary, ICC, JPEG quality, thumbnail, key XMP;
    then the maker-note and IPTC summaries, the XMP history, photoshop fields and previews."""
    keep, extra, per_section = [], [], {}
    for i, row in enumerate(rows):
        if len(row) != 3:
            continue
        sec, key, val = row
        if sec in _META_KEEP_EXIV2:
            rule = _META_KEEP_EXIV2[sec]
            if (rule is None or rule(key)) and per_section.get(sec, 0) < MAX_ROWS_PER_EXIV2_SECTION:
                per_section[sec] = per_section.get(sec, 0) + 1
                extra.append((i, (sec, key, val)))
            continue
        allowed = _META_KEEP.get(sec, set())
        if sec not in _META_KEEP:
            continue
        if allowed is None or key in allowed or (sec == "JPEG" and key.startswith("Table") and
                                                   not key.endswith("values")):
            keep.append((i, (sec, key, val)))
    total = sum(1 for r in rows if len(r) == 3 and r[0] not in ("File", "Warnings"))
    chosen = sorted(keep[:MAX_METADATA_ROWS] + extra[:MAX_METADATA_ROWS_EXIV2])
    shown = [row for _, row in chosen]
    return shown, max(0, total - len(shown))
