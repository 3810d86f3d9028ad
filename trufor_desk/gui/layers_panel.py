"""Layer list (visibility, opacity, colour map per layer) and the two thresholds."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from trufor_desk.render.colormaps import NAMES as CMAPS

from .document import Layer


def percent_slider(value: float, tip: str) -> QSlider:
    s = QSlider(Qt.Horizontal)
    s.setRange(0, 100)
    s.setValue(int(round(value * 100)))
    s.setToolTip(tip)
    return s


class ThresholdBox(QGroupBox):
    """Localisation and reliability thresholds; signals carry values in [0, 1]."""

    changed = Signal()

    def __init__(self, loc: float = 0.5, rel: float = 0.5, parent=None):
        super().__init__("Thresholds", parent)
        form = QFormLayout(self)
        self.loc = percent_slider(loc, "Localization threshold: only map values above it are drawn.")
        self.rel = percent_slider(rel, "Reliability threshold: areas whose reliability is at or below it are "
                                       "greyed out — the localization map cannot be trusted there.")
        self.loc_label, self.rel_label = QLabel(), QLabel()
        self.contours = QCheckBox("Outline only (contours)")
        self.contours.setToolTip("Draw the outline of the region above the localization threshold instead of "
                                 "filling it.")
        for label, slider, text in ((self.loc_label, self.loc, "Localization"), (self.rel_label, self.rel,
                                                                                  "Reliability")):
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(label)
            form.addRow(text, row)
            slider.valueChanged.connect(self._changed)
        form.addRow(self.contours)
        self.contours.toggled.connect(self._changed)
        self._update_labels()

    def _update_labels(self) -> None:
        self.loc_label.setText(f"{self.loc_value:.2f}")
        self.rel_label.setText(f"{self.rel_value:.2f}")

    def _changed(self, *_):
        self._update_labels()
        self.changed.emit()

    @property
    def loc_value(self) -> float:
        return self.loc.value() / 100.0

    @property
    def rel_value(self) -> float:
        return self.rel.value() / 100.0


class LayerRow(QWidget):
    changed = Signal(str)

    def __init__(self, layer: Layer, parent=None):
        super().__init__(parent)
        self.key = layer.key
        grid = QGridLayout(self)
        grid.setContentsMargins(2, 2, 2, 2)
        self.visible = QCheckBox(layer.title)
        self.visible.setChecked(layer.style.visible)
        self.visible.setToolTip(layer.help)
        self.opacity = percent_slider(layer.style.opacity, "Opacity of this layer")
        self.cmap = QComboBox()
        names = ("veil",) + CMAPS if layer.kind == "reliability" else CMAPS
        self.cmap.addItems(names)
        self.cmap.setCurrentText(layer.style.cmap)
        self.cmap.setToolTip("Colour map. 'veil' greys out areas below the reliability threshold.")
        grid.addWidget(self.visible, 0, 0, 1, 2)
        grid.addWidget(self.opacity, 1, 0)
        grid.addWidget(self.cmap, 1, 1)
        self.visible.toggled.connect(lambda *_: self.changed.emit(self.key))
        self.opacity.valueChanged.connect(lambda *_: self.changed.emit(self.key))
        self.cmap.currentTextChanged.connect(lambda *_: self.changed.emit(self.key))

    def apply_to(self, layer: Layer) -> None:
        layer.style.visible = self.visible.isChecked()
        layer.style.opacity = self.opacity.value() / 100.0
        layer.style.cmap = self.cmap.currentText()


class LayersPanel(QWidget):
    """Rebuilt when the set of layers changes; edits go straight into the Layer styles."""

    styleChanged = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.box = QVBoxLayout(self)
        self.thresholds = ThresholdBox()
        self.box.addWidget(self.thresholds)
        self.image_row = QCheckBox("Image")
        self.image_row.setChecked(True)
        self.image_row.setToolTip("The evidence image as decoded (stored orientation).")
        self.box.addWidget(self.image_row)
        self.rows_box = QVBoxLayout()
        self.box.addLayout(self.rows_box)
        self.box.addStretch(1)
        self.rows: dict[str, LayerRow] = {}
        self._layers: dict[str, Layer] = {}

    def set_layers(self, layers: dict[str, Layer]) -> None:
        for row in self.rows.values():
            row.setParent(None)
            row.deleteLater()
        self.rows = {}
        self._layers = layers
        for key, layer in layers.items():
            row = LayerRow(layer)
            row.changed.connect(self._row_changed)
            self.rows_box.addWidget(row)
            self.rows[key] = row

    def _row_changed(self, key: str) -> None:
        self.rows[key].apply_to(self._layers[key])
        self.styleChanged.emit(key)
