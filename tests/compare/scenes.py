"""Synthetic photographs for the comparison tests and benchmark, and a second version made
from the first the way pictures travel: crop, rescale, small rotation, JPEG re-save and an
object pasted in.  The true transform is returned so a test can check the one recovered."""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image


def textured_scene(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A cluttered colour scene, uint8 (H, W, 3): smooth multi-scale background, a few hundred
    filled shapes of random colour (corners and edges at every scale) and mild sensor noise."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    for cell in (max(h, w) // 6, max(h, w) // 30, max(h, w) // 120):
        gh, gw = h // max(cell, 1) + 2, w // max(cell, 1) + 2
        img += cv2.resize(rng.uniform(-40, 40, (gh, gw, 3)).astype(np.float32), (w, h),
                          interpolation=cv2.INTER_CUBIC)
    img += 128
    scale = max(h, w) / 1000.0
    for _ in range(int(h * w / (25 * scale) ** 2)):
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        cx, cy = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        size = int(np.exp(rng.uniform(np.log(3), np.log(50))) * scale) + 2
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.rectangle(img, (cx, cy), (cx + size, cy + int(size * rng.uniform(0.4, 2))), colour, -1)
        elif kind == 1:
            cv2.circle(img, (cx, cy), size // 2 + 1, colour, -1)
        else:
            pts = np.array([[cx + rng.uniform(-size, size), cy + rng.uniform(-size, size)] for _ in range(3)],
                           np.int32)
            cv2.fillPoly(img, [pts], colour)
    img = cv2.GaussianBlur(img, (0, 0), 0.8 * max(1.0, scale))
    img += rng.normal(0, 2.0, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def jpeg_bytes(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


@dataclass
class SecondVersion:
    rgb: np.ndarray            # decoded pixels of the second version
    data: bytes                # its JPEG bytes
    a_to_b: np.ndarray         # 3x3: pixel (x, y) of the first image -> pixel of the second
    pasted_box: tuple[int, int, int, int]   # (x, y, w, h) of the pasted object, in the first image's pixels


def second_version(first: np.ndarray, crop=(0.08, 0.06, 0.86, 0.88), scale: float = 0.8,
                   angle_deg: float = 2.0, quality: int = 75, seed: int = 1) -> SecondVersion:
    """Crop (fractions x, y, w, h of the first image), rescale, rotate about the crop's centre,
    paste a patch of unrelated texture, re-save as JPEG.  OpenCV's pixel-centre convention."""
    h, w = first.shape[:2]
    cx0, cy0 = int(crop[0] * w), int(crop[1] * h)
    cw, ch = int(crop[2] * w), int(crop[3] * h)
    ow, oh = round(cw * scale), round(ch * scale)
    # first -> crop (translate), -> rescale about the pixel-centre convention, -> rotate about the centre
    t = np.array([[1, 0, -cx0], [0, 1, -cy0], [0, 0, 1]], np.float64)
    sx, sy = ow / cw, oh / ch
    s = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], np.float64)
    r = np.vstack([cv2.getRotationMatrix2D(((ow - 1) / 2, (oh - 1) / 2), angle_deg, 1.0), [0, 0, 1]])
    a_to_b = r @ s @ t
    out = cv2.warpAffine(first, a_to_b[:2], (ow, oh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    # the pasted object: a patch of another scene, placed in the second version
    rng = np.random.default_rng(seed)
    pw, ph = ow // 6, oh // 6
    px, py = int(rng.uniform(0.2, 0.6) * ow), int(rng.uniform(0.2, 0.6) * oh)
    out[py:py + ph, px:px + pw] = textured_scene(ph, pw, seed + 100)
    data = jpeg_bytes(out, quality)
    b_to_a = np.linalg.inv(a_to_b)
    corners = np.array([[px, py, 1], [px + pw, py, 1], [px, py + ph, 1], [px + pw, py + ph, 1]], np.float64)
    ca = (b_to_a @ corners.T).T[:, :2]
    x0, y0 = ca.min(0)
    x1, y1 = ca.max(0)
    return SecondVersion(decode(data), data, a_to_b, (int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
