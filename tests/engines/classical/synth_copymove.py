"""Synthetic copy-move forgeries with exact ground truth.

The images are meant to look like photographs to a keypoint detector rather than like
test patterns: a smooth illumination gradient, multi-scale "cloud" texture (filtered
noise at several scales, mixed differently into each channel), a few dozen soft-edged
blobs of random size and colour, and per-pixel sensor noise.  Nothing in a pristine
image repeats, so a detector has no legitimate self-similarity to find.

A forgery copies one random region (ellipse or polygon, 20-32 % of the short side across)
and pastes it elsewhere, without overlap, through an affine map: a pure translation,
a rotation of 15-30 degrees, or a scaling by 0.8-1.2 (rotation and scaling about the
region's centre, followed by the move).  The mask marks BOTH the source region and the
pasted destination region, as in the usual copy-move benchmarks (e.g. MICC, CoMoFoD).

    make_pristine(h, w, seed)                      -> uint8 (h, w, 3)
    make_copymove(h, w, kind, seed)               -> (uint8 image, bool mask, 2x3 affine)
    standard_set()                                 -> the list of cases the tests use
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def _clouds(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean multi-scale texture, roughly unit amplitude, float32 (h, w)."""
    out = np.zeros((h, w), np.float32)
    for sigma, weight in ((1.5, 0.5), (3.0, 0.8), (6.0, 1.0), (12.0, 1.0), (24.0, 0.8)):
        n = rng.normal(0, 1, (h, w)).astype(np.float32)
        n = cv2.GaussianBlur(n, (0, 0), sigma)
        n /= n.std() + 1e-6
        out += weight * n
    return out / out.std()


