"""Drawing the current document's layers: overlay items in the viewer, and the loupe's patch.

The painter subscribes to the window's :class:`~trufor_desk.view.state.ViewState`: a new
current document or a new set of layers re-creates the overlay items; a threshold, contour,
opacity or colour-map change redraws from the indices a :class:`~trufor_desk.view.document.Layer`
already holds, so it only rebuilds lookup tables; nothing is recomputed.
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
from trufor_desk.view.document import Layer
from trufor_desk.view.state import VEIL, ViewState

Z_ORDER = {"plain": 1, "localization": 3, "reliability": 4}


class LayerPainter:
    """Draws the layers of the state's current document into the viewer, with their styles and
    the state's thresholds, whenever one of them changes."""

    def __init__(self, viewer, state: ViewState):
        self.viewer = viewer
        self.state = state
        state.events.document.connect(self.rebuild)
        state.events.layers.connect(self.rebuild)
        state.events.style.connect(lambda e: self.render(e.key))
        for name in ("loc_threshold", "rel_threshold", "contours"):
            getattr(state.events, name).connect(self.render_all)
        state.events.show_image.connect(lambda e: viewer.base.setVisible(e.value))

    def rebuild(self, _event=None) -> None:
        """Re-create the overlay items (the document or its set of layers changed)."""
        for name in list(self.viewer.layers):
            self.viewer.remove_layer(name)
        doc = self.state.document
        for key in doc.layers if doc else ():
            self.render(key)

    def lut_and_indices(self, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
        st = self.state
        s = layer.style
        if layer.kind == "localization":
            if st.contours:
                outline = mask_outline(layer.indices >= threshold_index(st.loc_threshold), width=1)
                return np.where(outline, layer.indices, 0).astype(np.uint8), \
                    heatmap_lut(s.cmap, st.loc_threshold, s.opacity, ramp=False)
            return layer.indices, heatmap_lut(s.cmap, st.loc_threshold, s.opacity)
        if layer.kind == "reliability" and s.cmap == VEIL:
            return layer.indices, low_reliability_lut(st.rel_threshold, s.opacity)
        return layer.indices, plain_lut(s.cmap if s.cmap != VEIL else "grey", s.opacity)

    def render(self, key: str) -> None:
        """Draw one layer from its stored indices and current style (no recomputation)."""
        doc = self.state.document
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

    def render_all(self, _event=None) -> None:
        doc = self.state.document
        for key in doc.layers if doc else ():
            self.render(key)

    def composite_patch(self, x: int, y: int, r: int) -> np.ndarray:
        """The visible layers of the current document composited over its image around (x, y), edge-padded."""
        doc = self.state.document
        ev = doc.evidence
        h, w = ev.height, ev.width
        ys = np.clip(np.arange(y - r, y + r + 1), 0, h - 1)
        xs = np.clip(np.arange(x - r, x + r + 1), 0, w - 1)
        base = ev.rgb[np.ix_(ys, xs)] if self.state.show_image else \
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
