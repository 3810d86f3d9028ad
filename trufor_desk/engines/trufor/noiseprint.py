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
import torch.nn.functional as F

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


def folded_layers(dncnn: nn.Sequential) -> list[tuple[torch.Tensor, torch.Tensor, bool]]:
    """(weight, bias, relu) per convolution with each BatchNorm folded in (float64 math).

    Used for reduced precision: the trained BatchNorms subtract running means in the
    thousands, which in bf16/fp16 would cancel every significant bit of the activation.
    Folded, the subtraction happens inside the convolution's float32 accumulator.
    """
    out = []
    mods = list(dncnn)
    i = 0
    while i < len(mods):
        conv = mods[i]
        w = conv.weight.detach().double()
        b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64,
                                                                               device=w.device)
        i += 1
        if i < len(mods) and isinstance(mods[i], nn.BatchNorm2d):
            bn = mods[i]
            scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
            w = w * scale[:, None, None, None]
            b = (b - bn.running_mean.double()) * scale + bn.bias.double()
            i += 1
        relu = i < len(mods) and isinstance(mods[i], nn.ReLU)
        if relu:
            i += 1
        out.append((w.float(), b.float(), relu))
    return out


def _run_tile(dncnn: nn.Sequential, tile: torch.Tensor, folded, dtype: torch.dtype) -> torch.Tensor:
    if folded is None:
        # Exact path: plain NCHW, the layout the official model runs in.  The trained
        # BatchNorms subtract running means up to ~3700 from the convolution outputs, so
        # float32 rounding is amplified ~10^4x; oneDNN's channels-last kernel (1.5x
        # faster) sums in another order and moves the output by up to 6.5e-4, outside
        # the kit's 5e-4 tolerance.  NCHW reproduces the reference bit for bit.
        return dncnn(tile.contiguous())
    # Reduced precision (BatchNorms folded): channels-last for speed.
    y = tile.contiguous(memory_format=torch.channels_last).to(dtype)
    for w, b, relu in folded:
        y = F.conv2d(y, w.to(dtype), b.to(dtype), padding=1)
        if relu:
            y = F.relu_(y)
    return y.float()


def noiseprint_tiled(dncnn: nn.Sequential, x: torch.Tensor, tile: int | None = DEFAULT_TILE,
                     folded=None, dtype: torch.dtype = torch.float32,
                     step: Callable[[float], None] | None = None) -> torch.Tensor:
    """Noiseprint++ of ``x`` (1, 3, H, W) -> (1, 1, H, W), computed tile by tile.

    ``tile=None`` runs the whole image at once.  ``folded`` (from :func:`folded_layers`)
    selects the BatchNorm-folded path used for bf16/fp16.
    """
    _, _, h, w = x.shape
    if tile is None or (h <= tile and w <= tile):
        return _run_tile(dncnn, x, folded, dtype)
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
            res = _run_tile(dncnn, x[:, :, ey0:ey1, ex0:ex1], folded, dtype)
            out[:, :, y0:y1, x0:x1] = res[:, :, y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0]
            done += 1
            if step is not None:
                step(done / total)
    return out
