"""Local resampling traces: the periodic correlations that interpolation leaves.

Written from A. C. Popescu & H. Farid, "Exposing digital forgeries by detecting traces of
resampling", IEEE TSP 53(2), 2005; M. Kirchner, "Fast and reliable resampling detection by
spectral analysis of fixed linear predictor residue", ACM MM&Sec 2008; and B. Mahdian &
S. Saic, "Blind authentication using periodic properties of interpolation", IEEE TIFS
3(3), 2008.  Meant for images without a JPEG history (PNG, TIFF): a JPEG's 8x8 grid is a
periodic trace as well and lights up every window (quality 75-90: ``peak > 1`` in 99.8 %
of windows, ``global_peak`` 5-7, while ``statistic`` stays at 1.0-1.5).

Interpolation makes each output sample a combination of input samples with weights set by
its phase on the input grid, and that phase is periodic in the output coordinates.  The
residual of a *fixed* linear predictor therefore has a periodically varying variance
(Kirchner; Mahdian & Saic: the variance of a derivative), and the spectrum of its square
peaks at the phase frequency where a never-resampled image has a smooth spectrum.  Scaling
by ``s`` puts the peak at ``|1/s - round(1/s)|`` cycles/pixel on the axis; a rotation by
``a`` at ``(1 - cos a, sin a)`` and at that vector turned by 90 degrees.

Method (batched over windows with ``scipy.fft`` and OpenCV; no pixel loops):

1. residuals of Kirchner's predictor along each axis, ``e_x = y - (y[x-1] + y[x+1]) / 2``
   and ``e_y``.  His 3x3 kernel (-1/4 at the corners, 1/2 at the 4-neighbours) is the
   product ``(1 - A_x)(1 - A_y)`` of the two; after bilinear upscaling its square carries
   about a third of the periodic part of each 1-D residual's, and in our measurement it found
   1-2 % of resampled windows at 1 % false alarms where the 1-D residuals found 60-90 %;
2. p-maps ``e_x^2``, ``e_y^2`` (the square did a little better than ``|e|`` and than
   Kirchner's ``exp(-e^2)``), cut into ``window x window`` windows every ``stride``
   pixels; per window the power spectrum of the Hann-weighted, mean-removed map;
3. each power over the mean of its 9x9 spectral neighbours minus the 3x3 centre (a period
   that is not a whole number of bins spreads over 2-3 bins): ratios ``r_x``, ``r_y``,
   near 1 (about exponentially distributed) where the spectrum has no peak;
4. a similarity transform (scaling, rotation) shows in the two residuals at frequencies a
   quarter-turn apart, so the statistic pairs them: ``g(v) = H(r_x(v), r_y(v_perp))``
   with ``H`` the harmonic mean (at most twice the smaller).  Content that is periodic
   itself (the stripe textures of the calibration photographs) and the rounding staircase
   of a smooth gradient mostly show in one residual only: over the disc below, the larger
   of ``r_x``, ``r_y`` had a 99 % null level of 56, the pair one of 7.7;
5. a periodic texture of frequency ``u`` puts a peak at ``2u`` in the squared residual, so
   a bin ``v`` is also left out where the grey-level spectrum of the window peaks (ratio
   >= ``VETO_RATIO``) at ``v``, at ``v_perp`` or at one of the four ``u`` with ``2u = v``
   (mod 1).  For a single residual this veto took the null level from 56 to 16; after the
   pairing it is a safeguard (7.7 -> 7.5) for textures periodic in both directions;
6. ``g`` is searched over the disc ``|v| > R0`` (for rotations; the disc excludes scalings
   between about 0.93x and 1.09x and rotations under about 4.6 degrees, whose peaks are
   lost in the content's low frequencies) and, with its own, lower threshold, over the
   ``fx`` axis (scalings: far fewer bins, far fewer chance peaks);
7. at 2x (1.8-2.2x) upscaling both phases lie symmetric about an input sample: the
   second-difference variance is the same at both, and only the first difference
   ``d = y[x+1] - y[x]`` alternates (Mahdian & Saic's derivative).  The spectra of the
   Hann-weighted column (row) projections of ``d_x^2`` (``d_y^2``), i.e. the ``fy = 0``
   row of their 2-D spectra at the cost of 1-D transforms, are searched near Nyquist
   (``|f| >= NYQ_BAND``) against the median of the band above ``NYQ_REF``; the two axes
   are paired by the harmonic mean as in 4.

The window statistic ``peak`` is the largest of the three searches, each over its
99.67 % level on never-resampled windows, scaled so that such windows exceed
``peak = 1`` in 1 % of cases (``CALIBRATION``, per window size).  Calibration set: 12
photographs rendered like ``tests/engines/classical/synth_noise_splices.py`` (scene,
lens blur, sensor noise 1.2-3, demosaicing blur, sharpening; sizes 320x480-512x384), 4
with plain white sensor noise, and the parity kit's two example photographs downscaled
2x with INTER_AREA (their JPEG grid then no longer shows): 9 400 reliable windows at
64 px.  On the photographs of ``tests/engines/classical/test_resampling.py`` (another
generator) 0.7-1.7 % of windows exceed 1.

The map is ``logistic(log(peak) / MAP_WIDTH)`` -- 0.5 at ``peak = 1`` -- times the
window's reliability, bilinear from the window centres to the pixels: what cannot carry a
trace is not flagged.  Reliability is low where pixels are clipped, where the window has
no texture above the 8-bit rounding (see :func:`window_reliability`; a quantised smooth
gradient is a staircase, a periodic residual of its own) and where the window is a
noise-free monotone ramp.

``statistic`` measures *local* inconsistency: the robust z-score of ``log(peak)`` of the
strongest 2x2 group of neighbouring reliable windows (its weakest member, so that one lone
window does not count) against the median and 1.4826 MAD (floor ``Z_MAD_FLOOR``) of all
reliable windows.  An image resized as a whole has high ``peak`` everywhere, hence a high
median and a small ``statistic``; ``global_peak`` is what says so: ``peak`` of the
reliability-weighted mean of the windows' ratio spectra, where a trace that every window
shares adds up and chance peaks average out (never-resampled: 0.2-0.5; resized as a
whole: 1.2-12, see below).

Measured detection (fraction of 64 px windows with ``peak > 1``, three synthetic 448x320
photographs resampled as a whole; never resampled: 1.2 %): bilinear upscaling 1.05x 0.9 %,
1.1x 94 %, 1.3x-1.5x 100 %, 2x 94 %, 3x 88 %; bicubic 1.5x 95 %, 2x 65 %; Lanczos 1.5x
89 %; rotation 3 degrees 0.3 %, 5 degrees 84 %, 10-45 degrees 99 %; **downscaling**
bilinear 0.9x 80 %, 0.8x 46 %, 0.6x 33 %, bicubic 0.8x 3 %, INTER_AREA 0.6x 12 %:
downscaling with a proper low-pass filter leaves almost nothing.  A downscaled (0.7x,
bilinear) 96x96 paste reached a mean map of 0.17-0.46 inside (against 0.06 outside).

Time: ``MAX_WINDOWS`` bounds the number of windows (the stride grows on large images):
0.7-0.8 s per megapixel at 3000x2000 (stride 25) and 0.36 s/MP at 6000x4000 (stride 48),
on 2 cores shared with another job.
"""

