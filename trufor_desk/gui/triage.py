"""Triage view of a batch output folder: thumbnails by verdict and score, filters, open an item.

The rows come from :func:`trufor_desk.batch.results.read_results` (Qt-free); this
module only shows them.  Each row's verdict is the batch's ``verdict`` column, the
category of :func:`trufor_desk.render.verdict.verdict_for_result` (the verdict the
window, the report and ``analyze`` give at the default thresholds); a folder written
before that column existed gets it computed from the stored ``.npz`` on a worker thread.
Items are sorted most suspicious first: by verdict (manipulation indicated, inconclusive,
no indication, not applicable, not yet known), then by score (rows without a score last
within their verdict), errors at the end.  Thumbnails are made from the source images on
a thread pool, only when the list asks for an item it is about to draw, and kept in a
bounded cache, so a folder of thousands of photos opens at once.

Opening an item emits :attr:`TriageView.openRequested` with the image path and the
stored ``.npz`` (empty for error rows); the main window shows that analysis through
:func:`trufor_desk.batch.results.load_result_npz` without computing it again.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QRunnable,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QThreadPool,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from trufor_desk.errors import UserError
from trufor_desk.render.verdict_colours import COLOUR_HEX
from trufor_desk.verdict.decision import CATEGORY_LABELS, CATEGORY_RANK, COLOURS, format_score

THUMB = 128
CACHE_SIZE = 1500
PathRole = Qt.ItemDataRole.UserRole + 1
NpzRole = Qt.ItemDataRole.UserRole + 2
ScoreRole = Qt.ItemDataRole.UserRole + 3
StatusRole = Qt.ItemDataRole.UserRole + 4
RowRole = Qt.ItemDataRole.UserRole + 5
VerdictRole = Qt.ItemDataRole.UserRole + 6
VERDICT_FILTERS = ("all", "indicated", "inconclusive", "no_indication", "not_applicable")
CAUTION = ("The verdict is the one the window and the report give at the default thresholds (0.5); open the "
           "item to see where the detector looked and how reliable its map is. \u201cNo indication\u201d is "
           "not proof of authenticity, and a score is a probability only where the engine is calibrated.")


# -- thumbnails ---------------------------------------------------------------------------
def make_thumbnail(path: str, size: int = THUMB) -> QImage | None:
    """A thumbnail of the image file (read-only), or None if it cannot be decoded."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                img.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a reduced scale
                img = img.convert("RGB")
                img.thumbnail((size, size))
                data = img.tobytes()
                w, h = img.size
    except Exception:  # noqa: BLE001 - a bad file just gets the placeholder
        return None
    return QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class _Carrier(QObject):
    done = Signal(str, object)  # path, QImage or None


class _ThumbTask(QRunnable):
    def __init__(self, path: str, size: int, carrier: _Carrier):
        super().__init__()
        self.path, self.size, self.carrier = path, size, carrier

    def run(self) -> None:
        self.carrier.done.emit(self.path, make_thumbnail(self.path, self.size))


class ThumbnailLoader(QObject):
    """Thumbnails on demand: :meth:`get` answers from the cache or queues the file and
    emits :attr:`ready` when it is done (``None`` results are remembered as failures)."""

    ready = Signal(str)

    def __init__(self, size: int = THUMB, cache_size: int = CACHE_SIZE, parent: QObject | None = None):
        super().__init__(parent)
        self.size = size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, QPixmap | None] = OrderedDict()
        self._pending: set[str] = set()
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, min(4, QThreadPool.globalInstance().maxThreadCount())))
        self._carrier = _Carrier(self)
        self._carrier.done.connect(self._on_done)

    def get(self, path: str) -> tuple[bool, QPixmap | None]:
        """(known, pixmap): known is False while the thumbnail is still being made."""
        if path in self._cache:
            self._cache.move_to_end(path)
            return True, self._cache[path]
        if path not in self._pending:
            self._pending.add(path)
            self.pool.start(_ThumbTask(path, self.size, self._carrier))
        return False, None

    @Slot(str, object)
    def _on_done(self, path: str, image) -> None:
        self._pending.discard(path)
        self._cache[path] = QPixmap.fromImage(image) if image is not None else None
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        self.ready.emit(path)

    def clear(self) -> None:
        self.pool.clear()
        self._cache.clear()
        self._pending.clear()

    def wait(self, ms: int = 30000) -> bool:
        return self.pool.waitForDone(ms)


