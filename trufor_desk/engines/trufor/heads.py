"""Localisation and confidence decoders (SegFormer MLP heads) and the detection head.

Decoder (kit README 4.6): per stage a Linear(C_k -> 512); stages 2-4 resized to the
stage-1 grid (bilinear, align_corners=False); concatenated as [stage4, stage3, stage2,
stage1] (2048 channels); 1x1 conv 2048->512, BatchNorm, ReLU; 1x1 conv to the classes.
The localisation head's BatchNorm uses eps 1e-3, the confidence head's 1e-5.

Everything before the ReLU is affine (the BatchNorm in eval mode included), and bilinear
resizing is a per-channel linear map whose weights sum to one.  So the fuse convolution's
block for stage k, scaled by the BatchNorm, can be multiplied into that stage's
projection (M_k = S W_fuse,k A_k, computed once in float64) and applied at the stage's
own resolution; the 2048-channel map at stage-1 resolution, which dominates the official
decoder's time and memory, never exists.  The 512-channel BatchNorm output is built band
by band of stage-1 rows.

Detection (kit README 4.7): weighted statistics pooling of the confidence logit
(uniform weights) and of the localisation logit difference (weights sigmoid(conf)),
8 numbers -> Linear(8->128) -> ReLU -> Linear(128->1).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .chunking import BilinearPlan, bands

DECODER_DIM = 512


class StageProjection(nn.Module):
    def __init__(self, in_dim: int):
        super().__init__()
        self.proj = nn.Linear(in_dim, DECODER_DIM)


class MLPDecoder(nn.Module):
    def __init__(self, in_dims: tuple[int, ...], classes: int, bn_eps: float):
        super().__init__()
        # checkpoint key order: linear_c4, c3, c2, c1
        for k in (4, 3, 2, 1):
            setattr(self, f"linear_c{k}", StageProjection(in_dims[k - 1]))
        self.linear_fuse = nn.Sequential(nn.Conv2d(4 * DECODER_DIM, DECODER_DIM, 1),
                                         nn.BatchNorm2d(DECODER_DIM, eps=bn_eps), nn.ReLU(inplace=True))
        self.linear_pred = nn.Conv2d(DECODER_DIM, classes, 1)
        self._composed = None

    def invalidate(self) -> None:
        """Forget the composed weights (call after loading a new state_dict)."""
        self._composed = None

    def composed(self):
        """Per stage M_k and the total bias, with the fuse convolution multiplied in and the
        (eval-mode) BatchNorm's scale and shift folded in (float64 math), in the dtype of the
        weights."""
        fuse, bn = self.linear_fuse[0], self.linear_fuse[1]
        dtype = fuse.weight.dtype
        if self._composed is None or self._composed[0] != dtype:
            scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.detach().double() + bn.eps)
            wf = fuse.weight.detach().double().reshape(DECODER_DIM, 4 * DECODER_DIM) * scale[:, None]
            bias = (fuse.bias.detach().double() - bn.running_mean.detach().double()) * scale
            bias += bn.bias.detach().double()
            mats = []
            for k in (1, 2, 3, 4):
                lin = getattr(self, f"linear_c{k}").proj
                block = wf[:, (4 - k) * DECODER_DIM:(5 - k) * DECODER_DIM]  # order [c4, c3, c2, c1]
                mats.append((block @ lin.weight.detach().double()).to(dtype))
                bias += block @ lin.bias.detach().double()
            self._composed = (dtype, mats, bias.to(dtype))
        return self._composed[1:]

    def post(self, pre: torch.Tensor) -> torch.Tensor:
        """ReLU -> classifier on a (r, W, 512) band of BatchNorm outputs (in place)."""
        y = F.relu_(pre)
        pred = self.linear_pred
        return F.linear(y, pred.weight.reshape(pred.weight.shape[0], -1), pred.bias)


def decode_lowres(heads: list[MLPDecoder], feats: list[torch.Tensor], band_tokens: int | None,
                  step: Callable[[], None] | None = None) -> list[torch.Tensor]:
    """Run several decoders on the fused stage maps; logits at stage-1 resolution.

    ``feats`` are the four (H_k, W_k, C_k) fused maps.  Returns one (H1, W1, classes)
    map per head.
    """
    h1, w1 = feats[0].shape[:2]
    dev, dt = feats[0].device, feats[0].dtype
    plans = [BilinearPlan(f.shape[0], f.shape[1], h1, w1, dev) for f in feats]
    composed = [hd.composed() for hd in heads]
    outs = [torch.empty((h1, w1, hd.linear_pred.out_channels), dtype=dt, device=dev) for hd in heads]
    # 512 channels per token here: keep bands a quarter of the encoder's size
    band = None if band_tokens is None else max(1, band_tokens // 4)
    for o0, o1 in bands(h1, w1, band):
        srcs = []
        for f, plan in zip(feats, plans):
            s0, s1 = plan.source_rows(o0, o1)
            srcs.append((f[s0:s1], s0))
        for hd, (mats, bias), out in zip(heads, composed, outs):
            pre = None
            for (src, s0), plan, m in zip(srcs, plans, mats):
                g = plan.resize_band(F.linear(src, m.to(dt)), s0, o0, o1)
                pre = g if pre is None else pre.add_(g)
            pre += bias.to(dt)
            out[o0:o1] = hd.post(pre)
        if step is not None:
            step()
    return outs


def weighted_pool(x: torch.Tensor, log_w: torch.Tensor | None) -> torch.Tensor:
    """Soft-min, soft-max, mean and mean square of ``x`` under weights softmax(log_w).

    ``log_w=None`` means uniform weights (log weight -log N everywhere).
    """
    x = x.reshape(-1)
    if log_w is None:
        lw = torch.full_like(x, -math.log(x.numel()))
    else:
        lw = torch.log_softmax(log_w.reshape(-1), dim=0)
    soft_min = -torch.logsumexp(lw - x, dim=0)
    soft_max = torch.logsumexp(lw + x, dim=0)
    wts = torch.exp(lw)
    mean = torch.sum(wts * x)
    msq = torch.sum(wts * x * x)
    return torch.stack([soft_min, soft_max, mean, msq])


def build_detection() -> nn.Sequential:
    return nn.Sequential(nn.Linear(8, 128), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(128, 1))


def detection_features(loc_logits: torch.Tensor, conf_logit: torch.Tensor) -> torch.Tensor:
    """The 8 pooled features from full-resolution logits (2, H, W) and (H, W)."""
    f1 = weighted_pool(conf_logit, None)
    f2 = weighted_pool(loc_logits[1] - loc_logits[0], F.logsigmoid(conf_logit))
    return torch.cat([f1, f2])
