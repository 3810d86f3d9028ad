"""The compression history of an image, layer by layer, and where it is broken.

Evidence rarely arrives as the camera wrote it: messaging apps and social networks save
it again (often at another quality), crop it, or resize it.  Each JPEG save on the same
8x8 grid leaves a layer that aligned double quantisation (``adq.py``) can read: the
file's table over the table before it.  This module reads as many layers as the pixels
keep and says, in one sentence, which history it found:

1. **Layer 1**: ADQ with the file's own table on the file's grid (or, for a JPEG saved
   as PNG/TIFF, the table and grid its pixels carry, ``jpeg_lattice``).  Blocks
   compressed only once here were added after the previous save.
2. **Layer 2** (peeling): when layer 1 finds a history, its primary steps are the table
   of the save before; ADQ with that table on the same grid reads the save before that.
   An authentic photo re-saved once shows layer 1 and nothing below it; a splice saved
   and then re-shared shows its once-compressed region in layer 2 (casia-dev re-saved at
   quality 95: mean F1-best of the splice 0.78 in layer 2 against 0.29 in layer 1, on a
   sample of twelve).  It works when the last save is finer than the one before; a last
   save coarser than the earlier one wipes the earlier lattice.
3. **A shifted grid** (non-aligned double compression, ``jpeg_lattice.find_shifted_grid``):
   an earlier JPEG grid that does not line up with the file's means the image was cropped
   (or shifted) after an earlier save.  It is reported, not localised with: ADQ on that
   grid, with the table estimated through the later save's rounding, marked the splices of
   casia-dev cropped and re-saved at quality 95 with F1-best 0.04-0.6 (eight photographs),
   while camera originals of casia-dev that had been cropped before they were published
   (some have an earlier grid at z > 300) read as partly compressed once: a map that
   accuses authentic photos.

Each layer's evidence becomes a map by one rule (:func:`once_map`: a block stands out
from the image's untouched majority and does not favour double compression), weighted by
the layer's presence; the history's map is the largest of them.  Blocks holding a clipped
pixel (:func:`clipped_blocks`: they leave the lattice whatever their history) carry no
evidence: they are left out of the smoothing of the block evidence (a normalised
convolution, ``adq.weighted_smooth``: each block's ratio is the weighted mean over its
unclipped neighbours, so a clipped block neither reads as compressed once nor raises its
neighbours).  A block is read where unclipped blocks carry at least FILL_SUPPORT of its
smoothing weight (:func:`readable_blocks`: a highlight inside a pasted region is read
through, a mostly saturated area is not), and its departure from the majority is divided
by how much noisier its mean is than a full neighbourhood's (``spread``).
A history with no once-compressed region is the signature of an authentic photograph
passed on; a double-compression history alone is not evidence of manipulation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trufor_desk.engines.classical import adq

StepFn = Callable[[float, str], None]

# When a block reads as compressed once at a layer: its smoothed log-likelihood ratio of
# single over double quantisation (``adq.adq_analysis``, nats) must exceed the image's
# typical block (the median: the untouched majority) by RELATIVE_NATS and by RELATIVE_MADS
# of the image's own spread (median absolute deviation), and must not clearly favour
# double quantisation (above FLOOR_NATS).  The map is
# sigmoid(MAP_SLOPE * min(llr - median - max(RELATIVE_NATS, RELATIVE_MADS * mad), llr - FLOOR_NATS)),
# 0.5 exactly where all hold.  Layer 1 (the file's own table): 2 nats, 3 deviations, floor -4;
# the peeled layer, read through the later save's rounding, needs 6 nats and a floor of 0.
# Chosen on casia-dev and its copies re-saved at 95 and 85 (block level: per-image F1 at 0.5,
# and the share of authentic copies with any block marked): the absolute ratio alone
# (llr > 0, the former map) gave F1 0.43 on casia-dev and marked blocks in 62 % of its
# double-compressed authentic photos; this rule 0.51 and 50 %, and 6 % / 56 % (was 11 % /
# 68 %) of the authentic copies re-saved at 95 / 85.  Fusion 1.3 compares a block with the
# majority at its own amount of evidence (expected_llr) instead of the plain median: on all
# 200 authentic photos of casia-dev re-saved at 85, "manipulation indicated" fell from 11.0 %
# to 3.0 % (at 95: 1.5 % -> 2.5 %, as stored 0.6 % -> 0.5 %), mean F1-best of the history map
# on the manipulated ones 0.546 -> 0.541 as stored, 0.384 -> 0.498 re-saved at 95, 0.394 ->
# 0.401 at 85 (every second image).
RELATIVE_NATS = {1: 2.0, 2: 6.0}
RELATIVE_MADS = 3.0
FLOOR_NATS = {1: -4.0, 2: 0.0}
MAP_SLOPE = 1.0
MIN_PEEL_FREQS = 5        # primary steps (>= 2) needed to read the save before
PEEL_PRESENCE = 0.5       # layer 1's presence needed before peeling
ONCE_LEVEL = 0.5          # a pixel counts towards ``once_share`` above this map value
LINE_PRESENCE = 0.5       # a layer compares blocks with the majority's line (expected_llr) from this presence on
TRIM_MADS = 3.0           # blocks further than this from the majority's line do not fit it (expected_llr)
FILL_SUPPORT = 0.3        # a block is read where unclipped blocks carry this share of its smoothing weight


@dataclass
class Layer:
    """One JPEG save read by ADQ: ``depth`` 1 is the file's last save over the one before."""

    name: str                 # "file grid", "earlier save"
    depth: int
    offset: tuple[int, int]   # grid origin (row, column) in the image
    table_source: str         # "file", "pixels" (estimated), "peeled" (layer 1's primary steps)
    quality: float | None     # the IJG-like quality of the table this layer quantised with
    gain: float
    presence: float
    freqs: list[dict[str, Any]]
    llr: np.ndarray           # block map, smoothed log-likelihood ratio (single over double)
    evidence: np.ndarray      # block map, informative coefficients
    primary_table: np.ndarray
    chance_gain: float = 0.0  # taken off the raw gain for the image's size (adq.chance_gain)
    clipped: np.ndarray | None = None   # block map, 1 where a pixel is clipped (clipped_blocks)
    support: np.ndarray | None = None   # block map, the unclipped share of each block's smoothing weight
    spread: np.ndarray | None = None    # block map, that mean's standard deviation over a full neighbourhood's

    def record(self) -> dict[str, Any]:
        """What the provenance keeps of this layer."""
        return {"name": self.name, "depth": self.depth, "grid_offset": list(self.offset),
                "table_source": self.table_source, "quality": None if self.quality is None else round(self.quality, 1),
                "dq_gain": round(self.gain, 4), "dq_gain_by_chance": round(self.chance_gain, 4),
                "dq_presence": round(self.presence, 4),
                "frequencies": len(self.freqs), "primary_steps": adq.describe_primary(self.freqs)}


