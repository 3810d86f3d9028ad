"""What is compared: an evidence image, or one layer of an analysis drawn in its image's frame.

A :class:`Source` carries the pixels shown (uint8 RGB, the evidence image's size), where
they are defined (a layer computed on a selection covers only its rectangle), the
evidence pixels used to register it, and the evidence file's bytes (for its JPEG tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trufor_desk.errors import UserError

LAYER_NAMES = ("localization", "reliability")   # besides the names of a result's extra maps (e.g. np++)


@dataclass
class Source:
    label: str                      # how the report and window name it, e.g. "E1 photo.jpg"
    evidence_id: str
    pixels: np.ndarray              # uint8 (H, W, 3), the evidence image's frame
    base: np.ndarray                # the evidence pixels (what registration matches)
    raw: bytes = field(default=b"", repr=False)
    analysis_id: str | None = None
    layer: str | None = None
    defined: np.ndarray | None = field(default=None, repr=False)   # bool (H, W); None: everywhere

    def record(self) -> dict:
        return {"label": self.label, "evidence_id": self.evidence_id, "analysis_id": self.analysis_id,
                "layer": self.layer}


def image_source(evidence, evidence_id: str, label: str | None = None) -> Source:
    """An evidence image as stored (``evidence`` is an opened :class:`~trufor_desk.evidence.Evidence`)."""
    name = getattr(evidence, "path", None)
    name = getattr(name, "name", None) or str(name or "")
    return Source(label or f"{evidence_id} {name}".strip(), evidence_id, evidence.rgb, evidence.rgb,
                  getattr(evidence, "raw", b"") or b"")


def layer_names(result) -> list[str]:
    names = ["localization"] + (["reliability"] if result.reliability is not None else [])
    return names + [k for k, v in result.extras.items() if np.asarray(v).ndim == 2]


def layer_pixels(result, layer: str, width: int, height: int, rect=None) -> tuple[np.ndarray, np.ndarray]:
    """One map of a result as RGB in the image's frame, and where it is defined.

    The localization map is drawn with the inferno colour map (0 dark .. 1 bright), the
    reliability map in grey (white = reliable), any other map in grey after a 1-99 %
    stretch, as in the report's analysis pages.
    """
    from trufor_desk.render.colormaps import colormap
    from trufor_desk.render.layers import apply_lut, quantize_unit, robust_stretch

    if layer == "localization":
        values, cmap = result.localization, "inferno"
    elif layer == "reliability":
        if result.reliability is None:
            raise UserError(f"the {result.engine} result has no reliability map")
        values, cmap = result.reliability, "grey"
    elif layer in result.extras and np.asarray(result.extras[layer]).ndim == 2:
        values, cmap = None, "grey"
    else:
        raise UserError(f"the {result.engine} result has no layer {layer!r} (it has: "
                        f"{', '.join(layer_names(result))})")
    idx = quantize_unit(values) if values is not None else robust_stretch(result.extras[layer])
    rgb = apply_lut(idx, colormap(cmap))[..., :3]
    frame = np.zeros((height, width, 3), np.uint8)
    defined = np.zeros((height, width), bool)
    x, y = (0, 0) if rect is None else (int(rect[0]), int(rect[1]))
    h, w = rgb.shape[:2]
    h, w = min(h, height - y), min(w, width - x)
    frame[y:y + h, x:x + w] = rgb[:h, :w]
    defined[y:y + h, x:x + w] = True
    return frame, defined


def layer_source(evidence, evidence_id: str, result, analysis_id: str, layer: str = "localization",
                 rect=None, label: str | None = None) -> Source:
    pixels, defined = layer_pixels(result, layer, evidence.rgb.shape[1], evidence.rgb.shape[0], rect)
    return Source(label or f"{analysis_id} {result.engine}: {layer}", evidence_id, pixels, evidence.rgb,
                  getattr(evidence, "raw", b"") or b"", analysis_id=analysis_id, layer=layer,
                  defined=None if defined.all() else defined)
