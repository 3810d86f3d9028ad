"""Splicebuster: blind splicing localisation from co-occurrences of noise residuals.

Written from Cozzolino, Poggi & Verdoliva, "Splicebuster: a new blind image splicing
detector", IEEE WIFS 2015.  The image itself is the only training set:

1. residuals of a third-order linear high-pass filter of the grey-level image,
   ``r_ij = x_i,j-1 - 3 x_ij + 3 x_i,j+1 - x_i,j+2``, horizontally and (transposed)
   vertically;
2. quantisation with step ``q`` and truncation to ``[-T, T]`` (T = 2: five values);
3. co-occurrences of four consecutive residuals along the filter direction: 5^4 = 625
   patterns, pooled over the sign symmetry (``c == -c``) and the direction reversal
   (``(a,b,c,d) == (d,c,b,a)``) into 169 classes; horizontal and vertical histograms are
   summed;
4. a histogram per analysis window (``window x window`` pixels, every ``stride``
   pixels, from an integral image of per-cell histograms), normalised, square-rooted;
5. PCA to ``dims`` whitened components;
6. the blind model: one Gaussian for the host camera's features, anything else (a
   splice) an outlier.  The paper fits "Gaussian + uniform outliers" by EM; in our
   measurements (synthetic splices of 10-25 % of the frame, 32-64 px windows) plain EM
   let the host Gaussian swallow large splices, because a uniform density in 10-25
   dimensions is so thin that widening the Gaussian along one direction always wins.
   The default (``model="robust"``) therefore fits the host Gaussian robustly (C-steps
   of the minimum covariance determinant on the 60 % most central windows, then a
   chi-square reweighting) and maps each window's Mahalanobis distance to a normal
   score, standardised by the inliers' median/MAD; the localisation map is a logistic
   of that score, 0.5 at ``z_centre``.  ``model="em"`` gives the paper's EM posterior.
   ``z_centre`` was calibrated so that at most ~5 % of pristine pixels exceed 0.5 on
   the synthetic set of ``tests/engines/classical/synth_noise_splices.py``: host
   content (edges, textures) makes the feature distribution heavy-tailed.

The reliability map is low where the residual carries no information: clipped
(saturated or near-black) pixels and flat areas whose quantised residual is all zero.
Windows with low reliability take no part in the model fit.

The score is ``1 - exp(-A / 0.1)`` where A is the fraction of the reliable image whose
map exceeds 0.5: about 0.4 when 5 % of the image is flagged, 0.86 at 20 %.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from trufor_desk.engines import base
from trufor_desk.engines.classical import _common as C

N_CLASSES = 169
BAND_PIXELS = 1 << 18  # pixels per band of cell rows in cell_class_counts (kept in cache)


def symmetry_classes(T: int = 2) -> np.ndarray:
    """Lookup table from the (2T+1)^4 base-(2T+1) pattern codes to pooled class indices.

    Two patterns share a class when one is the other negated and/or reversed.  For
    T = 2 this gives (625 + 1 + 25 + 25) / 4 = 169 classes (Burnside's lemma).
    """
    n = 2 * T + 1
    digits = np.array(np.meshgrid(*[np.arange(n)] * 4, indexing="ij")).reshape(4, -1).T - T  # (625, 4)

    def code(dg):
        u = dg + T
        return ((u[:, 0] * n + u[:, 1]) * n + u[:, 2]) * n + u[:, 3]

    rep = np.minimum.reduce([code(digits), code(-digits), code(digits[:, ::-1]), code(-digits[:, ::-1])])
    _, inverse = np.unique(rep, return_inverse=True)
    return inverse.astype(np.int16)


_LUT = symmetry_classes(2)


def quantised_residual(g: np.ndarray, q: float, T: int, axis: int) -> np.ndarray:
    """Third-order residual along ``axis`` (1 = horizontal), quantised and truncated,
    shifted to 0..2T (uint8).  Its length along ``axis`` is 3 less than the image's.

    Computed along the axis itself (no transposed copy), in place, with the operations of
    ``-x_j + 3 x_j+1 - 3 x_j+2 + x_j+3`` in that order, so every residual is the same number."""
    x = np.asarray(g, dtype=np.float32)
    n = x.shape[axis]

    def part(i: int) -> np.ndarray:
        return x[:, i:n - 3 + i] if axis == 1 else x[i:n - 3 + i]

    r = np.negative(part(0))
    tmp = np.multiply(part(1), 3)
    r += tmp
    np.multiply(part(2), 3, out=tmp)
    r -= tmp
    r += part(3)
    # (sign convention irrelevant: the classes are pooled over the sign)
    np.divide(r, np.float32(q), out=r)
    np.rint(r, out=r)
    np.clip(r, -T, T, out=r)
    r += T
    return r.astype(np.uint8)


def _raw_codes(u: np.ndarray, axis: int, T: int = 2) -> np.ndarray:
    """Base-(2T+1) code of each four consecutive residuals along ``axis`` (int16), the
    pattern ending at each position from the fourth on."""
    n = 2 * T + 1
    m = u.shape[axis]

    def part(i: int) -> np.ndarray:
        return u[:, i:m - 3 + i] if axis == 1 else u[i:m - 3 + i]

    code = part(0).astype(np.int16)
    for i in (1, 2, 3):
        code *= n
        code += part(i)
    return code


def cell_class_counts(g: np.ndarray, q: float, T: int, cell: int) -> np.ndarray:
    """(hc, wc, N_CLASSES) int64: per cell, how many horizontal and vertical four-residual
    patterns fall in each pooled class, each pattern counted three pixels after its first
    residual (near the image border, where no complete pattern fits, nothing is counted); only
    whole cells count.
    The residuals and codes are computed only inside the whole cells, one band of cell rows
    at a time, and the counts go straight to the cells."""
    h, w = g.shape
    hc, wc = C.cell_grid(h, w, cell)
    ch, cw = min(cell, h), min(cell, w)
    rows, cols = hc * ch, wc * cw
    counts = np.zeros(hc * wc * N_CLASSES, np.int64)
    itype = np.int32 if counts.size < 2 ** 31 else np.int64
    row_cell = (np.arange(rows, dtype=itype) // ch) * wc
    col_cell = np.arange(cols, dtype=itype) // cw
    # one band of cell rows at a time (about BAND_PIXELS pixels): the work stays in cache, and
    # the counts of a band fall in one short stretch of ``counts``
    band = max(1, BAND_PIXELS // max(1, ch * cols)) * ch
    # horizontal: codes at columns 3 .. min(w - 4, cols - 1), from residuals of columns 0 .. that + 3
    last = min(w - 4, cols - 1)
    if w >= 7 and last >= 3:
        for r0 in range(0, rows, band):
            r1 = min(rows, r0 + band)
            cls = _LUT[_raw_codes(quantised_residual(g[r0:r1, :last + 4], q, T, 1), 1, T)]
            _add_counts(counts, (row_cell[r0:r1, None] + col_cell[None, 3:last + 1]) * N_CLASSES + cls)
    # vertical: codes at rows 3 .. min(h - 4, rows - 1), each from the residuals of the 3 rows above
    last = min(h - 4, rows - 1)
    if h >= 7 and last >= 3:
        for r0 in range(0, rows, band):
            a, b = max(r0, 3), min(r0 + band, last + 1)
            if a >= b:
                continue
            cls = _LUT[_raw_codes(quantised_residual(g[a - 3:b + 3, :cols], q, T, 0), 0, T)]
            _add_counts(counts, (row_cell[a:b, None] + col_cell[None, :]) * N_CLASSES + cls)
    return counts.reshape(hc, wc, N_CLASSES)



def _add_counts(counts: np.ndarray, idx: np.ndarray) -> None:
    """counts[i] += how often i occurs in ``idx`` (over the stretch of ``counts`` it covers)."""
    lo, hi = int(idx.min()), int(idx.max()) + 1
    counts[lo:hi] += np.bincount((idx.ravel() - lo), minlength=hi - lo)


def window_counts(cells: np.ndarray, idx: C.WindowIndex) -> np.ndarray:
    """:func:`_common.window_sums` of integer counts per cell, as float64: exact sums, so
    the same numbers, summed separably (rows, then columns) in integers."""
    a = np.zeros((cells.shape[0] + 1, *cells.shape[1:]), np.int64)
    np.cumsum(cells, axis=0, out=a[1:])
    r = a[idx.rows + idx.kh] - a[idx.rows]
    b = np.zeros((r.shape[0], r.shape[1] + 1, *r.shape[2:]), np.int64)
    np.cumsum(r, axis=1, out=b[:, 1:])
    return (b[:, idx.cols + idx.kw] - b[:, idx.cols]).astype(np.float64)


class SplicebusterEngine:
    """Blind splicing localisation (Cozzolino, Poggi & Verdoliva, WIFS 2015)."""

    name = "splicebuster"
    version = "1.0.0"
    requires_weights = False
    OPTIONS = ("window", "stride", "q", "T", "dims")

    DEFAULTS: dict[str, Any] = {
        "q": 4.0,          # quantisation step of the residual (grey levels; SRM uses 1-2 x 3 for order 3)
        "T": 2,            # truncation: residuals take values -T..T
        "window": "auto",  # analysis window side in pixels (paper: 128); auto = scaled to the image
        "stride": "auto",  # window step in pixels (paper: 8); auto = window / 8
        "dims": 25,        # PCA dimensions (upper bound; reduced for small images)
        "em_iterations": 40,
        "model": "robust",
        "trim": 0.6,
        "z_centre": 45.0,  # robust z of the distance at which the map crosses 0.5
        "z_width": 5.0,
        "dims_per_window": 5,  # at most one PCA dimension per 5 independent windows
        "min_reliability": 0.5,  # windows below this take no part in the model fit
    }

    def __init__(self, window: int | str | None = None, stride: int | str | None = None,
                 q: float | None = None, T: int | None = None, dims: int | None = None):
        self.options = {k: v for k, v in dict(window=window, stride=stride, q=q, T=T, dims=dims).items()
                        if v is not None}

    # -- parameters ------------------------------------------------------------------
    @staticmethod
    def _auto_window(h: int, w: int) -> int:
        """128 px (the paper's) for images whose short side is 1024 px or more; for smaller
        images a side of 1/8 of the short side (at least 32 px), so that there are enough
        independent windows to fit the host model and a splice can be larger than a
        window."""
        side = min(h, w)
        return int(min(128, max(32, 8 * round(side / 64))))

    def resolve_params(self, h: int, w: int, params: dict[str, Any] | None) -> dict[str, Any]:
        p = base.resolve_params(self.name, {**self.DEFAULTS, **self.options}, params)
        if p["window"] in ("auto", None):
            p["window"] = self._auto_window(h, w)
        p["window"] = int(max(8, min(int(p["window"]), max(h, w))))
        if p["stride"] in ("auto", None):
            p["stride"] = max(4, p["window"] // 8)
        p["stride"] = int(max(1, min(int(p["stride"]), p["window"])))
        p["T"] = int(p["T"])
        p["q"] = float(p["q"])
        p["dims"] = int(p["dims"])
        if p["T"] != 2:
            raise ValueError("Splicebuster's pooled co-occurrence classes are defined for T = 2")
        return p

    # -- analysis --------------------------------------------------------------------
    def analyze(self, evidence, params: dict[str, Any] | None = None,
                progress: base.ProgressFn | None = None,
                cancel: base.CancelFn | None = None) -> base.AnalysisResult:
        ck = base.Checkpoint(progress, cancel)
        t0 = time.perf_counter()
        rgb = evidence.rgb
        h, w = rgb.shape[:2]
        p = self.resolve_params(h, w, params)
        ck.step(0.0, "splicebuster: residuals")
        g = C.grey(rgb)
        cell = p["stride"]
        k = max(1, int(round(p["window"] / cell)))
        hc, wc = C.cell_grid(h, w, cell)
        notes: list[str] = []
        timings: dict[str, float] = {}

        # 1-3: residual co-occurrence classes, per-cell class counts (H + V pooled)
        counts = cell_class_counts(g, p["q"], p["T"], cell)
        ck.step(0.35, "splicebuster: co-occurrences")
        zero_class = int(_LUT[((2 * 5 + 2) * 5 + 2) * 5 + 2])
        ch, cw = min(cell, h), min(cell, w)
        clipped = C.clipped_fraction(g[:hc * ch, :wc * cw]).reshape(hc, ch, wc, cw)
        clipped = clipped.sum(axis=(1, 3), dtype=np.int64)   # clipped pixels per whole cell
        timings["features"] = time.perf_counter() - t0

        # 4: window histograms (exact integer sums over the window's cells); reliability per window
        idx = C.window_index(hc, wc, k)
        win = window_counts(counts, idx)
        valid = win.sum(-1)
        feats = np.sqrt(win / np.maximum(valid, 1.0)[..., None])
        zero_frac = win[..., zero_class] / np.maximum(valid, 1.0)
        clip_frac = window_counts(clipped, idx) / max(float(idx.kh * idx.kw * ch * cw), 1.0)
        rel_cells = (1.0 - clip_frac) * np.clip((1.0 - zero_frac) / 0.5, 0.0, 1.0)
        rel_cells = np.where(valid > 0, rel_cells, 0.0)
        ck.step(0.6, "splicebuster: model fit")

        # 5-6: PCA + EM (Gaussian host, uniform outliers) on distinct reliable windows
        fit = idx.distinct & (rel_cells >= p["min_reliability"])
        n_indep = max(1, (hc // idx.kh) * (wc // idx.kw))
        dims = int(min(p["dims"], max(2, n_indep // p["dims_per_window"])))
        cell_map = np.zeros((hc, wc), dtype=np.float64)
        score: float | None = None
        fit_info: dict[str, Any] = {"dims_used": 0, "outlier_fraction": None,
                                    "fit_windows": int(fit.sum())}
        applicable = True
        if int(fit.sum()) < max(8, 2 * dims) or n_indep < 4:
            applicable = False
            notes.append("image too small or too flat for Splicebuster: fewer than the "
                         f"{max(8, 2 * dims)} reliable windows of {p['window']} px it needs")
        else:
            x = feats.reshape(-1, N_CLASSES)
            y, _ = C.pca_whiten(x, fit.ravel(), dims)
            ck.step(0.7, "splicebuster: EM")
            if p.get("model", "robust") == "em":
                em = C.em_gauss_uniform(y, fit.ravel(), iterations=p["em_iterations"])
                cell_map = em.posterior.reshape(hc, wc)
                ow = float(em.outlier_weight)
            else:
                rg = C.robust_gaussian(y, fit.ravel(), trim=p["trim"])
                cell_map = C.squash(rg.z, p["z_centre"], p["z_width"]).reshape(hc, wc)
                ow = float(1 - rg.inliers / max(int(fit.sum()), 1))
            fit_info = {"dims_used": int(y.shape[1]), "outlier_fraction": ow,
                        "fit_windows": int(fit.sum())}
            reliable = rel_cells >= p["min_reliability"]
            area = float((cell_map[reliable] > 0.5).mean()) if reliable.any() else 0.0
            score = float(1.0 - np.exp(-area / 0.1))
        timings["model"] = time.perf_counter() - t0 - timings["features"]
        ck.step(0.9, "splicebuster: upsampling")
        loc = np.clip(C.upsample(cell_map, h, w, cell), 0.0, 1.0)
        rel = np.clip(C.upsample(rel_cells, h, w, cell), 0.0, 1.0)
        timings["total"] = time.perf_counter() - t0
        ck.step(1.0, "splicebuster: done")
        params_out = dict(p)
        params_out.update({"cell": cell, "window_cells": k, **fit_info,
                           "flagged_statistic": score})  # 1 - exp(-area / 0.1); not a probability
        from trufor_desk.engines.classical.calibration import no_score_note

        notes.append(no_score_note(self.name))
        return base.AnalysisResult(
            engine=self.name, engine_version=self.version,
            localization=loc.astype(np.float32), reliability=rel.astype(np.float32),
            score=None, params=params_out,
            provenance=base.standard_provenance(
                evidence, method="Cozzolino, Poggi, Verdoliva, Splicebuster, WIFS 2015"),
            timings=timings, notes=notes, applicable=applicable)
