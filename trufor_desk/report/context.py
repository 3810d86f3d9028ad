"""What every section of a report draws with and reads: the layout primitives, the case, the dates,
the report id, the case file it goes with, and each analysis's reading (computed once)."""

from __future__ import annotations

from typing import Any

from .dates import ReportDates
from .layout import Layout


class ReportContext(Layout):
    """The page primitives of :class:`~.layout.Layout` plus the case being reported."""

    def __init__(self, pdf, case, dates: ReportDates, rid: str, case_file: str | None = None) -> None:
        super().__init__(pdf)
        self.case = case
        self.dates = dates
        self.rid = rid
        self.case_file = case_file  # the .tfcase this report goes with (file name), None when there is none
        self._readings: dict[str, Any] = {}

    def reading(self, a):
        """The reading (and its verdict) of one analysis at the thresholds recorded in the case."""
        if a.id not in self._readings:
            from trufor_desk.verdict.reading import read_result

            self._readings[a.id] = read_result(a.result, float(a.thresholds.get("localization", 0.5)),
                                               float(a.thresholds.get("reliability", 0.5)))
        return self._readings[a.id]
