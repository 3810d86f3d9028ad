"""The PDF case report: what was examined, how, with what, by whom, and what was found.

Built with fpdf2 and a Unicode TrueType font (DejaVu) embedded as a subset.  The report
is a pure function of the case and the report date:

* the report date is ``SOURCE_DATE_EPOCH`` when set, otherwise the UTC day of the
  latest analysis in the case (the day of the last recorded activity if there is none);
  only dates are printed, never wall-clock times or timings;
* the report id, the PDF creation date, the XMP metadata and the trailer ``/ID`` all
  derive from the case content and that date;
* figures are rendered with numpy/Pillow/OpenCV from the stored preview and result
  arrays and embedded as PNGs written with fixed settings;

so the same case gives the same bytes.  The document declares PDF/A-2B (fpdf2's
compliance mode: embedded fonts, an sRGB output intent, XMP metadata, no
transparency); this has not been checked with an external validator such as veraPDF.

An optional PAdES signature (pyHanko, with the examiner's PKCS#12 certificate) is added
as an incremental update; a signature carries the real signing time, so a signed file is
not byte-reproducible, but the signed revision inside it is.

This module is the entry point; the rest of the package is split along the document's seams:
page primitives (``layout``: headings, tables, panels, colour scales; ``document``: the fpdf2
document, fonts, metadata, PDF/A), what is printed (``methods``, ``dates``), the figures
(``figures``), and one module per page (``cover_page``, ``evidence_page`` with
``metadata_summary``, ``analysis_page``, ``comparison_page``, ``notes_page``,
``closing_page``), all drawn through the ``context`` they are given; ``signing`` signs.
"""

from __future__ import annotations

import os
from pathlib import Path

from trufor_desk.atomic import output_target, write_bytes_atomic
from trufor_desk.errors import UserError

from .analysis_page import analysis_page
from .closing_page import closing_page
from .comparison_page import comparison_page
from .context import ReportContext
from .cover_page import cover_page
from .dates import ReportDates, report_dates, report_id, source_date_epoch
from .document import find_fonts, new_document
from .evidence_page import evidence_page
from .methods import LIMITATIONS, METHODS
from .notes_page import notes_page
from .signing import sign_pdf

__all__ = ["METHODS", "LIMITATIONS", "ReportDates", "report_dates", "report_id", "render_report",
           "write_report", "sign_pdf", "find_fonts", "source_date_epoch"]


def _build(doc: ReportContext) -> bytes:
    """Every page, in the report's order: cover, each evidence item with its analyses, the
    comparisons, notes and annotations, limitations and audit log."""
    cover_page(doc)
    for ref in doc.case.evidence:
        evidence_page(doc, ref)
        for a in doc.case.analyses_of(ref.id):
            analysis_page(doc, a)
    for rec in getattr(doc.case, "comparisons", []):
        comparison_page(doc, doc.case, rec)
    notes_page(doc)
    closing_page(doc)
    return bytes(doc.pdf.output())


def render_report(case, dates: ReportDates | None = None, pdfa: bool = True,
                  case_file: str | os.PathLike | None = None) -> bytes:
    """The report's PDF bytes.  Same case (and same dates) -> same bytes.

    ``case.verification`` (set by :func:`~trufor_desk.case.store.load_case` or
    :func:`~trufor_desk.case.store.verify_case`) is printed when present.  ``case_file``:
    the saved ``.tfcase`` this report goes with; only then does the report refer to a
    case file (by its name) for what it does not print.
    """
    try:
        import fpdf  # noqa: F401
    except ImportError:
        raise UserError("the PDF report needs fpdf2: pip install fpdf2") from None
    dates = dates or report_dates(case)
    rid = report_id(case, dates)
    pdf = new_document(case, dates, rid, pdfa)
    return _build(ReportContext(pdf, case, dates, rid, Path(case_file).name if case_file else None))


def write_report(case, path: str | os.PathLike, dates: ReportDates | None = None, pdfa: bool = True,
                 sign_p12: str | os.PathLike | None = None, sign_password: str | None = None,
                 case_file: str | os.PathLike | None = None) -> Path:
    """Render (and optionally sign) the report and write it atomically to ``path``."""
    target = output_target(path, [ref.path for ref in case.evidence], ".pdf")
    data = render_report(case, dates, pdfa, case_file)
    if sign_p12 is not None:
        data = sign_pdf(data, sign_p12, sign_password, signer_name=case.examiner)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(target, data)
    except OSError as exc:
        raise UserError(f"{target}: cannot write report ({exc.strerror or exc})") from None
    return target
