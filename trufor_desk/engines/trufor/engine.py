"""TruFor behind the :class:`~trufor_desk.engines.base.Engine` contract.

Responsibilities: resolve and verify the checkpoint, pick the device, keep one loaded
model per (weights file, device) for the life of the process, run the network with
progress/cancel, and turn its logits into the published outputs (kit README 4.8):
``map`` = sigmoid(logit1 - logit0), ``conf`` = sigmoid(conf logit), ``score`` =
sigmoid(detection logit), ``np++`` = the Noiseprint++ map.
"""

from __future__ import annotations

import contextlib
import platform
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trufor_desk.engines.base import (
    AnalysisResult,
    CancelFn,
    Checkpoint,
    ProgressFn,
    resolve_params,
    standard_provenance,
)
from trufor_desk.errors import EvidenceError, UserError, WeightsError
from trufor_desk.hashing import sha256_file

from . import weights as weights_mod

ENGINE_NAME = "trufor"
# MAJOR.MINOR.PATCH (engines/base.py): bump when a change to this package can change the
# numbers it produces.  The application's version is recorded beside it, in the provenance.
ENGINE_VERSION = "1.0.0"
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISION_CHOICES = ("fp32", "bf16", "fp16")


def select_device(requested: str = "auto") -> str:
    """'auto' -> cuda, then mps, then cpu; an explicit unavailable device is an error."""
    import torch

    if requested not in DEVICES and not requested.startswith("cuda:"):
        raise UserError(f"unknown device {requested!r} (choose from {', '.join(DEVICES)})")
    cuda_ok = torch.cuda.is_available()
    mps_ok = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if requested == "auto":
        return "cuda" if cuda_ok else ("mps" if mps_ok else "cpu")
    if requested.startswith("cuda") and not cuda_ok:
        raise UserError("CUDA was requested but this torch build or machine has no usable CUDA GPU")
    if requested == "mps" and not mps_ok:
        raise UserError("MPS was requested but it is not available on this machine")
    return requested


def check_precision(precision: str, device: str) -> None:
    if precision not in PRECISION_CHOICES:
        raise UserError(f"unknown precision {precision!r} (choose from {', '.join(PRECISION_CHOICES)})")
    if precision == "fp16" and device == "cpu":
        raise UserError("fp16 is for GPUs; on the CPU use bf16 or fp32")


@contextlib.contextmanager
def _strict_fp32(on: bool):
    """cuDNN convolutions and CUDA matmuls default to TF32 on Ampere and later (10-bit
    mantissa): "fp32" must mean float32 arithmetic, as on the CPU and in the goldens.
    Switched off for this run only; the process's own settings are restored after it."""
    if not on:
        yield
        return
    import torch

    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@dataclass(frozen=True)
class LoadedModel:
    net: Any
    weights_path: Path
    weights_sha256: str
    device: str


