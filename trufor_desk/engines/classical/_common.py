"""Building blocks shared by the noise-residual detectors (Splicebuster, local noise level).

Everything here is vectorised numpy/OpenCV working on a *cell grid*: the image is cut
into ``cell x cell`` blocks, per-block sums are accumulated once, and window statistics
(e.g. 128x128 windows at a stride of 8) are sums of ``k x k`` blocks obtained from an
integral image.  That is the "dense" analysis of the papers at a fraction of the cost of
per-pixel windows, and the resulting coarse maps are upsampled bilinearly to full size.

Also here: a whitening PCA and an EM fit of "one Gaussian (host) + uniform outliers",
the blind model of Splicebuster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601


def grey(rgb: np.ndarray) -> np.ndarray:
    """Luminance of a uint8 RGB image as float32 in 0..255."""
    if rgb.ndim == 2:
        return rgb.astype(np.float32)
    return (rgb[..., :3].astype(np.float32) @ LUMA).astype(np.float32)


def cell_grid(h: int, w: int, cell: int) -> tuple[int, int]:
    """Number of whole cells along each axis (at least one; tiny images get one cell)."""
    return max(1, h // cell), max(1, w // cell)


def block_sum(arr: np.ndarray, cell: int) -> np.ndarray:
    """Sums over ``cell x cell`` blocks of a 2-D (or HxWxC) array.

    The image is cropped to whole cells; an image smaller than one cell is one block.
    """
    h, w = arr.shape[:2]
    hc, wc = cell_grid(h, w, cell)
    ch, cw = min(cell, h), min(cell, w)
    a = arr[:hc * ch, :wc * cw]
    a = a.reshape(hc, ch, wc, cw, *arr.shape[2:])
    return a.sum(axis=(1, 3), dtype=np.float64)


def integral(cells: np.ndarray) -> np.ndarray:
    """Zero-padded integral image over the first two axes (float64)."""
    s = np.zeros((cells.shape[0] + 1, cells.shape[1] + 1, *cells.shape[2:]), dtype=np.float64)
    np.cumsum(np.cumsum(cells, axis=0, dtype=np.float64), axis=1, out=s[1:, 1:])
    return s


@dataclass(frozen=True)
class WindowIndex:
    """Where the ``kh x kw``-cell window assigned to each cell starts.

    Each cell gets the window centred on it, shifted inwards at the image border so that
    every window lies inside the image.  ``distinct`` marks cells whose window is not a
    border duplicate, i.e. the set of distinct windows used for model fitting.
    """

    kh: int
    kw: int
    rows: np.ndarray      # (hc,) window start row (in cells) for each cell row
    cols: np.ndarray      # (wc,)
    distinct: np.ndarray  # (hc, wc) bool


def window_index(hc: int, wc: int, k: int) -> WindowIndex:
    kh, kw = min(k, hc), min(k, wc)
    i = np.arange(hc) - kh // 2
    j = np.arange(wc) - kw // 2
    rows = np.clip(i, 0, hc - kh)
    cols = np.clip(j, 0, wc - kw)
    distinct = ((i >= 0) & (i <= hc - kh))[:, None] & ((j >= 0) & (j <= wc - kw))[None, :]
    if not distinct.any():  # pragma: no cover - defensive, k <= hc, wc makes this impossible
        distinct[hc // 2, wc // 2] = True
    return WindowIndex(kh, kw, rows, cols, distinct)


def window_sums(cells: np.ndarray, idx: WindowIndex) -> np.ndarray:
    """For each cell, the sum of ``cells`` over its window (shape of ``cells``)."""
    s = integral(cells)
    r0, c0 = idx.rows[:, None], idx.cols[None, :]
    r1, c1 = r0 + idx.kh, c0 + idx.kw
    return s[r1, c1] - s[r0, c1] - s[r1, c0] + s[r0, c0]


def upsample(cell_map: np.ndarray, h: int, w: int, cell: int) -> np.ndarray:
    """Bilinear upsampling of a cell-grid map to the full ``h x w`` image.

    Cell centres land on block centres; the uncovered right/bottom margin (less than one
    cell) repeats the edge.  Output float32.
    """
    import cv2

    hc, wc = cell_map.shape
    ch, cw = min(cell, h), min(cell, w)
    m = np.ascontiguousarray(cell_map, dtype=np.float32)
    up = cv2.resize(m, (wc * cw, hc * ch), interpolation=cv2.INTER_LINEAR)
    pad_b, pad_r = h - up.shape[0], w - up.shape[1]
    if pad_b or pad_r:
        up = cv2.copyMakeBorder(up, 0, pad_b, 0, pad_r, cv2.BORDER_REPLICATE)
    return up


def clipped_fraction(g: np.ndarray, low: float = 4.0, high: float = 251.0) -> np.ndarray:
    """Per-pixel indicator (float32) of clipped/very dark samples, where noise is destroyed."""
    return ((g <= low) | (g >= high)).astype(np.float32)


def pca_whiten(x: np.ndarray, fit: np.ndarray, dims: int, eps: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Project rows of ``x`` onto the top ``dims`` principal axes of ``x[fit]``, whitened.

    Returns (projected float64 (n, d), eigenvalues kept).
    """
    n_fit = int(np.count_nonzero(fit))
    mu = x[fit].mean(axis=0)
    centred = x - mu                      # every row centred once; the fitted rows are a subset
    xc = centred if n_fit == len(x) else centred[fit]
    cov = xc.T @ xc / max(n_fit - 1, 1)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    d = int(max(1, min(dims, int((vals > eps * max(vals[0], eps)).sum()))))
    vals, vecs = vals[:d], vecs[:, :d]
    y = centred @ (vecs / np.sqrt(np.maximum(vals, eps)))
    # deterministic sign: largest-magnitude loading positive
    return y, vals