@dataclass
class History:
    """The layers read from one image and what they add up to."""

    applicable: bool
    note: str
    layers: list[Layer] = field(default_factory=list)
    shifted_grid: dict[str, Any] | None = None
    once: np.ndarray | None = None         # (H, W) calibrated, presence-weighted, largest over layers
    reliability: np.ndarray | None = None  # (H, W)
    presence: float = 0.0                  # the strongest layer's presence
    once_share: float = 0.0                # share of the image above ONCE_LEVEL in ``once``
    quality: float | None = None           # the file's (or estimated) last quality
    table_source: str = ""
    description: str = ""                  # one plain sentence: which history was found

    def last_save_single(self, h: int, w: int) -> np.ndarray | None:
        """Per pixel, the probability of a single compression in the file's last save (layer
        1's ADQ posterior, ``adq.run_adq``'s ``single``), when that layer used the file's own
        table and found a history; else None.  Copy-move takes it to tell which copy was
        pasted, so the image's DQ analysis runs once."""
        if not self.applicable or not self.layers or self.table_source != "file" or not self.layers[0].freqs:
            return None
        first = self.layers[0]
        return adq.block_map_to_pixels(adq.single_posterior(first.llr), h, w, *first.offset)

    def record(self) -> dict[str, Any]:
        return {"layers": [lay.record() for lay in self.layers], "shifted_grid": self.shifted_grid,
                "presence": round(self.presence, 4), "once_share": round(self.once_share, 5),
                "description": self.description}


def _majority_blocks(shape: tuple[int, ...], readable: np.ndarray | None) -> np.ndarray:
    """Bool mask of the blocks the image's majority is drawn from: the readable ones, or all of
    them when None or fewer than 8 are readable."""
    sel = np.ones(shape, bool) if readable is None else np.asarray(readable).reshape(shape) > 0
    return sel if sel.sum() >= 8 else np.ones(shape, bool)


