"""Side-by-side comparison: two linked views (zoom, pan, cursor), or one view showing
the difference of two equal-size images, or flicking between them.

"Aligned" shows the right source registered onto the left one (the transform comes from
:mod:`trufor_desk.compare.registration`, estimated once per pair and kept); "As stored"
shows the pixels as they are.  The registration (about a second for two 12 MP photos) runs
on a worker thread of this window's own: the views show the pixels as stored until it
arrives, and the window stays responsive meanwhile.  *Add comparison to case* records what is shown (sources,
mode, the visible rectangle, the registration) with its numbers; the work is done by
:func:`trufor_desk.compare.comparison.build_comparison` through the case controller.

A layer is drawn at the window's localisation threshold and with its colour map, read from the
window's :class:`~trufor_desk.view.state.ViewState`; the window subscribes to both, so a layer
shown here is redrawn (zoom and pan kept) once the threshold or style stops changing for a moment."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QComboBox, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from trufor_desk.errors import UserError
from trufor_desk.render.layers import apply_lut, composite, heatmap_lut, plain_lut

from .viewer import ImageViewer
from .worker import Job, JobRunner

MODES = ("Side by side", "Difference", "Flicker")
ALIGNMENTS = ("As stored", "Aligned")


class CompareWindow(QWidget):
    def __init__(self, main):
        super().__init__(None, Qt.Window)
        self.main = main
        self.setWindowTitle("TruFor Desk — side by side")
        self.resize(1400, 800)
        lay = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.left_combo, self.right_combo, self.mode_combo = QComboBox(), QComboBox(), QComboBox()
        self.mode_combo.addItems(MODES)
        self.mode_combo.setToolTip("Difference and flicker need two sources of the same size.")
        self.align_combo = QComboBox()
        self.align_combo.addItems(ALIGNMENTS)
        self.align_combo.setToolTip("Aligned: the right source is registered onto the left one (features, RANSAC, "
                                    "ECC) and resampled onto its pixel grid. As stored: the pixels as they are.")
        for label, w in (("Left", self.left_combo), ("Right", self.right_combo), ("Mode", self.mode_combo),
                         ("Show", self.align_combo)):
            bar.addWidget(QLabel(label))
            bar.addWidget(w, 1)
        self.act_add_comparison = QAction("Add comparison to case", self)
        self.act_add_comparison.setToolTip("Record this comparison in the case: both sources, the mode, the "
                                           "visible rectangle, the registration and the numbers (PSNR, SSIM, "
                                           "differing regions, JPEG tables). It gets its own report page.")
        self.act_add_comparison.triggered.connect(self.add_to_case)
        add = QPushButton(self.act_add_comparison.text())
        add.setToolTip(self.act_add_comparison.toolTip())
        add.clicked.connect(self.act_add_comparison.trigger)
        bar.addWidget(add)
        lay.addLayout(bar)
        self.registration_label = QLabel("Registration: none (as stored)")
        self.registration_label.setWordWrap(True)
        self.registration_label.setToolTip("How the right source was put onto the left one's pixels. A "
                                           "difference shows where two versions differ, not which one is "
                                           "original.")
        lay.addWidget(self.registration_label)
        self.left, self.right = ImageViewer(), ImageViewer()
        self.right.link_to(self.left)
        split = QSplitter()
        split.addWidget(self.left)
        split.addWidget(self.right)
        lay.addWidget(split, 1)
        self.status = QLabel()
        lay.addWidget(self.status)
        self.sources: list[tuple] = []   # (name, pixels(), document, layer or None)
        self._registrations: dict[tuple[int, int], object] = {}   # (left, right) -> Registration or refusal
        self.registration_runner = JobRunner(self)   # its own thread: an analysis may be running meanwhile
        self._registering: tuple[int, int] | None = None   # the pair being registered now
        self._generation = 0                              # bumped when the sources change
        self.left.cursorMoved.connect(self.show_cursor)
        self.right.cursorMoved.connect(self.show_cursor)
        self.left_combo.currentIndexChanged.connect(self.update_views)
        self.right_combo.currentIndexChanged.connect(self.update_views)
        self.mode_combo.currentIndexChanged.connect(self.update_views)
        self.align_combo.currentIndexChanged.connect(self.update_views)
        self.flicker = QTimer(self)
        self.flicker.setInterval(600)
        self.flicker.timeout.connect(self._flick)
        self._flick_state = False
        self._restyle = QTimer(self)   # redraw a shown layer once the threshold or style rests
        self._restyle.setSingleShot(True)
        self._restyle.setInterval(120)
        self._restyle.timeout.connect(self._redraw_keeping_view)
        state = main.view_state
        state.events.loc_threshold.connect(self._view_state_changed)
        state.events.style.connect(self._view_state_changed)

    def refresh_sources(self) -> None:
        """Every open image, and every layer of every analysed image, rendered as RGB."""
        self.sources = []
        self._registrations = {}
        self._generation += 1   # a registration still running belongs to the old sources
        for doc in self.main.documents:
            self.sources.append((f"{doc.title}", lambda d=doc: d.evidence.rgb, doc, None))
            for layer in doc.layers.values():
                self.sources.append((f"{doc.title} ▸ {layer.title}",
                                     lambda d=doc, L=layer: self._render_layer(d, L), doc, layer))
        for combo in (self.left_combo, self.right_combo):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([s[0] for s in self.sources])
            combo.blockSignals(False)
        if len(self.sources) > 1:
            self.right_combo.setCurrentIndex(1)
        self.update_views()

    def _render_layer(self, doc, layer) -> np.ndarray:
        """A layer drawn over its image, full size (selection layers placed in their rect)."""
        loc = self.main.view_state.loc_threshold
        lut = heatmap_lut(layer.style.cmap, loc, 1.0) if layer.kind == "localization" else \
            plain_lut("grey" if layer.style.cmap == "veil" else layer.style.cmap, 1.0)
        rgba = apply_lut(layer.indices, lut)
        if layer.rect is None:
            return composite(np.zeros_like(doc.evidence.rgb), rgba) if layer.kind != "localization" \
                else composite(doc.evidence.rgb, rgba)
        x, y, w, h = layer.rect
        out = doc.evidence.rgb.copy()
        out[y:y + h, x:x + w] = composite(out[y:y + h, x:x + w], rgba)
        return out

    def _view_state_changed(self, _event) -> None:
        shown = (self.left_combo.currentIndex(), self.right_combo.currentIndex())
        if self.isVisible() and any(0 <= i < len(self.sources) and self.sources[i][3] is not None for i in shown):
            self._restyle.start()

    def _redraw_keeping_view(self) -> None:
        """Draw the shown sources again (a layer's threshold or style changed) where the examiner was looking."""
        (x0, x1), (y0, y1) = self.left.vb.viewRange()
        self.update_views()
        self.left.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def source(self, index: int) -> np.ndarray | None:
        return self.sources[index][1]() if 0 <= index < len(self.sources) else None

    @property
    def aligned(self) -> bool:
        return self.align_combo.currentText() == "Aligned"

    def registration(self, left: int, right: int):
        """The transform putting source ``right`` onto ``left`` (identity within one image); raises
        :class:`UserError` with the one-line reason when the two do not match.  Estimated once per
        pair, on the worker thread; while it runs, this waits for it with the event loop turning
        (the window stays responsive)."""
        key = (left, right)
        if key not in self._registrations:
            self.start_registration(left, right)
            self.wait_registration()
        reg = self._registrations.get(key, "the registration did not finish")
        if isinstance(reg, str):
            raise UserError(reg)
        return reg

    def start_registration(self, left: int, right: int) -> bool:
        """Register source ``right`` onto ``left`` in the background (within one image: the identity,
        at once).  True when the result is known or on its way; :meth:`update_views` runs again when it
        arrives."""
        from trufor_desk.compare.registration import identity, register

        key = (left, right)
        if key in self._registrations or self._registering == key:
            return True
        da, db = self.sources[left][2], self.sources[right][2]
        if da is db:
            ha, wa = da.evidence.rgb.shape[:2]
            self._registrations[key] = identity((wa, ha), (wa, ha))
            return True
        if self.registration_runner.busy:   # another pair is running: this one is started when it ends
            return True
        a_rgb, b_rgb, generation = da.evidence.rgb, db.evidence.rgb, self._generation

        def work(progress, cancel):
            progress(0.0, "registering")
            try:
                return generation, key, register(a_rgb, b_rgb)
            except UserError as exc:
                return generation, key, str(exc)

        job = Job(work)
        job.finished.connect(self._registration_done)   # a slot of this GUI-thread object: queued back here
        job.failed.connect(self._registration_failed)
        self._registering = key
        self.registration_label.setText("Registering the right source onto the left one\u2026 (the views show "
                                        "the pixels as stored until it is done)")
        self.registration_runner.start(job)
        return True

    @property
    def registering(self) -> bool:
        return self._registering is not None

    def wait_registration(self, timeout_ms: int = 120_000) -> None:
        """Turn the event loop until no registration runs (``registration``, tests, closing)."""
        remaining = timeout_ms
        while (self.registering or self.registration_runner.busy) and remaining > 0:
            QApplication.processEvents()
            self.registration_runner.wait(20)
            remaining -= 20
        QApplication.processEvents()

    @Slot(object)
    def _registration_done(self, outcome) -> None:
        generation, key, reg = outcome
        self._registering = None
        if generation == self._generation:
            self._registrations[key] = reg
        self._after_registration()

    @Slot(str)
    def _registration_failed(self, message: str) -> None:
        self._registering = None
        self.registration_label.setText(f"Registration failed: {message.splitlines()[0]}")

    def _after_registration(self) -> None:
        """Show the new result once the worker thread has ended (the next pair may need it)."""
        if self.registration_runner.busy:
            QTimer.singleShot(20, self._after_registration)
            return
        if self.aligned:
            self.update_views()

    def _aligned_right(self, b: np.ndarray) -> np.ndarray:
        """The right source as shown: registered onto the left one when "Aligned" is chosen."""
        from trufor_desk.compare.registration import resample

        left, right = self.left_combo.currentIndex(), self.right_combo.currentIndex()
        if not self.aligned:
            self.registration_label.setText("Registration: none (as stored)")
            return b
        key = (left, right)
        if key not in self._registrations:
            self.start_registration(left, right)
            if key not in self._registrations:   # on its way: as stored meanwhile
                return b
        reg = self._registrations[key]
        if isinstance(reg, str):
            self.registration_label.setText(f"Registration refused: {reg}. Showing the pixels as stored.")
            return b
        self.registration_label.setText(f"Registration: {reg.describe()}")
        return b if reg.model == "identity" and b.shape[:2] == tuple(reversed(reg.size_a)) else resample(b, reg)[0]

    def view_rect(self) -> tuple[int, int, int, int] | None:
        """The visible rectangle of the left source, in its pixels."""
        a = self.source(self.left_combo.currentIndex())
        if a is None:
            return None
        (x0, x1), (y0, y1) = self.left.vb.viewRange()
        h, w = a.shape[:2]
        x0, y0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
        x1, y1 = min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))
        return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else (0, 0, w, h)

    def add_to_case(self) -> bool:
        """Record the comparison shown (sources, mode, visible rectangle, registration, numbers)."""
        left, right = self.left_combo.currentIndex(), self.right_combo.currentIndex()
        if not (0 <= left < len(self.sources) and 0 <= right < len(self.sources)) or left == right:
            self.main.show_error("Nothing to compare", "Choose two different sources.")
            return False
        reg = None
        if self.aligned:
            try:
                reg = self.registration(left, right)
            except UserError as exc:
                self.main.show_error("The two images do not match", str(exc))
                return False
        _, _, da, la = self.sources[left]
        _, _, db, lb = self.sources[right]
        rec = self.main.cases.add_comparison((da, la), (db, lb), reg, self.mode_combo.currentText(),
                                             self.view_rect())
        if rec is None:
            return False
        self.status.setText(f"Comparison {rec.id} added to the case (it gets its own page in the report).")
        return True

    def update_views(self, *_) -> None:
        self.flicker.stop()
        a, b = self.source(self.left_combo.currentIndex()), self.source(self.right_combo.currentIndex())
        if b is not None and a is not None:
            b = self._aligned_right(b)
        mode = self.mode_combo.currentText()
        self.right.setVisible(mode == "Side by side")
        if a is None:
            return
        if mode == "Side by side" or b is None:
            self.left.set_image(a)
            if b is not None:
                self.right.set_image(b)
            self.status.setText("Views are linked: zoom, pan and cursor follow each other.")
            return
        if a.shape != b.shape:
            self.left.set_image(a)
            self.status.setText(f"{mode} needs two sources of the same size ({a.shape[1]}x{a.shape[0]} vs "
                                f"{b.shape[1]}x{b.shape[0]}).")
            return
        if mode == "Difference":
            diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1)
            peak = max(1, int(diff.max()))
            self.left.set_image(np.clip(diff * (255.0 / peak), 0, 255).astype(np.uint8))
            self.status.setText(f"Absolute difference, scaled so that the largest ({peak}) is white; "
                                f"{100 * float((diff > 0).mean()):.2f}% of pixels differ.")
        else:
            self._flick_a, self._flick_b = a, b
            self.left.set_image(a)
            self.flicker.start()
            self.status.setText("Flicker: alternating the two sources every 0.6 s.")

    def _flick(self) -> None:
        self._flick_state = not self._flick_state
        self.left.base.setImage(self._flick_b if self._flick_state else self._flick_a, levels=(0, 255),
                                autoLevels=False)

    def show_cursor(self, x: int, y: int) -> None:
        self.left.show_cursor(x, y)
        self.right.show_cursor(x, y)

    def closeEvent(self, ev):  # noqa: N802
        self.flicker.stop()
        self.registration_runner.wait(30000)   # a registration cannot be cancelled; it ends within seconds
        super().closeEvent(ev)
