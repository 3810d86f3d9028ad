"""Triage view of a batch output folder: thumbnails by verdict and score, filters, open an item.

The view puts together the list model (:mod:`trufor_desk.gui.triage_model`: rows most
suspicious first, verdicts of older folders computed off the GUI thread), its filter
(:mod:`trufor_desk.gui.triage_filter`) and the thumbnails (:mod:`trufor_desk.gui.thumbnails`,
made on a thread pool only when the list asks for an item it is about to draw).

Opening an item emits :attr:`TriageView.openRequested` with the image path and the
stored ``.npz`` (empty for error rows); the main window shows that analysis through
:func:`trufor_desk.batch.results.load_result_npz` without computing it again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QSize, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from trufor_desk.errors import UserError
from trufor_desk.verdict.decision import CATEGORY_LABELS

from .thumbnails import THUMB, ThumbnailLoader
from .triage_filter import VERDICT_FILTERS, TriageFilter
from .triage_model import NpzRole, PathRole, RowRole, TriageModel

CAUTION = ("The verdict is the one the window and the report give at the default thresholds (0.5); open the "
           "item to see where the detector looked and how reliable its map is. \u201cNo indication\u201d is "
           "not proof of authenticity, and a score is a probability only where the engine is calibrated.")


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

    def stop_loading(self, ms: int = 5000) -> None:
        """Drop the queued thumbnails and verdicts and wait (up to ``ms`` each) for those running."""
        self.loader.clear()
        self.loader.wait(ms)
        self.model.verdicts.clear()
        self.model.verdicts.wait(ms)

    def closeEvent(self, ev):  # noqa: N802
        self.stop_loading()
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
        self.view.stop_loading()
        super().closeEvent(ev)
