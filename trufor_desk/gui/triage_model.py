"""The rows of a batch folder as a list model, most suspicious first.

The rows come from :func:`trufor_desk.batch.results.read_results` (Qt-free).  Each row's
verdict is the batch's ``verdict`` column, the category of
:func:`trufor_desk.verdict.decision.verdict_for_result` (the verdict the window, the report and
``analyze`` give at the default thresholds); a folder written before that column existed gets
it computed from the stored ``.npz`` on a thread pool (:class:`~trufor_desk.gui.pool_loader.PoolLoader`).
Items are sorted by verdict (manipulation indicated, inconclusive, no indication, not
applicable, not yet known), then by score (rows without a score last within their verdict),
errors at the end.  Thumbnails come from a :class:`~trufor_desk.gui.thumbnails.ThumbnailLoader`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, Qt, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QStyle

from trufor_desk.render.verdict_colours import COLOUR_HEX
from trufor_desk.verdict.decision import CATEGORY_LABELS, CATEGORY_RANK, COLOURS, format_score

from .pool_loader import PoolLoader
from .thumbnails import ThumbnailLoader

PathRole = Qt.ItemDataRole.UserRole + 1
NpzRole = Qt.ItemDataRole.UserRole + 2
ScoreRole = Qt.ItemDataRole.UserRole + 3
StatusRole = Qt.ItemDataRole.UserRole + 4
RowRole = Qt.ItemDataRole.UserRole + 5
VerdictRole = Qt.ItemDataRole.UserRole + 6


def stored_verdict(npz: str) -> str | None:
    """The verdict category of a stored analysis (run on a worker thread)."""
    from trufor_desk.batch.results import load_result_npz
    from trufor_desk.verdict.decision import verdict_for_result

    return verdict_for_result(load_result_npz(npz)).category


def verdict_loader(parent: QObject | None = None) -> PoolLoader:
    """Verdicts of rows written without the ``verdict`` column, from their ``.npz``: ``request(path, npz)``;
    ``ready`` gives (path, category, or None for an unreadable file)."""
    return PoolLoader(stored_verdict, max_threads=2, parent=parent)


def _sort_key(row: dict):
    score = row.get("score")
    return (row.get("status") != "ok", CATEGORY_RANK.get(row.get("verdict") or "", len(CATEGORY_RANK)),
            score is None, -(score or 0.0), row.get("path", ""))


def verdict_text(row: dict) -> str:
    """The verdict as the list shows it."""
    if row.get("status") != "ok":
        return "error"
    category = row.get("verdict")
    return CATEGORY_LABELS.get(category, "verdict pending" if row.get("npz") else "no stored analysis")


def _placeholder(size: int, colour: str) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(QColor(colour))
    return pm


class TriageModel(QAbstractListModel):
    """Rows of a batch folder, most suspicious first; thumbnails through a loader."""

    verdictsChanged = Signal()  # a verdict computed late (older folders) arrived

    def __init__(self, loader: ThumbnailLoader, parent: QObject | None = None,
                 verdicts: PoolLoader | None = None):
        super().__init__(parent)
        self.loader = loader
        self.verdicts = verdicts or verdict_loader(self)
        self.verdicts.ready.connect(self._verdict_ready)
        self.rows: list[dict] = []
        self._index: dict[str, int] = {}
        self._loading = _placeholder(loader.size, "#3a3a3a")
        broken = QIcon.fromTheme("image-missing")
        self._broken = broken if not broken.isNull() else \
            QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        loader.ready.connect(self._thumb_ready)

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self.rows = sorted(rows, key=_sort_key)
        self._index = {r["path"]: i for i, r in enumerate(self.rows)}
        self.endResetModel()
        for r in self.rows:  # folders written before the verdict column: computed off the GUI thread
            if r.get("status") == "ok" and not r.get("verdict") and r.get("npz"):
                self.verdicts.request(r["path"], r["npz"])

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            name = Path(row["path"]).name
            if row["status"] != "ok":
                return f"{name}\nerror"
            score = row["score"]
            return f"{name}\n{verdict_text(row)}" + ("" if score is None else f" \u00b7 {format_score(score)}")
        if role == Qt.ItemDataRole.DecorationRole:
            known, pm = self.loader.get(row["path"])
            if not known:
                return self._loading
            if pm is None:
                return self._broken
            return pm
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [row["path"], f"status: {row['status']}", f"engine: {row['engine']}"]
            if row["status"] == "ok":
                lines.append(f"verdict: {verdict_text(row)} (at the default thresholds; open the item for the "
                             "full reading)")
            if row["score"] is not None:
                lines.append(f"score: {format_score(row['score'])}")
            if row.get("width"):
                lines.append(f"size: {row['width']} x {row['height']}")
            if row["error"]:
                lines.append(f"error: {row['error']}")
            lines.append(f"sha256: {row['sha256']}")
            return "\n".join(lines)
        if role == Qt.ItemDataRole.ForegroundRole:
            if row["status"] != "ok":
                return QColor("#d9534f")
            category = row.get("verdict")
            return QColor(COLOUR_HEX[COLOURS[category]]) if category in COLOURS else None
        if role == PathRole:
            return row["path"]
        if role == NpzRole:
            return row.get("npz") or ""
        if role == ScoreRole:
            return row["score"]
        if role == StatusRole:
            return row["status"]
        if role == RowRole:
            return row
        if role == VerdictRole:
            return row.get("verdict")
        return None

    @Slot(str, object)
    def _verdict_ready(self, path: str, category) -> None:
        i = self._index.get(path)
        if i is None:
            return
        self.rows[i]["verdict"] = category
        idx = self.index(i)
        self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole,
                                         Qt.ItemDataRole.ToolTipRole])
        self.verdictsChanged.emit()

    @Slot(str)
    def _thumb_ready(self, path: str) -> None:
        i = self._index.get(path)
        if i is not None:
            idx = self.index(i)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])
