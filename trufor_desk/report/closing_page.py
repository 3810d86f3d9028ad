"""The closing page: the limitations, the hash-chained audit log, the examiner's signature block."""

from __future__ import annotations

from .context import ReportContext
from .layout import CONTENT_W, MARGIN, clean
from .methods import LIMITATIONS


def closing_page(doc: ReportContext) -> None:
    c, pdf = doc.case, doc.pdf
    doc.need(60)
    pdf.ln(4)
    pdf.start_section("Limitations", level=0)
    doc.h2("Limitations")
    limits = list(LIMITATIONS)
    if doc.case_file:
        limits.append(f"The case file {doc.case_file} holds the full-resolution maps.")
    doc.bullets(limits, 8.5)
    pdf.start_section("Audit log", level=0)
    doc.h2("Audit log")
    doc.para("Each entry's hash covers its content and the previous entry's hash, so any edit, removal or "
              "reordering breaks the chain. This report prints dates only"
              + (f"; the full log with times is in the case file {doc.case_file}." if doc.case_file else
                 "."), 8)
    doc.table([(str(e.seq), e.time[:10], e.actor, e.action, e.hash[:16] + "\u2026") for e in c.audit],
               header=("#", "Date", "Actor", "Action", "Entry hash"), widths=(10, 22, 44, 50, CONTENT_W - 126),
               size=7.5)
    doc.table([("Head hash", c.head_hash)], mono={"Head hash"}, key_w=30, size=8)
    doc.need(30)
    pdf.ln(6)
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 5, f"Examiner: {clean(c.examiner, 120)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    pdf.set_draw_color(0, 0, 0)
    pdf.line(MARGIN, pdf.get_y(), MARGIN + 70, pdf.get_y())
    pdf.line(MARGIN + 100, pdf.get_y(), MARGIN + 150, pdf.get_y())
    pdf.set_font("DejaVu", "", 7.5)
    pdf.cell(100, 4, "Signature")
    pdf.cell(50, 4, "Date", new_x="LMARGIN", new_y="NEXT")
