"""CMX-style cross-modal feature rectification (FRM) and fusion (FFM), one per stage.

Facts from the kit README sections 4.4-4.5.  ``a`` is the RGB map and ``b`` the
Noiseprint++ map of one stage, both (H, W, C).

FRM: channel weights from global average and max pooling of [a, b] through an MLP;
spatial weights from two 1x1 convolutions; each branch gets half of the other branch,
weighted, added to itself.

FFM: per branch Linear(C->2C)+ReLU split into y and u; cross attention whose context
is a d x d matrix per head, ``softmax(K^T V / sqrt(d))`` with the softmax over the first
axis; branch 1 multiplies its u by branch 2's context and vice versa; then per branch
Linear(2C->C) on [y, cross] + residual + LayerNorm; the two branches are concatenated
and mixed by a 1x1 conv / depthwise 3x3 / 1x1 conv path plus a 1x1 shortcut, each
ending in BatchNorm.  Because the context is a sum over all tokens it is accumulated
band by band, then the outputs are computed band by band.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .chunking import bands, depthwise3x3, map_bands_with_halo

FRM_LAMBDA = 0.5


def _pointwise(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution applied to an (H, W, C) map as a linear layer."""
    return F.linear(x, conv.weight.reshape(conv.weight.shape[0], -1), conv.bias)


class ChannelWeights(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(4 * dim, 4 * dim), nn.ReLU(inplace=True),
                                 nn.Linear(4 * dim, 2 * dim), nn.Sigmoid())


class SpatialWeights(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Conv2d(2 * dim, dim, 1), nn.ReLU(inplace=True),
                                 nn.Conv2d(dim, 2, 1), nn.Sigmoid())

    def band(self, ab: torch.Tensor) -> torch.Tensor:
        c1, _, c2, _ = self.mlp
        return torch.sigmoid(_pointwise(c2, F.relu(_pointwise(c1, ab))))


