"""Layer list (visibility, opacity, colour map per layer) and the two thresholds.

The widgets write to the window's :class:`~trufor_desk.view.state.ViewState` and reflect it:
a value changed elsewhere (saved settings, a script) moves the slider without writing back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
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
from trufor_desk.view.document import Layer, LayerStyle
from trufor_desk.view.state import VEIL, ViewState


def percent_slider(value: float, tip: str) -> QSlider:
    s = QSlider(Qt.Horizontal)
    s.setRange(0, 100)
    s.setValue(int(round(value * 100)))
    s.setToolTip(tip)
    return s


def _percent(value: float) -> int:
    return int(round(value * 100))


def _show(widget, setter, value) -> None:
    """Reflect a state value in a widget without the widget writing it back."""
    widget.blockSignals(True)
    setter(value)
    widget.blockSignals(False)


class ThresholdBox(QGroupBox):
    """Localisation and reliability thresholds and the contour flag of a :class:`ViewState`."""

    def __init__(self, state: ViewState, parent=None):
        super().__init__("Thresholds", parent)
        self.state = state
        form = QFormLayout(self)
        self.loc = percent_slider(state.loc_threshold, "Localization threshold: only map values above it are drawn.")
        self.rel = percent_slider(state.rel_threshold, "Reliability threshold: areas whose reliability is at or "
                                                       "below it are greyed out — the localization map cannot be "
                                                       "trusted there.")
        self.loc_label, self.rel_label = QLabel(), QLabel()
        self.contours = QCheckBox("Outline only (contours)")
        self.contours.setToolTip("Draw the outline of the region above the localization threshold instead of "
                                 "filling it.")
        self.contours.setChecked(state.contours)
        for label, slider, text in ((self.loc_label, self.loc, "Localization"), (self.rel_label, self.rel,
                                                                                  "Reliability")):
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(label)
            form.addRow(text, row)
        form.addRow(self.contours)
        self.loc.valueChanged.connect(lambda v: setattr(state, "loc_threshold", v / 100.0))
        self.rel.valueChanged.connect(lambda v: setattr(state, "rel_threshold", v / 100.0))
        self.contours.toggled.connect(lambda on: setattr(state, "contours", on))
        state.events.loc_threshold.connect(self._show_loc)
        state.events.rel_threshold.connect(self._show_rel)
        state.events.contours.connect(lambda e: _show(self.contours, self.contours.setChecked, e.value))
        self._update_labels()

    def _show_loc(self, event) -> None:
        _show(self.loc, self.loc.setValue, _percent(event.value))
        self._update_labels()

    def _show_rel(self, event) -> None:
        _show(self.rel, self.rel.setValue, _percent(event.value))
        self._update_labels()

    def _update_labels(self) -> None:
        self.loc_label.setText(f"{self.state.loc_threshold:.2f}")
        self.rel_label.setText(f"{self.state.rel_threshold:.2f}")


class LayerRow(QWidget):
    """One layer's visibility, opacity and colour map, written to the state under its key."""

    def __init__(self, layer: Layer, state: ViewState, parent=None):
        super().__init__(parent)
        self.key = layer.key
        grid = QGridLayout(self)
        grid.setContentsMargins(2, 2, 2, 2)
        self.visible = QCheckBox(layer.title)
        self.visible.setToolTip(layer.help)
        self.opacity = percent_slider(layer.style.opacity, "Opacity of this layer")
        self.cmap = QComboBox()
        names = (VEIL,) + CMAPS if layer.kind == "reliability" else CMAPS
        self.cmap.addItems(names)
        self.cmap.setToolTip("Colour map. 'veil' greys out areas below the reliability threshold.")
        self.show_style(layer.style)
        grid.addWidget(self.visible, 0, 0, 1, 2)
        grid.addWidget(self.opacity, 1, 0)
        grid.addWidget(self.cmap, 1, 1)
        self.visible.toggled.connect(lambda on: state.set_style(self.key, visible=on))
        self.opacity.valueChanged.connect(lambda v: state.set_style(self.key, opacity=v / 100.0))
        self.cmap.currentTextChanged.connect(lambda name: state.set_style(self.key, cmap=name))

    def show_style(self, style: LayerStyle) -> None:
        """Reflect the layer's style (changed here or elsewhere) without writing it back."""
        _show(self.visible, self.visible.setChecked, style.visible)
        _show(self.opacity, self.opacity.setValue, _percent(style.opacity))
        _show(self.cmap, self.cmap.setCurrentText, style.cmap)


class LayersPanel(QWidget):
    """The thresholds, the image row and one row per layer of the state's current document;
    the rows are rebuilt when the document or its set of layers changes."""

    def __init__(self, state: ViewState, parent=None):
        super().__init__(parent)
        self.state = state
        self.box = QVBoxLayout(self)
        self.thresholds = ThresholdBox(state)
        self.box.addWidget(self.thresholds)
        self.image_row = QCheckBox("Image")
        self.image_row.setChecked(state.show_image)
        self.image_row.setToolTip("The evidence image as decoded (stored orientation).")
        self.image_row.toggled.connect(lambda on: setattr(state, "show_image", on))
        self.box.addWidget(self.image_row)
        self.rows_box = QVBoxLayout()
        self.box.addLayout(self.rows_box)
        self.box.addStretch(1)
        self.rows: dict[str, LayerRow] = {}
        state.events.document.connect(self._show_layers)
        state.events.layers.connect(self._show_layers)
        state.events.style.connect(lambda e: self.rows[e.key].show_style(e.value) if e.key in self.rows else None)
        state.events.show_image.connect(lambda e: _show(self.image_row, self.image_row.setChecked, e.value))

    def _show_layers(self, _event=None) -> None:
        for row in self.rows.values():
            row.setParent(None)
            row.deleteLater()
        self.rows = {}
        doc = self.state.document
        for key, layer in (doc.layers if doc else {}).items():
            row = LayerRow(layer, self.state)
            self.rows_box.addWidget(row)
            self.rows[key] = row
