"""The double-quantisation model: one implementation for every detector that reads a JPEG history.

Written from Bianchi & Piva, "Image forgery localization via block-grained analysis of
JPEG artifacts", IEEE TIFS 7(3), 2012.  For one DCT frequency of a JPEG image, the
integers stored on the file's grid either were quantised once, with the file's step
``q2``, or twice: first with an unknown primary step ``q1``, then with ``q2``, which leaves
a periodic pattern in their histogram.  This module holds what the ADQ family shares:

* :func:`stored_integers` and :func:`coefficient_noise`: the integers the file stored,
  recomputed from decoded pixels, and the observation noise of that recomputation (from
  the rounding error of the frequencies with coarse steps);
* :func:`models`: the single-quantisation distribution ``p_SQ`` and, for every candidate
  ``q1``, the double-quantisation distribution ``p_DQ(q1)``, both derived from the
  unquantised distribution estimated by calibration (a grid shifted by (4, 4)) and
  blurred by that noise;
* :func:`fit_frequency`: the primary step by maximum likelihood of the mixture
  ``a p_SQ + (1 - a) p_DQ(q1)``, with ``a`` fitted by EM for all candidates at once.

Used by ``adq.py`` (all 63 frequencies, the fusion's compression history through
``jpeg_history.py``) and ``jpeg.py`` (the ``jpeg`` engine's 20 lowest frequencies).
"""

from __future__ import annotations

from typing import Any

import numpy as np

# zig-zag order of the 8x8 frequencies (row, column); ZIGZAG[0] is DC
ZIGZAG = sorted(((u, v) for u in range(8) for v in range(8)),
                key=lambda t: (t[0] + t[1], t[0] if (t[0] + t[1]) % 2 else t[1]))

SIGMA_RANGE = (0.2, 2.0)   # bounds of the estimated observation noise (DCT units)
DEFAULT_SIGMA = 0.4        # without any coarse step to measure it on
COARSE_STEP = 6            # frequencies with a step at least this coarse measure the noise


def leak_kernel(sigma_over_q: float) -> np.ndarray:
    """Probability that observation noise moves a quantised value by -1, 0, +1."""
    from scipy.special import ndtr

    s = max(float(sigma_over_q), 1e-3)
    side = min(float(ndtr(-0.5 / s)), 0.3)
    return np.array([side, 1 - 2 * side, side])