from __future__ import annotations

import numpy as np

from trufor_desk.engines.classical.resampling_spectra import (  # noqa: F401 - re-exported
    NYQ_BAND,
    NYQ_REF,
    R0,
    RING_IN,
    RING_OUT,
    VETO_RATIO,
    _Geometry,
    _half_bin,
    _pad_half_spectra,
    _per_window_2d,
    _projection_ratio,
    _searches,
    _stack,
    axis_difference,
    axis_residual,
    hann,
    harmonic,
    max3,
    nyquist_ratio,
    perp_index,
    power2,
    ring_ratio2,
    veto_index,
    window_starts,
)

MAP_WIDTH = 0.15     # logistic width of the map in log(peak)
MAX_WINDOWS = 12000  # above this, windows are spread (stride grows) to bound the time
CHUNK = 384          # windows per FFT batch (memory ~ 40 * CHUNK * window^2 bytes)
CLIP_LOW, CLIP_HIGH = 2.0, 253.0
DETREND = 8.0        # texture = RMS of y - GaussianBlur(y, DETREND) over the window ...
FLAT_LOW, FLAT_FULL = 0.4, 0.8  # ... texture (grey levels) for reliability 0 .. 1
MONO_FULL = 0.9      # |mean d| / mean |d| above this: a noise-free staircase (reliability -> 0 at 1)
Z_MAD_FLOOR = 0.12   # floor of the robust scale of log(peak) (natural spread ~0.2)

