"""The notes and region annotations, printed in full (across pages if needed)."""

from __future__ import annotations

from .context import ReportContext
from .layout import clean


def notes_page(doc: ReportContext) -> None:
    c, pdf = doc.case, doc.pdf
    pdf.add_page()
    doc.h1("Notes and annotations")
    doc.h2("Notes")
    if not c.notes:
        doc.para("No notes were recorded.", 8.5, "I")
    for n in c.notes:  # paragraphs, not table cells: a note is printed in full, across pages if needed
        doc.need(12)
        doc.para(f"{n.id} \u00b7 {n.time[:10]} \u00b7 {n.author} \u00b7 about "
                  f"{'evidence ' + n.evidence_id if n.evidence_id else 'the case'}", 8, "B", (60, 60, 60))
        doc.para(clean(n.text, 50_000), 8.5)
    doc.h2("Region annotations")
    if not c.annotations:
        doc.para("No regions were annotated.", 8.5, "I")
    for r in c.annotations:
        doc.need(12)
        doc.para(f"{r.id} \u00b7 {r.label} \u00b7 evidence {r.evidence_id} \u00b7 {r.describe_region()} "
                  f"(image pixels, stored orientation) \u00b7 {r.author}, {r.time[:10]}", 8, "B", (60, 60, 60))
        if r.text:
            doc.para(clean(r.text, 50_000), 8.5)
