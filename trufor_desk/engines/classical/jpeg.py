"""JPEG compression-history detector: grid alignment (ZERO) and aligned double quantisation.

Two independent traces of a JPEG file's history are looked for, each written from its
paper and vectorised over the whole image:

**Grid origin, after ZERO** (Nikoukhah, Morel, Grompone von Gioi, 2021).  A block that
lies on a JPEG grid, once DCT-transformed, has many coefficients that round to zero;
a block straddling the grid has few.  For every pixel position we count the zeros of
the 8x8 block starting there (a sliding DCT done with 8+64 one-dimensional OpenCV
filters), then every pixel votes for the grid origin of the block containing it that
has the most zeros (ties: no vote).  The most voted origin is the main grid.  A region
whose pixels vote for another origin is declared by an a-contrario test: under the
null hypothesis votes are uniform over the 64 origins, so the number of false alarms of
a window holding ``k`` votes for origin ``g`` is ``N_tests * P[Binomial(n, 1/64) >= k]``.
Votes inside one 8x8 cell are strongly dependent, so ``n`` and ``k`` are counted in
cells (pixels / 64), which keeps the test conservative.  A window with NFA < 1 is
meaningful; a region pasted with a shifted grid and saved at high quality shows up.

**Aligned double quantisation, after Bianchi & Piva** (IEEE TIFS 2012).  On the file's
grid, block DCTs are recomputed from the decoded luminance and divided by the file's
own luminance quantisation table (read from the file bytes), giving, per frequency, the
integers that were stored.  A region that was JPEG compressed before (at step ``q1``) and
again at ``q2`` has a periodic histogram; a pasted region that was not (or was on
another grid, or at another step) does not.  Per frequency, the unquantised
distribution is estimated by calibration (DCT on a grid shifted by 4 pixels), the
single- and double-quantisation models ``p_SQ`` and ``p_DQ(q1)`` are derived from it
(observation noise modelled from the image's own rounding error), and the primary step
``q1`` is chosen by maximum likelihood of the mixture ``a*p_SQ + (1-a)*p_DQ`` fitted
by EM.  Frequencies where that mixture beats the single-quantisation model by a clear
likelihood margin carry evidence; every block gets the log-likelihood ratio
``sum_f log p_SQ(x_f) / p_DQ(x_f)`` (single = tampered over double = original),
smoothed over neighbouring blocks, turned into the posterior probability that the
block was *not* double compressed.

The map is the larger of the two (1 = suspicious).  Non-JPEG inputs are not an error:
the result has ``applicable=False``, an all-zero map and a note.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from trufor_desk.engines.base import AnalysisResult, CancelFn, Checkpoint, ProgressFn, add_details, resolve_params

from . import dq_model
from ._jpeg_common import (
    DCT8,
    base_provenance,
    block_dct_planes,
    blocks_to_pixels,
    estimate_quality,
    grid_offset,
    is_jpeg,
    jpeg_tables,
    luminance,
)

NOT_JPEG_NOTE = "not a JPEG file: the JPEG grid/double-quantisation analysis does not apply"



# ----------------------------------------------------------------------------- ZERO
def zero_counts(y: np.ndarray, step=None) -> np.ndarray:
    """Number of DCT coefficients rounding to zero for the 8x8 block starting at every
    pixel position; uint8 (H-7, W-7).  ``y`` is the float32 luminance."""
    import cv2

    h, w = y.shape
    src = (y - 128.0).astype(np.float32)
    counts = np.zeros((h - 7, w - 7), np.uint8)
    for u in range(8):
        if step is not None:
            step(0.5 * u / 8, "JPEG grid: counting DCT zeros (ZERO)")
        kr = DCT8[u].astype(np.float32).reshape(1, 8)
        rows = cv2.filter2D(src, cv2.CV_32F, kr, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
        for v in range(8):
            kc = DCT8[v].astype(np.float32).reshape(8, 1)
            coef = cv2.filter2D(rows, cv2.CV_32F, kc, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
            counts += (np.abs(coef[:h - 7, :w - 7]) < 0.5)
    return counts


def zero_votes(counts: np.ndarray, h: int, w: int) -> np.ndarray:
    """Per-pixel vote (grid origin ``oy*8 + ox``, or -1 = no vote) from zero counts.

    The 64 blocks containing a pixel start at the 8x8 window of positions above-left of
    it and lie on 64 different grids, so the vote is a windowed arg-max: keys
    ``count*64 + grid`` and ``count*64 + (63 - grid)`` are max-filtered (grey dilation),
    giving the largest count with the highest and the lowest grid among its ties; a
    tie is when those differ.  Positions with a negative count are ignored.
    """
    import cv2

    ch, cw = counts.shape
    yy = (np.arange(ch) % 8)[:, None]
    xx = (np.arange(cw) % 8)[None, :]
    grid = (yy * 8 + xx).astype(np.int16)
    c = counts.astype(np.int16)
    k1 = np.full((h, w), -1, np.int16)
    k2 = np.full((h, w), -1, np.int16)
    ok = c >= 0
    k1[:ch, :cw] = np.where(ok, c * 64 + grid, -1)
    k2[:ch, :cw] = np.where(ok, c * 64 + (63 - grid), -1)
    kern = np.ones((8, 8), np.uint8)
    m1 = cv2.dilate(k1, kern, anchor=(7, 7), borderType=cv2.BORDER_CONSTANT, borderValue=-1)
    m2 = cv2.dilate(k2, kern, anchor=(7, 7), borderType=cv2.BORDER_CONSTANT, borderValue=-1)
    g_hi = m1 % 64
    g_lo = 63 - (m2 % 64)
    votes = g_hi.astype(np.int16)
    votes[(g_hi != g_lo) | (m1 < 64)] = -1
    return votes


def _binom_log10_sf(k: np.ndarray | int, n: int, p: float) -> np.ndarray:
    """log10 P[Binomial(n, p) >= k], floored at -300 (k <= 0 gives 0).

    Uses P[X >= k] = I_p(k, n - k + 1), the regularised incomplete beta function
    (scipy.special, much lighter to import than scipy.stats)."""
    from scipy.special import betainc

    k = np.asarray(k, dtype=np.float64)
    kk = np.clip(k, 1, n)
    val = betainc(kk, n - kk + 1, p)
    val = np.where(k <= 0, 1.0, np.where(k > n, 0.0, val))
    return np.log10(np.maximum(val, 1e-300))


def _cell_vote_counts(votes: np.ndarray) -> np.ndarray:
    """Votes per 8x8 cell and grid: float32 (ceil(H/8), ceil(W/8), 64)."""
    h, w = votes.shape
    ncy, ncx = -(-h // 8), -(-w // 8)
    cell = (np.arange(h)[:, None] // 8) * ncx + (np.arange(w)[None, :] // 8)
    ok = votes >= 0
    key = cell[ok].astype(np.int64) * 64 + votes[ok].astype(np.int64)
    return np.bincount(key, minlength=ncy * ncx * 64).astype(np.float32).reshape(ncy, ncx, 64)


def _meaningful_regions(cells: np.ndarray, grids: list[int], p_of: dict[int, float],
                        log10_tests: float, windows: tuple[int, ...], h: int, w: int
                        ) -> tuple[np.ndarray, float, list[int]]:
    """Pixels of windows where grid ``g`` has significantly many votes (NFA < 1).

    Votes are counted in 8x8 cells (pixels / 64), the independent units; a window of
    ``win`` pixels holds ``n = win^2 / 64`` cells and ``k`` votes for ``g``; its NFA is
    ``10**log10_tests * P[Binomial(n, p_g) >= k]``.  Everything runs on the cell grid
    (64 times fewer values than pixels) and is expanded to pixels at the end.
    """
    import cv2

    ncy, ncx = cells.shape[:2]
    region = np.zeros((ncy, ncx), np.uint8)
    min_nfa = 0.0
    found = []
    for g in grids:
        frac = cells[:, :, g] / 64.0          # fraction of the cell's pixels voting g
        for win in windows:
            wc = win // 8
            if win > min(h, w) or wc < 1:
                continue
            n = wc * wc
            ks = np.arange(0, n + 1)
            lnfa = log10_tests + _binom_log10_sf(ks, n, p_of[g])
            if not (lnfa < 0).any():
                continue
            k_star = int(ks[np.argmax(lnfa < 0)])
            k = cv2.boxFilter(frac, cv2.CV_32F, (wc, wc), normalize=False, borderType=cv2.BORDER_CONSTANT)
            kmax = float(k.max())
            if kmax < k_star:
                continue
            min_nfa = min(min_nfa, float(lnfa[min(int(kmax), n)]))
            centres = (k >= k_star).astype(np.uint8)
            cover = cv2.dilate(centres, np.ones((wc, wc), np.uint8)) > 0
            dens = cv2.boxFilter(frac, cv2.CV_32F, (3, 3), borderType=cv2.BORDER_REFLECT)
            reg = (cover & (dens > 1.5 * p_of[g] + 0.05)).astype(np.uint8)
            reg = cv2.morphologyEx(reg, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
            region = np.maximum(region, reg)
            found.append(g)
    up = np.repeat(np.repeat(region, 8, axis=0), 8, axis=1)[:h, :w].astype(np.float32)
    return up, min_nfa, sorted(set(found))


def zero_analysis(y: np.ndarray, windows: tuple[int, ...] = (32, 64), step=None) -> dict[str, Any]:
    """ZERO grid votes, the main grid with its NFA, and the map of meaningful regions
    aligned to another grid.

    Two vote maps are used.  The first is ZERO's own: every pixel votes among all 64
    origins; a region whose last compression was on another grid (e.g. a JPEG-decoded
    image cropped and saved at very high quality) votes for it.  In a JPEG file the
    last compression's grid usually wins everywhere, so a second vote excludes every
    origin sharing a row or a column offset with the main grid (those inherit zeros
    from it): a region that still carries an earlier, shifted grid (a non-aligned paste)
    then concentrates its votes on that grid, while elsewhere the votes stay spread.
    For this second vote the background probability of each origin is its share of all
    votes, not 1/49, because blocking of the main grid favours some origins.
    """
    h, w = y.shape
    out: dict[str, Any] = {"main_grid": None, "main_log10_nfa": 0.0, "map": np.zeros((h, w), np.float32),
                           "min_log10_nfa": 0.0, "foreign_grids": []}
    if h < 8 or w < 8:
        return out
    counts = zero_counts(y, step)
    if step is not None:
        step(0.5, "JPEG grid: votes")
    votes = zero_votes(counts, h, w)
    valid = votes >= 0
    hist = np.bincount(votes[valid].astype(np.int64), minlength=64)
    n_votes = int(valid.sum())
    if n_votes == 0:
        return out
    main = int(hist.argmax())
    # global test of the main grid: cells, not pixels, are the independent units
    n_cells = max(n_votes // 64, 1)
    k_cells = int(hist[main] // 64)
    main_nfa = float(np.log10(64) + _binom_log10_sf(k_cells, n_cells, 1 / 64)) if k_cells > 0 else 0.0
    out.update(main_grid=(main // 8, main % 8), main_log10_nfa=main_nfa)
    if main_nfa >= 0:  # no meaningful grid at all: nothing to compare regions with
        return out
    n_windows = max((h * w) // 64, 1)
    nwin = len(windows)
    cands = [int(g) for g in np.nonzero(hist)[0] if g != main and hist[g] >= 64 * 4]
    reg1, nfa1, f1 = _meaningful_regions(_cell_vote_counts(votes), cands, {g: 1 / 64 for g in cands},
                                         float(np.log10(63 * n_windows * nwin)), windows, h, w)
    if step is not None:
        step(0.75, "JPEG grid: secondary votes")
    my, mx = main // 8, main % 8
    # origins are absolute: block starting at (i, j) lies on grid (i % 8, j % 8)
    c2 = counts.astype(np.int16)
    c2[my::8, :] = -1
    c2[:, mx::8] = -1
    votes2 = zero_votes(c2, h, w)
    v2 = votes2 >= 0
    hist2 = np.bincount(votes2[v2].astype(np.int64), minlength=64)
    n2 = max(int(v2.sum()), 1)
    cands2 = [int(g) for g in np.nonzero(hist2)[0] if hist2[g] >= 64 * 4]
    p2 = {g: float(min(max(hist2[g] / n2, 1 / 49), 0.5)) for g in cands2}
    reg2, nfa2, f2 = _meaningful_regions(_cell_vote_counts(votes2), cands2, p2,
                                         float(np.log10(49 * n_windows * nwin)), windows, h, w)
    region = np.maximum(reg1, reg2)
    found = sorted(set(f1) | set(f2))
    out.update(map=region, min_log10_nfa=min(nfa1, nfa2), foreign_grids=[(g // 8, g % 8) for g in found])
    return out


# ------------------------------------------------------------- double quantisation
def dq_analysis(y: np.ndarray, q_table: np.ndarray, n_freq: int = 20,
                step=None) -> dict[str, Any]:
    """Bianchi-Piva aligned double-quantisation posterior per 8x8 block (the model and the
    per-frequency fit are ``dq_model``'s, shared with ``adq.py``)."""
    import cv2

    coefs = block_dct_planes(y, 0, 0)
    nby, nbx = coefs.shape[2:]
    out: dict[str, Any] = {"block_map": np.zeros((nby, nbx), np.float32), "freqs": [], "sigma": 0.0}
    if nby * nbx < 16:
        return out
    calib = block_dct_planes(y, 4, 4)
    q, xr, x = dq_model.stored_integers(coefs, q_table)
    sigma = dq_model.coefficient_noise(xr, x, q)
    out["sigma"] = sigma
    llr = np.zeros((nby, nbx), np.float32)
    freqs = []
    nblocks = nby * nbx
    for idx, (u, v) in enumerate(dq_model.ZIGZAG[1:n_freq + 1]):
        if step is not None:
            step(idx / n_freq, "double quantisation: fitting primary steps")
        q2 = float(q[u, v])
        fit = dq_model.fit_frequency(x[u, v].ravel(), calib[u, v].ravel(), q2, sigma,
                                     dq_model.max_primary_step(q2))
        gain = fit["gain"] * fit["n"]  # nats over the whole image
        # A clear likelihood margin.  The calibrated single-quantisation model is only an
        # approximation, and its misfit grows with the number of blocks, so chance gains
        # of a free mixture do too: on single-compressed images they stay below ~0.06 per
        # block, while a real double quantisation gains 0.2-0.7 per block.  The mixture
        # must also say that most blocks are double compressed (the host).
        if fit["q1"] and gain > 20.0 + 0.1 * nblocks and fit["alpha"] < 0.85:
            llr += dq_model.block_llr(x[u, v], fit["llr"])
            freqs.append({"u": u, "v": v, "q2": q2, "q1": int(fit["q1"]), "gain": round(gain, 1),
                          "alpha": round(fit["alpha"], 3)})
    out["freqs"] = freqs
    if len(freqs) < 3:  # one or two stray frequencies are not a double compression
        out["freqs"] = []
        return out
    sm = cv2.boxFilter(llr, cv2.CV_32F, (3, 3), normalize=True, borderType=cv2.BORDER_REFLECT) * 3.0
    post = 1.0 / (1.0 + np.exp(-np.clip(sm, -30, 30)))
    out["block_map"] = post.astype(np.float32)
    return out


# ------------------------------------------------------------------------ engine
class JpegEngine:
    """JPEG grid (ZERO) and aligned double-quantisation (Bianchi & Piva) detector."""

    name = "jpeg"
    version = "1.0.0"
    requires_weights = False
    OPTIONS: tuple[str, ...] = ()
    DEFAULTS: dict[str, Any] = {"dq_frequencies": 20, "zero_windows": [32, 64]}

    def __init__(self) -> None:
        pass

    def params(self) -> dict[str, Any]:
        return {**self.DEFAULTS, "zero_windows": list(self.DEFAULTS["zero_windows"])}

    def analyze(self, evidence, params: dict[str, Any] | None = None,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> AnalysisResult:
        ck = Checkpoint(progress, cancel)
        ck.step(0.0, "JPEG analysis: reading the file's tables")
        t0 = time.perf_counter()
        rgb = evidence.rgb
        h, w = rgb.shape[:2]
        all_params = resolve_params(self.name, self.params(), params, fixed=tuple(self.params()))
        prov = base_provenance(evidence, method="Nikoukhah et al., ZERO JPEG grid, 2021; "
                                                "Bianchi & Piva, double quantisation, IEEE TIFS 2012")
        notes: list[str] = []
        jpeg = is_jpeg(evidence)
        tables = jpeg_tables(getattr(evidence, "raw", b"")) if jpeg else None
        colour_ok = str(getattr(evidence, "mode", "RGB")) in ("RGB", "L", "YCbCr")
        if tables is None or not colour_ok:
            if not jpeg:
                note = NOT_JPEG_NOTE
            elif not colour_ok:
                note = (f"{evidence.mode} JPEG: its stored channels are not YCbCr luminance, so the JPEG "
                        "grid/double-quantisation analysis does not apply")
            else:
                note = "JPEG quantisation tables could not be read: the JPEG grid/double-quantisation " \
                       "analysis does not apply"
            ck.step(1.0, "JPEG analysis: not applicable")
            return AnalysisResult(engine=self.name, engine_version=self.version,
                                  localization=np.zeros((h, w), np.float32), params=all_params,
                                  provenance=prov, notes=[note], applicable=False,
                                  timings={"total_s": round(time.perf_counter() - t0, 3)})
        q2 = tables["luma_q"]
        add_details(prov, jpeg_quality_estimate=estimate_quality(q2), jpeg_progressive=bool(tables["progressive"]),
                    jpeg_luma_table=" ".join(str(int(v)) for v in q2.ravel()))
        y = luminance(rgb)
        ck.step(0.05, "JPEG grid: counting DCT zeros (ZERO)")
        t1 = time.perf_counter()
        z = zero_analysis(y, step=ck.sub(0.05, 0.55).step)
        t_zero = time.perf_counter() - t1
        ck.step(0.55, "JPEG grid: done; double quantisation")
        t2 = time.perf_counter()
        goy, gox = grid_offset(evidence)  # a selection starts off the file's 8x8 grid
        dq = dq_analysis(y[goy:, gox:], q2, step=ck.sub(0.55, 0.95).step)
        t_dq = time.perf_counter() - t2
        dq_map = blocks_to_pixels(dq["block_map"], h, w, oy=goy, ox=gox)
        zero_map = z["map"].astype(np.float32)
        loc = np.clip(np.maximum(dq_map, zero_map), 0.0, 1.0).astype(np.float32)

        # notes and a score
        main = z["main_grid"]
        if main is None or z["main_log10_nfa"] >= 0:
            notes.append("no meaningful JPEG grid found in the pixels (ZERO)")
        elif tuple(main) != (0, 0):
            notes.append(f"main JPEG grid origin is {main} (row, column), not (0, 0): "
                         "the image was likely cropped after an earlier compression")
        if z["foreign_grids"]:
            notes.append(f"regions aligned to other JPEG grids: {z['foreign_grids']} "
                         f"(best log10 NFA {z['min_log10_nfa']:.1f})")
        if dq["freqs"]:
            notes.append(f"aligned double quantisation found in {len(dq['freqs'])} DCT frequencies; "
                         "the map is the posterior that a block was compressed only once")
        else:
            notes.append("no aligned double-quantisation trace (single compression, or a primary "
                         "quantisation the analysis cannot tell apart); the DQ part of the map is empty")
        zero_score = 1.0 / (1.0 + 10.0 ** z["min_log10_nfa"]) if z["foreign_grids"] else 0.0
        if dq["freqs"] and dq["block_map"].size:
            bm = dq["block_map"]
            k = max(16, bm.size // 100)
            dq_score = float(np.sort(bm.ravel())[-min(k, bm.size)])
        else:
            dq_score = 0.0
        score = float(max(zero_score, dq_score))  # kept in the provenance only: not a probability
        from trufor_desk.engines.classical.calibration import no_score_note

        notes.append(no_score_note(self.name))
        ck.step(1.0, "JPEG analysis: done")
        add_details(prov, dq_frequencies_used=len(dq["freqs"]),
                    dq_primary_steps=" ".join(f"{f['u']}{f['v']}:{f['q1']}/{int(f['q2'])}" for f in dq["freqs"]),
                    dq_noise_sigma=round(float(dq.get("sigma", 0.0)), 3),
                    zero_main_grid="" if main is None else f"{main[0]},{main[1]}",
                    zero_main_log10_nfa=round(float(z["main_log10_nfa"]), 2),
                    heuristic_statistic=round(score, 4))
        return AnalysisResult(engine=self.name, engine_version=self.version, localization=loc,
                              score=None, extras={}, params=all_params, provenance=prov, notes=notes,
                              timings={"zero_s": round(t_zero, 3), "dq_s": round(t_dq, 3),
                                       "total_s": round(time.perf_counter() - t0, 3)})