@dataclass
class GaussUniformFit:
    posterior: np.ndarray   # (n,) probability of the outlier (uniform) class
    llr: np.ndarray         # (n,) log p_uniform(x) - log p_gauss(x)
    mahalanobis2: np.ndarray  # (n,) squared Mahalanobis distance from the host model
    outlier_weight: float
    iterations: int


def _mahalanobis2(z: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> np.ndarray:
    chol = np.linalg.cholesky(cov)
    sol = np.linalg.solve(chol, (z - mu).T)
    return np.sum(sol * sol, axis=0)


def em_gauss_uniform(y: np.ndarray, fit: np.ndarray, iterations: int = 40, prior0: float = 0.1,
                     min_prior: float = 1e-3, max_prior: float = 0.5, ridge: float = 1e-3,
                     tol: float = 1e-5, trim: float = 0.6) -> GaussUniformFit:
    """EM for a two-class model: one Gaussian (the host camera's features) plus a uniform
    density over the bounding box of the data (anything else, e.g. a splice).

    Fitted on rows ``y[fit]``; posteriors are returned for every row.  The outlier weight
    is kept in ``[min_prior, max_prior]``: the host is by assumption the larger part.
    """
    yf = y[fit]
    n, d = yf.shape
    lo, hi = y.min(axis=0), y.max(axis=0)
    log_u = -float(np.sum(np.log(np.maximum(hi - lo, 1e-6))))
    mu = np.median(yf, axis=0)
    cov = np.cov(yf, rowvar=False).reshape(d, d) + ridge * np.eye(d)
    pi_o = prior0
    if 0 < trim < 1:
        # robust start (C-steps of the minimum covariance determinant): refit on the
        # fraction ``trim`` of windows closest to the current host model, so that a large
        # splice does not inflate the host covariance before EM starts
        keep = max(d + 2, int(trim * n))
        for _ in range(8):
            m2 = _mahalanobis2(yf, mu, cov)
            sel = np.argsort(m2, kind="stable")[:keep]
            mu = yf[sel].mean(axis=0)
            cov = np.cov(yf[sel], rowvar=False).reshape(d, d) + ridge * np.eye(d)

    def log_gauss(z: np.ndarray, mu, cov):
        chol = np.linalg.cholesky(cov)
        sol = np.linalg.solve(chol, (z - mu).T)
        m2 = np.sum(sol * sol, axis=0)
        logdet = 2.0 * np.sum(np.log(np.diag(chol)))
        return -0.5 * (m2 + logdet + d * np.log(2 * np.pi)), m2

    it = 0
    prev = -np.inf
    for it in range(1, iterations + 1):  # noqa: B007 - the count is read after the loop
        lg, _ = log_gauss(yf, mu, cov)
        a = np.log(pi_o) + log_u
        b = np.log(1 - pi_o) + lg
        mx = np.maximum(a, b)
        ll = mx + np.log(np.exp(a - mx) + np.exp(b - mx))
        w_host = np.exp(b - ll)
        total = float(ll.sum())
        sw = w_host.sum()
        if sw < d + 2:
            break
        mu = (w_host[:, None] * yf).sum(axis=0) / sw
        zc = yf - mu
        cov = (w_host[:, None] * zc).T @ zc / sw + ridge * np.eye(d)
        pi_o = float(np.clip(1.0 - sw / n, min_prior, max_prior))
        if abs(total - prev) < tol * abs(total):
            break
        prev = total
    lg, m2 = log_gauss(y, mu, cov)
    llr = log_u - lg
    logit = np.log(pi_o) - np.log(1 - pi_o) + llr
    post = 1.0 / (1.0 + np.exp(-np.clip(logit, -60, 60)))
    return GaussUniformFit(post, llr, m2, pi_o, it)


def robust_center_scale(v: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Median and MAD-based standard deviation (1.4826 MAD) of ``v`` (optionally only where
    ``weights > 0.5``)."""
    sel = v if weights is None else v[weights > 0.5]
    if sel.size == 0:
        sel = v
    med = float(np.median(sel))
    mad = float(np.median(np.abs(sel - med))) * 1.4826
    return med, mad


def squash(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    """Logistic map of ``x`` to (0, 1): 0.5 at ``centre``, slope set by ``width``."""
    return (1.0 / (1.0 + np.exp(-np.clip((x - centre) / width, -60, 60)))).astype(np.float32)


def _chi2_ppf(q: float, d: int) -> float:
    """``scipy.stats.chi2.ppf(q, d)``, which is ``2 gammaincinv(d / 2, q)``: the same number,
    from scipy.special (scipy.stats takes seconds to import)."""
    from scipy.special import gammaincinv

    return float(2.0 * gammaincinv(d / 2.0, q))


@dataclass
class RobustGaussianFit:
    mean: np.ndarray
    cov: np.ndarray
    mahalanobis2: np.ndarray  # (n,) squared distance of every row from the host model
    z: np.ndarray             # (n,) Wilson-Hilferty normal score of mahalanobis2, robustly standardised
    inliers: int


def robust_gaussian(y: np.ndarray, fit: np.ndarray, trim: float = 0.6, csteps: int = 10,
                    ridge: float = 1e-3) -> RobustGaussianFit:
    """Host Gaussian fitted robustly: C-steps of the minimum covariance determinant on the
    fraction ``trim`` of ``y[fit]`` closest to the model, then one reweighting step keeping
    rows under the 97.5 % chi-square quantile.  A splice covering up to ``1 - trim`` of the
    fitted windows cannot inflate the host covariance.

    ``z`` maps each squared distance to a normal score (Wilson-Hilferty cube root of
    chi-square(d)/d) and standardises it by the median/MAD of the inliers' scores, so that
    content that makes the host features non-Gaussian widens the scale instead of raising
    false alarms.
    """
    yf = y[fit]
    n, d = yf.shape
    eye = ridge * np.eye(d)
    mu = np.median(yf, axis=0)
    cov = np.cov(yf, rowvar=False).reshape(d, d) + eye
    keep = min(n, max(d + 2, int(trim * n)))
    prev = None
    for _ in range(csteps):
        m2 = _mahalanobis2(yf, mu, cov)
        sel = np.sort(np.argsort(m2, kind="stable")[:keep])
        if prev is not None and np.array_equal(sel, prev):
            break
        prev = sel
        mu = yf[sel].mean(axis=0)
        cov = np.cov(yf[sel], rowvar=False).reshape(d, d) + eye
    # consistency correction (the trimmed covariance underestimates the spread), then reweight
    m2 = _mahalanobis2(yf, mu, cov)
    cov = cov * (np.median(m2) / _chi2_ppf(0.5, d))
    m2 = _mahalanobis2(yf, mu, cov)
    inl = m2 <= _chi2_ppf(0.975, d)
    if inl.sum() >= d + 2:
        mu = yf[inl].mean(axis=0)
        cov = np.cov(yf[inl], rowvar=False).reshape(d, d) + eye
    m2_all = _mahalanobis2(y, mu, cov)
    a = 2.0 / (9.0 * d)
    wh = (np.cbrt(np.maximum(m2_all, 0) / d) - (1 - a)) / np.sqrt(a)
    wf = wh[fit][_mahalanobis2(yf, mu, cov) <= _chi2_ppf(0.975, d)] if inl.any() else wh[fit]
    med = float(np.median(wf)) if wf.size else 0.0
    mad = float(np.median(np.abs(wf - med))) * 1.4826 if wf.size else 1.0
    z = (wh - med) / max(mad, 1e-3)
    return RobustGaussianFit(mu, cov, m2_all, z, int(inl.sum()))
