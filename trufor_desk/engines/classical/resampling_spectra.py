"""The spectra of the resampling detector (``resampling.py``): residuals and first
differences along each axis, windowed power spectra computed in batches, and the
peak-to-background ratios searched in them (a disc away from the low frequencies, the
two axes, the band near Nyquist), with the grey-level spectrum's own peaks as a veto
against periodic content.  The papers it is written from, and what the searches
measure, are in ``resampling.py``'s docstring.
"""

from __future__ import annotations

import numpy as np

R0 = 0.08            # low-frequency disc excluded from the search (cycles / pixel)
NYQ_BAND = 0.42      # the first-difference search looks at |f| >= NYQ_BAND only ...
NYQ_REF = 0.25       # ... relative to the median power over |f| >= NYQ_REF
RING_OUT, RING_IN = 9, 3
VETO_RATIO = 12.0    # grey-level spectral peak that marks a bin as periodic content


def axis_residual(y: np.ndarray, axis: int) -> np.ndarray:
    """Kirchner's fixed linear predictor along one axis: ``e = y - (y[-1] + y[+1]) / 2``
    (zero on the first and last line, which have one neighbour)."""
    e = np.zeros_like(y)
    if y.shape[axis] >= 3:
        if axis == 1:
            e[:, 1:-1] = y[:, 1:-1] - 0.5 * (y[:, :-2] + y[:, 2:])
        else:
            e[1:-1] = y[1:-1] - 0.5 * (y[:-2] + y[2:])
    return e


def axis_difference(y: np.ndarray, axis: int) -> np.ndarray:
    """First difference along ``axis`` (zero on the last line)."""
    d = np.zeros_like(y)
    if axis == 1:
        d[:, :-1] = y[:, 1:] - y[:, :-1]
    else:
        d[:-1] = y[1:] - y[:-1]
    return d


def window_starts(n: int, window: int, stride: int) -> np.ndarray:
    """Start offsets of windows along an axis of length ``n``: evenly spread from 0 to
    ``n - window``, at most ``stride`` apart (so the last window ends on the border)."""
    if n <= window:
        return np.zeros(1, dtype=np.int64)
    k = int(np.ceil((n - window) / stride)) + 1
    return np.rint(np.linspace(0, n - window, k)).astype(np.int64)


def hann(n: int) -> np.ndarray:
    """Hann window without its zero end points."""
    return np.hanning(n + 2)[1:-1].astype(np.float32)


