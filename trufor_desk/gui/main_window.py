"""The investigator window: open images, run engines off the GUI thread, inspect layers.

State lives in :class:`~trufor_desk.gui.document.Document` objects (plain data); this
module wires widgets to them.  Analyses run through :class:`~trufor_desk.gui.worker.Job`;
threshold, opacity and colour-map changes only rebuild lookup tables.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (QApplication, QComboBox, QDockWidget, QFileDialog, QFrame, QHBoxLayout, QLabel,
                               QMainWindow, QMessageBox, QProgressBar, QPushButton, QScrollArea, QToolBar,
                               QVBoxLayout, QWidget)

from trufor_desk import __version__
from trufor_desk.engines import registry
from trufor_desk.errors import UserError
from trufor_desk.evidence import open_evidence
from trufor_desk.render.interpret import read_result
from trufor_desk.render.layers import (apply_lut, composite, heatmap_lut, low_reliability_lut, mask_outline,
                                       plain_lut, threshold_index)

from . import settings as st
from .case_actions import CaseController
from .document import Document, Layer
from .info_panels import HelpPanel, MetadataPanel
from .layers_panel import LayersPanel
from .score_panel import ScorePanel
from .theme import apply_theme
from .viewer import ImageViewer
from .worker import Job, JobRunner

APP_TITLE = "TruFor Desk"
IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp *.gif *.heic *.dng);;All files (*)"
Z_ORDER = {"plain": 1, "localization": 3, "reliability": 4}


class WeightsBanner(QFrame):
    """Explains missing TruFor weights and offers to install them."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("weightsBanner")
        self.setStyleSheet("#weightsBanner { background: #fff3cd; border: 1px solid #e0c36a; } "
                           "#weightsBanner QLabel { color: #5c4400; }")
        lay = QHBoxLayout(self)
        self.text = QLabel("TruFor weights are not installed. The weight-free detectors work meanwhile; "
                           "TruFor needs the authors' TruFor_weights.zip (non-profit research licence).")
        self.text.setWordWrap(True)
        self.install = QPushButton("Install weights…")
        self.install.setToolTip("Choose TruFor_weights.zip or trufor.pth.tar; it is verified against the "
                                "published hashes and copied to your data folder.")
        self.download = QPushButton("Download…")
        self.download.setToolTip("Download the official zip from the authors' site, verify and install it.")
        lay.addWidget(self.text, 1)
        lay.addWidget(self.install)
        lay.addWidget(self.download)


class Loupe(QLabel):
    """Magnified neighbourhood of the cursor, with the visible overlays."""

    RADIUS = 12
    ZOOM = 8

    def __init__(self, parent=None):
        super().__init__(parent)
        side = (2 * self.RADIUS + 1) * self.ZOOM
        self.setFixedSize(QSize(side, side))
        self.setAlignment(Qt.AlignCenter)
        self.setToolTip("Loupe: the pixels around the cursor, magnified 8x, with the visible layers.")
        self.setStyleSheet("background: black;")

    def show_patch(self, rgb: np.ndarray | None) -> None:
        if rgb is None:
            self.clear()
            return
        big = np.repeat(np.repeat(rgb, self.ZOOM, axis=0), self.ZOOM, axis=1)
        c = self.RADIUS * self.ZOOM
        big[c:c + self.ZOOM, c, :] = (0, 229, 255)
        big[c, c:c + self.ZOOM, :] = (0, 229, 255)
        big = np.ascontiguousarray(big)
        img = QImage(big.data, big.shape[1], big.shape[0], big.strides[0], QImage.Format_RGB888).copy()
        self.setPixmap(QPixmap.fromImage(img))