# window -> null levels (99.67 % quantiles of never-resampled windows) of the disc,
# axis and first-difference searches, and the factor that puts the 1 % level of their
# combination at peak = 1
CALIBRATION: dict[int, tuple[float, float, float, float]] = {
    32: (7.47, 5.42, 6.26, 0.992),
    48: (8.16, 5.64, 6.76, 0.993),
    64: (8.53, 5.61, 6.78, 0.996),
    96: (8.94, 6.33, 6.14, 0.996),
    128: (9.10, 6.41, 6.57, 0.988),
}


def calibration(window: int) -> tuple[float, float, float, float]:
    """Null levels for a window size: measured ones, else the nearest measured size."""
    if window in CALIBRATION:
        return CALIBRATION[window]
    keys = np.array(sorted(CALIBRATION))
    return CALIBRATION[int(keys[np.argmin(np.abs(np.log(keys / window)))])]


def _box_means(a: np.ndarray, ys: np.ndarray, xs: np.ndarray, n: int) -> np.ndarray:
    """Mean of ``a`` over each ``n x n`` window starting at ``(ys, xs)``."""
    import cv2

    m = cv2.boxFilter(a, cv2.CV_32F, (n, n), anchor=(0, 0), normalize=True, borderType=cv2.BORDER_REPLICATE)
    return m[ys[:, None], xs[None, :]].astype(np.float64)


def window_reliability(y: np.ndarray, ys: np.ndarray, xs: np.ndarray, n: int):
    """Per window: reliability, texture (RMS of ``y`` minus its Gaussian blur of sigma
    ``DETREND``) and clipped fraction.

    A trace needs signal above the 8-bit rounding.  The residual's own RMS is no measure
    of that: interpolation smooths, and a 2x upscaled photograph with a strong trace has
    the residual RMS (0.35-0.4) of a flat, dithered gradient.  Texture at scales up to
    ~8 px survives upscaling (window medians 0.7-1.9 on 2x-3x upscaled synthetic
    photographs; 10th percentile >= 0.95 on never-resampled ones), while a flat gradient
    with rounding noise of sigma <= 0.5 stays at 0.35-0.6 -- and such a quantised
    gradient is a staircase with a periodic residual variance of its own.  A noise-free
    rendering (a smooth shading without any noise) can have more texture than that and
    is a pure staircase: its first differences all have one sign, ``|mean d| / mean |d|``
    near 1 (0.1-0.8 on photographs), and reliability goes to 0 above ``MONO_FULL``."""
    import cv2

    hp = y - cv2.GaussianBlur(y, (0, 0), DETREND)
    texture = np.sqrt(np.maximum(_box_means(hp * hp, ys, xs, n), 0.0))
    del hp
    clipped = ((y <= CLIP_LOW) | (y >= CLIP_HIGH)).astype(np.float32)
    clip = _box_means(clipped, ys, xs, n)
    mono = np.zeros_like(texture)
    for axis in (1, 0):
        d = axis_difference(y, axis)
        mono = np.maximum(mono, np.abs(_box_means(d, ys, xs, n)) / np.maximum(_box_means(np.abs(d), ys, xs, n), 1e-6))
    rel = ((1.0 - clip) * np.clip((texture - FLAT_LOW) / (FLAT_FULL - FLAT_LOW), 0.0, 1.0)
           * np.clip((1.0 - mono) / (1.0 - MONO_FULL), 0.0, 1.0))
    return rel, texture, clip