class FeatureRectify(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.channel_weights = ChannelWeights(dim)
        self.spatial_weights = SpatialWeights(dim)

    def run(self, a: torch.Tensor, b: torch.Tensor, band_tokens: int | None):
        h, w, c = a.shape
        pooled = torch.cat([a.mean(dim=(0, 1)), b.mean(dim=(0, 1)),
                            a.amax(dim=(0, 1)), b.amax(dim=(0, 1))])
        cw = self.channel_weights.mlp(pooled)
        cw0, cw1 = cw[:c], cw[c:]
        a_out = torch.empty_like(a)
        b_out = torch.empty_like(b)
        for r0, r1 in bands(h, w, band_tokens):
            ab, bb = a[r0:r1], b[r0:r1]
            sw = self.spatial_weights.band(torch.cat([ab, bb], dim=-1))
            sw0, sw1 = sw[..., 0:1], sw[..., 1:2]
            a_out[r0:r1] = ab + FRM_LAMBDA * cw1 * bb + FRM_LAMBDA * sw1 * bb
            b_out[r0:r1] = bb + FRM_LAMBDA * cw0 * ab + FRM_LAMBDA * sw0 * ab
        return a_out, b_out


class CrossAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.kv1 = nn.Linear(dim, 2 * dim, bias=False)
        self.kv2 = nn.Linear(dim, 2 * dim, bias=False)


class CrossPath(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.channel_proj1 = nn.Linear(dim, 2 * dim)
        self.channel_proj2 = nn.Linear(dim, 2 * dim)
        self.cross_attn = CrossAttention(dim, heads)
        self.end_proj1 = nn.Linear(2 * dim, dim)
        self.end_proj2 = nn.Linear(2 * dim, dim)
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)

    def _split(self, proj: nn.Linear, x: torch.Tensor):
        yu = F.relu(proj(x))
        c = x.shape[-1]
        return yu[..., :c], yu[..., c:]

    def _ktv(self, kv: nn.Linear, u: torch.Tensor) -> torch.Tensor:
        """Sum over tokens of K^T V per head: (heads, d, d)."""
        c = u.shape[-1]
        hds = self.cross_attn.heads
        t = kv(u.reshape(-1, c))
        k = t[:, :c].reshape(-1, hds, c // hds)
        v = t[:, c:].reshape(-1, hds, c // hds)
        return torch.einsum("nhd,nhe->hde", k, v)

    def contexts(self, a: torch.Tensor, b: torch.Tensor, band_tokens: int | None):
        """The two d x d context matrices per head, accumulated over bands."""
        h, w, c = a.shape
        hds = self.cross_attn.heads
        d = c // hds
        s1 = torch.zeros((hds, d, d), dtype=a.dtype, device=a.device)
        s2 = torch.zeros_like(s1)
        for r0, r1 in bands(h, w, band_tokens):
            s1 += self._ktv(self.cross_attn.kv1, self._split(self.channel_proj1, a[r0:r1])[1])
            s2 += self._ktv(self.cross_attn.kv2, self._split(self.channel_proj2, b[r0:r1])[1])
        scale = d ** -0.5
        return torch.softmax(s1 * scale, dim=-2), torch.softmax(s2 * scale, dim=-2)

    def merge_band(self, a: torch.Tensor, b: torch.Tensor, ctx1: torch.Tensor, ctx2: torch.Tensor) -> torch.Tensor:
        """[norm1(a + ...), norm2(b + ...)] for a band: (r, W, 2C)."""
        r, w, c = a.shape
        hds = self.cross_attn.heads
        y1, u1 = self._split(self.channel_proj1, a)
        y2, u2 = self._split(self.channel_proj2, b)

        def cross(u, ctx):
            o = torch.matmul(u.reshape(r * w, hds, c // hds).transpose(0, 1), ctx)
            return o.transpose(0, 1).reshape(r, w, c)

        z1 = self.norm1(a + self.end_proj1(torch.cat([y1, cross(u1, ctx2)], dim=-1)))
        z2 = self.norm2(b + self.end_proj2(torch.cat([y2, cross(u2, ctx1)], dim=-1)))
        return torch.cat([z1, z2], dim=-1)


class ChannelEmbed(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.residual = nn.Conv2d(2 * dim, dim, 1, bias=False)
        self.channel_embed = nn.Sequential(
            nn.Conv2d(2 * dim, dim, 1), nn.Conv2d(dim, dim, 3, padding=1, groups=dim),
            nn.ReLU(inplace=True), nn.Conv2d(dim, dim, 1), nn.BatchNorm2d(dim, eps=1e-5))
        self.norm = nn.BatchNorm2d(dim, eps=1e-5)

    def band(self, z: torch.Tensor) -> torch.Tensor:
        """Map a (r, W, 2C) band to (r, W, C); needs a 1-row halo (depthwise 3x3)."""
        p0, dw, _, p3, bn = self.channel_embed
        path = _pointwise(p0, z)
        path = F.relu(depthwise3x3(path, dw.weight, dw.bias))
        path = _batchnorm_last(bn, _pointwise(p3, path))
        return _batchnorm_last(self.norm, _pointwise(self.residual, z) + path)


def _batchnorm_last(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """Eval-mode BatchNorm on the last axis of an (H, W, C) map."""
    c = x.shape[-1]
    y = F.batch_norm(x.reshape(-1, c), bn.running_mean, bn.running_var, bn.weight, bn.bias,
                     training=False, eps=bn.eps)
    return y.reshape(x.shape)


class FeatureFusion(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.cross = CrossPath(dim, heads)
        self.channel_emb = ChannelEmbed(dim)

    def run(self, a: torch.Tensor, b: torch.Tensor, band_tokens: int | None,
            step: Callable[[], None] | None = None) -> torch.Tensor:
        ctx1, ctx2 = self.cross.contexts(a, b, band_tokens)

        def fused_rows(e0: int, e1: int) -> torch.Tensor:
            return self.channel_emb.band(self.cross.merge_band(a[e0:e1], b[e0:e1], ctx1, ctx2))

        return map_bands_with_halo(fused_rows, a, 1, band_tokens, a.shape[-1], step)