def expected_llr(llr: np.ndarray, evidence: np.ndarray, readable: np.ndarray | None = None) -> np.ndarray:
    """What the image's majority shows at each block's amount of evidence: a straight line
    of ``llr`` against ``evidence`` (informative coefficients), fitted by least squares on
    the blocks the median rule leaves unmarked, then refitted on the blocks within
    TRIM_MADS robust deviations of it.

    Why: a block's log-likelihood ratio sums a term per used frequency, and the zero
    coefficients of a smooth block lean towards "compressed once" in a photo saved finer
    and then coarser (casia-dev re-saved at 85: the least textured fifth of the blocks of
    authentic photos had a median ratio 1-3 nats above the rest).  Against the plain
    median such blocks stood out as once compressed; against the line they do not.  A
    pasted region still does: its coefficients miss the earlier lattice whatever its texture.
    The first fit leaves out the blocks the median rule marks, so that a pasted region does
    not pull the line towards itself (a textured splice on a smoother host would otherwise
    be explained away by its evidence).  Used from a layer presence of LINE_PRESENCE on: with
    a weak history the line is fitted to noise and the median is the better reference.
    ``readable``: the blocks the majority is drawn from (:func:`readable_blocks`; all when None)."""
    l_all = np.asarray(llr, np.float64).ravel()
    e_all = np.asarray(evidence, np.float64).ravel()
    sel = _majority_blocks(l_all.shape, readable)
    l, e = l_all[sel], e_all[sel]
    if l.size < 8 or np.ptp(e) <= 0:
        return np.full(np.shape(llr), float(np.median(l)))
    med0 = float(np.median(l))
    keep = l <= med0 + max(RELATIVE_NATS[1], RELATIVE_MADS * float(np.median(np.abs(l - med0))))
    if keep.sum() < 8:
        keep = np.ones(l.size, bool)
    for _ in range(3):
        a = np.c_[np.ones(int(keep.sum())), e[keep]]
        coef = np.linalg.lstsq(a, l[keep], rcond=None)[0]
        fit = coef[0] + coef[1] * e
        res = l - fit
        med = float(np.median(res[keep]))
        mad = float(np.median(np.abs(res[keep] - med)))
        keep = np.abs(res - med) <= TRIM_MADS * 1.4826 * max(mad, 1e-6)
        if keep.sum() < 8:
            break
    return (coef[0] + coef[1] * e_all + float(np.median(l - fit))).reshape(np.shape(llr))


def once_map(llr: np.ndarray, deep: bool, evidence: np.ndarray | None = None,
             readable: np.ndarray | None = None, spread: np.ndarray | None = None) -> np.ndarray:
    """Block map of 'compressed once at this layer' (0.5 where the rule above starts to
    hold), from the smoothed log-likelihood ratio ``llr``; ``deep``: a layer below the
    file's own.  With ``evidence`` (the layer's informative coefficients per block), a
    block is compared with the majority at its own amount of evidence
    (:func:`expected_llr`); without, with the image's median.  ``readable``: the blocks the
    majority and its spread are drawn from (all when None or fewer than 8).  ``spread``: per
    block, how much noisier its smoothed ratio is than a full neighbourhood's (a mean over fewer
    unclipped blocks, ``adq.adq_analysis``); a block's departure from the majority is divided by
    it, so a block whose mean rests on a few neighbours must stand out further."""
    k = 2 if deep else 1
    l = np.asarray(llr, np.float64)
    sel = _majority_blocks(l.shape, readable)
    base = (expected_llr(l, evidence, sel) if evidence is not None
            else np.full(l.shape, float(np.median(l[sel]))))
    r = l - base
    if spread is not None:
        r = r / np.maximum(np.asarray(spread, np.float64), 1.0)
    rs = r[sel]
    mad = float(np.median(np.abs(rs - np.median(rs))))
    z = MAP_SLOPE * np.minimum(r - max(RELATIVE_NATS[k], RELATIVE_MADS * mad), l - FLOOR_NATS[k])
    return (1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))).astype(np.float32)


