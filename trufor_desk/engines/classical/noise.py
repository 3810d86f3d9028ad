"""Local noise level and its inconsistency (Pan, Zhang & Lyu, ICCP 2012).

Written from X. Pan, X. Zhang, S. Lyu, "Exposing image splicing with inconsistent local
noise variances", ICCP 2012.  Natural images have nearly the same kurtosis in every
band-pass channel ("kurtosis concentration"); white Gaussian noise of variance s^2 added to
a channel of variance v_k lowers its excess kurtosis to ``k_k = K (1 - s^2 / v_k)^2``.
With ``sqrt(k_k) = sqrt(K) - sqrt(K) s^2 / v_k`` linear in ``1 / v_k``, the noise variance
and K follow from a least-squares line through the points ``(1/v_k, sqrt(k_k))`` of the
band-pass channels.  Done locally, it gives a noise standard-deviation map.

Implementation:

* band-pass channels: the 15 AC basis functions of the orthonormal ``n x n`` DCT
  (``n = 4`` by default), applied as filters to the grey-level image;
* local moments ``E[c^2]`` and ``E[c^4]`` of each channel over ``window x window``
  windows, from block sums on a cell grid (cell = stride) and an integral image;
* the closed-form regression per window; where the channels carry no kurtosis (a
  noise-dominated window, the regression is degenerate) the noise variance is the
  smallest channel variance; the estimate is clipped to ``[0, min_k v_k]``;
* inconsistency: robust z-score of ``log(sigma)`` against the image's median, with the
  scale ``max(1.4826 MAD, min_log_scale)``; the map is a logistic squash of ``|z|``
  (a splice may be noisier or cleaner than its host), 0.5 at ``z_centre``.

Reliability is low where the noise is destroyed (clipped or near-black pixels) and in
windows whose channels are far from Gaussian-plus-signal (a strongly textured window
where the regression disagrees with the smallest channel variance).  The score is
``1 - exp(-A / 0.1)``, A the fraction of the reliable image whose map exceeds 0.5.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from trufor_desk.engines import base
from trufor_desk.engines.classical import _common as C


def dct_basis(n: int) -> list[np.ndarray]:
    """The n*n - 1 AC basis functions of the orthonormal 2-D DCT-II (float32 kernels)."""
    k = np.arange(n)
    m = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return [np.outer(m[u], m[v]).astype(np.float32) for u in range(n) for v in range(n) if u or v]


class NoiseLevelEngine:
    """Local noise standard deviation and its inconsistency across the image."""

    name = "noise"
    version = "1.0.0"
    requires_weights = False
    OPTIONS = ("window", "stride", "dct_size")

    DEFAULTS: dict[str, Any] = {
        "dct_size": 4,        # n x n DCT: n*n - 1 band-pass channels
        "window": "auto",     # side of the local window in pixels; auto = 32 or 64 by image size
        "stride": "auto",     # map step in pixels; auto = window / 4
        "z_centre": 4.0,      # |robust z| of log(sigma) where the map crosses 0.5
        "z_width": 0.6,
        "min_log_scale": 0.08,  # floor of the robust scale of log(sigma) (about 8 %)
        "sigma_floor": 0.25,  # grey levels added to sigma before the log (flat, clean areas)
        "min_fraction": 0.5,  # sigma >= this x the smallest channel std (coloured noise breaks the model)
    }

    def __init__(self, window: int | str | None = None, stride: int | str | None = None,
                 dct_size: int | None = None):
        self.options = {k: v for k, v in dict(window=window, stride=stride, dct_size=dct_size).items()
                        if v is not None}

    def resolve_params(self, h: int, w: int, params: dict[str, Any] | None) -> dict[str, Any]:
        p = base.resolve_params(self.name, {**self.DEFAULTS, **self.options}, params)
        if p["window"] in ("auto", None):
            p["window"] = 32 if min(h, w) < 768 else 64
        p["window"] = int(max(4, min(int(p["window"]), max(h, w))))
        if p["stride"] in ("auto", None):
            p["stride"] = max(2, p["window"] // 4)
        p["stride"] = int(max(1, min(int(p["stride"]), p["window"])))
        p["dct_size"] = int(p["dct_size"])
        if not 2 <= p["dct_size"] <= 16:
            raise ValueError("dct_size must be between 2 and 16")
        return p

    def local_sigma(self, g: np.ndarray, p: dict[str, Any], ck: base.Checkpoint):
        """(sigma, min channel std, kurtosis-regression agreement) on the cell grid."""
        import cv2

        h, w = g.shape
        cell = p["stride"]
        hc, wc = C.cell_grid(h, w, cell)
        k = max(1, int(round(p["window"] / cell)))
        idx = C.window_index(hc, wc, k)
        npix = C.window_sums(C.block_sum(np.ones((h, w), np.float32), cell), idx)
        bands = dct_basis(p["dct_size"])
        nb = len(bands)
        sa, sb, sc, sd = (np.zeros((hc, wc)) for _ in range(4))
        vmin = np.full((hc, wc), np.inf)
        for i, ker in enumerate(bands):
            c = cv2.filter2D(g, cv2.CV_32F, ker, borderType=cv2.BORDER_REFLECT)
            c2 = c * c
            m2 = C.window_sums(C.block_sum(c2, cell), idx) / npix
            m4 = C.window_sums(C.block_sum(c2 * c2, cell), idx) / npix
            m2 = np.maximum(m2, 1e-6)
            kurt = np.maximum(m4 / (m2 * m2) - 3.0, 0.0)
            rk = np.sqrt(kurt)
            inv = 1.0 / m2
            sa += rk
            sb += inv
            sc += inv * inv
            sd += rk * inv
            vmin = np.minimum(vmin, m2)
            if i % 4 == 3:
                ck.step(0.05 + 0.75 * (i + 1) / nb, "noise: band-pass moments")
        sa, sb, sc, sd = sa / nb, sb / nb, sc / nb, sd / nb
        den = sc - sb * sb
        sqrt_k = np.where(den > 1e-12 * sc, (sa * sc - sb * sd) / np.where(den > 0, den, 1.0), 0.0)
        ok = sqrt_k > 1e-3
        var = np.where(ok, (1.0 - sa / np.where(ok, sqrt_k, 1.0)) / sb, vmin)
        var = np.clip(var, (p["min_fraction"] ** 2) * vmin, vmin)
        return np.sqrt(var), np.sqrt(vmin), idx, cell

    def analyze(self, evidence, params: dict[str, Any] | None = None,
                progress: base.ProgressFn | None = None,
                cancel: base.CancelFn | None = None) -> base.AnalysisResult:
        ck = base.Checkpoint(progress, cancel)
        t0 = time.perf_counter()
        rgb = evidence.rgb
        h, w = rgb.shape[:2]
        p = self.resolve_params(h, w, params)
        ck.step(0.0, "noise: band-pass channels")
        g = C.grey(rgb)
        sigma, smin, idx, cell = self.local_sigma(g, p, ck)
        clip = C.window_sums(C.block_sum(C.clipped_fraction(g), cell), idx) / \
            C.window_sums(C.block_sum(np.ones((h, w), np.float32), cell), idx)
        ck.step(0.85, "noise: inconsistency")

        # reliability: clipped pixels destroy noise; a sigma far below the smallest channel
        # std means the window is dominated by texture and the estimate leans on the model
        agree = np.clip((sigma + p["sigma_floor"]) / (smin + p["sigma_floor"]), 0.0, 1.0)
        rel_cells = (1.0 - clip) * np.clip(agree / 0.5, 0.0, 1.0)
        logs = np.log(sigma + p["sigma_floor"])
        med, mad = C.robust_center_scale(logs, rel_cells)
        scale = max(mad, p["min_log_scale"])
        z = (logs - med) / scale
        cell_map = C.squash(np.abs(z), p["z_centre"], p["z_width"])
        reliable = rel_cells >= 0.5
        area = float((cell_map[reliable] > 0.5).mean()) if reliable.any() else 0.0
        score = float(1.0 - np.exp(-area / 0.1))
        loc = np.clip(C.upsample(cell_map, h, w, cell), 0.0, 1.0)
        rel = np.clip(C.upsample(rel_cells, h, w, cell), 0.0, 1.0)
        sig_full = C.upsample(sigma, h, w, cell)
        timings = {"total": time.perf_counter() - t0}
        ck.step(1.0, "noise: done")
        params_out = dict(p)
        params_out.update({"cell": cell, "median_sigma": float(np.exp(med) - p["sigma_floor"]),
                           "log_sigma_scale": float(scale),
                           "flagged_statistic": score})  # 1 - exp(-area / 0.1); not a probability
        from trufor_desk.engines.classical.calibration import no_score_note

        return base.AnalysisResult(
            engine=self.name, engine_version=self.version,
            localization=loc.astype(np.float32), reliability=rel.astype(np.float32), score=None,
            extras={"noise_sigma": sig_full.astype(np.float32)}, params=params_out,
            provenance=base.standard_provenance(
                evidence, method="Pan, Zhang, Lyu, local noise variances, ICCP 2012"),
            timings=timings, notes=[no_score_note(self.name)], applicable=True)
