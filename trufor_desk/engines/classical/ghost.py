"""JPEG ghosts (Farid, "Exposing digital forgeries from JPEG ghosts", IEEE TIFS 2009).

If a region was JPEG compressed at quality ``q0`` before being pasted into an image that
was then saved at a higher quality, re-saving the image at ``q0`` changes that region
less than the rest: its coefficients are already on the ``q0`` lattice.  The region
"ghosts" at ``q0``, and, having lost its finest detail, it also changes less at the
qualities near it.

Following the paper: the image is re-saved at each quality of a range (default 50..95,
step 5) with Pillow in memory; the squared difference, averaged over the colour
channels and over ``b x b`` windows (default 16), is computed per quality and
normalised per quality (divided by its median over the image, in log scale, so
qualities and images are comparable).  Flat and smooth windows change little at every
quality, which made the first version of this engine flag a third of every authentic
photograph (casia-dev: 36.9 % of authentic pixels above 0.5); a ghost changes little at
*one* quality.  So the map is each window's dip at a quality below its own mean over
the qualities (log ratio), at the quality with the strongest localized dip (99th
percentile of the dip over its median), qualities at or above the file's own estimated
quality excluded since there every pixel ghosts.  The scale is absolute: 0.5 where the
window changes ``1 / GHOST_HALF_RATIO`` times less than its own mean.  Farid's
condition applies: the region must be on the image's 8x8 grid, and compressed at a
lower quality than the last save.  casia-dev (engine 1.1.0): F1-best 0.27, 1.1 % of
authentic pixels above 0.5.

A visual layer: no score.  ``extras["ghost_quality"]`` holds, per pixel, the quality at
which its normalised difference is lowest (float32, a JPEG quality).  Only one
difference map is kept at a time, so memory stays a few image-sized arrays.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from trufor_desk.engines.base import AnalysisResult, CancelFn, Checkpoint, ProgressFn, add_details, resolve_params

from ._jpeg_common import base_provenance, estimate_quality, is_jpeg, jpeg_tables, recompress

DEFAULT_QUALITIES = tuple(range(50, 100, 5))
DEFAULT_WINDOW = 16
_EPS = 0.05          # added to median-normalised differences before the log
GHOST_HALF_RATIO = 0.6  # a window re-compressing with 1/0.6 = 1.7x less change than its own mean maps to 0.5


def _otsu_fisher(values: np.ndarray, min_frac: float = 0.02) -> tuple[float, float, float]:
    """Otsu split of ``values``: (Fisher ratio, mean of the low class, mean of the high
    class); (0, m, m) when no split leaves ``min_frac`` of the values on each side."""
    v = values[np.isfinite(values)]
    if v.size < 16:
        m = float(v.mean()) if v.size else 0.0
        return 0.0, m, m
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-9:
        return 0.0, lo, lo
    hist, edges = np.histogram(v, bins=256, range=(lo, hi))
    centres = 0.5 * (edges[:-1] + edges[1:])
    p = hist / hist.sum()
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * centres)
    mt = m0[-1]
    w1 = 1 - w0
    ok = (w0 >= min_frac) & (w1 >= min_frac)
    if not ok.any():
        m = float(v.mean())
        return 0.0, m, m
    mu0 = m0 / np.maximum(w0, 1e-12)
    mu1 = (mt - m0) / np.maximum(w1, 1e-12)
    between = w0 * w1 * (mu0 - mu1) ** 2
    between[~ok] = -1
    k = int(np.argmax(between))
    c0, c1 = v[v <= edges[k + 1]], v[v > edges[k + 1]]
    if c0.size == 0 or c1.size == 0:
        m = float(v.mean())
        return 0.0, m, m
    within = float(c0.var() * c0.size + c1.var() * c1.size) / v.size
    fisher = float((c1.mean() - c0.mean()) ** 2 / max(within, 1e-12))
    return fisher, float(c0.mean()), float(c1.mean())


class GhostEngine:
    """JPEG ghosts over a range of re-save qualities (visual layer, no score)."""

    name = "ghost"
    version = "1.1.0"
    requires_weights = False
    OPTIONS: tuple[str, ...] = ("qualities", "window")
    DEFAULTS: dict[str, Any] = {"qualities": list(DEFAULT_QUALITIES), "window": DEFAULT_WINDOW}

    def __init__(self, qualities: tuple[int, ...] | list[int] | None = None, window: int = DEFAULT_WINDOW) -> None:
        qs = tuple(int(q) for q in (qualities or DEFAULT_QUALITIES))
        if not qs or any(not 1 <= q <= 100 for q in qs):
            from trufor_desk.errors import UserError

            raise UserError(f"ghost qualities must be between 1 and 100, not {qualities}")
        if int(window) < 1:
            from trufor_desk.errors import UserError

            raise UserError(f"ghost window must be at least 1 pixel, not {window}")
        self.qualities = tuple(sorted(set(qs)))
        self.window = int(window)

    def params(self) -> dict[str, Any]:
        return {"qualities": list(self.qualities), "window": self.window}

    def analyze(self, evidence, params: dict[str, Any] | None = None,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> AnalysisResult:
        import cv2

        ck = Checkpoint(progress, cancel)
        all_params = resolve_params(self.name, self.params(), params)
        qualities = [int(q) for q in all_params["qualities"]]
        b = int(all_params["window"])
        t0 = time.perf_counter()
        rgb = evidence.rgb
        h, w = rgb.shape[:2]
        prov = base_provenance(evidence, method="Farid, Exposing digital forgeries from JPEG ghosts, IEEE TIFS 2009")
        notes: list[str] = ["JPEG ghosts are a visual aid: they show regions compressed at a lower "
                            "quality than the last save, on the same 8x8 grid; no score"]
        file_q = None
        if is_jpeg(evidence):
            tables = jpeg_tables(getattr(evidence, "raw", b""))
            if tables is not None:
                file_q = estimate_quality(tables["luma_q"])
                add_details(prov, jpeg_quality_estimate=file_q)
        else:
            notes.append("not a JPEG file: ghosts can still show a region that was JPEG compressed "
                         "before the image was saved losslessly")
        ck.step(0.0, "JPEG ghosts: re-saving")
        f = rgb.astype(np.float32)
        usable = [q for q in qualities if file_q is None or q < file_q - 2] or list(qualities)
        sub = max(1, int(np.sqrt(h * w / 65536.0)))  # Otsu on <= ~64k samples
        def normalised(q: int) -> np.ndarray:
            d = f - recompress(rgb, q).astype(np.float32)
            d = (d * d).mean(axis=2)
            d = cv2.boxFilter(d, cv2.CV_32F, (b, b), borderType=cv2.BORDER_REFLECT)
            med = float(np.median(d))
            return np.log(d / (med + 1e-6) + _EPS).astype(np.float32)  # per-quality normalised

        # pass 1: each window's mean normalised difference over the qualities.  Flat or
        # smooth windows change little at every quality; a ghost changes little at one.
        mean_lq = np.zeros((h, w), np.float32)
        for i, q in enumerate(usable):
            ck.step(0.05 + 0.45 * i / len(usable), f"JPEG ghosts: quality {q}")
            mean_lq += normalised(q)
        mean_lq /= len(usable)
        # pass 2: the dip of each window at each quality below its own mean
        best = None                                 # (fisher, quality, dip)
        low = np.full((h, w), np.inf, np.float32)   # running per-pixel minimum ...
        gq = np.full((h, w), float(usable[0]), np.float32)  # ... and its quality
        for i, q in enumerate(usable):
            ck.step(0.5 + 0.45 * i / len(usable), f"JPEG ghosts: quality {q}")
            lq = normalised(q)
            better = lq < low
            low[better] = lq[better]
            gq[better] = float(q)
            dip = mean_lq - lq
            # the quality with the strongest localized dip: the 99th percentile of the dip
            # over its median (Otsu's Fisher ratio kept as a record)
            sample = dip[::sub, ::sub].ravel()
            fisher = float(np.percentile(sample, 99) - np.median(sample))
            if best is None or fisher > best[0]:
                best = (fisher, q, dip)
        fisher, q_star, dip = best
        # absolute scale: 0.5 where the window changes GHOST_HALF_RATIO times less at the
        # chosen quality than on average over the qualities, 1 at twice that dip (log scale)
        loc = np.clip(0.5 * dip / -np.log(GHOST_HALF_RATIO), 0.0, 1.0).astype(np.float32)
        ck.step(1.0, "JPEG ghosts: done")
        add_details(prov, ghost_separating_quality=int(q_star), ghost_qualities_used=[int(q) for q in usable],
                    ghost_fisher_ratio=round(float(fisher), 3))
        return AnalysisResult(engine=self.name, engine_version=self.version, localization=loc,
                              extras={"ghost_quality": gq}, params=all_params, provenance=prov,
                              notes=notes, timings={"total_s": round(time.perf_counter() - t0, 3)})