def interval_probs(sorted_vals: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Empirical probability of each interval between consecutive ``edges``."""
    cdf = np.searchsorted(sorted_vals, edges, side="left") / max(sorted_vals.size, 1)
    return np.diff(cdf)


class EmpiricalCdf:
    """``P(v < e)`` of a sample at any edges ``e``: the numbers ``interval_probs`` reads off the
    sorted sample, without sorting it.

    Every edge the models use is a multiple of half a step, and the steps are integers, so
    ``2 e`` is an integer M; then ``v < e`` exactly when ``floor(2 v) <= M - 1`` (``2 v`` is exact
    in floating point), and the counts below every such edge are one cumulative histogram of
    ``floor(2 v)``.  Edges off that half-integer grid are answered from the sorted sample."""

    def __init__(self, values: np.ndarray):
        v = np.asarray(values, dtype=np.float64).ravel()
        self.n = int(v.size)
        self._values = v
        self._sorted: np.ndarray | None = None
        self._cum: np.ndarray | None = None
        self._lo = 0
        if self.n:
            f = np.floor(2.0 * v)
            lo, hi = float(f.min()), float(f.max())
            if np.isfinite(lo) and np.isfinite(hi) and hi - lo < 1e7:
                self._lo = int(lo)
                self._cum = np.cumsum(np.bincount((f - lo).astype(np.int64)))

    def below(self, edges: np.ndarray) -> np.ndarray:
        """How many values are strictly below each edge (``searchsorted(..., side="left")``)."""
        e2 = 2.0 * np.asarray(edges, dtype=np.float64)
        if self._cum is not None and np.all(e2 == np.floor(e2)) and np.all(np.abs(e2) < 2 ** 52):
            j = e2.astype(np.int64) - 1 - self._lo
            return np.where(j < 0, 0, self._cum[np.clip(j, 0, self._cum.size - 1)])
        if self._sorted is None:
            self._sorted = np.sort(self._values)
        return np.searchsorted(self._sorted, edges, side="left")

    def probs(self, edges: np.ndarray) -> np.ndarray:
        """:func:`interval_probs` of the sample (the same arithmetic: counts / n, then differences)."""
        return np.diff(self.below(edges) / max(self.n, 1))


def stored_integers(planes: np.ndarray, q_table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(``q``, ``xr``, ``x``): the table as float32 (steps of at least 1), the block DCT
    coefficients (laid out by frequency, (8, 8, nby, nbx): ``_jpeg_common.block_dct_planes``)
    divided by it, and their nearest integers (what the file stored)."""
    q = np.maximum(np.asarray(q_table, dtype=np.float64), 1.0).astype(np.float32)
    xr = planes / q[:, :, None, None]
    return q, xr, np.rint(xr).astype(np.int32)


def coefficient_noise(xr: np.ndarray, x: np.ndarray, q: np.ndarray, known: np.ndarray | None = None) -> float:
    """Observation noise of a recomputed coefficient (arrays laid out by frequency): the
    robust spread of the rounding error over the frequencies whose step is at least
    COARSE_STEP (and known)."""
    coarse = q >= COARSE_STEP
    if known is not None:
        coarse &= np.asarray(known, bool)
    sigma = DEFAULT_SIGMA
    if coarse.any():
        err = (xr[coarse] - x[coarse]) * q[coarse][:, None, None]
        if err.size:
            sigma = float(1.4826 * np.median(np.abs(err)))
    return float(np.clip(sigma, *SIGMA_RANGE))


def max_primary_step(q2: float) -> int:
    """The largest primary step tried for a file step ``q2``."""
    return int(min(max(2 * q2 + 8, 16), 64))


def models(cs: np.ndarray | EmpiricalCdf, q2: float, q1s: np.ndarray, m: int, leak: np.ndarray,
           floor: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """(p_SQ (2m+1,), p_DQ (len(q1s), 2m+1)) over the integer support -m..m, from the
    calibrated coefficients ``cs`` (sorted, or their :class:`EmpiricalCdf`).

    For a primary step ``q1``, the unquantised mass of each of its bins ``k`` (edges
    ``q1 (k -+ 1/2)``) lands on the file's integer nearest ``q1 k / q2``, split evenly between
    the two neighbours at an exact half.  All candidates are built at once: their bins are laid
    end to end and summed into the rows by one ``bincount``, in the order (each row's bins in
    increasing ``k``, then the halves' second shares) that adding them one candidate at a time
    used, so every sum is the same number."""
    cdf = cs if isinstance(cs, EmpiricalCdf) else EmpiricalCdf(cs)
    support = np.arange(-m, m + 1)
    width = 2 * m + 3                                        # padded by one bin each side

    def finish(p: np.ndarray) -> np.ndarray:
        if p.ndim == 1:
            p = np.convolve(p, leak, mode="same")
        else:
            p = p[:, :-2] * leak[2] + p[:, 1:-1] * leak[1] + p[:, 2:] * leak[0]
        p = p + floor / p.shape[-1]
        return p / p.sum(axis=-1, keepdims=True)

    p_sq = finish(cdf.probs(q2 * (np.r_[support, m + 1] - 0.5)))
    q1s = np.asarray(q1s, dtype=np.float64).ravel()
    if q1s.size == 0:
        return p_sq, np.zeros((0, 2 * m + 1))
    kmax = (np.ceil((m + 1) * q2 / q1s)).astype(np.int64) + 1
    sizes = 2 * kmax + 1
    row = np.repeat(np.arange(q1s.size), sizes)
    start = np.cumsum(sizes) - sizes
    ks = (np.arange(int(sizes.sum())) - np.repeat(start, sizes) - np.repeat(kmax, sizes)).astype(np.float64)
    q1 = q1s[row]
    n = max(cdf.n, 1)
    below = cdf.below(np.concatenate([q1 * (ks - 0.5), q1 * (ks + 1 - 0.5)]))
    pk = below[ks.size:] / n - below[:ks.size] / n
    pos = q1 * ks / q2
    lo = np.floor(pos + 0.5).astype(np.int64) + m + 1
    half = np.isclose(pos - np.floor(pos), 0.5)              # exact halves split between two bins
    ok = (lo >= 0) & (lo <= 2 * m + 2)
    lo2 = lo - 1
    ok2 = half & (lo2 >= 0) & (lo2 <= 2 * m + 2)
    bins = np.concatenate([(row * width + lo)[ok], (row * width + lo2)[ok2]])
    mass = np.concatenate([(pk * np.where(half, 0.5, 1.0))[ok], (0.5 * pk)[ok2]])
    p = np.bincount(bins, weights=mass, minlength=q1s.size * width).reshape(q1s.size, width)
    return p_sq, finish(p)


def fit_frequency(x_obs: np.ndarray, calib: np.ndarray, q2: float, sigma: float, max_q1: int,
                  m: int = 40, em_iterations: int = 30) -> dict[str, Any]:
    """Primary step of one frequency by maximum likelihood, all candidates at once.

    Returns ``q1`` (0 when no candidate applies), ``gain`` (log-likelihood gain over the
    single-quantisation model, nats per block), ``n`` (the blocks it was fitted on),
    ``alpha`` (fraction of single-compressed blocks in the mixture) and ``llr``
    (log p_SQ / p_DQ over -m..m).
    """
    res: dict[str, Any] = {"q1": 0, "gain": 0.0, "n": 0, "alpha": 1.0, "llr": np.zeros(2 * m + 1)}
    xo = np.clip(x_obs, -m - 1, m + 1)
    inside = np.abs(xo) <= m
    hist = np.bincount((xo[inside] + m).astype(np.int64), minlength=2 * m + 1).astype(np.float64)
    total = hist.sum()
    if total < 50:
        return res
    # a step that divides q2 (or equals it) leaves no trace: indistinguishable from SQ
    q1s = np.array([q for q in range(1, max_q1 + 1) if q != q2 and q2 % q != 0], dtype=np.float64)
    if q1s.size == 0:
        return res
    p_sq, p_dq = models(EmpiricalCdf(calib), q2, q1s, m, leak_kernel(sigma / q2))
    ll_sq = float((hist * np.log(p_sq)).sum())
    a = np.full((q1s.size, 1), 0.5)
    for _ in range(em_iterations):
        mix = a * p_sq + (1 - a) * p_dq
        a = np.clip((hist * (a * p_sq / mix)).sum(axis=1, keepdims=True) / total, 1e-3, 1 - 1e-3)
    ll = (hist * np.log(a * p_sq + (1 - a) * p_dq)).sum(axis=1)
    best = int(np.argmax(ll))
    res.update(q1=int(q1s[best]), gain=float(ll[best] - ll_sq) / total, n=int(total), alpha=float(a[best, 0]),
               llr=np.log(p_sq) - np.log(p_dq[best]))
    return res


def block_llr(x: np.ndarray, llr: np.ndarray) -> np.ndarray:
    """Each block's log-likelihood ratio at one frequency (``x``: its stored integers),
    clipped to +-3 nats; a value outside the modelled range carries no evidence."""
    m = (llr.size - 1) // 2
    table = np.clip(np.r_[0.0, llr, 0.0], -3.0, 3.0).astype(np.float32)
    return table[np.clip(x, -m - 1, m + 1) + m + 1]
