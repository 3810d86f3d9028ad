"""Retouching traces in images that were never JPEG-compressed: copied patches, too-smooth areas.

A photograph with no compression history (PNG, TIFF, BMP saved from the camera's pixels
or from an editor) carries no double-quantisation trace; what an edit leaves there is in
the pixels themselves.  Two traces, each one explainable statistic:

* **Patches duplicated exactly** (``duplicate_patches``).  Exemplar-based object removal
  (content-aware fill, a clone stamp at full opacity) fills a hole with patches copied
  from elsewhere in the image; saved losslessly, the copies are bit-identical.  A
  photograph's own textured patches are never bit-identical to one another: sensor noise
  differs from pixel to pixel.  Every ``patch x patch`` window whose luminance varies
  (standard deviation above ``min_std`` grey levels, so flat sky and clipped areas do not
  count) is keyed by two separable integer projections (exact in float32: integer pixels
  times integer weights, every partial sum below 2^24, and no DFT), hashed into the high bits of one 64-bit
  word whose low bits hold the window's index, so that one sort brings equal windows next
  to one another; each candidate pair at least ``min_distance`` pixels apart is confirmed
  on the RGB pixels (a hash collision is rejected there).  Both copies are marked: the
  pixels cannot tell which was the source.  A window one exact colour of which covers a
  fifth of its pixels is not counted: that is rendered content (text, an icon, a date
  stamp on a plain box), whose repeats are natural; a photograph's textured windows stay
  far below (a sixth at most in the 90th percentile of the copied windows measured).
  Many repeats are natural in a screenshot or a graphic (text, icons, flat colours): when
  more than ``max_repeat_share`` of the textured windows repeat as rendered content, more
  than a quarter of them repeat at all (a tiled or generated image), or more than a quarter
  of the 8x8 blocks are exactly flat, neither test applies.
* **Areas too smooth for their structure** (``smooth_regions``).  Diffusion inpainting
  (OpenCV's Telea and Navier-Stokes, healing brushes) and the interpolation of a pasted,
  rescaled region remove the finest detail while the coarser structure stays.  Per 8x8
  block, the log of the mean absolute Laplacian (the finest detail and noise) is
  predicted from the log of the mean gradient magnitude at a coarser scale by a line
  fitted over the image's blocks; a block more than ``z_low`` robust deviations below
  the line is too smooth, and the statistic is the share of the image covered by the
  largest 8-connected group of such blocks.  Blocks holding clipped pixels (near 0 or
  255) are left out: saturation removes detail too.  Flat sky and walls of an authentic
  photograph can read as too smooth as well, so this trace is weak on its own: it is a
  map layer and a statistic of the score, never a marked region alone.

Measured on never-compressed forgeries made from casia-dev's authentic photos
(``scripts/make_uncompressed.py``, 100 forgeries, 100 authentic, 64x96 to 192x128
pixels): exact duplicates in 11 of 11 exemplar fills and in 0 of 100 authentic images;
the too-smooth share separates Navier-Stokes fills from authentic images with AUC 0.94,
Telea fills 0.81, splices 0.61 (their pasted region is resampled bilinearly).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from trufor_desk.engines.classical import _common as C

PATCH = 8
MIN_STD = 3.0            # grey levels: a window flatter than this is not textured
MIN_DISTANCE = 4         # pixels between the two copies (a periodic texture repeats at small shifts)
MAX_REPEAT_SHARE = 0.01  # more textured windows repeating as rendered content than this: a screenshot or graphic
MAX_TILED_SHARE = 0.25   # more textured windows repeating than this: tiled or generated, not a photograph
RENDERED_RUN = 13        # one exact colour on 13 of a window's 64 pixels: rendered, not a photograph's texture
MAX_FLAT_SHARE = 0.25    # more 8x8 blocks exactly flat (every channel, any level) than this: a graphic
BLOCK = 8
Z_LOW = 2.0
_KEY_SEED = 20261204     # the projections' weights (any fixed integers would do)
_WEIGHT_RANGE = 22       # |u_i v_j| <= 484: 64 x 255 x 484 < 2^24, exact in float32
_CHUNK = 20000           # candidate pairs confirmed at a time (bounds the memory of a large clone)
_HASH_MULTIPLIER = 0x9E3779B97F4A7C15  # odd: multiplying by it mod 2^64 mixes the high bits (Fibonacci hashing)


@dataclass(frozen=True)
class Duplicates:
    applies: bool
    pairs: int                 # confirmed pairs of identical textured windows
    textured: int              # textured windows looked at
    mask: np.ndarray           # bool HxW: pixels inside either copy of a confirmed pair
    note: str = ""

    @property
    def log_pairs(self) -> float:
        """The score's statistic: log(1 + confirmed pairs), 0 where the test does not apply."""
        return float(np.log1p(self.pairs)) if self.applies else 0.0