class MainWindow(QMainWindow):
    def __init__(self, settings=None):
        super().__init__()
        self.settings = settings or st.make_settings()
        self.documents: list[Document] = []
        self.doc: Document | None = None
        self.runner = JobRunner(self)
        self.last_error: QMessageBox | None = None
        self.compare_window = None
        self.cases = CaseController(self)
        self._job_target: tuple[Document | None, tuple | None] = (None, None)
        self._job_title = ""          # "Analysis with ela", "Weights download", ...: names the job in messages
        self._job_started = 0.0       # time.monotonic() when it started
        self.resize(1400, 900)
        self._build_widgets()
        self._build_actions()
        self._restore_settings()
        self.setAcceptDrops(True)
        self._update_title()
        self.refresh_weights_banner()
        self._set_busy(False)

    # ------------------------------------------------------------------ construction ----
    def _build_widgets(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        self.banner = WeightsBanner()
        self.banner.install.clicked.connect(self.install_weights_dialog)
        self.banner.download.clicked.connect(self.download_weights_dialog)
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
        self.cancel_button.clicked.connect(self.cancel_analysis)
        prog.addWidget(self.progress, 1)
        prog.addWidget(self.stage, 1)
        prog.addWidget(self.cancel_button)
        lay.addLayout(prog)
        self.setCentralWidget(central)

        self.layers_panel = LayersPanel()
        self.layers_panel.styleChanged.connect(self.render_layer)
        self.layers_panel.thresholds.changed.connect(self.render_all_layers)
        # the written reading follows the thresholds, but not on every slider pixel
        self._score_timer = QTimer(self)
        self._score_timer.setSingleShot(True)
        self._score_timer.setInterval(120)
        self._score_timer.timeout.connect(self.update_score)
        self.layers_panel.thresholds.changed.connect(self._score_timer.start)
        self.layers_panel.image_row.toggled.connect(lambda on: self.viewer.base.setVisible(on))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.layers_panel)
        self.dock_layers = self._dock("Layers", scroll, Qt.LeftDockWidgetArea)
        self.loupe = Loupe()
        self.dock_loupe = self._dock("Loupe", self.loupe, Qt.LeftDockWidgetArea)
        self.score_panel = ScorePanel()
        self.dock_score = self._dock("Score and reliability", self.score_panel, Qt.RightDockWidgetArea)
        self.metadata_panel = MetadataPanel()
        self.dock_meta = self._dock("Metadata", self.metadata_panel, Qt.RightDockWidgetArea)
        self.help_panel = HelpPanel()
        self.dock_help = self._dock("Help", self.help_panel, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.dock_meta, self.dock_help)
        self.dock_meta.raise_()
        self.resizeDocks([self.dock_layers, self.dock_score], [260, 330], Qt.Horizontal)
        self.readout = QLabel("")
        self.readout.setToolTip("Position, colour and every layer's value under the cursor.")
        self.statusBar().addWidget(self.readout, 1)
        self.status_message = QLabel()
        self.statusBar().addPermanentWidget(self.status_message)
        self.set_status("Open an image (File ▸ Open…, drag and drop, or the command line).")

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(title)
        d.setWidget(widget)
        self.addDockWidget(area, d)
        return d

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(tip or text)
        a.setStatusTip(tip or text)
        a.triggered.connect(slot)
        return a

    def _build_actions(self) -> None:
        self.act_open = self._action("Open…", self.open_dialog, QKeySequence.Open, "Open one or more images")
        self.act_export = self._action("Export view as PNG…", self.export_dialog, "Ctrl+E",
                                       "Save the current view with its overlays as a PNG")
        self.act_quit = self._action("Quit", self.close, QKeySequence.Quit)
        self.act_save_case = self._action("Save case…", lambda: self.cases.save(), QKeySequence.Save,
                                          "Save images, analyses, notes and the audit log as a .tfcase file")
        self.act_open_case = self._action("Open case…", lambda: self.cases.open(), "Ctrl+Shift+O",
                                          "Open a .tfcase: evidence hashes and the audit log are re-verified")
        self.act_report = self._action("Export report…", lambda: self.cases.export_report(), "Ctrl+P",
                                       "Write the PDF case report (hashes, methods, parameters, results)")
        self.act_triage = self._action("Open batch results…", self.open_triage_dialog, "Ctrl+B",
                                       "Browse a `trufor-desk batch` output folder sorted by verdict, then score")
        self.act_note = self._action("Add note…", lambda: self.cases.add_note(), "Ctrl+N",
                                     "Add a note to the case for the current image")
        self.act_annotate = self._action("Annotate selection…", lambda: self.cases.annotate_selection(), "Ctrl+L",
                                         "Label the selected rectangle in the case")
        self.act_analyze = self._action("Analyse", lambda: self.analyze(), "Ctrl+R",
                                        "Run the chosen engine on the whole image")
        self.act_select = self._action("Select region", self.viewer.start_selection, "Ctrl+Shift+S",
                                       "Draw a rectangle to analyse at full resolution")
        self.act_analyze_sel = self._action("Analyse selection", self.analyze_selection, "Ctrl+Shift+R",
                                            "Run the chosen engine on the selected rectangle only")
        self.act_cancel = self._action("Cancel analysis", self.cancel_analysis, "Esc")
        self.act_fit = self._action("Fit", self.viewer.fit, "Ctrl+0", "Fit the image in the window")
        self.act_one = self._action("1:1", self.viewer.one_to_one, "Ctrl+1", "One image pixel per screen pixel")
        self.act_zoom_in = self._action("Zoom in", lambda: self.viewer.zoom(1.25), QKeySequence.ZoomIn)
        self.act_zoom_out = self._action("Zoom out", lambda: self.viewer.zoom(0.8), QKeySequence.ZoomOut)
        self.act_compare = self._action("Side by side…", self.open_compare, "Ctrl+D",
                                        "Compare two images, or an image and a layer, in linked views")
        self.act_dark = self._action("Dark theme", self.toggle_theme)
        self.act_dark.setCheckable(True)
        self.act_install = self._action("Install TruFor weights…", self.install_weights_dialog)
        self.act_help = self._action("Layers and limits", lambda: (self.dock_help.show(), self.dock_help.raise_()),
                                     "F1")
        self.act_about = self._action("About", self.about)

        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_open)
        self.recent_menu = m.addMenu("Open &Recent")
        m.addAction(self.act_export)
        m.addSeparator()
        for a in (self.act_open_case, self.act_save_case, self.act_report, self.act_triage):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_install)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Analysis")
        for a in (self.act_analyze, self.act_select, self.act_analyze_sel, self.act_cancel):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_note)
        m.addAction(self.act_annotate)
        m = mb.addMenu("&View")
        for a in (self.act_fit, self.act_one, self.act_zoom_in, self.act_zoom_out, self.act_compare, self.act_dark):
            m.addAction(a)
        m.addSeparator()
        for d in (self.dock_layers, self.dock_loupe, self.dock_score, self.dock_meta, self.dock_help):
            m.addAction(d.toggleViewAction())
        m = mb.addMenu("&Help")
        m.addAction(self.act_help)
        m.addAction(self.act_about)

        tb = QToolBar("Main")
        tb.setObjectName("main toolbar")
        self.addToolBar(tb)
        tb.addAction(self.act_open)
        self.doc_combo = QComboBox()
        self.doc_combo.setToolTip("Open images")
        self.doc_combo.setMinimumWidth(160)
        self.doc_combo.currentIndexChanged.connect(self._select_document)
        tb.addWidget(self.doc_combo)
        tb.addSeparator()
        tb.addWidget(QLabel(" Engine "))
        self.engine_combo = QComboBox()
        for name in registry.engine_names():
            if registry.is_available(name):
                self.engine_combo.addItem(name)
                self.engine_combo.setItemData(self.engine_combo.count() - 1, registry.ENGINES[name].title,
                                              Qt.ToolTipRole)
        self.engine_combo.setToolTip("Detector to run")
        tb.addWidget(self.engine_combo)
        tb.addWidget(QLabel(" Device "))
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto", "cpu", "cuda", "mps"])
        self.device_combo.setToolTip("Where TruFor runs: auto picks a GPU when present")
        tb.addWidget(self.device_combo)
        for a in (self.act_analyze, self.act_select, self.act_analyze_sel, self.act_cancel):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.act_fit, self.act_one, self.act_compare, self.act_export, self.act_report):
            tb.addAction(a)

    def _restore_settings(self) -> None:
        s = self.settings
        engine = s.value("engine", "")
        if not engine or self.engine_combo.findText(engine) < 0:
            engine = registry.default_engine()
        if self.engine_combo.findText(engine) >= 0:
            self.engine_combo.setCurrentText(engine)
        device = s.value("device", "auto")
        if self.device_combo.findText(device) >= 0:
            self.device_combo.setCurrentText(device)
        th = self.layers_panel.thresholds
        th.loc.setValue(int(round(100 * st.get_float(s, "loc_threshold", 0.5))))
        th.rel.setValue(int(round(100 * st.get_float(s, "rel_threshold", 0.5))))
        dark = st.get_bool(s, "dark", False)
        self.act_dark.setChecked(dark)
        apply_theme(QApplication.instance(), dark)
        geo = s.value("geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        self._rebuild_recent()

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("engine", self.engine_combo.currentText())
        s.setValue("device", self.device_combo.currentText())
        s.setValue("loc_threshold", self.layers_panel.thresholds.loc_value)
        s.setValue("rel_threshold", self.layers_panel.thresholds.rel_value)
        s.setValue("dark", self.act_dark.isChecked())
        s.setValue("geometry", self.saveGeometry())
        s.sync()

    def closeEvent(self, ev):  # noqa: N802
        if self.runner.busy:
            self.runner.cancel()
            self.runner.wait(10000)
        self.save_settings()
        if self.compare_window is not None:
            self.compare_window.close()
        super().closeEvent(ev)

    # ---------------------------------------------------------------------- opening ----
    def open_dialog(self) -> None:
        folder = self.settings.value("last_folder", str(Path.home()))
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", folder, IMAGE_FILTER)
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
        doc = Document(ev)
        self.documents.append(doc)
        self.doc_combo.blockSignals(True)
        self.doc_combo.addItem(doc.title)
        self.doc_combo.setCurrentIndex(self.doc_combo.count() - 1)
        self.doc_combo.blockSignals(False)
        self.show_document(doc)
        return doc

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        for p in st.recent_files(self.settings):
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.recent_menu.actions()))

    def _select_document(self, index: int) -> None:
        if 0 <= index < len(self.documents):
            self.show_document(self.documents[index])

    def show_document(self, doc: Document) -> None:
        self.doc = doc
        self.viewer.clear_selection()
        self.viewer.set_image(doc.evidence.rgb)
        case = self.cases.case
        if case is not None:
            ref = case.find_evidence(doc.evidence.sha256)
            for ann in case.annotations:
                if ref is not None and ann.evidence_id == ref.id and ann.rect:
                    self.viewer.add_annotation_box(ann.rect, ann.label)
        self.metadata_panel.show_evidence(doc.evidence)
        self.rebuild_layers()
        self._update_title()

    def dragEnterEvent(self, ev):  # noqa: N802
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev):  # noqa: N802
        self.open_paths([u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()])

    def _update_title(self) -> None:
        self.setWindowTitle(f"{APP_TITLE} — {self.doc.title}" if self.doc else APP_TITLE)

    # --------------------------------------------------------------------- analysis ----
    def analyze(self, engine: str | None = None, rect=None) -> bool:
        """Start an analysis of the current image (or a rectangle of it); False if not started."""
        if self.doc is None:
            self.show_error("Nothing to analyse", "Open an image first.")
            return False
        if self.runner.busy:
            self.show_error("Analysis running", "Wait for the running analysis or cancel it first.")
            return False
        name = engine or self.engine_combo.currentText()
        device = self.device_combo.currentText()
        ev = self.doc.evidence
        doc = self.doc
        try:
            target = ev.crop(*rect) if rect is not None else ev
        except UserError as exc:
            self.show_error("Cannot analyse the selection", str(exc))
            return False

        def work(progress, cancel):
            eng = registry.create_engine(name, device=device)
            return eng.analyze(target, progress=progress, cancel=cancel)

        job = Job(work)
        # bound methods of this (GUI-thread) object: Qt queues the calls onto the GUI
        # thread; a lambda here would run in the worker thread and touch widgets there
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self._job_target = (doc, rect)
        where = doc.title if rect is None else f"a {rect[2]} x {rect[3]} selection of {doc.title}"
        self._start_job(job, f"Analysis with {name}", f"Starting {name}…", f"Analysing {where} with {name}…")
        return True

    def _start_job(self, job: Job, title: str, stage: str, status: str) -> None:
        self._job_title = title
        self._job_started = time.monotonic()
        self._set_busy(True)
        self.progress.setValue(0)
        self.stage.setText(stage)
        self.set_status(status)
        self.runner.start(job)

    def _job_seconds(self) -> float:
        return time.monotonic() - self._job_started

    def analyze_selection(self) -> bool:
        rect = self.viewer.selection()
        if rect is None:
            self.show_error("No selection", "Use Analysis ▸ Select region and place the rectangle first.")
            return False
        return self.analyze(rect=rect)

    def cancel_analysis(self) -> None:
        if self.runner.busy:
            self.stage.setText("Cancelling…")
            self.set_status(f"Cancelling: {self._job_title} stops at its next step…")
            self.runner.cancel()

    def _set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self.act_cancel.setEnabled(busy)
        for a in (self.act_analyze, self.act_analyze_sel):
            a.setEnabled(not busy)

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(min(max(fraction, 0.0), 1.0) * self.progress.maximum())))
        self.stage.setText(message)

    @Slot(object)
    def _on_finished(self, result) -> None:
        doc, rect = self._job_target
        secs = self._job_seconds()  # as the examiner waited: engine start-up and weights loading included
        self._set_busy(False)
        self.progress.setValue(self.progress.maximum())
        doc.add_analysis(result, rect)
        where = doc.title if rect is None else f"{rect[2]} x {rect[3]} selection of {doc.title}"
        self.stage.setText(f"{result.engine} finished in {secs:.1f} s")
        self.set_status(f"Analysed with {result.engine} in {secs:.1f} s ({where})")
        if doc is self.doc:
            self.rebuild_layers()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._set_busy(False)
        self.progress.reset()  # empty, not a 0 % that reads like "nothing happened yet"
        self.stage.setText(f"{self._job_title} failed")
        self.show_error(f"{self._job_title} failed", message)
        self.refresh_weights_banner()

    @Slot()
    def _on_cancelled(self) -> None:
        self._set_busy(False)
        self.progress.reset()
        self.stage.setText(f"{self._job_title} cancelled")
        self.set_status(f"{self._job_title} cancelled after {self._job_seconds():.1f} s; nothing was stored")

    # ------------------------------------------------------------------------ layers ----
    def rebuild_layers(self) -> None:
        """Re-create overlay items after the set of layers changed."""
        for name in list(self.viewer.layers):
            self.viewer.remove_layer(name)
        layers = self.doc.layers if self.doc else {}
        self.layers_panel.set_layers(layers)
        for key in layers:
            self.render_layer(key)
        self.update_score()

    def _lut_and_indices(self, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
        th = self.layers_panel.thresholds
        s = layer.style
        if layer.kind == "localization":
            if th.contours.isChecked():
                outline = mask_outline(layer.indices >= threshold_index(th.loc_value), width=1)
                return np.where(outline, layer.indices, 0).astype(np.uint8), \
                    heatmap_lut(s.cmap, th.loc_value, s.opacity, ramp=False)
            return layer.indices, heatmap_lut(s.cmap, th.loc_value, s.opacity)
        if layer.kind == "reliability" and s.cmap == "veil":
            return layer.indices, low_reliability_lut(th.rel_value, s.opacity)
        return layer.indices, plain_lut(s.cmap if s.cmap != "veil" else "grey", s.opacity)

    def render_layer(self, key: str) -> None:
        """Draw one layer from its stored indices and current style (no recomputation)."""
        if self.doc is None or key not in self.doc.layers:
            return
        layer = self.doc.layers[key]
        indices, lut = self._lut_and_indices(layer)
        if key in self.viewer.layers and self.viewer.layer_data(key) is indices:
            self.viewer.set_layer_lut(key, lut)
            self.viewer.set_layer_visible(key, layer.style.visible)
        else:
            z = Z_ORDER[layer.kind] + (0.5 if layer.rect else 0.0)
            mode = {"localization": "max", "reliability": "min"}.get(layer.kind, "mean")
            self.viewer.set_layer(key, indices, lut, z, layer.rect, layer.style.visible, mode)

    def render_all_layers(self) -> None:
        if self.doc is None:
            return
        for key in self.doc.layers:
            self.render_layer(key)

    def update_score(self) -> None:
        an = self.doc.active_analysis() if self.doc else None
        if an is None:
            self.score_panel.show_reading(None, None, "")
            return
        r = an.result
        th = self.layers_panel.thresholds
        reading = read_result(r, th.loc_value, th.rel_value)
        self.score_panel.show_reading(reading, r.reliability, an.label)

    # ---------------------------------------------------------------- cursor, loupe ----
    def _on_cursor(self, x: int, y: int) -> None:
        if self.doc is None or x < 0:
            self.readout.setText("")
            self.loupe.show_patch(None)
            if self.compare_window is not None:
                self.compare_window.show_cursor(-1, -1)
            return
        rgb = self.doc.evidence.rgb[y, x]
        parts = [f"x={x} y={y}", f"RGB=({rgb[0]}, {rgb[1]}, {rgb[2]})"]
        parts += [f"{k}={v:.3f}" for k, v in self.doc.value_at(x, y).items()]
        self.readout.setText("   ".join(parts))
        self.loupe.show_patch(self.composite_patch(x, y, Loupe.RADIUS))

    def composite_patch(self, x: int, y: int, r: int) -> np.ndarray:
        """The visible layers composited over the image around (x, y), edge-padded."""
        ev = self.doc.evidence
        h, w = ev.height, ev.width
        ys = np.clip(np.arange(y - r, y + r + 1), 0, h - 1)
        xs = np.clip(np.arange(x - r, x + r + 1), 0, w - 1)
        base = ev.rgb[np.ix_(ys, xs)] if self.layers_panel.image_row.isChecked() else \
            np.zeros((len(ys), len(xs), 3), np.uint8)
        overlays = []
        for layer in sorted(self.doc.layers.values(), key=lambda L: Z_ORDER[L.kind]):
            if not layer.style.visible:
                continue
            ox, oy = (layer.rect[0], layer.rect[1]) if layer.rect else (0, 0)
            lh, lw = layer.indices.shape
            ly, lx = ys - oy, xs - ox
            inside = ((ly >= 0) & (ly < lh))[:, None] & ((lx >= 0) & (lx < lw))[None, :]
            idx, lut = self._lut_and_indices(layer)
            patch = idx[np.ix_(np.clip(ly, 0, lh - 1), np.clip(lx, 0, lw - 1))]
            rgba = apply_lut(patch, lut).copy()
            rgba[..., 3] *= inside
            overlays.append(rgba)
        return composite(base, *overlays)

    # ------------------------------------------------------------------------ export ----
    def export_dialog(self) -> None:
        if self.doc is None:
            return
        folder = self.settings.value("last_folder", str(Path.home()))
        path, _ = QFileDialog.getSaveFileName(self, "Export view", str(Path(folder) / f"{self.doc.evidence.path.stem}"
                                                                                       "_view.png"), "PNG (*.png)")
        if path:
            self.export_view(path)

    def export_view(self, path) -> bool:
        """Save what the viewer shows now (zoom, overlays) as a PNG."""
        ok = self.viewer.view.grab().save(str(path), "PNG")
        if not ok:
            self.show_error("Export failed", f"Could not write {path}")
        else:
            self.set_status(f"Saved the view as {path}")
        return ok

    # ----------------------------------------------------------------------- triage ----
    def open_triage_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open batch results", self.settings.value(
            "last_folder", str(Path.home())))
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
        doc.add_analysis(result)
        self.rebuild_layers()
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

    # ---------------------------------------------------------------------- weights ----
    def refresh_weights_banner(self) -> None:
        from trufor_desk.engines.trufor.weights import resolve_weights

        try:
            path, _ = resolve_weights(None)
        except UserError:
            path = None
        self.banner.setVisible(path is None)

    def install_weights_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Install TruFor weights", str(Path.home()),
                                              "TruFor weights (*.zip *.pth.tar *.tar *.pth);;All files (*)")
        if path:
            self.install_weights(path)

    def install_weights(self, path: str, force: bool = False) -> None:
        from trufor_desk.engines.trufor.weights import install_weights

        self._install_path = path
        self._run_weights_job(lambda progress, cancel: install_weights(path, force=force), "Weights installation",
                              "Installing weights…", self._on_install_failed)

    @Slot(str)
    def _on_install_failed(self, message: str) -> None:
        """A checkpoint that loads but is not the official release (e.g. fine-tuned) may
        still be installed on purpose; it is then recorded and shown as unverified."""
        self._set_busy(False)
        if "install it anyway" in message and self.ask(
                "Not the official TruFor release",
                message.split(" (nothing installed")[0] + ".\n\nInstall it anyway, marked as UNVERIFIED? "
                "Every result will record its SHA-256."):
            path = self._install_path
            self.when_idle(lambda: self.install_weights(path, force=True))
            return
        self._on_failed(message)

    def when_idle(self, fn) -> None:
        """Run ``fn`` once the finishing job's thread has really ended."""
        if self.runner.busy:
            QTimer.singleShot(30, lambda: self.when_idle(fn))
        else:
            fn()

    def ask(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text) == QMessageBox.Yes

    def download_weights_dialog(self) -> None:
        from trufor_desk.engines.trufor.weights import OFFICIAL_URL, download_weights

        answer = QMessageBox.question(self, "Download TruFor weights",
                                      f"Download the official TruFor weights (about 250 MB) from\n{OFFICIAL_URL}?\n\n"
                                      "They are licensed by their authors for non-profit research use only.")
        if answer != QMessageBox.Yes:
            return

        def work(progress, cancel):
            def cb(done, total):
                progress(done / total if total else 0.0, f"Downloading… {done / 1e6:.0f} MB")
            return download_weights(progress=cb)

        self._run_weights_job(work, "Weights download", "Downloading weights…")

    def _run_weights_job(self, work, title: str, label: str, on_failed=None) -> None:
        if self.runner.busy:
            self.show_error("Busy", "Wait for the running job to finish.")
            return
        job = Job(work)
        job.progress.connect(self._on_progress)
        job.finished.connect(self._weights_installed)
        job.failed.connect(on_failed or self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self._start_job(job, title, label, label)

    @Slot(object)
    def _weights_installed(self, record: dict) -> None:
        self._set_busy(False)
        self.progress.setValue(self.progress.maximum())
        self.refresh_weights_banner()
        state = "verified" if record.get("verified") else "NOT verified"
        self.stage.setText(f"TruFor weights installed ({state})")
        self.set_status(f"TruFor weights installed ({state}) in {self._job_seconds():.1f} s")
        if self.engine_combo.findText("trufor") >= 0:
            self.engine_combo.setCurrentText("trufor")

    # ------------------------------------------------------------------------- misc ----
    def toggle_theme(self) -> None:
        apply_theme(QApplication.instance(), self.act_dark.isChecked())

    def about(self) -> None:
        QMessageBox.about(self, "About TruFor Desk",
                          f"TruFor Desk {__version__}\n\nForgery analysis with TruFor (Guillaro et al., CVPR 2023) "
                          "and weight-free detectors. TruFor weights belong to GRIP-UNINA and are licensed for "
                          "non-profit research use only; they are not part of this application.")

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

    def wait_idle(self, timeout_ms: int = 60000) -> None:
        """Process events until no job runs (tests, scripts)."""
        remaining = timeout_ms
        while self.runner.busy and remaining > 0:
            QApplication.processEvents()
            QTimer.singleShot(0, lambda: None)
            self.runner.wait(20)
            remaining -= 20
        QApplication.processEvents()
