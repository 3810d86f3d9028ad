"""Dense search for plainly shifted clones, and which copy of a pair was pasted.

CASIA v1's copy-moves, like many made by hand, are small regions (often under 5 % of
the image) moved without rotation or scaling; SIFT (the sparse path in ``copymove.py``)
finds few keypoints on them, and natural look-alikes (windows, tiles, foliage) give it
near-translation hypotheses that its correlation check accepts.  A plain shift can be
tested exactly instead:

1. **Shift candidates** (``translation_candidates``): the shift-vector voting of block
   matching (Fridrich, Soukal & Lukas, "Detection of copy-move forgery in digital
   images", DFRWS 2003), done for every shift at once.  A region copied by a shift d
   makes the band-passed image correlate with itself shifted by d over the copy's
   area, so the autocorrelation ``sum_x w(x) w(x + d)`` (one FFT) peaks at d; each
   band-passed pixel is divided by its local energy, so every textured pixel weighs
   about the same and the peak height is about the copy's share of the image.
2. **Exact check** (``translation_regions``): the image is compared with itself shifted
   by d (local correlation and mean absolute difference in a Gaussian window, as in
   the sparse path's check); a connected region is kept when its mean absolute
   difference is small both in grey levels (``shift_max_diff``) and against its own
   texture (``shift_rel_diff`` times its mean local standard deviation).  A moved copy
   differs from its source only by the JPEG noise of the final save; natural
   look-alikes differ by about their texture's amplitude.
3. **Which copy was pasted** (``pasted_side``): both copies are marked, the pasted one
   higher.  The evidence is the aligned double quantisation of ``adq.py`` (Bianchi &
   Piva 2012): a photograph saved again after the edit keeps the trace of its first
   JPEG compression everywhere except in a pasted copy moved off the 8x8 grid, so
   the copy that looks compressed once is the pasted one.  Where that trace is absent
   or the two sides do not differ, fine detail decides (a weaker cue): a copy shifted
   off the 8x8 grid carries its first compression's block edges off the grid of the
   final save and shows more fine detail than its source; a rotated or scaled copy
   was interpolated and shows less.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DENSE_DEFAULTS: dict[str, Any] = {
    "max_dense_pixels": 400_000,   # work size of the shift search (larger images are reduced)
    "min_offset": 16.0,            # pixels; shorter shifts are not examined
    "shift_candidates": 8,         # autocorrelation peaks checked as plain shifts
    "energy_floor": 2.0,           # grey levels added to the local band-pass energy
    "max_peak": 0.1,               # higher autocorrelation peaks are a repeating pattern, not a clone
    "shift_ncc": 0.8,              # local correlation of a shifted copy
    "shift_mad": 6.0,              # grey levels, local mean |image - shifted copy|
    "shift_max_diff": 2.0,         # grey levels, a region's mean |image - shifted copy|
    "shift_rel_diff": 0.25,        # the same against the region's mean local standard deviation
    "shift_specificity": 3.0,      # ... and at most 1/3 of its difference 2 px off the shift
    "pasted_margin": 0.01,         # difference of the mean once-compressed probability that decides
    "source_level": 0.6,           # map value of the copy judged to be the source (the pasted one: 1)
}


def local_ncc(a: np.ndarray, b: np.ndarray, sigma: float, eps: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """(zero-mean normalised cross-correlation, mean |a - b|) in a Gaussian window."""
    import cv2

    def g(x):
        return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)

    ma, mb = g(a), g(b)
    va = g(a * a)
    va -= ma * ma
    vb = g(b * b)
    vb -= mb * mb
    cov = g(a * b)
    cov -= ma * mb
    np.maximum(va, 0, out=va)
    np.maximum(vb, 0, out=vb)
    va *= vb
    va += float(eps)                      # flat areas do not correlate
    ncc = cov / np.sqrt(va)
    mad = g(np.abs(a - b))
    return ncc, mad


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill every hole of a binary mask (outer contours drawn filled)."""
    import cv2

    m = mask.astype(np.uint8)
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(m, contours, -1, 1, thickness=cv2.FILLED)
    return m.astype(bool)