@dataclass(frozen=True)
class Smoothness:
    applies: bool
    share: float               # share of the image in the largest group of too-smooth blocks
    map: np.ndarray            # float32 HxW: 1 on that group's blocks, 0 elsewhere
    note: str = ""

    @property
    def log_share(self) -> float:
        """The score's statistic: log(share + 0.01)."""
        return float(np.log((self.share if self.applies else 0.0) + 0.01))


def _weights(seed: int, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` separable integer projections (row and column weights, |w| <= 22)."""
    rng = np.random.default_rng(seed)
    return [(rng.integers(-_WEIGHT_RANGE, _WEIGHT_RANGE + 1, size=PATCH).astype(np.float32),
             rng.integers(-_WEIGHT_RANGE, _WEIGHT_RANGE + 1, size=PATCH).astype(np.float32)) for _ in range(n)]


def _window_projection(a: np.ndarray, weights: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """sum_ij u_i v_j a[y+i, x+j] for every window inside the image (top-left anchored), exactly: a
    separable filter of integers (two 8-tap passes, never a DFT), every partial sum an integer below
    2^24, so float32 holds it exactly on every platform."""
    u, v = weights
    out = cv2.sepFilter2D(a, cv2.CV_32F, v, u, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
    return out[:a.shape[0] - PATCH + 1, :a.shape[1] - PATCH + 1]


def flat_share(rgb: np.ndarray) -> float:
    """Share of the whole 8x8 blocks that are exactly flat in every channel (any level, clipped too)."""
    h, w = rgb.shape[:2]
    hb, wb = h // BLOCK, w // BLOCK
    if hb * wb == 0:
        return 0.0
    a = rgb[:hb * BLOCK, :wb * BLOCK].reshape(hb, BLOCK, wb, BLOCK, -1)
    spread = a.max(axis=(1, 3)).astype(np.int16) - a.min(axis=(1, 3))
    return float((spread.max(axis=-1) == 0).mean())


def graphic_note(rgb: np.ndarray, max_flat_share: float = MAX_FLAT_SHARE) -> str:
    """Why the image looks like a screenshot or a graphic rather than a photograph ("" when it does not):
    a photograph's sensor noise leaves almost no exactly flat block outside clipped highlights."""
    share = flat_share(rgb)
    if share <= max_flat_share:
        return ""
    return (f"{share:.0%} of the image's 8x8 blocks are exactly flat: it looks like a screenshot or a graphic, "
            "where exact repeats and smooth areas are natural, so the duplicate-patch and smoothness tests "
            "(made for photographs) do not apply")


def _confirmed(rgb: np.ndarray, ya: np.ndarray, xa: np.ndarray, yb: np.ndarray,
               xb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(equal on every channel, rendered content) for candidate pairs of windows."""
    off = np.arange(PATCH)
    win_a = rgb[ya[:, None, None] + off[None, :, None], xa[:, None, None] + off[None, None, :]]
    win_b = rgb[yb[:, None, None] + off[None, :, None], xb[:, None, None] + off[None, None, :]]
    equal = (win_a == win_b).reshape(len(win_a), -1).all(axis=1)
    colour = win_a.reshape(len(win_a), PATCH * PATCH, -1).astype(np.int32)
    weights = np.array([1 << 16, 1 << 8, 1][:colour.shape[-1]], np.int32)
    code = np.sort((colour * weights).sum(axis=-1), axis=1)
    run = RENDERED_RUN - 1
    return equal, (code[:, run:] == code[:, :-run]).any(axis=1)


def duplicate_patches(rgb: np.ndarray, min_std: float = MIN_STD, min_distance: int = MIN_DISTANCE,
                      max_repeat_share: float = MAX_REPEAT_SHARE) -> Duplicates:
    """Bit-identical textured ``PATCH x PATCH`` windows at least ``min_distance`` apart."""
    h, w = rgb.shape[:2]
    none = np.zeros((h, w), bool)
    if h < PATCH or w < PATCH:
        return Duplicates(False, 0, 0, none, "too small for the duplicate-patch test")
    g = np.rint(C.grey(rgb)).astype(np.float32)     # integers 0..255: the projections stay exact
    mu = cv2.boxFilter(g, cv2.CV_32F, (PATCH, PATCH), anchor=(0, 0), normalize=True,
                       borderType=cv2.BORDER_CONSTANT)[:h - PATCH + 1, :w - PATCH + 1]
    mu2 = cv2.boxFilter(g * g, cv2.CV_32F, (PATCH, PATCH), anchor=(0, 0), normalize=True,
                        borderType=cv2.BORDER_CONSTANT)[:h - PATCH + 1, :w - PATCH + 1]
    textured = (mu2 - mu * mu) > min_std * min_std
    del mu, mu2
    cols = textured.shape[1]
    where = np.flatnonzero(textured)                # window positions, row-major
    n_tex = int(where.size)
    if n_tex < 2:
        return Duplicates(True, 0, n_tex, none)
    k1, k2 = (np.rint(_window_projection(g, k)[textured]).astype(np.int64) for k in _weights(_KEY_SEED, 2))
    # one 64-bit word per window: a hash of its two projections above, its rank in ``where`` below, so that
    # a plain sort (no argsort) brings equal windows together; hash collisions only add candidates, which the
    # pixel check below rejects
    index_bits = max(1, int(n_tex - 1).bit_length())
    key = ((k1 << 26) + k2).view(np.uint64) * np.uint64(_HASH_MULTIPLIER)
    del k1, k2
    key >>= np.uint64(index_bits)
    key <<= np.uint64(index_bits)
    key |= np.arange(n_tex, dtype=np.uint64)
    key.sort()
    rank = (key & np.uint64((1 << index_bits) - 1)).astype(np.int64)
    key >>= np.uint64(index_bits)
    same = np.flatnonzero(key[1:] == key[:-1])
    del key
    a, b = where[rank[same]], where[rank[same + 1]]
    del rank
    ys_a, xs_a = np.divmod(a, cols)
    ys_b, xs_b = np.divmod(b, cols)
    far = np.hypot(ys_b - ys_a, xs_b - xs_a) >= min_distance
    ys_a, xs_a, ys_b, xs_b = ys_a[far], xs_a[far], ys_b[far], xs_b[far]
    # confirmed on the RGB pixels, a chunk at a time; a window one colour of which covers a fifth of it is
    # rendered (text, an icon, a date stamp on a plain box), not a photograph's texture, and is not counted
    keep = np.zeros(len(ys_a), bool)
    n_rendered = 0
    for i in range(0, len(ys_a), _CHUNK):
        sl = slice(i, i + _CHUNK)
        equal, rendered = _confirmed(rgb, ys_a[sl], xs_a[sl], ys_b[sl], xs_b[sl])
        keep[sl] = equal & ~rendered
        n_rendered += int((equal & rendered).sum())
        if n_rendered > max_repeat_share * n_tex:
            return Duplicates(False, 0, n_tex, none,
                              f"more than {n_rendered} of {n_tex} textured {PATCH}x{PATCH} windows repeat exactly "
                              "as rendered content (text, icons, stamps): the image is, or carries much, rendered "
                              "content like a screenshot or a graphic, where repeats are natural, so the "
                              "copied-patch and smoothness tests do not apply")
    pairs = int(keep.sum())
    if pairs > MAX_TILED_SHARE * n_tex:
        return Duplicates(False, 0, n_tex, none,
                          f"{pairs} of {n_tex} textured {PATCH}x{PATCH} windows repeat exactly: a tiled "
                          "or generated image, or one cloned wholesale (see the copy-move layer), so the "
                          "copied-patch and smoothness tests do not apply")
    corners = np.zeros((h, w), np.uint8)
    corners[ys_a[keep], xs_a[keep]] = 1
    corners[ys_b[keep], xs_b[keep]] = 1
    mask = cv2.dilate(corners, np.ones((PATCH, PATCH), np.uint8), anchor=(PATCH - 1, PATCH - 1),
                      borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    return Duplicates(True, pairs, n_tex, mask)


def smooth_regions(rgb: np.ndarray, z_low: float = Z_LOW) -> Smoothness:
    """The largest group of 8x8 blocks whose finest detail is too weak for their structure."""
    h, w = rgb.shape[:2]
    hb, wb = h // BLOCK, w // BLOCK
    none = np.zeros((h, w), np.float32)
    if hb * wb < 16:
        return Smoothness(False, 0.0, none, "too small for the smoothness test (fewer than 16 blocks of 8x8)")
    g = C.grey(rgb)
    crop = (slice(0, hb * BLOCK), slice(0, wb * BLOCK))
    area = float(BLOCK * BLOCK)
    fine = C.block_sum(np.abs(cv2.Laplacian(g, cv2.CV_32F, ksize=1))[crop], BLOCK) / area
    blur = cv2.GaussianBlur(g, (0, 0), 1.5)
    grad = np.hypot(cv2.Sobel(blur, cv2.CV_32F, 1, 0), cv2.Sobel(blur, cv2.CV_32F, 0, 1))
    coarse = C.block_sum(grad[crop], BLOCK) / area
    clipped = C.block_sum(C.clipped_fraction(g, low=2.0, high=253.0)[crop], BLOCK) > 0
    use = ~clipped
    if use.sum() < 16:
        return Smoothness(False, 0.0, none, "mostly clipped: too little left for the smoothness test")
    lf, lc = np.log(fine + 0.5), np.log(coarse + 0.5)
    a = np.c_[np.ones(int(use.sum())), lc[use]]
    coef, *_ = np.linalg.lstsq(a, lf[use], rcond=None)
    r = lf - (coef[0] + coef[1] * lc)
    centre, scale = C.robust_center_scale(r[use])
    scale += 1e-3
    low = ((r - centre) / scale < -z_low) & use
    n, labels, stats, _ = cv2.connectedComponentsWithStats(low.astype(np.uint8), connectivity=8)
    if n <= 1:
        return Smoothness(True, 0.0, none)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    blocks = (labels == biggest).astype(np.float32)
    out = none.copy()
    out[crop] = np.kron(blocks, np.ones((BLOCK, BLOCK), np.float32))
    return Smoothness(True, float(stats[biggest, cv2.CC_STAT_AREA]) / float(hb * wb), out)


@dataclass(frozen=True)
class Retouch:
    """Both traces of one image, or the reason neither applies (a screenshot or a graphic)."""
    duplicates: Duplicates
    smoothness: Smoothness
    note: str = ""

    @property
    def applies(self) -> bool:
        return not self.note

    def notes(self) -> list[str]:
        if self.note:
            return [self.note]
        return [n for n in (self.duplicates.note, self.smoothness.note) if n]


def find(rgb: np.ndarray, cancel=None) -> Retouch:
    """Both retouching traces of an image with no JPEG history (``cancel``: a callable checked
    between the two; it raises to stop)."""
    h, w = rgb.shape[:2]
    note = graphic_note(rgb)
    dup = None
    if not note:
        dup = duplicate_patches(rgb)
        if not dup.applies and dup.textured:   # (too many repeats; "too small" leaves smoothness to try)
            note = dup.note
    if note:
        return Retouch(Duplicates(False, 0, 0, np.zeros((h, w), bool)),
                       Smoothness(False, 0.0, np.zeros((h, w), np.float32)), note)
    if cancel is not None:
        cancel()
    return Retouch(dup, smooth_regions(rgb))
