"""Filtering the triage list by status, verdict category and score range."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QSortFilterProxyModel

VERDICT_FILTERS = ("all", "indicated", "inconclusive", "no_indication", "not_applicable")


class TriageFilter(QSortFilterProxyModel):
    """Status (all / ok / error), verdict category and score range.  Rows without a
    score pass the score filter only while it spans the whole 0..1 range."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.lo, self.hi, self.status, self.verdict = 0.0, 1.0, "all", "all"

    def _refilter(self, **state) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10; invalidateFilter() is deprecated there
            self.beginFilterChange()
            self.__dict__.update(state)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - older Qt
            self.__dict__.update(state)
            self.invalidateFilter()

    def set_score_range(self, lo: float, hi: float) -> None:
        self._refilter(lo=float(lo), hi=float(hi))

    def set_status(self, status: str) -> None:
        if status not in ("all", "ok", "error"):
            raise ValueError(f"status filter must be all, ok or error, not {status!r}")
        self._refilter(status=status)

    def set_verdict(self, verdict: str) -> None:
        if verdict not in VERDICT_FILTERS:
            raise ValueError(f"verdict filter must be one of {', '.join(VERDICT_FILTERS)}, not {verdict!r}")
        self._refilter(verdict=verdict)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:  # noqa: N802
        row = self.sourceModel().rows[source_row]
        if self.status != "all" and row["status"] != self.status:
            return False
        if self.verdict != "all" and row.get("verdict") != self.verdict:
            return False
        score = row["score"]
        if score is None:
            return self.lo <= 0.0 and self.hi >= 1.0
        return self.lo <= score <= self.hi
