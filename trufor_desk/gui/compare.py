"""Side-by-side comparison: two linked views (zoom, pan, cursor), or one view showing
the difference of two equal-size images, or flicking between them."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from trufor_desk.render.layers import apply_lut, composite, heatmap_lut, plain_lut

from .viewer import ImageViewer

MODES = ("Side by side", "Difference", "Flicker")


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
        for label, w in (("Left", self.left_combo), ("Right", self.right_combo), ("Mode", self.mode_combo)):
            bar.addWidget(QLabel(label))
            bar.addWidget(w, 1)
        lay.addLayout(bar)
        self.left, self.right = ImageViewer(), ImageViewer()
        self.right.link_to(self.left)
        split = QSplitter()
        split.addWidget(self.left)
        split.addWidget(self.right)
        lay.addWidget(split, 1)
        self.status = QLabel()
        lay.addWidget(self.status)
        self.sources: list[tuple[str, callable]] = []
        self.left.cursorMoved.connect(self.show_cursor)
        self.right.cursorMoved.connect(self.show_cursor)
        self.left_combo.currentIndexChanged.connect(self.update_views)
        self.right_combo.currentIndexChanged.connect(self.update_views)
        self.mode_combo.currentIndexChanged.connect(self.update_views)
        self.flicker = QTimer(self)
        self.flicker.setInterval(600)
        self.flicker.timeout.connect(self._flick)
        self._flick_state = False

    def refresh_sources(self) -> None:
        """Every open image, and every layer of every analysed image, rendered as RGB."""
        self.sources = []
        for doc in self.main.documents:
            self.sources.append((f"{doc.title}", lambda d=doc: d.evidence.rgb))
            for layer in doc.layers.values():
                self.sources.append((f"{doc.title} ▸ {layer.title}",
                                     lambda d=doc, L=layer: self._render_layer(d, L)))
        for combo in (self.left_combo, self.right_combo):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([name for name, _ in self.sources])
            combo.blockSignals(False)
        if len(self.sources) > 1:
            self.right_combo.setCurrentIndex(1)
        self.update_views()

    def _render_layer(self, doc, layer) -> np.ndarray:
        """A layer drawn over its image, full size (selection layers placed in their rect)."""
        th = self.main.layers_panel.thresholds
        lut = heatmap_lut(layer.style.cmap, th.loc_value, 1.0) if layer.kind == "localization" else \
            plain_lut("grey" if layer.style.cmap == "veil" else layer.style.cmap, 1.0)
        rgba = apply_lut(layer.indices, lut)
        if layer.rect is None:
            return composite(np.zeros_like(doc.evidence.rgb), rgba) if layer.kind != "localization" \
                else composite(doc.evidence.rgb, rgba)
        x, y, w, h = layer.rect
        out = doc.evidence.rgb.copy()
        out[y:y + h, x:x + w] = composite(out[y:y + h, x:x + w], rgba)
        return out

    def source(self, index: int) -> np.ndarray | None:
        return self.sources[index][1]() if 0 <= index < len(self.sources) else None

    def update_views(self, *_) -> None:
        self.flicker.stop()
        a, b = self.source(self.left_combo.currentIndex()), self.source(self.right_combo.currentIndex())
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
        super().closeEvent(ev)
