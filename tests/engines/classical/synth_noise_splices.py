"""Synthetic splices whose only trace is a different noise level or noise texture.

Scene content is made to look like a photograph's, not flat colour: smooth illumination
gradients, low-frequency shading, 1/f ("pink") texture, and a few objects with soft
edges and their own texture.  A "camera" then renders the scene: lens blur, Gaussian sensor
noise, a slight blur (demosaicing) and an unsharp-mask resharpening, as in-camera
processing does.  A forgery pastes a region of a *second* scene rendered differently:

* ``noisier``   - white noise of sigma 6 and no in-camera processing,
* ``upscaled``  - a noisy render enlarged 1.7x (resampling correlates the noise),
* ``denoised``  - the camera render smoothed by a denoiser (much less noise).

Masks are rectangles, ellipses, polygons and blobs at varied positions covering roughly
8-25 % of the frame.  Everything is seeded and deterministic.

    python -m tests.engines.classical.synth_noise_splices OUTDIR   # writes PNGs + masks
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

HOST_SIGMA = 2.0
DONOR_SIGMA = 6.0


@dataclass
class Case:
    name: str
    rgb: np.ndarray            # uint8 (H, W, 3)
    mask: np.ndarray | None    # bool (H, W), None for pristine images
    kind: str


def _smooth_noise(rng, h, w, sigma, channels=1):
    n = rng.standard_normal((h, w, channels)).astype(np.float32)
    out = np.stack([cv2.GaussianBlur(n[..., c], (0, 0), sigma) for c in range(channels)], -1)
    out /= out.std() + 1e-6
    return out


def _pink(rng, h, w, channels=3, exponent=1.5):
    """1/f^exponent texture, unit std per channel (correlated across channels like real
    texture); exponent 1.5 keeps it mostly above the scale of sensor noise."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx ** 2 + fy ** 2)
    f[0, 0] = 1.0
    amp = f ** -exponent
    amp[0, 0] = 0.0
    base = np.fft.irfft2(amp * np.exp(2j * np.pi * rng.random(amp.shape)), s=(h, w)).astype(np.float32)
    base /= base.std() + 1e-6
    mix = rng.uniform(0.6, 1.0, channels).astype(np.float32)
    return base[..., None] * mix[None, None, :]


