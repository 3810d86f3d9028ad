"""The investigator window: open images, run engines off the GUI thread, inspect layers.

The state lives apart from the widgets, in plain Python models that emit events
(:mod:`trufor_desk.view`): each opened image is a :class:`~trufor_desk.view.document.Document`,
and the window's :class:`~trufor_desk.view.state.ViewState` (``view_state``) holds the current
document, the thresholds and the layer styles.  Widgets write to it and subscribe to it; this
module lays out the widgets, keeps the open documents and shows the current one's image.  The
rest of the window is composed from parts, each in its own module:

- :class:`~trufor_desk.gui.window_menus.WindowMenus` (a mixin): actions, menus, toolbar,
  recent files, theme, saved preferences;
- :class:`~trufor_desk.gui.jobs.JobController`: analyses and weights installs on a
  :class:`~trufor_desk.gui.worker.Job`, with progress, cancel and errors;
- :class:`~trufor_desk.gui.layer_painter.LayerPainter`: the overlays and the loupe's patch,
  drawn from stored indices (threshold, opacity and colour-map changes only rebuild lookup
  tables); the :class:`~trufor_desk.gui.score_panel.ScorePanel` reads the active analysis;
- :class:`~trufor_desk.gui.case_actions.CaseController`: notes, annotations, case files, report.

Menus, tests and scripts call each part directly (``win.jobs.analyze()``,
``win.painter.composite_patch(...)``, ``win.view_state.loc_threshold = 0.4``); the window does
not forward them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from trufor_desk.errors import UserError
from trufor_desk.evidence import open_evidence
from trufor_desk.view.document import Document
from trufor_desk.view.state import ViewState

from . import settings as st
from .case_actions import CaseController
from .fitted_label import FittedLabel
from .info_panels import HelpPanel, MetadataPanel
from .jobs import JobController
from .layer_painter import LayerPainter
from .layers_panel import LayersPanel
from .loupe import Loupe
from .score_panel import ScorePanel
from .viewer import ImageViewer
from .weights_banner import WeightsBanner
from .window_menus import WindowMenus

APP_TITLE = "TruFor Desk"
IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp *.gif *.heic *.dng);;All files (*)"


class MainWindow(WindowMenus, QMainWindow):
    def __init__(self, settings=None):
        super().__init__()
        self.settings = settings or st.make_settings()
        self.documents: list[Document] = []
        self.view_state = ViewState()
        # connected first: a new current document's image is shown before the painter draws its layers
        self.view_state.events.document.connect(self._show_document)
        self.jobs = JobController(self)
        self.last_error: QMessageBox | None = None
        self.compare_window = None
        self.cases = CaseController(self)
        self.resize(1400, 900)
        self._build_widgets()
        self.painter = LayerPainter(self.viewer, self.view_state)
        self._build_actions()
        self._restore_settings()
        self.setAcceptDrops(True)
        self._update_title()
        self.jobs.refresh_weights_banner()
        self.jobs.set_busy(False)

    # ------------------------------------------------------------------ construction ----
    def _build_widgets(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        self.banner = WeightsBanner()
        self.banner.install.clicked.connect(self.jobs.install_weights_dialog)
        self.banner.download.clicked.connect(self.jobs.download_weights_dialog)
        lay.addWidget(self.banner)
        self.viewer = ImageViewer()
        self.viewer.cursorMoved.connect(self._on_cursor)
        lay.addWidget(self.viewer, 1)
        prog = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setToolTip("Progress of the running job; full when the last one finished, empty when it "
                                 "failed or was cancelled.")
        self.stage = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running analysis (it stops at its next step).")
        self.cancel_button.clicked.connect(self.jobs.cancel)
        prog.addWidget(self.progress, 1)
        prog.addWidget(self.stage, 1)
        prog.addWidget(self.cancel_button)
        lay.addLayout(prog)
        self.setCentralWidget(central)

        self.layers_panel = LayersPanel(self.view_state)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.layers_panel)
        self.dock_layers = self._dock("Layers", scroll, Qt.LeftDockWidgetArea)
        self.loupe = Loupe()
        self.dock_loupe = self._dock("Loupe", self.loupe, Qt.LeftDockWidgetArea)
        self.score_panel = ScorePanel(state=self.view_state)
        self.dock_score = self._dock("Score and reliability", self.score_panel, Qt.RightDockWidgetArea)
        self.metadata_panel = MetadataPanel()
        self.dock_meta = self._dock("Metadata", self.metadata_panel, Qt.RightDockWidgetArea)
        self.help_panel = HelpPanel()
        self.dock_help = self._dock("Help", self.help_panel, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.dock_meta, self.dock_help)
        self.dock_meta.raise_()
        self.resizeDocks([self.dock_layers, self.dock_score], [260, 380], Qt.Horizontal)
        # the reading (verdict, score, reliability) gets most of the right column; both scroll
        self.resizeDocks([self.dock_score, self.dock_meta], [600, 400], Qt.Vertical)
        # both fit whole fields / words into their share of the bar (never cut mid-word, never overlapping)
        self.readout = FittedLabel("", separator="   ")
        self.readout.setToolTip("Position, colour and every layer's value under the cursor.")
        self.statusBar().addWidget(self.readout, 3)
        self.status_message = FittedLabel("", separator=" ")
        self.statusBar().addPermanentWidget(self.status_message, 2)
        self.set_status("Open an image (File ▸ Open…, drag and drop, or the command line).")

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(title)
        d.setWidget(widget)
        self.addDockWidget(area, d)
        return d

    def closeEvent(self, ev):  # noqa: N802
        runner = self.jobs.runner
        if runner.busy:
            runner.cancel()
            runner.wait(10000)
        self.save_settings()
        if self.compare_window is not None:
            self.compare_window.close()
        super().closeEvent(ev)

    # ---------------------------------------------------------------------- opening ----
    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", st.last_folder(self.settings), IMAGE_FILTER)
        self.open_paths(paths)

    def open_paths(self, paths) -> list[Document]:
        docs = []
        for p in paths:
            doc = self.open_path(p)
            if doc is not None:
                docs.append(doc)
        return docs

    def open_path(self, path) -> Document | None:
        path = str(path)
        try:
            ev = open_evidence(path)
        except UserError as exc:
            self.show_error("Cannot open image", str(exc))
            return None
        self.settings.setValue("last_folder", str(Path(path).resolve().parent))
        st.push_recent(self.settings, str(Path(path).resolve()))
        self._rebuild_recent()
        doc = self.add_document(ev)
        self.set_status(f"Opened {doc.title} ({ev.width} x {ev.height}); Analysis ▸ Analyse runs the chosen engine")
        return doc

    def add_document(self, ev) -> Document:
        """Show an opened evidence image as a new document (current from now on)."""
        from .credentials import read_for

        doc = Document(ev, c2pa=read_for(self, ev))
        self.documents.append(doc)
        self.doc_combo.blockSignals(True)
        self.doc_combo.addItem(doc.title)
        self.doc_combo.setCurrentIndex(self.doc_combo.count() - 1)
        self.doc_combo.blockSignals(False)
        self.view_state.document = doc
        return doc

    def _select_document(self, index: int) -> None:
        if 0 <= index < len(self.documents):
            self.view_state.document = self.documents[index]

    def _show_document(self, event) -> None:
        """A document became current: its image, annotations, metadata and title (the layer list,
        the overlays and the reading follow the view state themselves)."""
        doc = event.value
        if doc is None:
            self._update_title()
            return
        self.viewer.clear_selection()
        self.viewer.set_image(doc.evidence.rgb)
        case = self.cases.case
        if case is not None:
            ref = case.find_evidence(doc.evidence.sha256)
            for ann in case.annotations:
                if ref is not None and ann.evidence_id == ref.id and ann.rect:
                    self.viewer.add_annotation_box(ann.rect, ann.label)
        self.metadata_panel.show_evidence(doc.evidence, doc.c2pa)
        self._update_title()

    def dragEnterEvent(self, ev):  # noqa: N802
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev):  # noqa: N802
        self.open_paths([u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()])

    def _update_title(self) -> None:
        doc = self.view_state.document
        self.setWindowTitle(f"{APP_TITLE} — {doc.title}" if doc else APP_TITLE)

    # ------------------------------------------------------------------- cursor ----
    def _on_cursor(self, x: int, y: int) -> None:
        doc = self.view_state.document
        if doc is None or x < 0:
            self.readout.setText("")
            self.loupe.show_patch(None)
            if self.compare_window is not None:
                self.compare_window.show_cursor(-1, -1)
            return
        rgb = doc.evidence.rgb[y, x]
        parts = [f"x={x} y={y}", f"RGB=({rgb[0]}, {rgb[1]}, {rgb[2]})"]
        parts += [f"{k}={v:.3f}" for k, v in doc.value_at(x, y).items()]
        self.readout.setText("   ".join(parts))
        self.loupe.show_patch(self.painter.composite_patch(x, y, Loupe.RADIUS))

    # ------------------------------------------------------------------------ export ----
    def export_dialog(self) -> None:
        doc = self.view_state.document
        if doc is None:
            return
        suggestion = Path(st.last_folder(self.settings)) / f"{doc.evidence.path.stem}_view.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export view", str(suggestion), "PNG (*.png)")
        if path:
            self.export_view(path)

    def export_view(self, path) -> bool:
        """Save what the viewer shows now (zoom, overlays) as a PNG (signed C2PA when chosen)."""
        from . import view_credentials

        if self.view_state.document is not None and view_credentials.enabled(self.settings):
            return view_credentials.export_with_credentials(self, path)
        ok = self.viewer.view.grab().save(str(path), "PNG")
        if not ok:
            self.show_error("Export failed", f"Could not write {path}")
        else:
            self.set_status(f"Saved the view as {path}")
        return ok

    # ----------------------------------------------------------------------- triage ----
    def open_triage_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open batch results", st.last_folder(self.settings))
        if folder:
            self.open_triage(folder)

    def open_triage(self, folder):
        from .triage import TriageWindow

        try:
            win = TriageWindow(folder, self)
        except UserError as exc:
            self.show_error("Cannot open batch results", str(exc))
            return None
        win.openRequested.connect(self.open_stored)
        win.show()
        self.triage_window = win
        return win

    @Slot(str, str)
    def open_stored(self, image_path: str, npz_path: str) -> Document | None:
        """Open a batch item with its stored analysis (nothing is recomputed)."""
        from trufor_desk.batch.results import load_result_npz

        doc = self.open_path(image_path)
        if doc is None or not npz_path:
            return doc
        try:
            result = load_result_npz(npz_path)
        except (UserError, OSError, ValueError, KeyError) as exc:
            self.show_error("Cannot read the stored analysis", f"{npz_path}: {exc}")
            return doc
        stored_sha = result.provenance.get("image_sha256")
        if stored_sha and stored_sha != doc.evidence.sha256:
            self.show_error("Image changed since the batch",
                            f"{image_path} no longer has the SHA-256 recorded by the batch ({stored_sha}); "
                            "its stored analysis is not shown. Analyse it again.")
            return doc
        doc.add_analysis(result)   # the view state redraws the current document's layers
        self.stage.setText(f"Stored {result.engine} analysis from the batch")
        self.set_status(f"Opened {doc.title} with its stored {result.engine} analysis from the batch "
                        "(nothing recomputed)")
        return doc

    # ---------------------------------------------------------------------- compare ----
    def open_compare(self):
        from .compare import CompareWindow

        if self.compare_window is None:
            self.compare_window = CompareWindow(self)
        self.compare_window.refresh_sources()
        self.compare_window.show()
        self.compare_window.raise_()
        return self.compare_window

    # -------------------------------------------------------------- telling the user ----
    def set_status(self, text: str) -> None:
        """Say in the status bar what happened last (opened, analysed, failed…); it stays until the next
        event, beside the cursor readout.  Long messages show their first line; the tooltip has all."""
        lines = text.strip().splitlines()
        first = lines[0] if lines else ""
        self.status_message.setText(first if len(first) <= 140 else first[:139] + "…")
        self.status_message.setToolTip(text)

    def show_error(self, title: str, text: str) -> QMessageBox:
        """A readable, non-blocking error dialog (kept in ``last_error`` for tests); the status bar says it too."""
        self.set_status(f"{title}: {text}")
        box = QMessageBox(QMessageBox.Warning, title, text.split("\n\n")[0], QMessageBox.Ok, self)
        if "\n\n" in text:
            box.setDetailedText(text)
        box.setAttribute(Qt.WA_DeleteOnClose, False)
        box.setWindowModality(Qt.WindowModal)
        self.last_error = box
        box.open()
        return box

    def ask(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text) == QMessageBox.Yes
