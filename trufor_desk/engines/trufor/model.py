"""The whole TruFor network: Noiseprint++ -> dual encoder with rectification and fusion
-> localisation and confidence decoders -> detection score.

Module names equal the official checkpoint's key names (``backbone.*``,
``decode_head.*``, ``decode_head_conf.*``, ``detection.*``, ``dncnn.*``), so
:data:`KEY_MAP` is the identity and ``load_state_dict(strict=True)`` checks every key and
shape.  ``tests/engines/trufor/test_model_keys.py`` proves that against the kit manifest.

Input convention (kit README 4.1): uint8 RGB pixels divided by 256; the RGB branch gets
ImageNet-normalised values, Noiseprint++ the un-normalised ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .chunking import DEFAULT_BAND_TOKENS, nchw
from .encoder import EMBED_DIMS, HEADS, EncoderBranch, make_branch_modules, make_stage_modules
from .fusion import FeatureFusion, FeatureRectify
from .heads import MLPDecoder, build_detection, decode_lowres, detection_features
from .noiseprint import DEFAULT_TILE, CentredDnCNN, build_dncnn, noiseprint_tiled

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PIXEL_DIVISOR = 256.0
MIN_SIDE = 29  # below this the stage-1 spatial-reduction conv (kernel 8) has no output

# Our module path -> official checkpoint key.  Identity by construction: the module
# tree is named after the checkpoint.  Kept explicit so a future rename has one place.
KEY_MAP: dict[str, str] = {}


def to_checkpoint_key(name: str) -> str:
    return KEY_MAP.get(name, name)


class DualBackbone(nn.Module):
    """Two MiT-B2 branches (RGB, Noiseprint++) with per-stage FRM and FFM."""

    def __init__(self):
        super().__init__()
        make_branch_modules(self, "")
        make_branch_modules(self, "extra_")
        for i in range(4):
            make_stage_modules(self, "", i)
            make_stage_modules(self, "extra_", i)
        self.FRMs = nn.ModuleList(FeatureRectify(d) for d in EMBED_DIMS)
        self.FFMs = nn.ModuleList(FeatureFusion(d, h) for d, h in zip(EMBED_DIMS, HEADS))


@dataclass
class RunOptions:
    """How to run (never what to compute): all options give the same numbers in fp32
    up to float summation order."""

    band_tokens: int | None = DEFAULT_BAND_TOKENS   # None: whole maps at once
    dncnn_tile: int | None = DEFAULT_TILE           # None: whole image at once
    precision: str = "fp32"                         # fp32 | bf16 | fp16
    keep_intermediates: bool = False


# precision -> (Noiseprint++ dtype, autocast dtype of the transformer and decoders or None).
# bf16 speeds up only Noiseprint++: its centred arrangement (see ``noiseprint``) keeps the
# map within 0.014 and the score within 0.007 of fp32 on the kit's real-NP++ goldens,
# while bf16 in the transformer moved the pristine1 score by 0.03 (FFN alone: 0.028).
# fp16 (GPUs only) keeps the earlier arrangement: Noiseprint++ float32, the rest autocast.
# fp64 is for checking the arithmetic, not offered to users: a float64 network (``.double()``)
# on a float64 input gives the exact reference every float32 arrangement is measured against.
PRECISIONS = {"fp32": (torch.float32, None), "bf16": (torch.bfloat16, None),
              "fp16": (torch.float32, torch.float16), "fp64": (torch.float64, None)}

# fraction of the total work per stage, for progress reporting (measured at 1 MP)
_STAGE_SHARE = {"noiseprint": 0.40, "encoder": 0.50, "decoder": 0.08, "detection": 0.02}


class TruForNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = DualBackbone()
        self.decode_head = MLPDecoder(EMBED_DIMS, 2, bn_eps=1e-3)
        self.decode_head_conf = MLPDecoder(EMBED_DIMS, 1, bn_eps=1e-5)
        self.detection = build_detection()
        self.dncnn = build_dncnn()
        self._centred: dict[tuple, CentredDnCNN] = {}

    def expected_checkpoint_shapes(self) -> dict[str, tuple[int, ...]]:
        """Official checkpoint key -> shape, for validating a file before loading it."""
        return {to_checkpoint_key(k): tuple(v.shape) for k, v in self.state_dict().items()}

    def load_checkpoint_state(self, state: dict[str, torch.Tensor], assign: bool = False) -> None:
        """Strict load of an official-layout state_dict (keys through KEY_MAP).

        ``assign=True`` adopts the given tensors (e.g. memory-mapped from the file)
        instead of copying them into freshly allocated parameters.
        """
        own = {to_checkpoint_key(k): k for k in self.state_dict().keys()}
        remapped = {own.get(k, k): v for k, v in state.items()}
        self.load_state_dict(remapped, strict=True, assign=assign)
        self.reset_derived()

    def reset_derived(self) -> None:
        """Drop weights derived from the parameters (after any load)."""
        self.decode_head.invalidate()
        self.decode_head_conf.invalidate()
        self._centred.clear()

    def centred_dncnn(self, dtype: torch.dtype, device: torch.device) -> CentredDnCNN:
        """Noiseprint++ in its exact centred arrangement (see ``noiseprint``), built once per
        dtype and device from the loaded weights."""
        key = (dtype, str(device))
        if key not in self._centred:
            self._centred[key] = CentredDnCNN(self.dncnn, dtype, device)
        return self._centred[key]

    @torch.no_grad()
    def run(self, x: torch.Tensor, opts: RunOptions | None = None,
            step: Callable[[float, str], None] | None = None,
            timings: dict[str, float] | None = None) -> dict[str, torch.Tensor]:
        """Analyse one image.

        ``x``: (1, 3, H, W) float32, pixels / 256.  ``step(fraction, message)`` is called
        between units of work (it may raise to cancel).  Returns full-resolution
        ``logits`` (2, H, W), ``conf_logits`` (H, W), ``det_logit`` (), ``npp`` (H, W),
        and with ``keep_intermediates`` the ``int_*`` taps named as in the kit goldens.
        ``timings``, when given, receives the seconds of each stage (``noiseprint_s``,
        ``encoder_s`` with the fusion modules, ``decoders_s``, ``upsampling_detection_s``).
        """
        opts = opts or RunOptions()
        if opts.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {opts.precision!r}")
        np_dtype, low = PRECISIONS[opts.precision]
        report = step or (lambda f, m: None)
        clock = _StageClock(timings, x.device)
        _, _, h, w = x.shape
        if min(h, w) < MIN_SIDE:
            raise ValueError(f"image is {w}x{h} pixels; TruFor needs at least {MIN_SIDE} on each side")
        taps: dict | None = {} if opts.keep_intermediates else None
        dev_type = x.device.type
        autocast = (torch.autocast(dev_type, dtype=low) if low is not None
                    else torch.autocast(dev_type, enabled=False))

        # Noiseprint++ (on the un-normalised input)
        share = _STAGE_SHARE["noiseprint"]
        report(0.0, "Noiseprint++")
        dncnn = self.centred_dncnn(np_dtype, x.device)
        npp = noiseprint_tiled(dncnn, x, opts.dncnn_tile, step=lambda f: report(share * f, "Noiseprint++"))
        clock.lap("noiseprint_s")
        mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        rgb_in = (x - mean) / std
        np_in = npp.expand(-1, 3, -1, -1).contiguous(memory_format=torch.channels_last)

        with autocast:
            fused = self._encode(rgb_in, np_in, opts, taps, report)
            del rgb_in, np_in
            clock.lap("encoder_s")
            report(0.90, "Decoders")
            loc_low, conf_low = decode_lowres([self.decode_head, self.decode_head_conf], fused,
                                              opts.band_tokens)
            clock.lap("decoders_s")
        out_dtype = torch.float64 if opts.precision == "fp64" else torch.float32
        loc_low, conf_low = loc_low.to(out_dtype), conf_low.to(out_dtype)
        if taps is not None:
            taps["int_loc_logits_lowres"] = loc_low.permute(2, 0, 1)
            taps["int_conf_logits_lowres"] = conf_low.permute(2, 0, 1)
        del fused
        report(0.97, "Upsampling")
        logits = F.interpolate(nchw(loc_low).contiguous(), size=(h, w), mode="bilinear", align_corners=False)[0]
        conf_logits = F.interpolate(nchw(conf_low).contiguous(), size=(h, w), mode="bilinear",
                                    align_corners=False)[0, 0]
        report(0.98, "Detection score")
        feats = detection_features(logits, conf_logits)
        det_logit = self.detection(feats.unsqueeze(0)).reshape(())
        out = {"logits": logits, "conf_logits": conf_logits, "det_logit": det_logit, "npp": npp[0, 0]}
        if taps is not None:
            taps["int_det_features"] = feats
            out.update(taps)
        clock.lap("upsampling_detection_s")
        report(1.0, "Done")
        return out

    def _encode(self, rgb_in, np_in, opts: RunOptions, taps, report) -> list[torch.Tensor]:
        bb = self.backbone
        rgb, ext = EncoderBranch(bb, ""), EncoderBranch(bb, "extra_")
        a_in, b_in = rgb_in.contiguous(memory_format=torch.channels_last), np_in
        fused = []
        base, span = _STAGE_SHARE["noiseprint"], _STAGE_SHARE["encoder"]
        weights = np.array([0.4, 0.25, 0.2, 0.15])  # rough share of encoder time per stage
        starts = base + span * np.concatenate([[0.0], np.cumsum(weights)[:-1]])
        for i in range(4):
            msg = f"Encoder stage {i + 1}/4"
            tick = lambda at=float(starts[i]), msg=msg: report(at, msg)  # noqa: E731 - cheap per-band hook
            tick()
            a = rgb.stage(i, a_in, opts.band_tokens, tick, taps, "int_rgb")
            b = ext.stage(i, b_in, opts.band_tokens, tick, taps, "int_x")
            del a_in, b_in
            if taps is not None:
                taps[f"int_stage{i + 1}_rgb_pre"] = a.permute(2, 0, 1).clone()
                taps[f"int_stage{i + 1}_x_pre"] = b.permute(2, 0, 1).clone()
            a, b = bb.FRMs[i].run(a, b, opts.band_tokens)
            f = bb.FFMs[i].run(a, b, opts.band_tokens, tick)
            if taps is not None:
                taps[f"int_stage{i + 1}_rgb_rect"] = a.permute(2, 0, 1)
                taps[f"int_stage{i + 1}_x_rect"] = b.permute(2, 0, 1)
                taps[f"int_stage{i + 1}_fused"] = f.permute(2, 0, 1)
            fused.append(f)
            a_in, b_in = nchw(a), nchw(b)  # noqa: F841 - the next stage's input
        return fused


class _StageClock:
    """Wall seconds between laps, written into ``sink`` (nothing when ``sink`` is None).
    On a GPU it synchronises first, so each lap holds its own stage's work."""

    def __init__(self, sink: dict[str, float] | None, device: torch.device):
        self.sink, self.device = sink, device
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        if self.sink is None:
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        self.sink[name] = round(now - self.t, 3)
        self.t = now


def image_to_tensor(rgb_u8: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (H, W, 3) -> (1, 3, H, W) float32 divided by 256 (official convention)."""
    if rgb_u8.dtype != np.uint8 or rgb_u8.ndim != 3 or rgb_u8.shape[2] != 3:
        raise ValueError("expected an (H, W, 3) uint8 array")
    t = torch.from_numpy(np.ascontiguousarray(rgb_u8.transpose(2, 0, 1))).to(device)
    return (t.float() / PIXEL_DIVISOR).unsqueeze(0)
