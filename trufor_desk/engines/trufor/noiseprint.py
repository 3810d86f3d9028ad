"""Noiseprint++: the 17-layer DnCNN that extracts a camera-trace fingerprint.

Layout (kit README section 4.2): conv3x3(3->64, bias) + ReLU, then 15 x
[conv3x3(64->64, no bias) + BatchNorm(64, eps 1e-5) + ReLU], then conv3x3(64->1, bias)
with a linear output.  No residual connection.  The ``nn.Sequential`` indices (0, 2, 3,
5, 6, ... 47) are kept because they are the checkpoint's key names.

Every layer is a 3x3 convolution with zero padding, so an output pixel depends only on
input pixels within 17 rows/columns.  The image is therefore processed in overlapping
tiles with a 17-pixel margin: tile interiors are exact and memory stays bounded (a
64-channel activation of a whole 24 MP photo would be 6 GB).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

N_MID_LAYERS = 15
RECEPTIVE_RADIUS = 17  # one pixel per 3x3 convolution, 17 convolutions
DEFAULT_TILE = 512


def build_dncnn() -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 3, padding=1, bias=True), nn.ReLU(inplace=True)]
    for _ in range(N_MID_LAYERS):
        layers += [nn.Conv2d(64, 64, 3, padding=1, bias=False),
                   nn.BatchNorm2d(64, eps=1e-5), nn.ReLU(inplace=True)]
    layers.append(nn.Conv2d(64, 1, 3, padding=1, bias=True))
    return nn.Sequential(*layers)


def _run_tile(dncnn: nn.Sequential, tile: torch.Tensor) -> torch.Tensor:
    # Plain NCHW, the layout the official model runs in.  The trained BatchNorms
    # subtract running means up to ~3700 from the convolution outputs, so float32
    # rounding is amplified ~10^4x; oneDNN's channels-last kernel (1.5x faster) sums in
    # another order and moves the output by up to 6.5e-4, outside the kit's 5e-4
    # tolerance.  For the same reason this branch always runs in float32: in bf16 the
    # cancellation destroys the output (measured max error 0.59 on a map of std 0.14).
    return dncnn(tile.contiguous().float())


def noiseprint_tiled(dncnn: nn.Sequential, x: torch.Tensor, tile: int | None = DEFAULT_TILE,
                     step: Callable[[float], None] | None = None) -> torch.Tensor:
    """Noiseprint++ of ``x`` (1, 3, H, W) -> (1, 1, H, W) float32, tile by tile.

    ``tile=None`` runs the whole image at once.
    """
    _, _, h, w = x.shape
    if tile is None or (h <= tile and w <= tile):
        return _run_tile(dncnn, x)
    out = torch.empty((1, 1, h, w), dtype=torch.float32, device=x.device)
    m = RECEPTIVE_RADIUS
    ys = list(range(0, h, tile))
    xs = list(range(0, w, tile))
    done, total = 0, len(ys) * len(xs)
    for y0 in ys:
        y1 = min(h, y0 + tile)
        for x0 in xs:
            x1 = min(w, x0 + tile)
            ey0, ey1, ex0, ex1 = max(0, y0 - m), min(h, y1 + m), max(0, x0 - m), min(w, x1 + m)
            res = _run_tile(dncnn, x[:, :, ey0:ey1, ex0:ex1])
            out[:, :, y0:y1, x0:x1] = res[:, :, y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0]
            done += 1
            if step is not None:
                step(done / total)
    return out