def translation_candidates(gray: np.ndarray, p: dict[str, Any]) -> list[tuple[int, int, float]]:
    """The strongest peaks (dx, dy, height) of the normalised autocorrelation of ``gray``
    (float32 luminance, not smoothed).

    A region copied by a plain shift d makes the band-passed image correlate with itself
    shifted by d over the copy's area, so ``sum_x w(x) w(x + d)`` peaks at d (and -d).
    Each band-passed pixel is divided by its local energy, so every textured pixel
    weighs about the same and the peak height is about the copy's share of the image.
    The exact shift-vector voting of block matching (Fridrich et al. 2003), done for
    all shifts at once by FFT.  One of d, -d is returned (the other is the same pair).
    """
    import cv2

    h, w = gray.shape
    # fine detail (the unsmoothed luminance, band 0.5-1.5 px): the narrower the band's
    # correlation length, the lower the chance peaks of natural texture
    bp = cv2.GaussianBlur(gray, (0, 0), 0.5) - cv2.GaussianBlur(gray, (0, 0), 1.5)
    energy = np.sqrt(cv2.GaussianBlur(bp * bp, (0, 0), 4.0))
    wgt = bp / (energy + float(p["energy_floor"]))
    fh, fw = cv2.getOptimalDFTSize(2 * h), cv2.getOptimalDFTSize(2 * w)
    spec = np.fft.rfft2(wgt, (fh, fw))
    ac = np.fft.irfft2(spec * np.conj(spec), (fh, fw)).astype(np.float32) / float(h * w)
    ac = np.fft.fftshift(ac)
    cy, cx = fh // 2, fw // 2
    yy, xx = np.ogrid[0:fh, 0:fw]
    ac[(yy - cy) ** 2 + (xx - cx) ** 2 < float(p["min_offset"]) ** 2] = -1.0
    ac[:, :cx] = -1.0                       # d and -d describe the same pair
    ac[:cy, cx] = -1.0
    # a shift under which a large part of the image matches itself is the scene's own
    # repetition (tiles, fabric, text): not examined
    peak = (ac == cv2.dilate(ac, np.ones((5, 5), np.uint8))) & (ac > 0) & (ac <= float(p["max_peak"]))
    py, px = np.nonzero(peak)
    v = ac[py, px]
    order = np.argsort(-v)[: int(p["shift_candidates"])]
    return [(int(px[i] - cx), int(py[i] - cy), float(v[i])) for i in order]


def is_translation(affine: np.ndarray, tolerance: float = 0.03) -> bool:
    """True when the linear part of a 2x3 affine is the identity within ``tolerance``."""
    return bool(np.abs(affine[:, :2] - np.eye(2)).max() <= tolerance)


