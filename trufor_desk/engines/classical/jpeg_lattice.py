"""A JPEG history in pixels that are no longer a JPEG file.

A photograph that was a JPEG and was then saved as PNG, TIFF or BMP (an export, a
conversion, a screenshot-free copy) keeps its last compression in the pixels: on that
compression's 8x8 grid, each DCT coefficient of the luminance sits near a multiple of its
quantisation step, up to the rounding of the decoded pixels (a few tenths).  The file holds
no quantisation table any more, so the table and the grid are estimated here from the
pixels (after Fan & de Queiroz, "Identification of bitmap compression history: JPEG
detection and quantizer estimation", IEEE TIP 12(2), 2003), and the aligned double
quantisation analysis (``adq.py``) can then run as on the JPEG it was.

Per frequency, over the blocks whose coefficient is clearly not zero (|c| > 1), a step
``q`` fits when the coefficients lie within ``TOLERANCE`` of a multiple of ``q`` far more
often than chance (``2 * TOLERANCE / q``): the normalised match
``(matched - chance) / (1 - chance)`` must reach ``MIN_MATCH``.  Every divisor of the true
step fits too, and no multiple or neighbour does, so the largest fitting step is taken.
Steps below 3 cannot be told from chance with rounded pixels and stay unknown, as do
frequencies with too few non-zero coefficients; the analysis then leaves them out.

A frequency whose primary step was a multiple of its last one holds mostly multiples of the
primary step, so the largest fitting step can be that multiple.  Coefficients on the finer
lattice, at multiples of a divisor ``d`` that are not multiples of the fitted step (at
least ``MIN_OFF_LATTICE`` of them), cannot occur with a single step: the step is then
the largest such ``d``.  When the finer multiples are too rare to see, nearly every JPEG writer uses
the IJG tables scaled by a quality, so when the fitted steps agree with one IJG quality
(exactly in at least ``MIN_IJG_EXACT`` of the estimated frequencies), that quality's
table is taken wherever its step fits the coefficients.  This matters: with the doubled
step, the analysis would miss exactly the double-quantisation pattern it looks for.

The grid is the origin (of 64) where the lowest AC frequencies fit best.  The pixels are
said to carry a JPEG lattice when at least ``MIN_LATTICE_FREQS`` of those frequencies fit
on that grid; a never-compressed photograph fits none (its coefficients are continuous).

**A shifted grid** (:func:`find_shifted_grid`): a JPEG that was cropped by a few pixels and
saved again carries its last compression on the file's grid and the one before on a grid
shifted by the crop (non-aligned double compression; Bianchi & Piva, "Detection of
nonaligned double JPEG compression based on integer periodicity maps", IEEE TIFS 7(2),
2012).  The file's own grid always fits best, so the other 63 origins are compared among
themselves: the earlier grid is the one whose probe frequencies fit far better than the
typical origin (a robust z of at least ``SHIFT_MIN_Z``, and ``SHIFT_MIN_RATIO`` times the
runner-up).  A grid shifted by half a block along one or both axes also fits a little on
JPEGs that were never shifted (on 67 of casia-dev's 500 photographs, at a median of 1.96
times the runner-up), so those three origins need ``SHIFT_HALF_BLOCK_RATIO``.  On casia-dev
cropped by 1-7 pixels and re-saved at quality 90 the earlier grid was found in 75 % of the
photographs (the right origin in 74 %), and in 2 % of the uncropped set as stored and
re-saved at 95 or 85 (some of CASIA's published photographs were cropped after a save).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trufor_desk.evidence.metadata.jpeg_quality import IJG_LUMINANCE, ijg_table

from ._jpeg_common import DCT8, block_dct

TOLERANCE = 0.75          # |c - q round(c / q)| counted as on the lattice (DCT units)
MIN_MATCH = 0.6           # normalised match a step must reach
MIN_NONZERO = 40          # clearly non-zero coefficients a frequency needs to be judged
MAX_STEP = 64
PROBE_FREQS = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (1, 2), (2, 1), (0, 3), (3, 0))
MIN_LATTICE_FREQS = 5     # of PROBE_FREQS, fitting on the chosen grid
GRID_SAMPLE_BLOCKS = 4000  # block positions used to choose among the 64 grids
MAX_VALUES = 60000        # coefficients per frequency used to fit a step
MIN_IJG_EXACT = 0.5       # share of estimated steps an IJG quality must equal exactly
MIN_OFF_LATTICE = 0.03    # share of coefficients on a finer lattice that reveals a finer step
SHIFT_MIN_Z = 6.0         # robust z of the earlier grid's fit among the 63 shifted origins
SHIFT_MIN_RATIO = 2.0     # ... and its margin over the runner-up
SHIFT_HALF_BLOCK_RATIO = 5.0  # ... at a half-block shift (4 rows and/or 4 columns)
SHIFT_MIN_MATCH = 0.3     # normalised match of a step on that earlier grid


def _nonzero(values: np.ndarray) -> np.ndarray:
    c = values[np.abs(values) > 1.0].astype(np.float64)
    if c.size > MAX_VALUES:
        c = c[np.linspace(0, c.size - 1, MAX_VALUES).astype(np.int64)]
    return c


def step_match(c: np.ndarray, q: float) -> float:
    """Normalised share of the non-zero coefficients ``c`` within TOLERANCE of a multiple
    of ``q`` (0 = chance, 1 = all)."""
    chance = min(1.0, 2.0 * TOLERANCE / q)
    if chance >= 1.0:
        return 0.0
    r = np.abs(c - q * np.rint(c / q))
    return (float(np.mean(r <= TOLERANCE)) - chance) / (1.0 - chance)


_STEPS = np.arange(3, MAX_STEP + 1, dtype=np.float64)
_CHANCE = np.minimum(1.0, 2.0 * TOLERANCE / _STEPS)
_T4 = int(4 * TOLERANCE)  # TOLERANCE in quarters (step_matches counts on the quarter grid)
assert _T4 == 4 * TOLERANCE


def step_matches(c: np.ndarray) -> np.ndarray:
    """:func:`step_match` of ``c`` for every step 3..MAX_STEP at once (:func:`step_matches_many`)."""
    return step_matches_many([c])[0]


def _multiples(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The multiples ``k q`` of every step q in _STEPS that can lie within TOLERANCE of a
    value in [lo, hi]: (start of each step's run, step index of each multiple, k), laid end
    to end step after step."""
    lo_k = np.floor((lo - TOLERANCE) / _STEPS).astype(np.int64) - 1
    hi_k = np.ceil((hi + TOLERANCE) / _STEPS).astype(np.int64) + 1
    sizes = hi_k - lo_k + 1
    start = np.cumsum(sizes) - sizes
    step_of = np.repeat(np.arange(_STEPS.size), sizes)
    k = np.arange(int(sizes.sum())) - np.repeat(start, sizes) + np.repeat(lo_k, sizes)
    return start, step_of, k


