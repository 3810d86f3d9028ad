"""PDF case reports (fpdf2, Qt-free): deterministic, PDF/A-2B declared, optional PAdES signature."""

from .pdf import (
                  LIMITATIONS,
                  METHODS,
                  ReportDates,
                  find_fonts,
                  render_report,
                  report_dates,
                  report_id,
                  sign_pdf,
                  source_date_epoch,
                  write_report,
)

__all__ = ["LIMITATIONS", "METHODS", "ReportDates", "find_fonts", "render_report", "report_dates", "report_id",
           "sign_pdf", "source_date_epoch", "write_report"]