def _local_sd(img: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    mu = cv2.GaussianBlur(img, (0, 0), sigma)
    return np.sqrt(np.maximum(cv2.GaussianBlur(img * img, (0, 0), sigma) - mu * mu, 0))


def translation_regions(gray: np.ndarray, dx: float, dy: float, p: dict[str, Any]
                        ) -> tuple[np.ndarray, np.ndarray, float]:
    """(source, destination, mean |difference| inside) of the copy by the shift (dx, dy):
    the connected regions of at least ``min_region`` pixels where the image and its copy
    shifted by (dx, dy) agree closely (local correlation and mean absolute difference).
    A fractional shift (a copy moved by a sub-pixel amount was interpolated) is applied
    by bilinear interpolation, the whole-pixel part by indexing."""
    import cv2

    h, w = gray.shape
    empty = np.zeros((h, w), bool)
    ix, iy = int(np.floor(dx)), int(np.floor(dy))
    fx, fy = float(dx) - ix, float(dy) - iy
    moved = gray  # moved(x) = gray(x + fractional part)
    if fx or fy:
        moved = cv2.warpAffine(gray, np.float32([[1, 0, fx], [0, 1, fy]]), (w, h),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    dx, dy = ix, iy
    # shifted(x) = gray(x + d) where defined
    y0, y1 = max(0, -dy), min(h, h - dy)
    x0, x1 = max(0, -dx), min(w, w - dx)
    if y1 - y0 < 8 or x1 - x0 < 8:
        return empty, empty, np.inf
    a = gray[y0:y1, x0:x1]
    b = moved[y0 + dy:y1 + dy, x0 + dx:x1 + dx]
    ncc, mad = local_ncc(a, b, float(p["window_sigma"]))
    good = ((ncc > float(p["shift_ncc"])) & (mad < float(p["shift_mad"]))).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    good = cv2.morphologyEx(good, cv2.MORPH_OPEN, kernel)
    good = cv2.morphologyEx(good, cv2.MORPH_CLOSE, kernel)
    n, labels, st, _ = cv2.connectedComponentsWithStats(good, connectivity=8)
    if n <= 1:
        return empty, empty, np.inf
    # per region: its mean |difference| must be small, in grey levels and against the
    # region's own texture (natural look-alikes differ by about their texture's amplitude)
    lab = labels.ravel()
    area = np.bincount(lab, minlength=n).astype(np.float64)
    diff = np.bincount(lab, weights=np.abs(a - b).ravel(), minlength=n) / np.maximum(area, 1)
    sd = _local_sd(a, float(p["window_sigma"]))
    tex = np.bincount(lab, weights=sd.ravel(), minlength=n) / np.maximum(area, 1)
    keep = ((area >= int(p["min_region"])) & (diff <= float(p["shift_max_diff"]))
            & (diff <= float(p["shift_rel_diff"]) * tex))
    keep[0] = False
    if keep.any() and float(p["shift_specificity"]) > 0:
        # a clone matches at its shift only; a structure that also matches 2 px further
        # in some direction (an edge or stripes along the shift) is the scene's own
        full = np.full((h + 4, w + 4), np.nan, np.float32)
        full[2:-2, 2:-2] = moved
        nearest = np.full(n, np.inf)
        for ex, ey in ((2, 0), (-2, 0), (0, 2), (0, -2)):
            b2 = full[2 + y0 + dy + ey:2 + y1 + dy + ey, 2 + x0 + dx + ex:2 + x1 + dx + ex]
            d2 = np.abs(a - b2)
            ok2 = np.isfinite(d2)
            s2 = np.bincount(lab, weights=np.where(ok2, d2, 0).ravel(), minlength=n)
            c2 = np.bincount(lab, weights=ok2.ravel().astype(np.float64), minlength=n)
            nearest = np.minimum(nearest, s2 / np.maximum(c2, 1))
        keep &= nearest >= float(p["shift_specificity"]) * diff
    if not keep.any():
        return empty, empty, np.inf
    # the correlation window blurs a region's border: grow it back by the window's reach
    # over the pixels that themselves differ little
    reach = 2 * int(np.ceil(1.5 * float(p["window_sigma"]))) + 1
    close_px = cv2.GaussianBlur(np.abs(a - b), (0, 0), 1.0) < float(p["shift_mad"])
    grown = cv2.dilate(keep[labels].astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    region = fill_holes((grown > 0) & close_px | keep[labels])
    src = empty.copy()
    src[y0:y1, x0:x1] = region
    dst = empty.copy()
    dst[y0 + dy:y1 + dy, x0 + dx:x1 + dx] = region
    diff = float(np.abs(a - b)[region].mean())
    return src, dst, diff


def detail_energy(gray: np.ndarray) -> np.ndarray:
    """|Laplacian| of the luminance: fine detail, which resampling and saving smooth."""
    import cv2

    return np.abs(cv2.Laplacian(gray, cv2.CV_32F))


COMPUTE = object()  # ``CopyMoveEngine.analyze(once_map=COMPUTE)``: run ADQ when needed


def once_compressed_map(evidence: Any) -> np.ndarray | None:
    """Per-pixel probability that the image was JPEG-compressed only once (aligned double
    quantisation, ``adq.py``), or None without a readable JPEG history.  A caller that has
    already read the history (the fusion) passes its own instead (``once_map``)."""
    if not hasattr(evidence, "rgb"):
        return None
    from trufor_desk.engines.classical import adq

    if adq.jpeg_luma_table(evidence)[0] is None:
        return None
    r = adq.run_adq(evidence, adq.AdqEngine.DEFAULTS)
    return r["single"] if r["applicable"] and r["freqs"] else None

def pasted_side(src: np.ndarray, dst: np.ndarray, once: np.ndarray | None, detail: np.ndarray,
                margin: float, resampled: bool) -> tuple[bool, str]:
    """(True if ``dst`` rather than ``src`` is the pasted copy, the cue that decided).

    ``once``: per-pixel probability of a single JPEG compression (``adq.run_adq``'s
    ``single``), or None when the image has no JPEG history to read.  Without a decision
    from it, fine detail decides: a copy moved by a plain shift off the 8x8 grid carries
    the block edges of its first compression off the grid of the final save, so it
    shows more fine detail than its source, whose two grids coincide; a rotated or
    scaled (``resampled``) copy was interpolated and shows less."""
    if once is not None and src.any() and dst.any():
        z = float(once[dst].mean() - once[src].mean())
        if abs(z) >= margin:
            return z > 0, "double quantisation"
    ds = float(detail[src].mean()) if src.any() else 0.0
    dd = float(detail[dst].mean()) if dst.any() else 0.0
    if resampled:
        return dd <= ds, "fine detail (interpolation smooths the pasted copy)"
    return dd >= ds, "fine detail (off-grid block edges of the pasted copy)"
