"""An opened image as the window shows it, as plain data (no Qt): the analyses run on it,
their layers and how each layer is styled.  Nothing here draws.

A document says when its set of layers changed (``doc.events.layers``, after every
:meth:`Document.add_analysis`), so whoever adds an analysis does not have to remember to
redraw: :class:`~trufor_desk.view.state.ViewState` passes the event on for the current
document, and the window's layer list, overlays and score reading follow it.  Style changes
go through :meth:`ViewState.set_style <trufor_desk.view.state.ViewState.set_style>`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trufor_desk.engines.base import AnalysisResult
from trufor_desk.evidence import Evidence
from trufor_desk.render.layers import quantize_unit, robust_stretch

from .events import EmitterGroup


@dataclass
class LayerStyle:
    visible: bool = True
    opacity: float = 0.7
    cmap: str = "inferno"


@dataclass
class Layer:
    """One displayable map: uint8 indices (quantised once) plus how it is meant to be shown.

    ``kind`` is "localization" (thresholded heatmap), "reliability" (grey veil below the
    reliability threshold, or a colour map), or "plain" (full colour map, e.g.
    Noiseprint++ or an auxiliary map).  ``rect`` places a layer computed on a selection:
    (x, y, w, h) in image pixels.
    """

    key: str
    title: str
    kind: str
    indices: np.ndarray
    values: np.ndarray
    style: LayerStyle
    rect: tuple[int, int, int, int] | None = None
    help: str = ""


@dataclass
class Analysis:
    result: AnalysisResult
    rect: tuple[int, int, int, int] | None = None  # None: the whole image

    @property
    def label(self) -> str:
        r = self.rect
        where = "" if r is None else f" on selection {r[2]}x{r[3]}+{r[0]}+{r[1]}"
        return f"{self.result.engine}{where}"


LAYER_HELP = {
    "localization": "Localization map: the detector's per-pixel probability of manipulation (1 = manipulated). "
                    "Only pixels above the localization threshold are drawn.",
    "reliability": "Reliability map: where the localization map can be trusted (1 = trustworthy). Shown as a "
                   "grey veil over areas at or below the reliability threshold.",
    "np++": "Noiseprint++: the camera-trace fingerprint, shown in grey after a 1-99 percentile stretch. Regions "
            "with a different texture or an 8x8 grid pattern may come from another camera or processing.",
    "plain": "Auxiliary map of a weight-free detector, shown with its colour map.",
}


@dataclass
class Document:
    evidence: Evidence
    analyses: list[Analysis] = field(default_factory=list)
    layers: dict[str, Layer] = field(default_factory=dict)
    active: int | None = None  # index of the analysis whose score is shown
    c2pa: Any = None  # the evidence's Content Credentials (a C2paRecord), read when it is opened
    events: EmitterGroup = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # layers: the set of layers (and the active analysis) changed; value = this document
        self.events = EmitterGroup(self, "layers")

    @property
    def title(self) -> str:
        return self.evidence.path.name

    def add_analysis(self, result: AnalysisResult, rect=None) -> Analysis:
        """Store a result and (re)build its layers, keyed by engine and region; emits ``events.layers``."""
        an = Analysis(result, rect)
        prefix = result.engine if rect is None else f"{result.engine}@{rect[0]},{rect[1]},{rect[2]},{rect[3]}"
        self.analyses = [a for a in self.analyses if not (a.result.engine == result.engine and a.rect == rect)]
        self.analyses.append(an)
        self.active = len(self.analyses) - 1
        for k in [k for k in self.layers if k.split(":")[0] == prefix]:
            del self.layers[k]
        name = result.engine if rect is None else f"{result.engine} (selection)"
        self.layers[f"{prefix}:map"] = Layer(f"{prefix}:map", f"{name}: localization", "localization",
                                             quantize_unit(result.localization), result.localization,
                                             LayerStyle(True, 0.7, "inferno"), rect, LAYER_HELP["localization"])
        if result.reliability is not None:
            self.layers[f"{prefix}:conf"] = Layer(f"{prefix}:conf", f"{name}: reliability", "reliability",
                                                  quantize_unit(result.reliability), result.reliability,
                                                  LayerStyle(True, 0.6, "veil"), rect, LAYER_HELP["reliability"])
        for ename, arr in result.extras.items():
            if arr.ndim != 2:
                continue
            is_np = ename == "np++"
            idx = robust_stretch(arr) if is_np or not (0 <= float(arr.min()) and float(arr.max()) <= 1) \
                else quantize_unit(arr)
            self.layers[f"{prefix}:{ename}"] = Layer(
                f"{prefix}:{ename}", f"{name}: {'Noiseprint++' if is_np else ename}", "plain", idx, arr,
                LayerStyle(False, 1.0 if is_np else 0.7, "grey" if is_np else "viridis"), rect,
                LAYER_HELP["np++" if is_np else "plain"])
        self.events.layers(value=self)
        return an

    def active_analysis(self) -> Analysis | None:
        if self.active is None or not self.analyses:
            return None
        return self.analyses[self.active]

    def value_at(self, x: int, y: int) -> dict[str, float]:
        """Values of every layer under image pixel (x, y), for the readout."""
        out = {}
        for layer in self.layers.values():
            ox, oy = (layer.rect[0], layer.rect[1]) if layer.rect else (0, 0)
            lx, ly = x - ox, y - oy
            h, w = layer.values.shape
            if 0 <= lx < w and 0 <= ly < h:
                out[layer.title] = float(layer.values[ly, lx])
        return out