def make_pristine(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A natural-looking textured colour image with no repeated content."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    gx, gy = rng.uniform(-60, 60, 2)
    base = rng.uniform(90, 160, 3)
    tex = [_clouds(h, w, rng) for _ in range(2)]
    for c in range(3):
        mix = rng.uniform(0.3, 1.0, 2)
        img[..., c] = (base[c] + gx * (x / w - 0.5) + gy * (y / h - 0.5)
                       + 18 * mix[0] * tex[0] + 12 * mix[1] * tex[1])
    # soft-edged blobs of random size, orientation and colour
    n_blobs = int(rng.integers(15, 35))
    for _ in range(n_blobs):
        m = np.zeros((h, w), np.uint8)
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(4, max(5, min(h, w) // 8))), int(rng.integers(4, max(5, min(h, w) // 8))))
        cv2.ellipse(m, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        alpha = cv2.GaussianBlur(m.astype(np.float32), (0, 0), float(rng.uniform(0.7, 2.5)))
        alpha *= rng.uniform(0.5, 1.0)
        colour = rng.uniform(20, 235, 3).astype(np.float32)
        img = img * (1 - alpha[..., None]) + colour * alpha[..., None]
    img += rng.normal(0, 3.0, img.shape).astype(np.float32)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _region_mask(h: int, w: int, centre: tuple[float, float], radius: float,
                 rng: np.random.Generator) -> np.ndarray:
    """A random ellipse or star-convex polygon around ``centre``, uint8 0/1."""
    m = np.zeros((h, w), np.uint8)
    cx, cy = centre
    if rng.random() < 0.5:
        axes = (int(radius), int(radius * rng.uniform(0.6, 1.0)))
        cv2.ellipse(m, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    else:
        k = int(rng.integers(5, 9))
        ang = (np.arange(k) + rng.uniform(-0.3, 0.3, k)) * (2 * np.pi / k) + rng.uniform(0, 2 * np.pi)
        rad = radius * rng.uniform(0.7, 1.0, k)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).round().astype(np.int32)
        cv2.fillPoly(m, [pts], 1)
    return m


def _affine(kind: str, centre_src, centre_dst, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """2x3 map from source to destination coordinates, and its linear scale."""
    angle, scale = 0.0, 1.0
    if kind == "rotation":
        angle = float(rng.uniform(15, 30) * rng.choice([-1, 1]))
    elif kind == "scale":
        scale = float(rng.choice([rng.uniform(0.8, 0.9), rng.uniform(1.1, 1.2)]))
    elif kind != "translation":
        raise ValueError(f"unknown copy-move kind {kind!r}")
    a = np.deg2rad(angle)
    lin = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    t = np.asarray(centre_dst, float) - lin @ np.asarray(centre_src, float)
    return np.hstack([lin, t[:, None]]), scale


def make_copymove(h: int, w: int, kind: str = "translation", seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(forged image, mask of source AND destination, 2x3 source->destination affine)."""
    rng = np.random.default_rng(seed + 1000)
    img = make_pristine(h, w, seed)
    radius = float(min(h, w) * rng.uniform(0.10, 0.16))  # the region spans 20-32 % of the short side
    margin = int(radius * 1.25) + 4
    for _ in range(500):
        cs = (rng.uniform(margin, w - margin), rng.uniform(margin, h - margin))
        cd = (rng.uniform(margin, w - margin), rng.uniform(margin, h - margin))
        if np.hypot(cs[0] - cd[0], cs[1] - cd[1]) > 2.6 * radius + 10:
            break
    else:  # pragma: no cover - the image is always big enough for the sizes used
        raise ValueError("image too small for a non-overlapping copy")
    src = _region_mask(h, w, cs, radius, rng)
    affine, _ = _affine(kind, cs, cd, rng)
    moved = cv2.warpAffine(img, affine, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    dst = cv2.warpAffine(src, affine, (w, h), flags=cv2.INTER_NEAREST) > 0
    out = img.copy()
    out[dst] = moved[dst]
    mask = dst | (src > 0)
    return out, mask, affine


@dataclass(frozen=True)
class Case:
    name: str
    image: np.ndarray
    mask: np.ndarray | None  # None for pristine images


def standard_set() -> list[Case]:
    """Eight forgeries (translation, rotation, scaling; 256x256 to 384x512) and four
    pristine images, all from fixed seeds."""
    specs = [
        ("translation", 256, 256, 1), ("translation", 384, 512, 2), ("translation", 320, 320, 3),
        ("rotation", 256, 256, 4), ("rotation", 384, 512, 5), ("rotation", 320, 384, 6),
        ("scale", 256, 320, 7), ("scale", 384, 512, 8),
    ]
    cases = []
    for kind, h, w, seed in specs:
        img, mask, _ = make_copymove(h, w, kind, seed)
        cases.append(Case(f"{kind}-{h}x{w}-s{seed}", img, mask))
    for h, w, seed in ((256, 256, 21), (384, 512, 22), (320, 384, 23), (256, 384, 24)):
        cases.append(Case(f"pristine-{h}x{w}-s{seed}", make_pristine(h, w, seed), None))
    return cases



def _grainy(h: int, w: int, grain: float, rng: np.random.Generator) -> np.ndarray:
    """A weakly textured photo: smooth gradient, soft clouds and film grain."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(80, 170, 3)
    gx, gy = rng.uniform(-40, 40, 2)
    img = np.empty((h, w, 3), np.float32)
    lum = 8.0 * _clouds(h, w, rng) + grain * rng.normal(0, 1, (h, w)).astype(np.float32)
    for c in range(3):
        img[..., c] = base[c] + gx * (x / w - 0.5) + gy * (y / h - 0.5) + lum
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def make_small_clone(h: int = 256, w: int = 384, radius: int = 20, seed: int = 0, grain: float = 2.0,
                     jpeg_quality: int = 0) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """A small disc (``radius`` pixels, about 1 % of the image) copied by a plain integer
    shift, optionally saved as JPEG of ``jpeg_quality`` after the edit: (image, mask of
    both copies, (dx, dy)).  The photo is ``make_pristine``'s when ``grain`` < 0, else a
    weakly textured one (gradient, soft clouds, film grain of ``grain`` grey levels)."""
    rng = np.random.default_rng(seed + 2000)
    img = make_pristine(h, w, seed) if grain < 0 else _grainy(h, w, grain, rng)
    m = radius + 2
    for _ in range(500):
        cs = np.array([rng.integers(m, w - m), rng.integers(m, h - m)])
        cd = np.array([rng.integers(m, w - m), rng.integers(m, h - m)])
        if np.hypot(*(cd - cs)) > 3 * radius + 20:
            break
    else:  # pragma: no cover - the image is always big enough for the sizes used
        raise ValueError("image too small for a non-overlapping copy")
    src = np.zeros((h, w), np.uint8)
    cv2.circle(src, (int(cs[0]), int(cs[1])), int(radius), 1, -1)
    dx, dy = (int(v) for v in cd - cs)
    dst = np.roll(np.roll(src, dy, axis=0), dx, axis=1).astype(bool)
    out = img.copy()
    out[dst] = np.roll(np.roll(img, dy, axis=0), dx, axis=1)[dst]
    if jpeg_quality:
        ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
        out = np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
    return out, dst | (src > 0), (dx, dy)