def window_features(y: np.ndarray, window: int, stride: int) -> dict:
    """Per-window search results and reliability on the window grid, plus the
    reliability-weighted mean ratio spectra for the whole-image statistic."""
    n = window
    geo = _Geometry(n)
    h, w = y.shape
    ys, xs = window_starts(h, n, stride), window_starts(w, n, stride)
    ex = axis_residual(y, 1)
    ex2 = ex * ex
    ey = axis_residual(y, 0)
    ey2 = ey * ey
    del ex, ey
    rel, texture, clip = window_reliability(y, ys, xs, n)
    wts = rel.ravel()

    # first differences, near Nyquist (scaling by ~2)
    cx = _projection_ratio(axis_difference(y, 1) ** 2, ys, xs, n, geo.w1)
    cy = _projection_ratio(np.ascontiguousarray((axis_difference(y, 0) ** 2).T), xs, ys, n, geo.w1)
    cy = cy.reshape(len(xs), len(ys), -1).transpose(1, 0, 2).reshape(len(ys) * len(xs), -1)
    mean = {"cx": wts @ cx, "cy": wts @ cy, "rx": 0.0, "ry": 0.0, "rl": 0.0}

    disc, axis, nyq = [], [], []
    rows = max(1, CHUNK // len(xs))
    for i0 in range(0, len(ys), rows):
        yr = ys[i0:i0 + rows]
        sl = slice(i0 * len(xs), (i0 + len(yr)) * len(xs))
        wr = wts[sl]
        rx = ring_ratio2(power2(_stack(ex2, yr, xs, n), geo.w2))
        ry = ring_ratio2(power2(_stack(ey2, yr, xs, n), geo.w2))
        rl = ring_ratio2(power2(_stack(y, yr, xs, n), geo.w2))
        d, a, q = _searches(rx, ry, rl, cx[sl], cy[sl], geo)
        disc.append(d)
        axis.append(a)
        nyq.append(q)
        wr32 = wr.astype(np.float32)
        for key, r in (("rx", rx), ("ry", ry), ("rl", rl)):
            mean[key] = mean[key] + (wr32 @ r.reshape(len(r), -1)).reshape(r.shape[1:]).astype(np.float64)
        del rx, ry, rl
    shape = (len(ys), len(xs))
    tot = max(float(wts.sum()), 1e-9)
    mean = {k: np.asarray(v, dtype=np.float64) / tot for k, v in mean.items()}
    return {"disc": np.concatenate(disc).reshape(shape), "axis": np.concatenate(axis).reshape(shape),
            "nyq": np.concatenate(nyq).reshape(shape), "texture": texture, "clip": clip, "reliability": rel,
            "ys": ys, "xs": xs, "mean": mean, "weight": float(wts.sum()), "geo": geo}


def combine(disc, axis, nyq, window: int) -> np.ndarray:
    """The window statistic ``peak`` from the three searches (1 = the 1 % level of
    never-resampled windows)."""
    t_disc, t_axis, t_nyq, k = calibration(window)
    return (np.maximum(np.maximum(np.asarray(disc) / t_disc, np.asarray(axis) / t_axis),
                       np.asarray(nyq) / t_nyq) / k).astype(np.float32)


def global_statistic(mean: dict, geo: _Geometry, window: int) -> float:
    """``peak`` of the reliability-weighted mean window: a trace shared by all windows
    survives the averaging, chance peaks do not."""
    d, a, q = _searches(*(mean[k][None].astype(np.float32) for k in ("rx", "ry", "rl", "cx", "cy")), geo)
    return float(combine(d, a, q, window)[0])


def upsample_grid(grid: np.ndarray, ys: np.ndarray, xs: np.ndarray, window: int, h: int, w: int) -> np.ndarray:
    """Bilinear map from window centres to every pixel (edges repeat), float32 (h, w)."""
    import cv2

    def axis_coeffs(starts):
        if len(starts) < 2:
            return 0.0, 0.0
        step = float(starts[-1] - starts[0]) / (len(starts) - 1)
        c0 = float(starts[0]) + (window - 1) / 2.0
        return 1.0 / step, -c0 / step

    ax, bx = axis_coeffs(xs)
    ay, by = axis_coeffs(ys)
    m = np.array([[ax, 0.0, bx], [0.0, ay, by]], dtype=np.float64)
    g = np.ascontiguousarray(grid, dtype=np.float32)
    return cv2.warpAffine(g, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def effective_stride(h: int, w: int, window: int, stride: int, max_windows: int = MAX_WINDOWS) -> int:
    """``stride``, or a larger one so that at most ``max_windows`` windows are analysed
    (time is linear in the number of windows)."""
    s = max(1, int(stride))
    while len(window_starts(h, window, s)) * len(window_starts(w, window, s)) > max_windows:
        s = int(np.ceil(s * 1.1))
    return s


def local_inconsistency(lp: np.ndarray, reliable: np.ndarray) -> float:
    """Robust z of the strongest 2x2 group of reliable windows (its weakest member) in
    ``log(peak)`` against the median / MAD of all reliable windows."""
    if int(reliable.sum()) < 4:
        return 0.0
    vals = lp[reliable]
    med = float(np.median(vals))
    mad = max(1.4826 * float(np.median(np.abs(vals - med))), Z_MAD_FLOOR)
    v = np.where(reliable, lp, -np.inf)
    if v.shape[0] >= 2:
        v = np.minimum(v[1:], v[:-1])
    if v.shape[1] >= 2:
        v = np.minimum(v[:, 1:], v[:, :-1])
    top = float(v.max())
    if not np.isfinite(top):
        return 0.0
    return max(0.0, (top - med) / mad)


def _empty(h: int, w: int, window: int, stride: int, note: str) -> dict:
    z = np.zeros((h, w), np.float32)
    none = np.zeros(0, np.int64)
    return {"map": z, "reliability": z.copy(), "peak": np.zeros((0, 0), np.float32), "statistic": 0.0,
            "global_peak": 0.0, "applicable": False, "note": note, "window": window, "stride": stride,
            "window_starts": (none, none.copy())}


def resampling_analysis(y: np.ndarray, window: int = 64, stride: int = 16) -> dict:
    """Local resampling analysis of a grey-level image.

    ``y``: float32 luminance 0..255, shape (H, W) (an RGB array is converted with the
    BT.601 weights).  Returns a dict:

    * ``map`` (H, W) float32 in [0, 1]: high where the local signal carries a periodic
      interpolation trace; 0.5 where the window statistic is at the level never-resampled
      images exceed in 1 % of windows; times the reliability; bilinear from the window
      centres;
    * ``reliability`` (H, W) float32 in [0, 1]: low in flat, staircase and clipped areas;
    * ``peak`` (nwy, nwx) float32: the window statistic (1 = that 1 % level);
    * ``statistic``: robust z of the strongest 2x2 window group's ``log(peak)`` against the
      image's reliable windows: local inconsistency (small for a uniform global resize);
    * ``global_peak``: ``peak`` of the mean window spectrum (a resized image lights it up);
    * ``applicable`` (bool), ``note`` (str), ``window``, ``stride`` (the one used, larger
      than asked for on very large images), ``window_starts`` ((ys, xs) in pixels).
    """
    y = np.asarray(y)
    if y.ndim == 3:
        y = (y[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
    if y.ndim != 2:
        raise ValueError(f"expected a (H, W) luminance image, got shape {y.shape}")
    y = np.ascontiguousarray(y, dtype=np.float32)
    h, w = y.shape
    n = int(window)
    if n < 16:
        raise ValueError("window must be at least 16 pixels")
    if h < n or w < n:
        return _empty(h, w, n, int(stride), f"image {w}x{h} is smaller than one {n}x{n} analysis "
                                            "window: no resampling analysis")
    s = effective_stride(h, w, n, stride)
    f = window_features(y, n, s)
    peak = combine(f["disc"], f["axis"], f["nyq"], n)
    rel = f["reliability"].astype(np.float32)
    lp = np.log(np.maximum(peak, 1e-6))
    win_map = (1.0 / (1.0 + np.exp(-np.clip(lp / MAP_WIDTH, -60, 60)))) * rel
    reliable = rel >= 0.5
    stat = local_inconsistency(lp, reliable)
    gpeak = global_statistic(f["mean"], f["geo"], n) if f["weight"] > 0 else 0.0
    note = ""
    if int(reliable.sum()) < 4:
        note = (f"only {int(reliable.sum())} reliable {n}x{n} windows (image small, flat or clipped): "
                "no local statistic")
    return {
        "map": np.clip(upsample_grid(win_map, f["ys"], f["xs"], n, h, w), 0.0, 1.0),
        "reliability": np.clip(upsample_grid(rel, f["ys"], f["xs"], n, h, w), 0.0, 1.0),
        "peak": peak,
        "statistic": float(stat),
        "global_peak": float(gpeak),
        "applicable": True,
        "note": note,
        "window": n,
        "stride": s,
        "window_starts": (f["ys"], f["xs"]),
    }
