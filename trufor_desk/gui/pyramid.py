"""Resolution pyramids for displayed layers.

pyqtgraph's ``autoDownsample`` averages the full-resolution array on every render, which
for a 12 MP overlay costs far more than a frame.  Here each layer keeps power-of-two
reductions, built once per level when first needed, and the ImageItem shows the level
that matches the current zoom.  A threshold or opacity change then re-maps only those
screen-sized pixels through the lookup table.

Reduction per layer kind: the image is averaged (what the eye expects); a localisation
map keeps the maximum, so a small strong region never disappears at low zoom; a
reliability map keeps the minimum, so an unreliable patch is never hidden.
"""

from __future__ import annotations

import math

import numpy as np

MIN_SIDE = 256


def reduce2(a: np.ndarray, mode: str) -> np.ndarray:
    """Halve both sides (odd edges are replicated)."""
    h, w = a.shape[:2]
    if h % 2 or w % 2:
        pad = [(0, h % 2), (0, w % 2)] + [(0, 0)] * (a.ndim - 2)
        a = np.pad(a, pad, mode="edge")
    q = (a[0::2, 0::2], a[1::2, 0::2], a[0::2, 1::2], a[1::2, 1::2])
    if mode == "max":
        return np.maximum(np.maximum(q[0], q[1]), np.maximum(q[2], q[3]))
    if mode == "min":
        return np.minimum(np.minimum(q[0], q[1]), np.minimum(q[2], q[3]))
    acc = q[0].astype(np.uint16) + q[1] + q[2] + q[3]
    return ((acc + 2) // 4).astype(a.dtype)


class Pyramid:
    def __init__(self, data: np.ndarray, mode: str = "mean"):
        self.mode = mode
        self.levels: list[np.ndarray] = [data]
        h, w = data.shape[:2]
        self.n_levels = 1 + max(0, int(math.floor(math.log2(max(1, min(h, w) / MIN_SIDE)))))

    def level(self, i: int) -> np.ndarray:
        i = max(0, min(i, self.n_levels - 1))
        while len(self.levels) <= i:
            self.levels.append(reduce2(self.levels[-1], self.mode))
        return self.levels[i]

    @staticmethod
    def level_for(data_px_per_screen_px: float) -> int:
        """Coarsest level that still has at least one data pixel per screen pixel."""
        if data_px_per_screen_px <= 1:
            return 0
        return int(math.floor(math.log2(data_px_per_screen_px)))