class _VerdictTask(QRunnable):
    def __init__(self, path: str, npz: str, carrier: _Carrier):
        super().__init__()
        self.path, self.npz, self.carrier = path, npz, carrier

    def run(self) -> None:
        from trufor_desk.batch.results import load_result_npz
        from trufor_desk.verdict.decision import verdict_for_result

        try:
            category = verdict_for_result(load_result_npz(self.npz)).category
        except Exception:  # noqa: BLE001 - an unreadable file just has no verdict
            category = None
        self.carrier.done.emit(self.path, category)


class VerdictLoader(QObject):
    """Verdicts of rows written without the ``verdict`` column, computed from their stored
    ``.npz`` off the GUI thread; :attr:`ready` gives (path, category or None)."""

    ready = Signal(str, object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, min(2, QThreadPool.globalInstance().maxThreadCount())))
        self._carrier = _Carrier(self)
        self._carrier.done.connect(self.ready)

    def request(self, path: str, npz: str) -> None:
        self.pool.start(_VerdictTask(path, npz, self._carrier))

    def clear(self) -> None:
        self.pool.clear()

    def wait(self, ms: int = 30000) -> bool:
        return self.pool.waitForDone(ms)


# -- model and filter -------------------------------------------------------------------
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
                 verdicts: VerdictLoader | None = None):
        super().__init__(parent)
        self.loader = loader
        self.verdicts = verdicts or VerdictLoader(self)
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