def clipped_blocks(rgb: np.ndarray, oy: int, ox: int, shape: tuple[int, int]) -> np.ndarray:
    """(nby, nbx) float32, 1 where the 8x8 block (grid origin oy, ox) holds a pixel clipped to 0
    or 255 in some channel.  Decoding clips the colour conversion there, so the block's
    coefficients leave the quantisation lattice and read as compressed once whatever their
    history: on casia-dev re-saved at 85, 89 % (median) of the area wrongly marked in authentic
    photos lay in such blocks, against 20 % of the image (fusion 1.2).  Fusion 1.6 reads them
    from their neighbours instead (:func:`readable_blocks`)."""
    import cv2

    nby, nbx = shape
    if nby <= 0 or nbx <= 0:  # no whole block on this grid
        return np.zeros((max(nby, 0), max(nbx, 0)), np.float32)
    p = np.asarray(rgb)[oy:oy + 8 * nby, ox:ox + 8 * nbx]
    if p.dtype == np.uint8 and p.ndim == 3 and p.shape[2] == 3:
        # one pass in OpenCV: numpy's reductions over the short channel axis took 0.9 s at 12 MP
        hit = cv2.inRange(np.ascontiguousarray(p), (1, 1, 1), (254, 254, 254)) == 0
    elif p.ndim == 3:
        hit = (p.max(axis=2) >= 255) | (p.min(axis=2) <= 0)
    else:
        hit = (p >= 255) | (p <= 0)
    # any pixel of each 8x8 block: the maximum over its 8 rows, then over its 8 columns
    rows = hit.view(np.uint8).reshape(nby, 8, nbx * 8).max(axis=1)
    return rows.reshape(nby, nbx, 8).max(axis=2).astype(np.float32)


def _layer(y: np.ndarray, q: np.ndarray, known: np.ndarray | None, params: dict[str, Any], name: str,
           depth: int, offset: tuple[int, int], source: str, quality: float | None, clipped: np.ndarray,
           step: StepFn | None = None) -> Layer:
    """One layer read by ADQ on the grid at ``offset``; ``clipped``: that grid's
    :func:`clipped_blocks`, left out of the smoothing of its evidence."""
    oy, ox = offset
    a = adq.adq_analysis(y[oy:, ox:], q, n_freq=int(params["frequencies"]), min_gain=float(params["min_gain"]),
                         smooth_blocks=float(params["smooth_blocks"]), step=step, known=known, weight=1.0 - clipped)
    return Layer(name=name, depth=depth, offset=(int(oy), int(ox)), table_source=source, quality=quality,
                 gain=float(a["dq_gain"]), presence=adq.dq_presence(a["dq_gain"]) if a["freqs"] else 0.0,
                 freqs=a["freqs"], llr=a["llr"], evidence=a["evidence"], primary_table=a["primary_table"],
                 chance_gain=float(a["chance_gain"]), clipped=clipped, support=a["support"],
                 spread=a["spread"])


def readable_blocks(lay: Layer) -> np.ndarray:
    """(nby, nbx) float32, 1 where a layer's block map can be read: where the blocks without a
    clipped pixel carry at least FILL_SUPPORT of the block's smoothing weight (its value is their
    weighted mean, :func:`adq.adq_analysis`'s ``weight``).  A clipped block inside a readable area
    (a highlight in a pasted region) is read through; a block, clipped or not, in a mostly
    saturated area is not: its mean would rest on a few blocks and be as noisy as they are."""
    if lay.support is None:
        return np.ones(lay.llr.shape, np.float32)
    return (lay.support >= FILL_SUPPORT).astype(np.float32)


def _peel(y: np.ndarray, q: np.ndarray, first: Layer, params: dict[str, Any]) -> Layer | None:
    """Layer 2: the save before, read with layer 1's primary steps as its table, in the
    frequencies where that step is coarser than the file's (``q``): a finer earlier step
    is wiped out by the coarser rounding after it.  Same grid as layer 1, so the same clipped
    blocks."""
    from trufor_desk.engines.classical._jpeg_common import estimate_quality

    if first.presence < PEEL_PRESENCE:
        return None
    q1 = first.primary_table.astype(np.float64)
    known = (q1 >= 2) & (q1 > np.asarray(q, np.float64))
    if int(known.sum()) < MIN_PEEL_FREQS:
        return None
    table = np.where(known, q1, 1.0)
    return _layer(y, table, known, params, "earlier save", first.depth + 1, first.offset, "peeled",
                  estimate_quality(table), first.clipped)


