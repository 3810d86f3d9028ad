"""Colour lookup tables (256 x 4 uint8 RGBA) built from a few anchor colours.

The anchors are this project's own approximations of well-known perceptual maps; they
need no plotting library.  Tables are indexed by a map quantised to 0..255.
"""

from __future__ import annotations

import numpy as np

ANCHORS: dict[str, list[tuple[int, int, int]]] = {
    "inferno": [(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66), (245, 125, 21),
                (250, 193, 39), (252, 255, 164)],
    "viridis": [(68, 1, 84), (70, 50, 126), (54, 92, 141), (39, 127, 142), (31, 161, 135), (74, 193, 109),
                (160, 218, 57), (253, 231, 37)],
    "jet": [(0, 0, 131), (0, 60, 255), (0, 200, 255), (120, 255, 130), (255, 220, 0), (255, 70, 0),
            (128, 0, 0)],
    "hot": [(10, 0, 0), (180, 0, 0), (255, 90, 0), (255, 200, 0), (255, 255, 160), (255, 255, 255)],
    "grey": [(0, 0, 0), (255, 255, 255)],
    "red": [(255, 0, 0), (255, 0, 0)],
    "cyan": [(0, 230, 255), (0, 230, 255)],
}
NAMES = tuple(ANCHORS)


def colormap(name: str) -> np.ndarray:
    """(256, 4) uint8 RGBA table, fully opaque."""
    if name not in ANCHORS:
        raise ValueError(f"unknown colour map {name!r}")
    pts = np.asarray(ANCHORS[name], dtype=np.float64)
    pos = np.linspace(0.0, 1.0, len(pts))
    x = np.linspace(0.0, 1.0, 256)
    rgb = np.stack([np.interp(x, pos, pts[:, c]) for c in range(3)], axis=1)
    lut = np.empty((256, 4), dtype=np.uint8)
    lut[:, :3] = np.round(rgb).astype(np.uint8)
    lut[:, 3] = 255
    return lut
