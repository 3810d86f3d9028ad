"""Every analysis engine by its CLI name, imported only when used.

The weight-free default is ``fusion``: aligned double quantisation where the image has a
JPEG history, Splicebuster's noise statistics everywhere, copy-move by the maximum, with
a score calibrated on real photographs (see ``engines/classical/fusion.py`` and
``benchmarks/bench_quality.py`` for what each part adds).  ``trufor`` becomes the
default as soon as TruFor weights can be found.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from trufor_desk.errors import UserError


@dataclass(frozen=True)
class EngineInfo:
    name: str
    module: str
    cls: str
    title: str
    requires_weights: bool = False


ENGINES: dict[str, EngineInfo] = {e.name: e for e in [
    EngineInfo("trufor", "trufor_desk.engines.trufor.engine", "TruForEngine",
               "TruFor (Guillaro et al., CVPR 2023)", requires_weights=True),
    EngineInfo("fusion", "trufor_desk.engines.classical.fusion", "FusionEngine",
               "Fusion: double quantisation + Splicebuster + copy-move (weight-free default)"),
    EngineInfo("adq", "trufor_desk.engines.classical.adq", "AdqEngine",
               "Aligned double quantisation, all DCT frequencies (Bianchi & Piva, 2012)"),
    EngineInfo("splicebuster", "trufor_desk.engines.classical.splicebuster", "SplicebusterEngine",
               "Splicebuster (Cozzolino et al., WIFS 2015)"),
    EngineInfo("noise", "trufor_desk.engines.classical.noise", "NoiseLevelEngine",
               "Local noise level inconsistency (Pan et al., 2012)"),
    EngineInfo("jpeg", "trufor_desk.engines.classical.jpeg", "JpegEngine",
               "JPEG grid and double quantisation (Nikoukhah et al. 2021; Bianchi & Piva 2012)"),
    EngineInfo("ela", "trufor_desk.engines.classical.ela", "ElaEngine", "Error level analysis"),
    EngineInfo("ghost", "trufor_desk.engines.classical.ghost", "GhostEngine", "JPEG ghosts (Farid, 2009)"),
    EngineInfo("copymove", "trufor_desk.engines.classical.copymove", "CopyMoveEngine",
               "Copy-move: SIFT, g2NN, RANSAC affine"),
]}
DEFAULT_WEIGHT_FREE = "fusion"


def engine_names() -> list[str]:
    return list(ENGINES)


def is_available(name: str) -> bool:
    """True when the engine's module exists in this build."""
    info = ENGINES.get(name)
    return info is not None and importlib.util.find_spec(info.module) is not None


def default_engine(weights: str | None = None) -> str:
    """``trufor`` when weights resolve, otherwise the weight-free default."""
    from trufor_desk.engines.trufor.weights import resolve_weights

    try:
        path, _ = resolve_weights(weights)
    except UserError:
        if weights:
            raise
        path = None
    if path is not None or not is_available(DEFAULT_WEIGHT_FREE):
        return "trufor"  # without weights this gives the "install weights" message
    return DEFAULT_WEIGHT_FREE


def create_engine(name: str, **options: Any):
    """Instantiate an engine; TruFor takes weights/device/precision/band_tokens options,
    weight-free engines ignore options they do not have."""
    info = ENGINES.get(name)
    if info is None:
        raise UserError(f"unknown engine {name!r} (choose from {', '.join(ENGINES)})")
    if not is_available(name):
        raise UserError(f"engine {name!r} is not available in this build")
    cls = getattr(importlib.import_module(info.module), info.cls)
    if info.requires_weights:
        return cls(**options)
    accepted = getattr(cls, "OPTIONS", ())
    return cls(**{k: v for k, v in options.items() if k in accepted})