_CACHE: dict[tuple[str, int, int, str], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def load_model(weights_path: Path, device: str) -> LoadedModel:
    """The network with this checkpoint on this device, loaded once per process.

    The key includes the file's size and mtime, so replacing the file reloads it.
    """
    import torch

    from .model import TruForNet

    p = Path(weights_path).resolve()
    try:
        st = p.stat()
    except OSError:
        raise WeightsError(f"{weights_path}: weights file not found") from None
    key = (str(p), st.st_size, st.st_mtime_ns, device)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            return hit
        with torch.device("meta"):
            net = TruForNet()
        state = weights_mod.load_checkpoint(p, net.expected_checkpoint_shapes())
        net.load_checkpoint_state(state, assign=True)
        net = net.to(device).eval()
        loaded = LoadedModel(net=net, weights_path=p, weights_sha256=sha256_file(p), device=device)
        _CACHE.clear()  # one model at a time: a second 275 MB copy helps nobody
        _CACHE[key] = loaded
        return loaded


class TruForEngine:
    """TruFor (Guillaro et al., CVPR 2023) with the official checkpoint layout."""

    name = ENGINE_NAME
    version = ENGINE_VERSION
    requires_weights = True
    # the constructor's options: which weights, on which device, and how the network is run
    OPTIONS: tuple[str, ...] = ("weights", "device", "precision", "band_tokens", "dncnn_tile")
    # what a default engine runs with (chunking.DEFAULT_BAND_TOKENS and noiseprint.DEFAULT_TILE,
    # written out so that naming them does not import torch; a test keeps them equal)
    DEFAULTS: dict[str, Any] = {"precision": "fp32", "band_tokens": 1 << 16, "dncnn_tile": 512}

    def __init__(self, weights: str | Path | None = None, device: str = "auto", precision: str = "fp32",
                 band_tokens: int | None = None, dncnn_tile: int | None = None):
        from .chunking import DEFAULT_BAND_TOKENS
        from .noiseprint import DEFAULT_TILE

        path, source = weights_mod.resolve_weights(weights)
        if path is None:
            raise WeightsError("no TruFor weights: install them with `trufor-desk weights install "
                               "TruFor_weights.zip` (or pass --weights / set TRUFOR_WEIGHTS)")
        self.weights_path = Path(path)
        self.weights_source = source
        self.device = select_device(device)
        check_precision(precision, self.device)
        self.precision = precision
        self.band_tokens = DEFAULT_BAND_TOKENS if band_tokens is None else band_tokens
        self.dncnn_tile = DEFAULT_TILE if dncnn_tile is None else dncnn_tile

    def params(self) -> dict[str, Any]:
        return {"precision": self.precision, "band_tokens": self.band_tokens, "dncnn_tile": self.dncnn_tile}

    def analyze(self, evidence, params: dict[str, Any] | None = None,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> AnalysisResult:

        from .model import MIN_SIDE, RunOptions, image_to_tensor

        ck = Checkpoint(progress, cancel)
        rgb = evidence.rgb
        h, w = rgb.shape[:2]
        if min(h, w) < MIN_SIDE:
            raise EvidenceError(f"{evidence.path}: image is {w}x{h} pixels; TruFor needs at least "
                                f"{MIN_SIDE} pixels on each side")
        t0 = time.perf_counter()
        ck.step(0.0, "Loading TruFor weights")
        model = load_model(self.weights_path, self.device)
        t_load = time.perf_counter() - t0
        opts = RunOptions(band_tokens=self.band_tokens, dncnn_tile=self.dncnn_tile, precision=self.precision)
        run_ck = ck.sub(0.02, 1.0)
        t1 = time.perf_counter()
        x = image_to_tensor(rgb, self.device)
        stage_s: dict[str, float] = {}
        with _strict_fp32(self.device.startswith("cuda") and self.precision == "fp32"):
            out = model.net.run(x, opts, step=run_ck.step, timings=stage_s)
        res = logits_to_outputs(out)
        t_run = time.perf_counter() - t1
        all_params = resolve_params(self.name, self.params(), params, fixed=tuple(self.params()))
        prov = standard_provenance(
            evidence, method="Guillaro, Cozzolino, Sinha, Marra, Verdoliva, TruFor, CVPR 2023",
            device=self.device, device_name=None if self.device == "cpu" else _device_name(self.device),
            precision=self.precision,
            weights_sha256=model.weights_sha256, weights_path=model.weights_path,
            weights_verified=model.weights_sha256 == weights_mod.OFFICIAL_CKPT_SHA256)
        return AnalysisResult(engine=self.name, engine_version=self.version, localization=res["map"],
                              reliability=res["conf"], score=float(res["score"]), extras={"np++": res["npp"]},
                              params=all_params, provenance=prov,
                              timings={"load_s": round(t_load, 3), "inference_s": round(t_run, 3), **stage_s},
                              score_calibration=TRUFOR_CALIBRATION)


# TruFor's detection head is trained with a cross-entropy loss to output the probability
# that the image is manipulated (Guillaro et al., CVPR 2023, section 3.3).
TRUFOR_CALIBRATION = {"method": "trained detection head (binary cross-entropy)",
                      "set": "TruFor training data (Guillaro et al., CVPR 2023)", "auc": None}


def _device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    if device == "mps":
        return "Apple MPS"
    return platform.processor() or platform.machine()


def logits_to_outputs(out: dict) -> dict[str, np.ndarray]:
    """Published outputs from raw network outputs (used by tests and tools)."""
    import torch

    lg = out["logits"].float()
    return {"map": torch.sigmoid(lg[1] - lg[0]).cpu().numpy(),
            "conf": torch.sigmoid(out["conf_logits"].float()).cpu().numpy(),
            "score": np.float32(torch.sigmoid(out["det_logit"].float()).item()),
            "npp": out["npp"].float().cpu().numpy()}
