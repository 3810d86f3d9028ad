"""One comparison of two sources: registration, the numbers, and its figures.

:func:`build_comparison` is the one place a comparison is made, for the window, the CLI
and the tests: B is registered onto A when asked (two different evidence images), or
compared pixel for pixel when both have the same size; different sizes without
registration are refused, since a difference of misaligned pixels means nothing.

The figures are what the report prints, so a comparison stores them: A, B on A's grid
and the difference, cropped to the view rectangle (A's pixels) and scaled so the longer
side is at most ``FIGURE_SIDE``.  The difference figure keeps the largest difference
within each figure pixel, so small changes do not vanish when a 12 MP photo is shrunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trufor_desk.errors import UserError

from .metrics import DEFAULT_THRESHOLD, Numbers, abs_diff, compute_numbers
from .registration import Registration, identity, register, resample
from .sources import Source

FIGURE_SIDE = 900
MODES = ("side by side", "difference", "flicker")


@dataclass
class Comparison:
    sources: tuple[Source, Source]
    mode: str
    view: tuple[int, int, int, int]          # (x, y, w, h) in A's pixels
    registration: Registration
    registered: bool                         # False: compared as stored (identity)
    numbers: Numbers
    diff_scale: int                          # difference shown from 0 (black) to this level (bright)
    figures: dict[str, np.ndarray] = field(default_factory=dict, repr=False)   # a, b, diff, valid
    aligned_b: np.ndarray | None = field(default=None, repr=False)            # B on A's grid (full size)
    valid: np.ndarray | None = field(default=None, repr=False)

    def record(self) -> dict:
        """The plain-data form a case stores (the figures are stored as arrays beside it)."""
        return {"sources": [s.record() for s in self.sources], "mode": self.mode, "view": list(self.view),
                "registered": self.registered, "registration": self.registration.to_dict(),
                "numbers": self.numbers.to_dict(), "diff_scale": int(self.diff_scale)}


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    import cv2

    pts = cv2.findNonZero(mask.astype(np.uint8))
    if pts is None:
        raise UserError("the two sources do not overlap")
    x, y, w, h = cv2.boundingRect(pts)
    return int(x), int(y), int(w), int(h)


def _clip_view(view, width: int, height: int) -> tuple[int, int, int, int]:
    x, y, w, h = (int(round(v)) for v in view)
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    if x1 <= x0 or y1 <= y0:
        raise UserError(f"view rectangle {w}x{h} at x={x}, y={y} lies outside the {width}x{height} image A")
    return x0, y0, x1 - x0, y1 - y0


def diff_scale_for(diff: np.ndarray, valid: np.ndarray, threshold: int) -> int:
    """Top of the difference colour scale: the 99.5th percentile (at least 4x the threshold), a multiple of 8."""
    dv = diff[valid]
    if dv.size == 0:
        return 255
    hist = np.bincount(dv.ravel(), minlength=256)
    p = int(np.searchsorted(np.cumsum(hist), 0.995 * dv.size))
    top = max(4 * int(threshold), p, 8)
    return int(min(255, -(-top // 8) * 8))


def _figures(a, b, diff, valid, view, side: int) -> dict[str, np.ndarray]:
    import cv2

    x, y, w, h = view
    s = min(1.0, side / max(w, h))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    crop = (slice(y, y + h), slice(x, x + w))
    d = np.where(valid[crop], diff[crop], 0).astype(np.uint8)
    v = valid[crop].astype(np.uint8) * 255
    if s < 1.0:
        k = int(np.ceil(1.0 / s))
        d = cv2.dilate(d, np.ones((k, k), np.uint8))          # keep each figure pixel's largest difference
        fa = cv2.resize(np.ascontiguousarray(a[crop]), size, interpolation=cv2.INTER_AREA)
        fb = cv2.resize(np.ascontiguousarray(b[crop]), size, interpolation=cv2.INTER_AREA)
        d = cv2.resize(d, size, interpolation=cv2.INTER_AREA)
        v = cv2.resize(v, size, interpolation=cv2.INTER_AREA)
    else:
        fa, fb = a[crop].copy(), b[crop].copy()
    return {"a": np.ascontiguousarray(fa, np.uint8), "b": np.ascontiguousarray(fb, np.uint8),
            "diff": np.ascontiguousarray(d, np.uint8), "valid": (v >= 128).astype(np.uint8)}


def build_comparison(a: Source, b: Source, register_images: bool = False, mode: str = "difference",
                     view=None, threshold: int = DEFAULT_THRESHOLD, figure_side: int = FIGURE_SIDE,
                     registration: Registration | None = None) -> Comparison:
    """Register (optionally), resample B onto A, compute the numbers and the figures.

    ``registration``: a transform already estimated for these two images (the window
    keeps the one it showed), used instead of estimating it again.
    """
    mode = str(mode).lower()
    if mode not in MODES:
        raise UserError(f"comparison mode {mode!r}: use one of {', '.join(MODES)}")
    ha, wa = a.pixels.shape[:2]
    hb, wb = b.pixels.shape[:2]
    same_evidence = a.evidence_id == b.evidence_id
    if registration is not None:
        reg, registered = registration, registration.model != "identity"
    elif register_images and not same_evidence:
        reg, registered = register(a.base, b.base), True
    else:
        if (wa, ha) != (wb, hb):
            raise UserError(f"the two sources differ in size ({wa}x{ha} and {wb}x{hb}); register them "
                            "(--register, or 'aligned' in the window) to compare them")
        reg, registered = identity((wa, ha), (wb, hb)), False
        if register_images and same_evidence:
            reg.notes.append("both sources come from the same evidence image: no registration needed")
    if tuple(reg.size_a) != (wa, ha) or tuple(reg.size_b) != (wb, hb):
        raise UserError("the registration given was estimated for images of another size")
    aligned, valid = resample(b.pixels, reg)
    if b.defined is not None:
        bdef, _ = resample(b.defined.astype(np.uint8) * 255, reg)
        valid &= bdef > 127
    if a.defined is not None:
        valid &= a.defined
    if not valid.any():
        raise UserError("the two sources do not overlap")
    diff = abs_diff(a.pixels, aligned)
    numbers = compute_numbers(a.pixels, aligned, valid, threshold, a.raw if a.layer is None else None,
                              b.raw if b.layer is None else None, diff=diff)
    view = _bbox(valid) if view is None else _clip_view(view, wa, ha)
    figs = _figures(a.pixels, aligned, diff, valid, view, figure_side)
    return Comparison((a, b), mode, view, reg, registered, numbers, diff_scale_for(diff, valid, threshold), figs,
                      aligned, valid)
