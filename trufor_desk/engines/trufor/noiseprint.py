"""Noiseprint++: the 17-layer DnCNN that extracts a camera-trace fingerprint.

Layout (kit README section 4.2): conv3x3(3->64, bias) + ReLU, then 15 x
[conv3x3(64->64, no bias) + BatchNorm(64, eps 1e-5) + ReLU], then conv3x3(64->1, bias)
with a linear output.  No residual connection.  The ``nn.Sequential`` indices (0, 2, 3,
5, 6, ... 47) are kept because they are the checkpoint's key names.

Every layer is a 3x3 convolution with zero padding, so an output pixel depends only on
input pixels within 17 rows/columns.  The image is therefore processed in overlapping
tiles with a 17-pixel margin: tile interiors are exact and memory stays bounded (a
64-channel activation of a whole 24 MP photo would be 6 GB).

How it is computed: :class:`CentredDnCNN`
-----------------------------------------
The trained BatchNorms have huge running means (up to 3698 in ``dncnn.27``, 1258 in
``dncnn.33``) and running variances of 0.01-1.  They come from channels whose ReLU output
sits near a large constant (BatchNorm shifts ``beta`` up to 21.7): the next convolution
multiplies that constant into thousands, and its BatchNorm subtracts it again.  Computed as
written, float32 keeps only a few significant bits of what remains, so the result depends
on the summation order: the official arrangement is 1.6e-4 away from a float64 run on the
kit's images, oneDNN's channels-last kernel 5e-4, bfloat16 0.59 (useless).

The network is therefore run in an exactly equivalent arrangement where nothing large is
ever formed:

* every activation is stored centred, ``x' = relu(y) - m`` with ``m = max(beta_prev, 0)``
  per channel (the level a large-shift channel sits at); ``relu(y) - m = max(y - m, -m)``,
  so this costs nothing: ``-m`` goes into the previous layer's bias and the ReLU becomes a
  clamp at ``-m``;
* ``conv(x) = conv(x') + conv(m)``, and ``conv(m)`` of a constant image is a constant per
  output channel, except on the outermost ring of pixels where zero padding drops taps.
  Those nine cases (interior, 4 edges, 4 corners) are one 3x3 convolution of the constant
  computed once; the ring gets its correction after each convolution;
* the BatchNorm is folded into the convolution (weights scaled by ``gamma / sigma``, all
  constants combined in float64 when the weights are loaded).

Measured on the kit images with the real Noiseprint++ weights (max |npp - float64 run of
the plain network|): centred float32 2.5e-6 in either memory layout, against 1.6e-4 for the
plain NCHW order and 5e-4 for plain channels-last.  So the fast channels-last kernel is
also the most exact one here, and bfloat16 becomes usable (npp error about 2e-2 instead of
0.59).  ``tests/engines/trufor/test_noiseprint.py`` checks the equivalence.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
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


class _Layer:
    """One convolution of the centred network: ``clamp(conv(x) + bias + ring, min=floor)``."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, ring: torch.Tensor | None,
                 floor: torch.Tensor | None, dtype: torch.dtype, device: torch.device):
        self.weight = weight.to(device, dtype).contiguous(memory_format=torch.channels_last)
        self.bias = bias.to(device, dtype)
        # ring[c, i, j]: what zero padding removes from conv(m) on the border class (i, j)
        self.ring = None if ring is None else ring.to(device, dtype)
        self.floor = None if floor is None else floor.to(device, dtype).view(1, -1, 1, 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.weight, self.bias, padding=1)
        if self.ring is not None:
            _add_ring(y, self.ring)
        if self.floor is not None:
            y.clamp_(min=self.floor)
        return y


def _add_ring(y: torch.Tensor, ring: torch.Tensor) -> None:
    """Add the padding correction to the outermost rows/columns of ``y`` (1, C, H, W).

    Works on the (H, W, C) view, where a border row or column is a run of contiguous channel
    vectors.  Negligible next to the convolution: 0.1 ms against 62 ms for one 64->64 layer
    on a 546x546 tile (measured on an idle machine).
    """
    t = y[0].permute(1, 2, 0)
    r = ring.permute(1, 2, 0)  # (3, 3, C)
    t[0, 1:-1] += r[0, 1]
    t[-1, 1:-1] += r[2, 1]
    t[1:-1, 0] += r[1, 0]
    t[1:-1, -1] += r[1, 2]
    for row, i in ((0, 0), (-1, 2)):
        for col, j in ((0, 0), (-1, 2)):
            t[row, col] += r[i, j]