# -- the view -----------------------------------------------------------------------------
class TriageView(QWidget):
    """Open a batch folder, browse its images by score, open one for the full analysis."""

    openRequested = Signal(str, str)  # image path, npz path ("" when the row is an error)

    def __init__(self, parent: QWidget | None = None, thumb_size: int = THUMB):
        super().__init__(parent)
        self.folder: Path | None = None
        self.loader = ThumbnailLoader(thumb_size, parent=self)
        self.model = TriageModel(self.loader, self)
        self.proxy = TriageFilter(self)
        self.proxy.setSourceModel(self.model)

        self.open_button = QPushButton("Open batch folder…")
        self.open_button.setToolTip("Open a folder written by `trufor-desk batch` (results.jsonl / results.csv)")
        self.open_button.clicked.connect(self.open_dialog)
        self.min_score = self._spin(0.0, "Hide images scoring below this (rows without a score are hidden "
                                         "as soon as the range is narrowed)")
        self.max_score = self._spin(1.0, "Hide images scoring above this")
        self.status_combo = QComboBox()
        self.status_combo.addItems(["all", "ok", "error"])
        self.status_combo.setToolTip("Show every row, only analysed images, or only files that failed")
        self.status_combo.currentTextChanged.connect(self._apply_filter)
        self.verdict_combo = QComboBox()
        for key in VERDICT_FILTERS:
            self.verdict_combo.addItem("all" if key == "all" else CATEGORY_LABELS[key], key)
        self.verdict_combo.setToolTip("Show only the images with this verdict (the one the window and the "
                                      "report give at the default thresholds)")
        self.verdict_combo.currentIndexChanged.connect(self._apply_filter)
        self.open_item_button = QPushButton("Open")
        self.open_item_button.setToolTip("Show the selected image with its stored analysis (no recompute)")
        self.open_item_button.clicked.connect(self.open_current)
        self.count_label = QLabel("No batch folder open")

        bar = QHBoxLayout()
        bar.addWidget(self.open_button)
        bar.addWidget(QLabel("Score"))
        bar.addWidget(self.min_score)
        bar.addWidget(QLabel("to"))
        bar.addWidget(self.max_score)
        bar.addWidget(QLabel("Status"))
        bar.addWidget(self.status_combo)
        bar.addWidget(QLabel("Verdict"))
        bar.addWidget(self.verdict_combo)
        bar.addStretch(1)
        bar.addWidget(self.count_label)
        bar.addWidget(self.open_item_button)

        self.list = QListView()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setUniformItemSizes(True)
        self.list.setLayoutMode(QListView.LayoutMode.Batched)
        self.list.setBatchSize(200)
        self.list.setIconSize(QSize(thumb_size, thumb_size))
        self.list.setGridSize(QSize(thumb_size + 40, thumb_size + 48))
        self.list.setWordWrap(True)
        self.list.setModel(self.proxy)
        self.list.activated.connect(self.open_index)
        self.list.doubleClicked.connect(self.open_index)
        self.list.setWhatsThis("Images of the batch, most suspicious first: by verdict, then by score. " + CAUTION)

        caution = QLabel(CAUTION)
        caution.setWordWrap(True)
        caution.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.list, 1)
        layout.addWidget(caution)
        self.setWhatsThis("Triage of a batch run: thumbnails sorted by verdict and score, filtered by score, "
                          "verdict and status. " + CAUTION)
        self.model.verdictsChanged.connect(self._update_count)  # the proxy refilters changed rows itself

    def _spin(self, value: float, tip: str) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(0.0, 1.0)
        s.setSingleStep(0.05)
        s.setDecimals(2)
        s.setValue(value)
        s.setToolTip(tip)
        s.valueChanged.connect(self._apply_filter)
        return s

    # -- folder ------------------------------------------------------------------------
    def open_folder(self, folder) -> int:
        """Load a batch folder; returns the number of rows.  Raises :class:`UserError`."""
        from trufor_desk.batch.results import read_results

        rows = read_results(folder)
        self.loader.clear()
        self.model.verdicts.clear()
        self.folder = Path(folder)
        self.model.set_rows(rows)
        self._update_count()
        return len(rows)

    def reload(self) -> int:
        return self.open_folder(self.folder) if self.folder is not None else 0

    def open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open batch folder")
        if folder:
            try:
                self.open_folder(folder)
            except UserError as exc:
                box = QMessageBox(QMessageBox.Icon.Warning, "Not a batch folder", str(exc),
                                  QMessageBox.StandardButton.Ok, self)
                box.show()

    # -- filter ------------------------------------------------------------------------
    def set_score_range(self, lo: float, hi: float) -> None:
        self.min_score.setValue(lo)
        self.max_score.setValue(hi)

    def set_status_filter(self, status: str) -> None:
        self.status_combo.setCurrentText(status)

    def set_verdict_filter(self, verdict: str) -> None:
        i = self.verdict_combo.findData(verdict)
        if i < 0:
            raise ValueError(f"verdict filter must be one of {', '.join(VERDICT_FILTERS)}, not {verdict!r}")
        self.verdict_combo.setCurrentIndex(i)

    def _apply_filter(self, *_args) -> None:
        self.proxy.set_score_range(self.min_score.value(), self.max_score.value())
        self.proxy.set_status(self.status_combo.currentText())
        self.proxy.set_verdict(self.verdict_combo.currentData() or "all")
        self._update_count()

    def _update_count(self) -> None:
        total = self.model.rowCount()
        errors = sum(1 for r in self.model.rows if r["status"] != "ok")
        self.count_label.setText(f"{self.proxy.rowCount()} of {total} shown ({errors} errors)")

    def visible_rows(self) -> list[dict]:
        """The rows as shown, top to bottom (for tests and the report)."""
        return [self.proxy.index(i, 0).data(RowRole) for i in range(self.proxy.rowCount())]

    # -- open --------------------------------------------------------------------------
    @Slot(QModelIndex)
    def open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.openRequested.emit(index.data(PathRole), index.data(NpzRole))

    def open_current(self) -> None:
        self.open_index(self.list.currentIndex())

    def select_row(self, i: int) -> None:
        self.list.setCurrentIndex(self.proxy.index(i, 0))

    def closeEvent(self, ev):  # noqa: N802
        self.loader.clear()
        self.loader.wait(5000)
        self.model.verdicts.clear()
        self.model.verdicts.wait(5000)
        super().closeEvent(ev)


class TriageWindow(QMainWindow):
    """A stand-alone window around :class:`TriageView`."""

    def __init__(self, folder=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("TruFor Desk — batch triage")
        self.view = TriageView(self)
        self.setCentralWidget(self.view)
        self.resize(1100, 750)
        if folder is not None:
            self.open_folder(folder)

    @property
    def openRequested(self):  # noqa: N802 - mirrors the view's signal
        return self.view.openRequested

    def open_folder(self, folder) -> int:
        n = self.view.open_folder(folder)
        self.setWindowTitle(f"TruFor Desk — batch triage — {Path(folder).name}")
        return n

    def closeEvent(self, ev):  # noqa: N802
        self.view.loader.clear()
        self.view.loader.wait(5000)
        self.view.model.verdicts.clear()
        self.view.model.verdicts.wait(5000)
        super().closeEvent(ev)