def step_matches_many(sets: list[np.ndarray]) -> np.ndarray:
    """(len(sets), steps): :func:`step_match` of each array of values for every step
    3..MAX_STEP at once.

    A value is within TOLERANCE of a multiple ``k q`` of a step exactly when it lies in
    ``[k q - TOLERANCE, k q + TOLERANCE]`` (near ``k q`` the difference ``c - k q`` is exact in
    floating point, and one step's intervals never overlap, q >= 3), so each step's count is
    a sum over its intervals.  The interval ends lie on a quarter grid (4 TOLERANCE = 3) and
    ``4 c`` is exact, so the counts up to every end are read off two cumulative histograms per
    array, of ``ceil(4 c)`` (``c <= end``) and of ``floor(4 c)`` (``c < end``): the same counts as
    testing ``|c - q rint(c / q)| <= TOLERANCE`` value by value, for a fraction of the work."""
    arrays = [np.asarray(c, dtype=np.float64).ravel() for c in sets]
    out = np.full((len(arrays), _STEPS.size), np.nan)
    live = [i for i, c in enumerate(arrays) if c.size]
    if not live:
        return out
    vals = np.concatenate([arrays[i] for i in live])
    counts = np.array([arrays[i].size for i in live])
    set_of = np.repeat(np.arange(len(live)), counts)
    c4 = 4.0 * vals
    fl, ce = np.floor(c4), np.ceil(c4)
    base, top = float(fl.min()), float(ce.max())
    if not (np.isfinite(base) and np.isfinite(top) and (top - base + 1) * len(live) < 5e7):
        for i in live:  # (not finite, or absurdly spread: from the sorted values, one array at a time)
            out[i] = _step_matches_sorted(arrays[i])
        return out
    size = int(top - base) + 1
    start, step_of, k = _multiples(vals.min(), vals.max())
    centre4 = 4 * k * _STEPS.astype(np.int64)[step_of]

    def cumulative(q4: np.ndarray) -> np.ndarray:  # (sets, size + 1): column j + 1 counts values <= base + j
        h = np.bincount(set_of * size + (q4 - base).astype(np.int64), minlength=len(live) * size)
        cum = np.zeros((len(live), size + 1), np.int64)
        np.cumsum(h.reshape(len(live), size), axis=1, out=cum[:, 1:])
        return cum

    def column(m: np.ndarray) -> np.ndarray:  # the column holding the count of values <= m
        return np.clip(m - int(base), -1, size - 1) + 1

    inside = cumulative(ce)[:, column(centre4 + _T4)] - cumulative(fl)[:, column(centre4 - _T4 - 1)]
    hits = np.add.reduceat(inside, start, axis=1).astype(np.float64)
    out[live] = (hits / counts[:, None] - _CHANCE) / (1.0 - _CHANCE)
    return out