def perp_index(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) indices into an ``(n, n//2 + 1)`` half spectrum of each bin's frequency
    turned by 90 degrees: ``v = (kx, ky) -> (-ky, kx)``, or its conjugate ``(ky, -kx)``
    where that has ``kx >= 0``."""
    ky = np.fft.fftfreq(n, 1.0 / n).astype(np.int64)[:, None] * np.ones((1, n // 2 + 1), np.int64)
    kx = np.arange(n // 2 + 1)[None, :] * np.ones((n, 1), np.int64)
    px = np.where(ky <= 0, -ky, ky)
    py = np.where(ky <= 0, kx, -kx)
    return py % n, np.minimum(px, n // 2)


def _half_bin(kyy: np.ndarray, kxx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nearest half-spectrum bin of frequencies given in bins (any sign, any alias)."""
    kyy = ((np.rint(kyy).astype(np.int64) + n // 2) % n) - n // 2
    kxx = ((np.rint(kxx).astype(np.int64) + n // 2) % n) - n // 2
    neg = kxx < 0
    kyy = np.where(neg, -kyy, kyy)
    kxx = np.where(neg, -kxx, kxx)
    return kyy % n, np.minimum(kxx, n // 2)


def veto_index(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """For every half-spectrum bin ``v``: the bin of ``v`` itself and of the four
    frequencies ``u`` with ``2u = v (mod 1)`` (``v/2`` plus the aliases ``(1/2, 0)``,
    ``(0, 1/2)``, ``(1/2, 1/2)``), where a periodic texture would sit."""
    ky = np.fft.fftfreq(n, 1.0 / n)[:, None] * np.ones((1, n // 2 + 1))
    kx = np.arange(n // 2 + 1)[None, :] * np.ones((n, 1))
    out = [_half_bin(ky, kx, n)]
    for ay in (0, n // 2):
        for ax in (0, n // 2):
            out.append(_half_bin(ky / 2 + ay, kx / 2 + ax, n))
    return out


def _stack(p: np.ndarray, ys: np.ndarray, xs: np.ndarray, n: int) -> np.ndarray:
    v = np.lib.stride_tricks.sliding_window_view(p, (n, n))
    return np.ascontiguousarray(v[ys[:, None], xs[None, :]], dtype=np.float32).reshape(-1, n, n)


def power2(x: np.ndarray, window2: np.ndarray) -> np.ndarray:
    """Power spectra (half plane) of stacked windows, mean removed, 2-D Hann applied."""
    import scipy.fft as sfft

    x = x - x.mean(axis=(1, 2), keepdims=True)
    x *= window2
    f = sfft.rfft2(x, axes=(1, 2))
    return (f.real * f.real + f.imag * f.imag).astype(np.float32)


def _pad_half_spectra(p: np.ndarray, o: int) -> np.ndarray:
    """Pad stacked half-plane spectra ``(m, n, nf)`` by ``o`` bins on every side: wrapped
    along ``fy``, continued across ``fx = 0`` and Nyquist by Hermitian symmetry
    (``P(fy, -fx) = P(-fy, fx)``)."""
    nf = p.shape[2]
    flip = np.roll(p[:, ::-1, :], 1, axis=1)
    q = np.concatenate([flip[:, :, 1:o + 1][:, :, ::-1], p, flip[:, :, nf - 1 - o:nf - 1][:, :, ::-1]], axis=2)
    return np.ascontiguousarray(np.concatenate([q[:, -o:], q, q[:, :o]], axis=1))


def _per_window_2d(p: np.ndarray, o: int, op) -> np.ndarray:
    """Apply a 2-D OpenCV neighbourhood operation of radius ``o`` to every stacked
    spectrum at once: the padded spectra are laid out as one tall image; the padding keeps
    the windows apart."""
    m, n, nf = p.shape
    q = _pad_half_spectra(p, o)
    r = op(q.reshape(m * (n + 2 * o), nf + 2 * o)).reshape(m, n + 2 * o, nf + 2 * o)
    return r[:, o:o + n, o:o + nf]


def ring_ratio2(p: np.ndarray) -> np.ndarray:
    """Each power over the mean of its ``RING_OUT^2 - RING_IN^2`` spectral neighbours,
    for stacked half-plane spectra ``(m, n, n//2 + 1)`` (neighbourhoods wrap as the
    spectrum does, see :func:`_pad_half_spectra`)."""
    import cv2

    o = RING_OUT // 2

    def ring(img):
        big = cv2.boxFilter(img, -1, (RING_OUT, RING_OUT), normalize=False, borderType=cv2.BORDER_REPLICATE)
        small = cv2.boxFilter(img, -1, (RING_IN, RING_IN), normalize=False, borderType=cv2.BORDER_REPLICATE)
        return (big - small) * (1.0 / (RING_OUT ** 2 - RING_IN ** 2))

    b = _per_window_2d(p, o, ring)
    floor = 1e-6 * p.mean(axis=(1, 2), keepdims=True) + 1e-12
    return p / np.maximum(b, floor)


def max3(p: np.ndarray) -> np.ndarray:
    """3x3 maximum filter of stacked half-plane spectra."""
    import cv2

    kernel = np.ones((3, 3), np.uint8)
    return _per_window_2d(p, 1, lambda img: cv2.dilate(img, kernel, borderType=cv2.BORDER_REPLICATE))


def nyquist_ratio(p: np.ndarray, n: int) -> np.ndarray:
    """Power near Nyquist (``|f| >= NYQ_BAND``) over the median power of the whole band
    ``|f| >= NYQ_REF``, for half spectra on the last axis.  A ring around a bin at the
    spectrum's edge would hold only half as many distinct bins (and the Nyquist bin of a
    real signal has one degree of freedom, not two): a centred ring made the edge a
    false-alarm hot spot.  The median, not the mean, so that the comb of harmonics of a
    quantised smooth gradient (a staircase), which raises the whole band, does not stand
    out, while the one or two bins of a 2x trace do."""
    k = np.arange(p.shape[-1]) / n
    b = np.median(p[..., k >= NYQ_REF], axis=-1, keepdims=True)
    floor = 1e-6 * p.mean(axis=-1, keepdims=True) + 1e-12
    return p[..., k >= NYQ_BAND] / np.maximum(b, floor)


def _projection_ratio(d2: np.ndarray, ys: np.ndarray, xs: np.ndarray, n: int, w1: np.ndarray) -> np.ndarray:
    """Near-Nyquist ratios of the spectra of Hann-weighted column projections of ``d2`` windows:
    the ``fy = 0`` row of the windows' 2-D spectra, at the cost of 1-D transforms."""
    import cv2
    import scipy.fft as sfft

    # colsum[y0, x] = sum_r w1[r] d2[y0 + r, x] (anchor at the kernel's first tap)
    colsum = cv2.filter2D(d2, cv2.CV_32F, w1.reshape(n, 1), anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    rows = colsum[ys]                                                  # (ny, W)
    seg = np.lib.stride_tricks.sliding_window_view(rows, n, axis=1)[:, xs]  # (ny, nx, n)
    seg = (seg - seg.mean(-1, keepdims=True)) * w1
    f = sfft.rfft(seg.reshape(-1, n), axis=-1)
    return nyquist_ratio((f.real * f.real + f.imag * f.imag).astype(np.float32), n)


class _Geometry:
    """Per-window-size constants: Hann windows, frequency masks, index tables."""

    def __init__(self, n: int):
        self.n = n
        self.w1 = hann(n)
        self.w2 = self.w1[:, None] * self.w1[None, :]
        fy = np.fft.fftfreq(n)[:, None]
        fx = np.fft.rfftfreq(n)[None, :]
        self.disc = np.sqrt(fy ** 2 + fx ** 2) > R0
        k = np.arange(n // 2 + 1) / n
        self.band = k > R0                      # along the fx axis (row fy = 0)
        self.nyq = k >= NYQ_BAND
        self.iy, self.ix = perp_index(n)
        self.veto = veto_index(n)


def harmonic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Harmonic mean: large only when both are (at most twice the smaller)."""
    return 2.0 * a * b / np.maximum(a + b, 1e-12)


def _searches(rx: np.ndarray, ry: np.ndarray, rl: np.ndarray, cx: np.ndarray, cy: np.ndarray,
              geo: _Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three searches for stacked windows, with the periodic-content veto: the disc
    and the axes of ``harmonic(r_x(v), r_y(v_perp))``, and the near-Nyquist bins of
    ``harmonic(c_x, c_y)`` (first-difference projections).  Returns three (m,) maxima."""
    rlm = max3(rl)
    lv = rlm[:, geo.veto[0][0], geo.veto[0][1]]
    for a, b in geo.veto[1:]:
        np.maximum(lv, rlm[:, a, b], out=lv)
    lv = np.maximum(lv, lv[:, geo.iy, geo.ix])          # v or v_perp
    periodic = lv >= VETO_RATIO
    g = harmonic(rx, ry[:, geo.iy, geo.ix])
    g[periodic] = 0.0
    # the projections' bin k is the 2-D bin (fy = 0, fx = k); its turn, (fy = k, fx = 0),
    # is already folded into lv
    kq = np.nonzero(geo.nyq)[0]
    q = harmonic(cx, cy)
    q[periodic[:, 0, kq]] = 0.0
    return g[:, geo.disc].max(1), g[:, 0, :][:, geo.band].max(1), q.max(1)
