"""Analytic multiply-accumulate count of one TruFor forward pass as this package runs it.

Counts convolutions, linear layers and attention matrix products (2 FLOP per MAC);
elementwise work (norms, activations, resizing) is left out, so GFLOP/s figures are
conservative.  The decoders are counted as implemented here (fuse convolution folded into
the per-stage projections), not as the official code computes them.
"""

from __future__ import annotations

import math

DIMS = (64, 128, 320, 512)
DEPTHS = (3, 4, 6, 3)
HEADS = (1, 2, 5, 8)
SR = (8, 4, 2, 1)


def stage_sizes(h: int, w: int):
    hs, ws = math.ceil(h / 4), math.ceil(w / 4)
    out = [(hs, ws)]
    for _ in range(3):
        hs, ws = math.ceil(hs / 2), math.ceil(ws / 2)
        out.append((hs, ws))
    return out


def trufor_macs(h: int, w: int) -> dict[str, float]:
    px = h * w
    dncnn = px * (3 * 64 * 9 + 15 * 64 * 64 * 9 + 64 * 9)
    enc = 0.0
    fuse = 0.0
    sizes = stage_sizes(h, w)
    c_in = 3
    for i, ((hs, ws), c) in enumerate(zip(sizes, DIMS)):
        n = hs * ws
        k = 49 if i == 0 else 9
        nk = (hs // SR[i]) * (ws // SR[i])
        block = (2 * n * c * c                      # q, proj
                 + nk * 2 * c * c                   # kv
                 + (nk * c * c * SR[i] ** 2 if SR[i] > 1 else 0)  # spatial-reduction conv
                 + 2 * n * nk * c                   # q.k and attn.v
                 + 2 * n * c * 4 * c + n * 4 * c * 9)  # Mix-FFN
        branch = n * c * c_in * k + DEPTHS[i] * block
        enc += 2 * branch
        d = c // HEADS[i]
        frm = n * (2 * c * c + 2 * c)
        ffm = (2 * n * c * 2 * c + 2 * n * c * 2 * c + 2 * n * c * d + 2 * n * c * d + 2 * n * 2 * c * c
               + n * 2 * c * c * 2 + n * c * 9 + n * c * c)
        fuse += frm + ffm
        c_in = c
    n1 = sizes[0][0] * sizes[0][1]
    dec = sum(hs * ws * c * 512 for (hs, ws), c in zip(sizes, DIMS)) * 2 + n1 * 512 * 3
    return {"noiseprint": dncnn, "encoders": enc, "fusion": fuse, "decoders": dec,
            "total": dncnn + enc + fuse + dec}


def trufor_gflop(h: int, w: int) -> float:
    return 2 * trufor_macs(h, w)["total"] / 1e9