def _step_matches_sorted(c: np.ndarray) -> np.ndarray:
    """:func:`step_matches` of one array from its sorted values (the same counts)."""
    cs = np.sort(c)
    _, step_of, k = _multiples(cs[0], cs[-1])
    centre = k.astype(np.float64) * _STEPS[step_of]
    inside = (np.searchsorted(cs, centre + TOLERANCE, side="right")
              - np.searchsorted(cs, centre - TOLERANCE, side="left"))
    hits = np.bincount(step_of, weights=inside, minlength=_STEPS.size)
    return (hits / c.size - _CHANCE) / (1.0 - _CHANCE)


def fit_step(values: np.ndarray, min_match: float = MIN_MATCH) -> tuple[int, float]:
    """(largest step >= 3 that fits, its normalised match) for one frequency's
    coefficients; (0, best match) when none fits or too few are non-zero."""
    return fit_steps([values], min_match)[0]


def fit_steps(value_sets: list[np.ndarray], min_match: float = MIN_MATCH) -> list[tuple[int, float]]:
    """:func:`fit_step` of several frequencies' coefficients, their step matches computed together."""
    cs = [_nonzero(np.asarray(v).ravel()) for v in value_sets]
    judged = [i for i, c in enumerate(cs) if c.size >= MIN_NONZERO]
    all_matches = step_matches_many([cs[i] for i in judged]) if judged else np.zeros((0, _STEPS.size))
    out: list[tuple[int, float]] = [(0, 0.0)] * len(cs)
    for i, matches in zip(judged, all_matches):
        out[i] = _fitted(cs[i], matches, min_match)
    return out


