"""The fpdf2 document of a report: page header and footer, embedded fonts, document metadata, PDF/A.

The document declares PDF/A-2B (fpdf2's compliance mode: embedded fonts, an sRGB output
intent, XMP metadata, no transparency); this has not been checked with an external
validator such as veraPDF.  Its metadata, XMP and trailer ``/ID`` derive from the case
content and the report date only, so they are reproducible.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone
from pathlib import Path

from trufor_desk.errors import UserError

from .dates import ReportDates
from .layout import A4_W, CONTENT_W, MARGIN, clean

KEYWORDS = "forensics, image, TruFor, case report"


def find_fonts() -> dict[str, Path]:
    """DejaVu Sans (regular, bold, oblique) and Sans Mono, from the first folder that has them."""
    from trufor_desk.resources import resources_dir

    wanted = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf",
              "mono": "DejaVuSansMono.ttf"}
    folders = [os.environ.get("TRUFOR_DESK_FONT_DIR", ""), str(resources_dir() / "fonts"),
               "/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
               "/usr/local/share/fonts", "/Library/Fonts", os.path.expanduser("~/Library/Fonts"),
               os.path.join(os.environ.get("WINDIR", "C:\\Windows"), "Fonts")]
    for folder in folders:
        if folder and all((Path(folder) / f).is_file() for f in wanted.values()):
            return {k: Path(folder) / f for k, f in wanted.items()}
    raise UserError("no Unicode font for the PDF report: install the DejaVu fonts (Debian/Ubuntu: "
                    "fonts-dejavu-core) or set TRUFOR_DESK_FONT_DIR to a folder holding DejaVuSans.ttf, "
                    "DejaVuSans-Bold.ttf, DejaVuSans-Oblique.ttf and DejaVuSansMono.ttf")


def _make_pdf_class():
    from fpdf import FPDF

    class ReportPDF(FPDF):
        case_id = ""
        report_id = ""
        report_day = ""
        doc_id = ""

        def header(self) -> None:
            self.set_font("DejaVu", "B", 8)
            self.set_text_color(60, 60, 60)
            self.cell(CONTENT_W / 2, 5, "TruFor Desk \u00b7 Forensic image analysis report")
            self.set_font("DejaVu", "", 8)
            self.cell(CONTENT_W / 2, 5, f"Case {self.case_id}", align="R", new_x="LMARGIN", new_y="NEXT")
            self.set_draw_color(150, 150, 150)
            self.set_line_width(0.2)
            self.line(MARGIN, self.get_y() + 0.5, A4_W - MARGIN, self.get_y() + 0.5)
            self.ln(4)
            self.set_text_color(0, 0, 0)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_draw_color(150, 150, 150)
            self.line(MARGIN, self.get_y(), A4_W - MARGIN, self.get_y())
            self.set_font("DejaVu", "", 7.5)
            self.set_text_color(60, 60, 60)
            self.cell(CONTENT_W / 2, 6, f"Report {self.report_id} \u00b7 {self.report_day}")
            self.cell(CONTENT_W / 2, 6, f"Page {self.page_no()} of {{nb}}", align="R")
            self.set_text_color(0, 0, 0)

        def file_id(self):  # deterministic trailer /ID from the case content and the date
            return f"<{self.doc_id}><{self.doc_id}>"

    return ReportPDF


def pdfa_xmp(title: str, subject: str, author: str, creator: str, producer: str, keywords: str,
         when: datetime) -> str:
    from html import escape

    def esc(s: str) -> str:
        return escape(s, quote=True).replace("'", "&apos;")

    stamp = when.astimezone(timezone.utc).isoformat(timespec="seconds")
    return "\n".join([
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="trufor-desk">',
        '  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"',
        '    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
        '    xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">',
        '    <rdf:Description rdf:about=""',
        f'        xmp:CreatorTool="{esc(creator)}" xmp:CreateDate="{stamp}" xmp:ModifyDate="{stamp}"',
        f'        xmp:MetadataDate="{stamp}" pdf:Producer="{esc(producer)}" pdf:Keywords="{esc(keywords)}">',
        "      <pdfaid:part>2</pdfaid:part>",
        "      <pdfaid:conformance>B</pdfaid:conformance>",
        f'      <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{esc(title)}</rdf:li></rdf:Alt></dc:title>',
        f'      <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{esc(subject)}</rdf:li></rdf:Alt>'
        "</dc:description>",
        f"      <dc:creator><rdf:Seq><rdf:li>{esc(author)}</rdf:li></rdf:Seq></dc:creator>",
        "    </rdf:Description>",
        "  </rdf:RDF>",
        "</x:xmpmeta>",
    ])


def new_document(case, dates: ReportDates, rid: str, pdfa: bool):
    """An empty report document for ``case``: fonts, margins, header/footer data and metadata set."""
    from fpdf import FPDF_VERSION

    fonts = find_fonts()
    cls = _make_pdf_class()
    pdf = cls(orientation="P", unit="mm", format="A4", enforce_compliance="PDFA_2B" if pdfa else None)
    pdf.case_id = clean(case.case_id, 80)
    pdf.report_id = rid
    pdf.report_day = dates.report_day.isoformat()
    checks = "|".join(case.verification.lines()) if case.verification is not None else "unverified"
    pdf.doc_id = hashlib.sha256(f"{rid}|{case.content_digest()}|{checks}".encode()).hexdigest()[:32].upper()
    for style, key in (("", ""), ("B", "B"), ("I", "I")):
        pdf.add_font("DejaVu", style, str(fonts[key]))
    pdf.add_font("DejaVuMono", "", str(fonts["mono"]))
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=16)
    pdf.alias_nb_pages()
    title = f"Forensic image analysis report \u2013 case {clean(case.case_id, 80)}"
    subject = f"Report {rid}"
    from trufor_desk import __version__

    creator = f"TruFor Desk {__version__}"
    producer = f"fpdf2 {FPDF_VERSION}"
    pdf.set_title(title)
    pdf.set_author(clean(case.examiner, 200))
    pdf.set_subject(subject)
    pdf.set_creator(creator)
    pdf.set_producer(producer)
    pdf.set_keywords(KEYWORDS)
    pdf.set_lang("en")
    pdf.set_creation_date(dates.creation)
    if pdfa:
        pdf.set_xmp_metadata(pdfa_xmp(title, subject, clean(case.examiner, 200), creator, producer, KEYWORDS,
                                      dates.creation))
    return pdf
