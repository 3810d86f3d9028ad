"""Drawing a document's layers: overlay items in the viewer, the loupe's patch and the score reading.

Everything is drawn from the indices a :class:`~trufor_desk.gui.document.Layer` already
holds and the current styles and thresholds, so a threshold, opacity or colour-map change
only rebuilds lookup tables; nothing is recomputed.
"""

from __future__ import annotations

import numpy as np

from trufor_desk.render.layers import (
    apply_lut,
    composite,
    heatmap_lut,
    low_reliability_lut,
    mask_outline,
    plain_lut,
    threshold_index,
)
from trufor_desk.verdict.reading import read_result

from .document import Document, Layer

Z_ORDER = {"plain": 1, "localization": 3, "reliability": 4}


class LayerPainter:
    """Draws the layers of one document at a time into the viewer, with the styles and
    thresholds of the layers panel, and the reading of the active analysis into the score panel."""

    def __init__(self, viewer, layers_panel, score_panel):
        self.viewer = viewer
        self.layers_panel = layers_panel
        self.score_panel = score_panel

    def rebuild(self, doc: Document | None) -> None:
        """Re-create overlay items after the set of layers changed."""
        for name in list(self.viewer.layers):
            self.viewer.remove_layer(name)
        layers = doc.layers if doc else {}
        self.layers_panel.set_layers(layers)
        for key in layers:
            self.render(doc, key)
        self.update_score(doc)

    def lut_and_indices(self, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
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

    def render(self, doc: Document | None, key: str) -> None:
        """Draw one layer from its stored indices and current style (no recomputation)."""
        if doc is None or key not in doc.layers:
            return
        layer = doc.layers[key]
        indices, lut = self.lut_and_indices(layer)
        if key in self.viewer.layers and self.viewer.layer_data(key) is indices:
            self.viewer.set_layer_lut(key, lut)
            self.viewer.set_layer_visible(key, layer.style.visible)
        else:
            z = Z_ORDER[layer.kind] + (0.5 if layer.rect else 0.0)
            mode = {"localization": "max", "reliability": "min"}.get(layer.kind, "mean")
            self.viewer.set_layer(key, indices, lut, z, layer.rect, layer.style.visible, mode)

    def render_all(self, doc: Document | None) -> None:
        if doc is None:
            return
        for key in doc.layers:
            self.render(doc, key)

    def update_score(self, doc: Document | None) -> None:
        an = doc.active_analysis() if doc else None
        if an is None:
            self.score_panel.show_reading(None, None, "")
            return
        r = an.result
        th = self.layers_panel.thresholds
        reading = read_result(r, th.loc_value, th.rel_value)
        self.score_panel.show_reading(reading, r.reliability, an.label, r.notes)

    def composite_patch(self, doc: Document, x: int, y: int, r: int) -> np.ndarray:
        """The visible layers composited over the image around (x, y), edge-padded."""
        ev = doc.evidence
        h, w = ev.height, ev.width
        ys = np.clip(np.arange(y - r, y + r + 1), 0, h - 1)
        xs = np.clip(np.arange(x - r, x + r + 1), 0, w - 1)
        base = ev.rgb[np.ix_(ys, xs)] if self.layers_panel.image_row.isChecked() else \
            np.zeros((len(ys), len(xs), 3), np.uint8)
        overlays = []
        for layer in sorted(doc.layers.values(), key=lambda L: Z_ORDER[L.kind]):
            if not layer.style.visible:
                continue
            ox, oy = (layer.rect[0], layer.rect[1]) if layer.rect else (0, 0)
            lh, lw = layer.indices.shape
            ly, lx = ys - oy, xs - ox
            inside = ((ly >= 0) & (ly < lh))[:, None] & ((lx >= 0) & (lx < lw))[None, :]
            idx, lut = self.lut_and_indices(layer)
            patch = idx[np.ix_(np.clip(ly, 0, lh - 1), np.clip(lx, 0, lw - 1))]
            rgba = apply_lut(patch, lut).copy()
            rgba[..., 3] *= inside
            overlays.append(rgba)
        return composite(base, *overlays)