def _fitted(c: np.ndarray, matches: np.ndarray, min_match: float) -> tuple[int, float]:
    """The step that fits ``c`` given its :func:`step_matches` (see :func:`fit_step`)."""
    top = max(0.0, float(matches.max()))
    fits = np.flatnonzero(matches >= min_match)
    if fits.size == 0:
        return 0, top
    best_q, best_m = int(_STEPS[fits[-1]]), float(matches[fits[-1]])
    on_fitted = np.abs(c - best_q * np.rint(c / best_q)) <= TOLERANCE
    for d in range(best_q // 2, 2, -1):
        if best_q % d == 0:
            finer = (np.abs(c - d * np.rint(c / d)) <= TOLERANCE) & ~on_fitted
            if finer.sum() >= 8 and finer.mean() >= MIN_OFF_LATTICE:
                return d, step_match(c, float(d))
    return best_q, best_m


def ijg_prior(table: np.ndarray, known: np.ndarray) -> int | None:
    """The IJG quality whose luminance table equals the fitted steps in the most
    estimated frequencies, if it does so in at least MIN_IJG_EXACT of them."""
    n = int(known.sum())
    if n == 0:
        return None
    best_q, best_key = None, (0, 0.0)
    for quality in range(1, 101):
        ref = np.asarray(ijg_table(IJG_LUMINANCE, quality), np.float64).reshape(8, 8)
        key = (int((known & (table == ref)).sum()), -float(np.abs(table - ref)[known].sum()))
        if key > best_key:
            best_q, best_key = quality, key
    return best_q if best_key[0] >= MIN_IJG_EXACT * n else None


def _probe_scores(coefs: list[np.ndarray]) -> list[tuple[float, int]]:
    """For each grid's sampled block DCTs (n, 8, 8): the sum of the probe frequencies' best
    normalised matches and how many fit (their steps fitted together)."""
    fits = fit_steps([c[..., u, v].ravel() for c in coefs for u, v in PROBE_FREQS])
    out = []
    for g in range(len(coefs)):
        total, fitting = 0.0, 0
        for q, m in fits[g * len(PROBE_FREQS):(g + 1) * len(PROBE_FREQS)]:
            total += max(m, 0.0)
            fitting += q > 0
        out.append((total, fitting))
    return out


def _grid_scores(y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(8, 8) probe scores and fitting probe counts of every grid origin, on a fixed
    sample of block positions.

    The 15 x 15 pixels that hold a sampled block on every origin are gathered once, and each
    origin's blocks are cut from them and transformed (``DCT8 @ (block - 128) @ DCT8.T``)."""
    h, w = y.shape
    nby, nbx = (h - 7) // 8, (w - 7) // 8
    if nby * nbx < 64:
        return None
    rng = np.random.default_rng(0)
    n = min(GRID_SAMPLE_BLOCKS, nby * nbx)
    pick = rng.choice(nby * nbx, size=n, replace=False)
    rows, cols = pick // nbx, pick % nbx
    span = np.arange(15)
    patches = np.asarray(y, np.float32)[(8 * rows[:, None] + span)[:, :, None], (8 * cols[:, None] + span)[:, None, :]]
    d = DCT8.astype(np.float32)
    scores, fitting = np.zeros((8, 8)), np.zeros((8, 8), np.int64)
    for oy in range(8):  # one row of origins at a time: 8 x 9 probe frequencies fitted together
        row = [d @ (patches[:, oy:oy + 8, ox:ox + 8] - 128.0) @ d.T for ox in range(8)]
        for ox, (sc, fit) in enumerate(_probe_scores(row)):
            scores[oy, ox], fitting[oy, ox] = sc, fit
    return scores, fitting


def find_shifted_grid(y: np.ndarray, own: tuple[int, int] = (0, 0)) -> dict[str, Any] | None:
    """The origin of an earlier JPEG grid other than ``own`` (the file's), or None.

    Returns ``offset`` (row, column), ``z`` (its robust z among the other origins),
    ``ratio`` (its fit over the runner-up's) and ``fitting_probes`` there."""
    g = _grid_scores(y)
    if g is None:
        return None
    flat = g[0].ravel().copy()
    flat[own[0] * 8 + own[1]] = np.nan
    order = np.argsort(-np.nan_to_num(flat, nan=-np.inf))
    best, second = float(flat[order[0]]), float(flat[order[1]])
    med = float(np.nanmedian(flat))
    mad = float(np.nanmedian(np.abs(flat - med)))
    z = (best - med) / max(mad, 1e-3)
    ratio = best / max(second, 1e-3)
    oy, ox = int(order[0] // 8), int(order[0] % 8)
    half = ((oy - own[0]) % 8, (ox - own[1]) % 8) in ((0, 4), (4, 0), (4, 4))
    if z < SHIFT_MIN_Z or ratio < (SHIFT_HALF_BLOCK_RATIO if half else SHIFT_MIN_RATIO):
        return None
    return {"offset": (oy, ox), "z": round(z, 1), "ratio": round(ratio, 2), "fitting_probes": int(g[1][oy, ox])}


def find_lattice(y: np.ndarray) -> dict[str, Any] | None:
    """The JPEG grid and luminance table that ``y`` (float32 luminance 0..255) still
    carries, or None.

    Returns ``offset`` (row, column of the first whole block), ``luma_q`` (8x8 float64,
    natural order; 0 where the step could not be estimated), ``known`` (8x8 bool),
    ``fitting_probes``, ``match`` (mean normalised match of the probe frequencies) and
    ``ijg_quality`` (the IJG quality the table follows, or None).
    """
    g = _grid_scores(y)
    if g is None:
        return None
    scores, fits = g
    oy, ox = (int(i) for i in np.unravel_index(int(np.argmax(scores)), scores.shape))
    if fits[oy, ox] < MIN_LATTICE_FREQS:
        return None
    return lattice_at(y, oy, ox, float(scores[oy, ox]), int(fits[oy, ox]))


def lattice_at(y: np.ndarray, oy: int, ox: int, score: float, fitting: int,
               min_match: float = MIN_MATCH) -> dict[str, Any]:
    """The luminance table ``y`` carries on the grid with origin (oy, ox), whose probe
    frequencies scored ``score`` with ``fitting`` of them fitting (keys as
    :func:`find_lattice`).  ``min_match``: lower for an earlier grid under a later
    compression (``SHIFT_MIN_MATCH``), whose noise blurs the lattice."""
    coefs = block_dct(y, oy, ox)
    table = np.zeros((8, 8), np.float64)
    for u in range(8):
        for v in range(8):
            if u or v:
                table[u, v] = fit_step(coefs[..., u, v].ravel(), min_match)[0]
    quality = ijg_prior(table, table > 0)
    if quality is not None:
        ref = np.asarray(ijg_table(IJG_LUMINANCE, quality), np.float64).reshape(8, 8)
        for u in range(8):
            for v in range(8):
                if not (u or v) or table[u, v] == ref[u, v]:
                    continue
                c = _nonzero(coefs[..., u, v].ravel())
                # the IJG step where it fits (or cannot be checked: steps below 3, or too
                # few non-zero coefficients to matter); the fitted step where it does not
                if ref[u, v] < 3 or c.size < MIN_NONZERO or step_match(c, ref[u, v]) >= min_match:
                    table[u, v] = ref[u, v]
    return {"offset": (oy, ox), "luma_q": table, "known": table > 0, "fitting_probes": int(fitting),
            "match": round(score / len(PROBE_FREQS), 3), "ijg_quality": quality}