def scene(h: int, w: int, seed: int) -> np.ndarray:
    """A noiseless float32 (H, W, 3) scene in about 35..220."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    col = rng.uniform(70, 170, 3).astype(np.float32)
    gx, gy = rng.uniform(-0.25, 0.25, 2)
    img = col[None, None, :] + (gx * (x - w / 2) + gy * (y - h / 2))[..., None]
    img += 18 * _smooth_noise(rng, h, w, max(h, w) / 8, 3)            # shading
    img += rng.uniform(4, 9) * _pink(rng, h, w)                         # fine texture everywhere
    for _ in range(rng.integers(3, 6)):                                 # soft-edged objects
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.08, 0.3) * h, rng.uniform(0.08, 0.3) * w
        obj = (((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1).astype(np.float32)
        obj = cv2.GaussianBlur(obj, (0, 0), rng.uniform(0.8, 2.5))[..., None]
        tone = rng.uniform(60, 190, 3).astype(np.float32)
        tex = rng.uniform(3, 12) * _pink(rng, h, w)
        if rng.random() < 0.5:  # a striped/woven texture
            ang = rng.uniform(0, np.pi)
            per = rng.uniform(8, 20)
            tex += rng.uniform(4, 10) * np.sin(2 * np.pi * (x * np.cos(ang) + y * np.sin(ang)) / per)[..., None]
        img = img * (1 - obj) + (tone + tex) * obj
    return np.clip(img, 35, 220).astype(np.float32)


def optics(img: np.ndarray) -> np.ndarray:
    """The lens blurs the scene before the sensor adds noise."""
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def camera(img: np.ndarray, rng, sigma: float = HOST_SIGMA) -> np.ndarray:
    """Optics, sensor noise, then a slight blur (demosaicing) and an unsharp-mask
    resharpening, as in-camera processing does (float32)."""
    noisy = optics(img) + rng.normal(0, sigma, img.shape).astype(np.float32)
    soft = cv2.GaussianBlur(noisy, (0, 0), 0.7)
    blurred = cv2.GaussianBlur(soft, (0, 0), 1.5)
    return (soft + 0.8 * (soft - blurred)).astype(np.float32)


def donor_render(img: np.ndarray, rng, kind: str) -> np.ndarray:
    h, w = img.shape[:2]
    if kind == "noisier":
        return optics(img) + rng.normal(0, DONOR_SIGMA, img.shape).astype(np.float32)
    if kind == "upscaled":
        small = cv2.resize(optics(img), (int(w / 1.7) + 1, int(h / 1.7) + 1), interpolation=cv2.INTER_AREA)
        small = small + rng.normal(0, 4.0, small.shape).astype(np.float32)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if kind == "denoised":
        return cv2.bilateralFilter(camera(img, rng), 7, 20.0, 5.0)
    raise ValueError(kind)


def region(h: int, w: int, shape: str, rng) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    frac = rng.uniform(0.10, 0.22)
    area = frac * h * w
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    if shape == "rect":
        aspect = rng.uniform(0.6, 1.6)
        rh, rw = np.sqrt(area * aspect) / 2, np.sqrt(area / aspect) / 2
        m = (np.abs(y - cy) <= rh) & (np.abs(x - cx) <= rw)
    elif shape == "ellipse":
        aspect = rng.uniform(0.6, 1.6)
        ry, rx = np.sqrt(area * aspect / np.pi), np.sqrt(area / aspect / np.pi)
        m = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1
    elif shape == "polygon":
        r = np.sqrt(area / np.pi) * 1.1
        ang = np.sort(rng.uniform(0, 2 * np.pi, 7))
        rad = r * rng.uniform(0.75, 1.25, 7)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], -1).astype(np.int32)
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [pts], 1)
        m = m.astype(bool)
    elif shape == "blob":
        field = _smooth_noise(rng, h, w, min(h, w) / 10)[..., 0]
        field -= 2.0 * (((y - cy) / h) ** 2 + ((x - cx) / w) ** 2) * 6
        m = field >= np.quantile(field, 1 - frac)
        n, lab, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8))
        if n > 1:
            m = lab == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    else:
        raise ValueError(shape)
    return m


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def forgery(h: int, w: int, seed: int, kind: str, shape: str) -> Case:
    rng = np.random.default_rng(1000 + seed)
    host = camera(scene(h, w, seed), rng)
    donor = donor_render(scene(h, w, seed + 500), rng, kind)
    m = region(h, w, shape, rng)
    soft = cv2.GaussianBlur(m.astype(np.float32), (0, 0), 0.7)[..., None]  # feathered paste
    out = host * (1 - soft) + donor * soft
    return Case(f"splice_{seed}_{kind}_{shape}_{w}x{h}", _u8(out), m, kind)


def pristine(h: int, w: int, seed: int) -> Case:
    rng = np.random.default_rng(2000 + seed)
    return Case(f"pristine_{seed}_{w}x{h}", _u8(camera(scene(h, w, seed), rng)), None, "pristine")


FORGERY_SPECS = [  # (h, w, seed, kind, shape)
    (256, 256, 1, "noisier", "rect"),
    (320, 320, 2, "noisier", "ellipse"),
    (384, 512, 3, "noisier", "polygon"),
    (256, 384, 4, "upscaled", "blob"),
    (384, 384, 5, "denoised", "ellipse"),
    (320, 448, 6, "noisier", "blob"),
    (384, 512, 7, "upscaled", "rect"),
    (288, 384, 8, "denoised", "polygon"),
    (352, 352, 9, "noisier", "polygon"),
]
PRISTINE_SPECS = [(256, 256, 11), (320, 448, 12), (384, 512, 13), (384, 384, 14), (288, 384, 15)]


def forgeries() -> list[Case]:
    return [forgery(*s) for s in FORGERY_SPECS]


def pristines() -> list[Case]:
    return [pristine(*s) for s in PRISTINE_SPECS]


if __name__ == "__main__":  # pragma: no cover - manual inspection
    import sys
    from pathlib import Path

    from PIL import Image

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "synth_noise_splices")
    out.mkdir(parents=True, exist_ok=True)
    for c in forgeries() + pristines():
        Image.fromarray(c.rgb).save(out / f"{c.name}.png")
        if c.mask is not None:
            Image.fromarray((c.mask * 255).astype(np.uint8)).save(out / f"{c.name}_mask.png")
    print(out)