class CentredDnCNN:
    """The DnCNN of ``dncnn`` (an eval-mode :func:`build_dncnn`) in the centred, folded
    arrangement described in the module docstring, in ``dtype`` on ``device``.

    Built from the module's current weights; rebuild it after loading new ones.
    """

    def __init__(self, dncnn: nn.Sequential, dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu"):
        mods = list(dncnn)
        convs = [m for m in mods if isinstance(m, nn.Conv2d)]
        bns = [m for m in mods if isinstance(m, nn.BatchNorm2d)]
        assert len(convs) == N_MID_LAYERS + 2 and len(bns) == N_MID_LAYERS
        d = torch.float64
        # centring level of each mid convolution's input: the shift of the layer before it
        levels = [convs[0].bias.detach().to(d).clamp(min=0)]
        levels += [bn.bias.detach().to(d).clamp(min=0) for bn in bns[:-1]]
        self.dtype = dtype
        first = convs[0]
        self.layers = [_Layer(first.weight.detach().to(d), first.bias.detach().to(d) - levels[0], None,
                              -levels[0], dtype, device)]
        for i, (conv, bn) in enumerate(zip(convs[1:-1], bns)):
            scale = bn.weight.detach().to(d) / torch.sqrt(bn.running_var.detach().to(d) + bn.eps)
            w = conv.weight.detach().to(d) * scale.view(-1, 1, 1, 1)
            const = F.conv2d(levels[i].view(1, -1, 1, 1).expand(1, -1, 3, 3), w, padding=1)[0]
            interior = const[:, 1, 1]
            bias = interior - scale * bn.running_mean.detach().to(d) + bn.bias.detach().to(d)
            nxt = levels[i + 1] if i + 1 < N_MID_LAYERS else torch.zeros_like(interior)
            self.layers.append(_Layer(w, bias - nxt, const - interior.view(-1, 1, 1), -nxt, dtype, device))
        last = convs[-1]
        self.layers.append(_Layer(last.weight.detach().to(d), last.bias.detach().to(d), None, None, dtype, device))

    def __call__(self, tile: torch.Tensor) -> torch.Tensor:
        """(1, 3, h, w) pixels / 256 -> (1, 1, h, w) Noiseprint++ (tile borders are treated as
        the image border): float32, or float64 from a float64 network."""
        x = tile.to(self.dtype).contiguous(memory_format=torch.channels_last)
        for layer in self.layers:
            x = layer(x)
        return x.double() if self.dtype == torch.float64 else x.float()


def noiseprint_tiled(dncnn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int | None = DEFAULT_TILE,
                     step: Callable[[float], None] | None = None) -> torch.Tensor:
    """Noiseprint++ of ``x`` (1, 3, H, W) -> (1, 1, H, W) float32 (float64 for a float64
    ``x``), tile by tile.

    ``dncnn`` maps a tile to its output (a :class:`CentredDnCNN`, or the plain module);
    ``tile=None`` runs the whole image at once.
    """
    _, _, h, w = x.shape
    out_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    if tile is None or (h <= tile and w <= tile):
        return dncnn(x).to(out_dtype)
    out = torch.empty((1, 1, h, w), dtype=out_dtype, device=x.device)
    m = RECEPTIVE_RADIUS
    ys = list(range(0, h, tile))
    xs = list(range(0, w, tile))
    done, total = 0, len(ys) * len(xs)
    for y0 in ys:
        y1 = min(h, y0 + tile)
        for x0 in xs:
            x1 = min(w, x0 + tile)
            ey0, ey1, ex0, ex1 = max(0, y0 - m), min(h, y1 + m), max(0, x0 - m), min(w, x1 + m)
            res = dncnn(x[:, :, ey0:ey1, ex0:ex1])
            out[:, :, y0:y1, x0:x1] = res[:, :, y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0]
            done += 1
            if step is not None:
                step(done / total)
    return out
