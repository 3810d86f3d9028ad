"""Aligned double quantisation over every DCT frequency (the ADQ family).

Written from Bianchi & Piva, "Image forgery localization via block-grained analysis of
JPEG artifacts", IEEE TIFS 7(3), 2012, and Lin et al., "Fast, automatic and
fine-grained tampered JPEG image detection via DCT coefficient analysis", Pattern
Recognition 42(11), 2009.

A photograph spliced and saved again as JPEG keeps, in its untouched part, the trace of
its first compression: on the file's 8x8 grid the stored integers of each DCT frequency
were quantised twice, first with an unknown step ``q1`` and then with the file's step
``q2``, which leaves a periodic pattern in their histogram.  A pasted region that was
resized, rotated or taken from another grid was quantised only once, by ``q2``.

Per frequency (all 63 AC frequencies by default; the 27 lowest that earlier ADQ work
used miss most of the evidence when ``q1 < q2``, as in photos saved at a lower quality
after editing):

1. the stored integers are recomputed from the decoded luminance (DCT on the file's
   grid divided by the file's own quantisation table, read from the file bytes);
2. the unquantised distribution is estimated by calibration: the same DCT on a grid
   shifted by (4, 4), where no quantisation was applied;
3. the single-quantisation model ``p_SQ`` and, for every candidate ``q1``, the double
   quantisation model ``p_DQ(q1)`` follow from it (observation noise modelled from the
   image's own rounding error); the primary step is the ``q1`` whose mixture
   ``a p_SQ + (1 - a) p_DQ`` (``a`` fitted by EM, all candidates at once) has the
   highest likelihood.  This is the estimate of the primary quantisation table,
   recorded per frequency;
4. a frequency is used when the mixture beats the single-quantisation model by
   ``min_gain`` nats per block (chance gains on single-compressed photographs stay
   below ~0.01 per block per frequency); the block's evidence is the log-ratio
   ``log p_SQ(x) / p_DQ(x)`` of its value, clipped to +-3 per frequency, summed over
   the used frequencies and smoothed with a Gaussian of ``smooth_blocks`` blocks.

Outputs (per 8x8 block, upsampled to pixels by the caller):
``single_posterior``: probability that the block was compressed once, if the image has
a double-compression history; ``dq_gain``: the total gain per block over the used
frequencies, the image-level strength of that history; ``evidence``: how many used
frequencies carry a non-zero value in the block (flat blocks carry almost none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from trufor_desk.engines.classical._jpeg_common import block_dct_planes
from trufor_desk.engines.classical.dq_model import (
    ZIGZAG,
    block_llr,
    coefficient_noise,
    fit_frequency,
    max_primary_step,
    stored_integers,
)

StepFn = Callable[[float, str], None]


def single_posterior(llr: np.ndarray) -> np.ndarray:
    """Per block, the probability of a single compression given a double-compression
    history: the logistic of the smoothed log-likelihood ratio."""
    return (1.0 / (1.0 + np.exp(-np.clip(llr, -30, 30)))).astype(np.float32)


def weighted_smooth(maps: tuple[np.ndarray, ...], weight: np.ndarray,
                    sigma: float) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """Gaussian smoothing of block maps in which each block counts with ``weight`` (0..1): the
    weighted mean of each block's neighbourhood (a normalised convolution).  Returns the smoothed
    maps, ``support`` (the share of the Gaussian weight the weighted blocks carry, 1 where all
    do) and ``spread``: how much larger the standard deviation of that mean is than a plain
    Gaussian mean's over independent blocks, sqrt(sum((G w)^2) / (sum G w)^2 / sum G^2), with
    G^2 a Gaussian of sigma / sqrt(2) over 4 pi sigma^2 (1 where every block counts)."""
    import cv2

    def blur(a: np.ndarray, s: float = sigma) -> np.ndarray:
        return cv2.GaussianBlur(np.asarray(a, np.float32), (0, 0), s, borderType=cv2.BORDER_REFLECT)

    wt = np.asarray(weight, np.float32)
    support = blur(wt)
    den = np.maximum(support, 1e-3)
    spread = np.sqrt(np.maximum(blur(wt, sigma / np.sqrt(2.0)), 1e-6) / den ** 2).astype(np.float32)
    return tuple(blur(m * wt) / den for m in maps), support, spread


def adq_analysis(y: np.ndarray, q_table: np.ndarray, n_freq: int = 63, min_gain: float = 0.02,
                 smooth_blocks: float = 2.0, step: StepFn | None = None,
                 known: np.ndarray | None = None, weight: np.ndarray | None = None) -> dict[str, Any]:
    """Aligned double-quantisation analysis of a luminance plane on the (0, 0) grid.

    ``y``: float32 JPEG luminance (0..255); ``q_table``: the file's 8x8 luminance table;
    ``known``: 8x8 bool, the frequencies whose step is known (all when None; a table
    estimated from pixels leaves some unknown, and those are left out).
    ``weight``: optional (nby, nbx) block weights 0..1 for the smoothing (blocks whose
    coefficients carry no evidence, weight 0, neither reach their neighbours nor keep their
    own value: each smoothed block is the weighted mean of its neighbourhood, a normalised
    convolution, ``support`` says how much weight that mean rests on and ``spread`` how much
    larger its standard deviation is than a mean over a full neighbourhood's).
    Returns block maps ``single_posterior``, ``llr`` (smoothed, before the logistic),
    ``evidence`` and the image-level ``dq_gain``, plus the per-frequency fits
    (``freqs``: u, v, q2, estimated q1, gain) and the estimated primary table
    (``primary_table``: 8x8, 0 where no trace was found).
    """
    import cv2

    # coefficients laid out by frequency (8, 8, nby, nbx): each frequency's values over all
    # blocks are contiguous for the per-frequency fits below
    coefs = block_dct_planes(y, 0, 0)
    nby, nbx = coefs.shape[2:]
    out: dict[str, Any] = {"single_posterior": np.zeros((nby, nbx), np.float32),
                           "llr": np.zeros((nby, nbx), np.float32),
                           "evidence": np.zeros((nby, nbx), np.float32),
                           "dq_gain": 0.0, "chance_gain": 0.0, "freqs": [], "sigma": 0.0,
                           "primary_table": np.zeros((8, 8), np.int32), "support": np.ones((nby, nbx), np.float32),
                           "spread": np.ones((nby, nbx), np.float32)}
    if nby * nbx < 16:
        return out
    calib = block_dct_planes(y, 4, 4)
    known = np.ones((8, 8), bool) if known is None else np.asarray(known, bool)
    q, xr, x = stored_integers(coefs, q_table)
    del coefs
    sigma = coefficient_noise(xr, x, q, known)
    del xr
    out["sigma"] = sigma
    llr = np.zeros((nby, nbx), np.float32)
    evidence = np.zeros((nby, nbx), np.float32)
    freqs: list[dict[str, Any]] = []
    total_gain = 0.0
    zig = ZIGZAG[1:n_freq + 1]
    for i, (u, v) in enumerate(zig):
        if step is not None:
            step(i / len(zig), "double quantisation: estimating the primary table")
        if not known[u, v]:
            continue
        q2 = float(q[u, v])
        xv = x[u, v]
        fit = fit_frequency(xv.ravel(), calib[u, v].ravel(), q2, sigma, max_primary_step(q2))
        if not fit["q1"] or fit["gain"] <= min_gain:
            continue
        llr += block_llr(xv, fit["llr"])
        evidence += (xv != 0)
        total_gain += fit["gain"]
        out["primary_table"][u, v] = fit["q1"]
        freqs.append({"u": u, "v": v, "q2": int(q2), "q1": int(fit["q1"]), "gain": round(fit["gain"], 4),
                      "alpha": round(fit["alpha"], 3)})
    out["freqs"] = freqs
    out["chance_gain"] = min(float(total_gain), chance_gain(nby * nbx))
    out["dq_gain"] = float(total_gain) - out["chance_gain"]
    if freqs:
        if weight is None:
            sm = cv2.GaussianBlur(llr, (0, 0), smooth_blocks, borderType=cv2.BORDER_REFLECT)
            ev = cv2.GaussianBlur(evidence, (0, 0), smooth_blocks, borderType=cv2.BORDER_REFLECT)
        else:
            (sm, ev), out["support"], out["spread"] = weighted_smooth((llr, evidence), weight, smooth_blocks)
        out["llr"] = sm
        out["single_posterior"] = single_posterior(sm)
        out["evidence"] = ev
    return out


# ------------------------------------------------------------------------ engine
# How strong the double-compression history must be (total gain, nats per block over
# the used frequencies) for an even chance that the image has one, and the width of
# that transition on a log scale.  On casia-dev's 200 authentic camera JPEGs the median
# total gain is 0.18 and the 95th percentile 0.55; on its 300 manipulated ones the
# 10th percentile is 0.49 and the median 6.5.
DQ_HALF_GAIN = 0.7
DQ_LOG_WIDTH = 0.5
# What a single-compressed image reaches by chance grows fast as the image shrinks: the
# models are built from the image's own calibration histogram, and with few blocks a
# mixture with some primary step fits that histogram's sampling noise.  Measured on
# casia-dev's authentic photos downscaled (Lanczos, factors 0.25-0.9: 96-1244 blocks,
# which erases their history) and saved once at quality 70, 80 and 92
# (``benchmarks/bench_chance_gain.py``): the 95th percentile of the total gain follows
# about CHANCE_GAIN_SCALE * blocks ** -CHANCE_GAIN_POWER (fitted at quality 92, the highest
# of the three: measured 25 at 96 blocks, 5.0 at 384, 1.2 at 983; the curve gives 37, 5.0
# and 1.3, above the measurement at the smallest sizes).  Median gains of 1.9-3.6 at 384
# blocks made 32-54 % of such authentic copies read as manipulated before this correction.
# DQ_HALF_GAIN was chosen on casia-dev's 384x256 photos (1536 blocks), where that chance
# level is already part of what it separates, so a smaller image has the difference
# between its own level and the level at 1536 blocks taken off its gain; at 1536 blocks and
# above nothing changes (larger images reach less by chance: the correction stays off,
# which errs towards saying less).
CHANCE_GAIN_SCALE = 28000.0
CHANCE_GAIN_POWER = 1.45
CHANCE_REFERENCE_BLOCKS = 1536


def chance_gain(n_blocks: int) -> float:
    """The part of a total double-compression gain an image of ``n_blocks`` 8x8 blocks reaches
    by chance beyond what an image of CHANCE_REFERENCE_BLOCKS reaches (0 from there on)."""
    n = max(int(n_blocks), 1)
    if n >= CHANCE_REFERENCE_BLOCKS:
        return 0.0
    return CHANCE_GAIN_SCALE * (n ** -CHANCE_GAIN_POWER - CHANCE_REFERENCE_BLOCKS ** -CHANCE_GAIN_POWER)


# Fewer 8x8 blocks than this (a 64x64 image) give per-frequency histograms too thin to
# judge a compression history: the analysis declares itself not applicable.
MIN_BLOCKS = 64


def log_dq_gain(gain: float) -> float:
    """The statistic the image-level scores are calibrated on (``calibration.py``): the log
    of the total double-compression gain, offset so that a gain of 0 stays finite."""
    return float(np.log(float(gain) + 0.01))


def dq_presence(gain: float) -> float:
    """Probability-like weight that the image has an aligned double-compression history."""
    z = (np.log(max(float(gain), 1e-6)) - np.log(DQ_HALF_GAIN)) / DQ_LOG_WIDTH
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -60, 60))))


def block_reliability(evidence: np.ndarray) -> np.ndarray:
    """Where a block's verdict rests on data: about 1 with three or more informative
    (non-zero) coefficients in the used frequencies, near 0 on flat blocks."""
    return (1.0 - np.exp(-np.maximum(evidence, 0.0) / 1.5)).astype(np.float32)


def jpeg_luma_table(evidence: Any) -> tuple[np.ndarray | None, str]:
    """The file's luminance quantisation table, or (None, why the analysis does not apply)."""
    from trufor_desk.engines.classical._jpeg_common import is_jpeg, jpeg_tables
    from trufor_desk.engines.classical.jpeg import NOT_JPEG_NOTE

    if not is_jpeg(evidence):
        return None, NOT_JPEG_NOTE
    if str(getattr(evidence, "mode", "RGB")) not in ("RGB", "L", "YCbCr"):
        return None, (f"{evidence.mode} JPEG: its stored channels are not YCbCr luminance, so the "
                      "double-quantisation analysis does not apply")
    tables = jpeg_tables(getattr(evidence, "raw", b""))
    if tables is None:
        return None, "JPEG quantisation tables could not be read: the double-quantisation analysis does not apply"
    return tables["luma_q"], ""


def luma_table_and_grid(evidence: Any, y: np.ndarray) -> dict[str, Any]:
    """Where the JPEG history comes from: the file's own table on the file's grid, or, for
    a file that is no longer a JPEG, the table and grid its pixels still carry
    (``jpeg_lattice``).  Keys: ``q`` (None when nothing applies), ``known``, ``offset``,
    ``source`` ("file" / "pixels"), ``note`` (why not, or what was estimated), ``quality``
    (the table's estimated JPEG quality, or None)."""
    from trufor_desk.engines.classical._jpeg_common import estimate_quality, grid_offset, is_jpeg
    from trufor_desk.engines.classical.jpeg_lattice import find_lattice

    q, note = jpeg_luma_table(evidence)
    if q is not None:
        return {"q": q, "known": None, "offset": grid_offset(evidence), "source": "file", "note": "",
                "quality": estimate_quality(q)}
    out = {"q": None, "known": None, "offset": (0, 0), "source": "", "note": note, "quality": None}
    if is_jpeg(evidence) or str(getattr(evidence, "mode", "RGB")) not in ("RGB", "RGBA", "L", "P", "LA"):
        return out
    lat = find_lattice(y)
    if lat is None:
        return out
    ijg = (f"IJG quality {lat['ijg_quality']}" if lat["ijg_quality"] is not None
           else "a non-standard table")
    quality = None if lat["ijg_quality"] is None else float(lat["ijg_quality"])
    out.update(q=lat["luma_q"], known=lat["known"], offset=lat["offset"], source="pixels", quality=quality,
               note=(f"not a JPEG file, but its pixels carry the 8x8 quantisation lattice of an earlier JPEG "
                     f"compression ({ijg}, grid origin at row {lat['offset'][0]}, column {lat['offset'][1]}): "
                     f"the table of {int(lat['known'].sum())} of 63 frequencies was estimated from the pixels"))
    return out


def history_source(evidence: Any, y: np.ndarray) -> dict[str, Any]:
    """:func:`luma_table_and_grid`, with ``q`` None (and ``note`` saying so) when the image
    holds fewer than MIN_BLOCKS whole blocks on that grid."""
    src = luma_table_and_grid(evidence, y)
    oy, ox = src["offset"]
    h, w = y.shape
    if src["q"] is not None and ((h - oy) // 8) * ((w - ox) // 8) < MIN_BLOCKS:
        src = {**src, "q": None, "note": (f"image too small for double-quantisation statistics (fewer than "
                                          f"{MIN_BLOCKS} 8x8 blocks)")}
    return src


def block_map_to_pixels(block_map: np.ndarray, h: int, w: int, oy: int = 0, ox: int = 0) -> np.ndarray:
    """A per-block map on the grid with origin (oy, ox) as an h x w pixel map: bilinear, block
    centres on block centres, the margins before the origin replicated."""
    import cv2

    from trufor_desk.engines.classical._common import upsample

    up = upsample(block_map, h - oy, w - ox, 8)
    return cv2.copyMakeBorder(up, oy, 0, ox, 0, cv2.BORDER_REPLICATE) if oy or ox else up


def run_adq(evidence: Any, params: dict[str, Any], step: StepFn | None = None) -> dict[str, Any]:
    """ADQ on an evidence item: pixel maps ``single`` (P(compressed once | DQ history)),
    ``reliability`` and ``localization`` (``single`` weighted by the image's DQ presence),
    the image-level ``presence`` and the block-level analysis; ``applicable`` False with a
    ``note`` when the image has no readable JPEG history.  ``table_source`` says where the
    table came from ("file", or "pixels" for a converted JPEG; ``note`` then says so)."""
    from trufor_desk.engines.classical._jpeg_common import luminance

    rgb = evidence.rgb
    h, w = rgb.shape[:2]
    y = luminance(rgb)
    src = history_source(evidence, y)
    q, note, (oy, ox) = src["q"], src["note"], src["offset"]  # a selection starts off the file's grid
    if q is None:
        zeros = np.zeros((h, w), np.float32)
        return {"applicable": False, "note": note, "single": zeros, "reliability": zeros,
                "localization": zeros, "presence": 0.0, "gain": 0.0, "freqs": [], "quality": None,
                "table_source": ""}
    a = adq_analysis(y[oy:, ox:], q, n_freq=int(params["frequencies"]), min_gain=float(params["min_gain"]),
                     smooth_blocks=float(params["smooth_blocks"]), step=step, known=src["known"])
    presence = dq_presence(a["dq_gain"])
    single = block_map_to_pixels(a["single_posterior"], h, w, oy, ox)
    rel = (block_map_to_pixels(block_reliability(a["evidence"]), h, w, oy, ox) if a["freqs"]
           else np.zeros((h, w), np.float32))
    return {"applicable": True, "note": note, "single": single, "reliability": rel,
            "localization": (single * presence).astype(np.float32), "presence": presence,
            "gain": a["dq_gain"], "chance_gain": a["chance_gain"], "freqs": a["freqs"], "sigma": a["sigma"],
            "primary_table": a["primary_table"], "quality": src["quality"], "table_source": src["source"],
            "grid_offset": [int(oy), int(ox)]}


def describe_primary(freqs: list[dict[str, Any]]) -> str:
    """'uv:q1/q2 ...' for the frequencies where a primary step was found."""
    return " ".join(f"{f['u']}{f['v']}:{f['q1']}/{f['q2']}" for f in freqs)


class AdqEngine:
    """Aligned double quantisation over all 63 DCT frequencies (Bianchi & Piva 2012)."""

    name = "adq"
    # 1.2: the gain a small image reaches by chance is taken off (chance_gain); 1.1: converted JPEGs
    # (table and grid estimated from the pixels)
    version = "1.2.0"
    requires_weights = False
    OPTIONS: tuple[str, ...] = ()
    DEFAULTS: dict[str, Any] = {"frequencies": 63, "min_gain": 0.02, "smooth_blocks": 2.0}

    def analyze(self, evidence, params: dict[str, Any] | None = None, progress=None, cancel=None):
        import time

        from trufor_desk.engines import base
        from trufor_desk.engines.classical import calibration

        ck = base.Checkpoint(progress, cancel)
        t0 = time.perf_counter()
        p = base.resolve_params(self.name, self.DEFAULTS, params)
        ck.step(0.0, "double quantisation: reading the file's tables")
        r = run_adq(evidence, p, step=ck.sub(0.02, 0.98).step)
        notes = [r["note"]] if r["note"] else []
        score, cal = None, None
        if r["applicable"]:
            score, cal = calibration.calibrated_score(self.name, {"log_dq_gain": log_dq_gain(r["gain"])})
            if r["freqs"]:
                notes.append(f"double-compression history: total gain {r['gain']:.2f} nats per block over "
                             f"{len(r['freqs'])} frequencies (presence {r['presence']:.2f}); the map is the "
                             "probability that a block was compressed only once, weighted by that presence")
                if r["chance_gain"] > 0:
                    notes.append(f"a small image: {r['chance_gain']:.2f} nats per block of that gain were taken "
                                 "off, what single-compressed images of this size reach by chance")
            else:
                notes.append("no aligned double-quantisation trace: single compression, or a primary "
                             "quantisation this analysis cannot tell apart; the map is empty")
        ck.step(1.0, "double quantisation: done")
        prov = base.standard_provenance(
            evidence, method="Bianchi & Piva, aligned double quantisation, IEEE TIFS 2012 (all AC frequencies)",
            details={"dq_gain": round(float(r["gain"]), 4),
                     "dq_gain_by_chance": round(float(r.get("chance_gain", 0.0)), 4),
                     "dq_presence": round(float(r["presence"]), 4),
                     "primary_steps": describe_primary(r["freqs"]), "jpeg_quality_estimate": r["quality"],
                     "table_source": r["table_source"], "grid_offset": r.get("grid_offset")})
        return base.AnalysisResult(
            engine=self.name, engine_version=self.version, localization=r["localization"],
            reliability=r["reliability"] if r["applicable"] else None, score=score, score_calibration=cal,
            extras={"adq_single": r["single"]} if r["applicable"] else {}, params=p, provenance=prov,
            notes=notes, applicable=r["applicable"], timings={"total_s": round(time.perf_counter() - t0, 3)})
