"""Error level analysis (ELA): how much each pixel changes when the image is saved again.

The image is re-encoded as JPEG at one quality (default 90) with Pillow, in memory,
and decoded; the per-pixel error is the absolute difference, maximum over the three
channels.  Regions with a different compression history (pasted from a less or more
compressed source, or never compressed) settle differently and stand out.  The
The map is the error level *relative to the image's own*: the difference is averaged
over 16x16 windows (a JPEG block is 8x8) and divided by the median of that average;
``(ratio - 1) / 3`` clipped to [0, 1] makes a region 2.5x as "hot" as the typical one
cross 0.5.  Consistently compressed images therefore stay near 0 instead of always
filling the range.  The per-pixel error (divided by its 99.5th percentile), which shows
edges and texture in full detail, is kept as the extra layer ``ela_pixels``.

ELA is a visual aid: edges and texture raise the error as much as a different
compression history does, so no score is given.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from trufor_desk.engines.base import AnalysisResult, CancelFn, Checkpoint, ProgressFn, resolve_params

from ._jpeg_common import base_provenance, recompress, robust_unit

DEFAULT_QUALITY = 90
PERCENTILE = 99.5
WINDOW = 16
RATIO_SPAN = 3.0


def relative_error_level(diff: np.ndarray, window: int = WINDOW, span: float = RATIO_SPAN) -> np.ndarray:
    """Windowed error level divided by its median, mapped so ratio 1 -> 0, 1 + span -> 1."""
    import cv2

    level = cv2.blur(diff, (window, window), borderType=cv2.BORDER_REFLECT)
    median = float(np.median(level)) + 0.5  # + half a grey level: flat images stay quiet
    return np.clip((level / median - 1.0) / span, 0.0, 1.0).astype(np.float32)


class ElaEngine:
    """Error level analysis at one JPEG quality (visual layer, no score)."""

    name = "ela"
    version = "1.0.0"
    requires_weights = False
    OPTIONS: tuple[str, ...] = ("quality",)
    DEFAULTS: dict[str, Any] = {"quality": DEFAULT_QUALITY, "window": WINDOW, "ratio_span": RATIO_SPAN,
                                "pixel_layer_percentile": PERCENTILE}

    def __init__(self, quality: int = DEFAULT_QUALITY) -> None:
        q = int(quality)
        if not 1 <= q <= 100:
            from trufor_desk.errors import UserError

            raise UserError(f"ELA quality must be between 1 and 100, not {quality}")
        self.quality = q

    def params(self) -> dict[str, Any]:
        return {**self.DEFAULTS, "quality": self.quality}

    def analyze(self, evidence, params: dict[str, Any] | None = None,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> AnalysisResult:
        ck = Checkpoint(progress, cancel)
        all_params = resolve_params(self.name, self.params(), params,
                                    fixed=("window", "ratio_span", "pixel_layer_percentile"))
        quality = int(all_params["quality"])
        t0 = time.perf_counter()
        ck.step(0.0, f"ELA: re-encoding at quality {quality}")
        rgb = evidence.rgb
        again = recompress(rgb, quality)
        ck.step(0.6, "ELA: differences")
        diff = np.abs(rgb.astype(np.int16) - again.astype(np.int16)).max(axis=2).astype(np.float32)
        loc = relative_error_level(diff)
        pixels = robust_unit(diff, PERCENTILE)
        ck.step(1.0, "ELA: done")
        prov = base_provenance(evidence, method="Krawetz, A Picture's Worth, Black Hat 2007 (error level analysis)")
        notes = ["error level analysis is a visual aid: edges and texture also show high error; no score"]
        return AnalysisResult(engine=self.name, engine_version=self.version, localization=loc,
                              extras={"ela_pixels": pixels}, params=all_params, provenance=prov, notes=notes,
                              timings={"total_s": round(time.perf_counter() - t0, 3)})
