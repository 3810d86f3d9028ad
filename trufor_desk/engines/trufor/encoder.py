"""One SegFormer MiT-B2 encoder branch, with banded (memory-bounded) forward passes.

Facts from the kit README section 4.3: channels 64/128/320/512, depths 3/4/6/3, heads
1/2/5/8 (head width 64), MLP ratio 4, spatial-reduction ratios 8/4/2/1.  Overlapping
patch embedding (7x7 stride 4, then 3x3 stride 2) + LayerNorm(1e-5); pre-norm blocks
with LayerNorm(1e-6); efficient self-attention whose keys/values come from a strided
convolution of the map + LayerNorm(1e-5); Mix-FFN = Linear -> depthwise 3x3 -> exact
GELU -> Linear; a LayerNorm(1e-6) ends each stage.

Module and attribute names follow the checkpoint's keys (``patch_embed1.proj``,
``block1.0.attn.kv``, ``mlp.dwconv.dwconv`` ...), so the state_dict loads 1:1.

All forward methods work on one image as an (H, W, C) map; see ``chunking``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .chunking import bands, depthwise3x3, hwc, map_bands_with_halo, nchw

EMBED_DIMS = (64, 128, 320, 512)
DEPTHS = (3, 4, 6, 3)
HEADS = (1, 2, 5, 8)
SR_RATIOS = (8, 4, 2, 1)
MLP_RATIO = 4
HEAD_DIM = 64
BLOCK_LN_EPS = 1e-6
PATCH_LN_EPS = 1e-5
SR_LN_EPS = 1e-5


class OverlapPatchEmbed(nn.Module):
    def __init__(self, in_ch: int, dim: int, kernel: int, stride: int):
        super().__init__()
        self.proj = nn.Conv2d(in_ch, dim, kernel, stride=stride, padding=kernel // 2)
        self.norm = nn.LayerNorm(dim, eps=PATCH_LN_EPS)

    def forward(self, x_nchw: torch.Tensor) -> torch.Tensor:
        """(1, C_in, H, W) -> (H', W', dim) tokens after LayerNorm."""
        y = hwc(self.proj(x_nchw))
        return self.norm(y)


class EfficientAttention(nn.Module):
    def __init__(self, dim: int, heads: int, sr: int):
        super().__init__()
        self.heads = heads
        self.sr_ratio = sr
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        if sr > 1:
            self.sr = nn.Conv2d(dim, dim, sr, stride=sr)
            self.norm = nn.LayerNorm(dim, eps=SR_LN_EPS)

    def keys_values(self, x: torch.Tensor, norm1: nn.LayerNorm, band_tokens: int | None):
        """K, V (heads, Nk, 64) from the pre-normed map, reduced band by band."""
        h, w, c = x.shape
        if self.sr_ratio > 1:
            s = self.sr_ratio
            hk, wk = h // s, w // s
            red = torch.empty((hk, wk, c), dtype=x.dtype, device=x.device)
            usable = hk * s
            for r0, r1 in bands(usable, w, band_tokens, align=s):
                red[r0 // s:r1 // s] = hwc(self.sr(nchw(norm1(x[r0:r1]))))
            src = self.norm(red).reshape(hk * wk, c)
        else:
            src = norm1(x).reshape(h * w, c)
        kv = self.kv(src)
        k = kv[:, :c].reshape(-1, self.heads, c // self.heads).transpose(0, 1)
        v = kv[:, c:].reshape(-1, self.heads, c // self.heads).transpose(0, 1)
        return k, v

    def attend(self, xn_band: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Attention output for a band of pre-normed tokens (r, W, C)."""
        r, w, c = xn_band.shape
        q = self.q(xn_band).reshape(r * w, self.heads, c // self.heads).transpose(0, 1)
        o = F.scaled_dot_product_attention(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0))
        o = o.squeeze(0).transpose(0, 1).reshape(r, w, c)
        return self.proj(o)


