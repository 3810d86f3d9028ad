"""The page of one evidence item: thumbnail with the annotated regions, file facts and integrity,
digests, and the metadata summary (observations first, then the rows :mod:`.metadata_summary` picks)."""

from __future__ import annotations

from .context import ReportContext
from .credentials import credentials_section
from .figures import annotated_thumbnail, fit, resize
from .layout import CONTENT_W, MARGIN
from .metadata_summary import metadata_subset


def evidence_page(doc: ReportContext, ref) -> None:
    c, pdf = doc.case, doc.pdf
    pdf.add_page()
    doc.h1(f"Evidence {ref.id}: {ref.name}", f"Evidence {ref.id}")
    anns = [a for a in c.annotations if a.evidence_id == ref.id]
    thumb = annotated_thumbnail(ref, anns)
    y0 = pdf.get_y()
    tw = 62.0
    if thumb is not None:
        th = min(tw * thumb.shape[0] / thumb.shape[1], 70.0)
        w = th * thumb.shape[1] / thumb.shape[0]
        small = resize(thumb, fit(thumb.shape[1], thumb.shape[0], 480))
        doc.image(small, MARGIN, y0, w, th, f"Evidence {ref.id} thumbnail")
    else:
        th = 10.0
        pdf.set_font("DejaVu", "I", 8)
        pdf.cell(tw, 5, "(no preview stored)")
    status = c.verification.status_of(ref.id) if c.verification is not None else None
    status_text = {"ok": "verified: the file's SHA-256 and MD5 match the intake digests",
                   "modified": "MODIFIED: the file no longer matches the intake digests",
                   "missing": "MISSING: the file was not found", "unreadable": "UNREADABLE",
                   None: "not re-verified for this report"}.get(status, str(status))
    pdf.set_xy(MARGIN + tw + 4, y0)
    pdf.set_left_margin(MARGIN + tw + 4)
    rows = [("File", ref.name), ("Format", f"{ref.format} ({ref.mode})"),
            ("Dimensions", f"{ref.width} x {ref.height} pixels"), ("Size", f"{ref.size_bytes:,} bytes"),
            ("Added to case", ref.added[:10]), ("Integrity", status_text)]
    if ref.exif_orientation:
        from trufor_desk.evidence.metadata import orientation_text

        rows.append(("EXIF orientation", orientation_text(ref.exif_orientation) +
                     " (analysed as stored)"))
    if ref.n_frames > 1:
        rows.append(("Frames", str(ref.n_frames)))
    for conv in ref.conversions:
        rows.append(("Decoding", conv))
    doc.narrow_table(rows, CONTENT_W - tw - 4)
    pdf.set_left_margin(MARGIN)
    pdf.set_xy(MARGIN, max(pdf.get_y(), y0 + th) + 3)
    doc.table([("Path at intake", ref.path), ("SHA-256", ref.sha256), ("MD5", ref.md5)],
               mono={"SHA-256", "MD5"}, key_w=30, size=8)
    if anns:
        doc.para("Regions marked on the thumbnail: " + ", ".join(a.id for a in anns) +
                  " (see Notes and annotations).", 7.5, "I", (80, 80, 80))
    credentials_section(doc, ref)
    doc.h2("Metadata summary")
    rows, more = metadata_subset(ref.metadata)
    if ref.metadata_warnings:
        doc.para("Observations (not verdicts: they also occur in innocent files):", 8.5, "B")
        doc.bullets(ref.metadata_warnings, 8)
    if rows:
        doc.table([(f"{s}: {k}", v) for s, k, v in rows], key_w=58, size=7.5)
    if more:
        where = (f"kept in the case file {doc.case_file}" if doc.case_file else
                 "not printed here (the application shows them all)")
        doc.para(f"{more} further metadata rows are {where}.", 7.5, "I", (80, 80, 80))
