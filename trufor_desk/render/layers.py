"""Turning result maps into displayable layers without touching the analysis.

Maps are quantised to uint8 once, when a result arrives; every later change of
threshold, opacity or colour map only rebuilds a 256-entry lookup table.  That is what
lets a slider re-render a 12-megapixel overlay in milliseconds.
"""

from __future__ import annotations

import numpy as np

from .colormaps import colormap


def quantize_unit(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to uint8 0..255 (index i covers values near i/255)."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0)
    return np.clip(np.rint(v * 255.0), 0, 255).astype(np.uint8)


def robust_stretch(values: np.ndarray, lo_pct: float = 1.0, hi_pct: float = 99.0) -> np.ndarray:
    """uint8 grey after clipping at the given percentiles (how Noiseprint++ is shown).

    Percentiles come from a strided subsample, so this stays fast on big photos.
    """
    v = np.asarray(values, dtype=np.float32)
    step = max(1, int(np.sqrt(v.size / 1_000_000)))
    sample = v[::step, ::step]
    lo, hi = np.percentile(sample[np.isfinite(sample)], [lo_pct, hi_pct]) if sample.size else (0.0, 1.0)
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        return np.zeros(v.shape, np.uint8)
    return quantize_unit((v - lo) / (hi - lo))


def threshold_index(threshold: float) -> int:
    """First LUT index strictly above ``threshold`` (values > threshold are shown)."""
    return int(np.clip(np.floor(threshold * 255.0) + 1, 0, 256))


def heatmap_lut(cmap: str, threshold: float = 0.0, opacity: float = 1.0, ramp: bool = True) -> np.ndarray:
    """LUT for a localisation map: transparent up to ``threshold``, coloured above.

    With ``ramp`` the alpha grows with the value above the threshold, so weak evidence
    stays faint; without it every shown pixel has the layer's opacity.
    """
    lut = colormap(cmap).copy()
    start = threshold_index(threshold)
    alpha = np.zeros(256, np.float64)
    if start < 256:
        if ramp:
            span = max(1, 255 - start + 1)
            alpha[start:] = 0.35 + 0.65 * (np.arange(256 - start) + 1) / span
        else:
            alpha[start:] = 1.0
    lut[:, 3] = np.round(255 * np.clip(alpha * opacity, 0, 1)).astype(np.uint8)
    return lut


def plain_lut(cmap: str, opacity: float = 1.0) -> np.ndarray:
    lut = colormap(cmap).copy()
    lut[:, 3] = int(round(255 * np.clip(opacity, 0, 1)))
    return lut


def low_reliability_lut(threshold: float, opacity: float = 0.6, grey: int = 128) -> np.ndarray:
    """LUT for the reliability map as a veil: grey where reliability <= threshold."""
    lut = np.zeros((256, 4), np.uint8)
    lut[:, :3] = grey
    stop = threshold_index(threshold)
    lut[:stop, 3] = int(round(255 * np.clip(opacity, 0, 1)))
    return lut


def apply_lut(indices: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """(H, W) uint8 -> (H, W, 4) uint8 RGBA."""
    return lut[indices]


def composite(base_rgb: np.ndarray, *rgba_layers: np.ndarray) -> np.ndarray:
    """Alpha-blend RGBA layers over an RGB image (all the same H x W), uint8 out."""
    out = base_rgb.astype(np.float32)
    for layer in rgba_layers:
        a = layer[..., 3:4].astype(np.float32) / 255.0
        out = out * (1.0 - a) + layer[..., :3].astype(np.float32) * a
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def mask_outline(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """Boolean outline of a boolean mask (pixels of the mask next to a non-mask pixel)."""
    import cv2

    m = mask.astype(np.uint8)
    k = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    return (m > 0) & (cv2.erode(m, k, borderType=cv2.BORDER_CONSTANT, borderValue=0) == 0)