class DWConv(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)


class MixFFN(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = DWConv(hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, xn: torch.Tensor) -> torch.Tensor:
        h = self.fc1(xn)
        h = depthwise3x3(h, self.dwconv.dwconv.weight, self.dwconv.dwconv.bias)
        return self.fc2(F.gelu(h))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, sr: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=BLOCK_LN_EPS)
        self.attn = EfficientAttention(dim, heads, sr)
        self.norm2 = nn.LayerNorm(dim, eps=BLOCK_LN_EPS)
        self.mlp = MixFFN(dim, dim * MLP_RATIO)

    def run(self, x: torch.Tensor, band_tokens: int | None,
            step: Callable[[], None] | None = None) -> torch.Tensor:
        """x + Attn(LN1 x), then + MLP(LN2 x); returns a new (H, W, C) map.

        The attention update is in place: each band's queries read only its own rows,
        and keys/values were taken from the whole map beforehand.  The MLP's depthwise
        convolution reads neighbouring rows, so its result goes to a fresh buffer.
        """
        h, w, c = x.shape
        k, v = self.attn.keys_values(x, self.norm1, band_tokens)
        for r0, r1 in bands(h, w, band_tokens):
            x[r0:r1] += self.attn.attend(self.norm1(x[r0:r1]), k, v)
            if step is not None:
                step()
        del k, v
        def mlp_rows(e0: int, e1: int) -> torch.Tensor:
            t = x[e0:e1]
            return t + self.mlp(self.norm2(t))

        return map_bands_with_halo(mlp_rows, x, 1, band_tokens, c, step)


class EncoderBranch:
    """Accessors for one branch's modules inside the dual backbone (no parameters).

    The checkpoint stores both branches flat under ``backbone`` (``patch_embed1`` vs
    ``extra_patch_embed1``); this view lets the forward code treat them the same way.
    """

    def __init__(self, backbone: nn.Module, prefix: str):
        self.patch_embeds = [getattr(backbone, f"{prefix}patch_embed{i}") for i in range(1, 5)]
        self.blocks = [getattr(backbone, f"{prefix}block{i}") for i in range(1, 5)]
        self.norms = [getattr(backbone, f"{prefix}norm{i}") for i in range(1, 5)]

    def stage(self, i: int, inp_nchw: torch.Tensor, band_tokens: int | None,
              step: Callable[[], None] | None = None, taps: dict | None = None,
              tap_name: str = "") -> torch.Tensor:
        """Patch embedding, blocks and stage LayerNorm of stage ``i`` (0-based)."""
        x = self.patch_embeds[i](inp_nchw)
        if taps is not None and i == 0:
            taps[f"{tap_name}_patch_embed1"] = x.reshape(-1, x.shape[-1]).clone()
        for blk in self.blocks[i]:
            x = blk.run(x, band_tokens, step)
        norm = self.norms[i]
        for r0, r1 in bands(x.shape[0], x.shape[1], band_tokens):
            x[r0:r1] = norm(x[r0:r1])
        return x


def make_branch_modules(backbone: nn.Module, prefix: str) -> None:
    """Create one branch's modules on ``backbone`` in checkpoint key order."""
    in_ch = 3
    for i, dim in enumerate(EMBED_DIMS):
        kernel, stride = (7, 4) if i == 0 else (3, 2)
        setattr(backbone, f"{prefix}patch_embed{i + 1}", OverlapPatchEmbed(in_ch, dim, kernel, stride))
        in_ch = dim


def make_stage_modules(backbone: nn.Module, prefix: str, i: int) -> None:
    dim = EMBED_DIMS[i]
    setattr(backbone, f"{prefix}block{i + 1}",
            nn.ModuleList(Block(dim, HEADS[i], SR_RATIOS[i]) for _ in range(DEPTHS[i])))
    setattr(backbone, f"{prefix}norm{i + 1}", nn.LayerNorm(dim, eps=BLOCK_LN_EPS))