def _shifted(y: np.ndarray, own: tuple[int, int]) -> dict[str, Any] | None:
    """An earlier grid that does not line up with the file's (``jpeg_lattice``), with the
    quality its lattice suggests where the steps can still be read."""
    from trufor_desk.engines.classical import jpeg_lattice as jl

    sg = jl.find_shifted_grid(y, own)
    if sg is None:
        return None
    oy, ox = sg["offset"]
    lat = jl.lattice_at(y, oy, ox, 0.0, sg["fitting_probes"], jl.SHIFT_MIN_MATCH)
    return {**sg, "offset": [oy, ox], "ijg_quality": lat["ijg_quality"], "estimated_steps": int(lat["known"].sum())}


def _describe(h: History, source: str) -> str:
    """One sentence on the history found (what the window, report and JSON print)."""
    q = f" (quality about {h.quality:.0f})" if h.quality is not None else ""
    last = "the pixels carry an earlier JPEG compression" if source == "pixels" else f"the file is a JPEG{q}"
    aligned = [lay for lay in h.layers if lay.presence >= 0.5]
    parts = [last]
    if aligned and h.shifted_grid is None:  # (a shifted earlier grid also leaves an aligned trace: say less)
        deep = max(lay.depth for lay in aligned) > 1
        parts.append("saved at least twice on the same 8x8 grid"
                     + (", with the trace of a further save before that" if deep else ""))
    if h.shifted_grid is not None:
        r, c = h.shifted_grid["offset"]
        parts.append(f"an earlier JPEG grid sits at row {r}, column {c}: cropped or shifted after an earlier save "
                     "(non-aligned double compression)")
    if not aligned and h.shifted_grid is None:
        first = h.layers[0] if h.layers else None
        if first is not None and first.freqs and adq.dq_presence(first.gain + first.chance_gain) >= 0.5:
            parts.append(f"a small image ({first.llr.size} blocks of 8x8): the double-compression trace it shows "
                         "is within what single-compressed images of this size show by chance, so no earlier "
                         "compression is claimed; it may have been saved once, or resized since an earlier save")
        else:
            parts.append("no earlier compression found: saved once (a camera original), or resized or re-encoded "
                         "since any earlier save, which erases the history")
    text = ", ".join(parts[:2]) + ("; " + "; ".join(parts[2:]) if len(parts) > 2 else "")
    if h.once_share >= 0.005:
        return text + ("; some regions were compressed fewer times than the rest: content added or replaced "
                       "after an earlier save")
    if aligned or h.shifted_grid is not None:
        return text + "; the whole image shares that history: no local inconsistency found"
    return text + "; no local inconsistency found in the compression history"


def read_history(evidence: Any, params: dict[str, Any], step: StepFn | None = None) -> History:
    """Every layer the pixels of ``evidence`` keep, the calibrated map and the sentence."""
    from trufor_desk.engines.classical._jpeg_common import luminance

    rgb = evidence.rgb
    h, w = rgb.shape[:2]
    y = luminance(rgb)
    src = adq.history_source(evidence, y)
    q, (oy, ox), note = src["q"], src["offset"], src["note"]
    if q is None:
        return History(applicable=False, note=note)
    clipped = clipped_blocks(rgb, oy, ox, ((h - oy) // 8, (w - ox) // 8))
    first = _layer(y, q, src["known"], params, "file grid", 1, (oy, ox), src["source"], src["quality"], clipped,
                   step)
    layers = [first]
    second = _peel(y, q, first, params)
    if second is not None:
        layers.append(second)
    # an earlier shifted grid (it can also fake an aligned history, so it is looked for always)
    shifted = _shifted(y, (oy % 8, ox % 8)) if src["source"] == "file" else None
    once = np.zeros((h, w), np.float32)
    rel = np.zeros((h, w), np.float32)
    for lay in layers:
        if not lay.freqs:
            continue
        ly, lx = lay.offset
        usable = readable_blocks(lay)
        line = lay.evidence if lay.presence >= LINE_PRESENCE else None  # a weak history: the median
        m = lay.presence * adq.block_map_to_pixels(once_map(lay.llr, lay.depth > 1, line, usable, lay.spread) * usable,
                                                   h, w, ly, lx)
        r = lay.presence * adq.block_map_to_pixels(adq.block_reliability(lay.evidence) * usable, h, w, ly, lx)
        np.maximum(once, m, out=once)
        np.maximum(rel, r, out=rel)
    hist = History(applicable=True, note=note, layers=layers, shifted_grid=shifted, once=once, reliability=rel,
                   presence=max(lay.presence for lay in layers), once_share=float((once > ONCE_LEVEL).mean()),
                   quality=src["quality"], table_source=src["source"])
    hist.description = _describe(hist, src["source"])
    return hist
