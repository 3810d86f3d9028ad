"""Regenerate resources/samples/sample_splice.png: a scene made by this project with a
rectangular region replaced by the same scene with a different blur and noise history
(invisible to the eye, visible to noise-based detectors).
Ground truth: resources/samples/sample_splice_mask.png (white = spliced)."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

OUT = Path(__file__).resolve().parents[1] / "resources" / "samples"


def scene(h: int, w: int, seed: int, noise: float, noise_seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([120 + 70 * np.sin(x / 41 + 1.3 * c) * np.cos(y / 67 - c) + 25 * np.sin((x + y) / 13 + c)
                    for c in range(3)], -1)
    for _ in range(25):  # soft blobs ("objects")
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(10, 50)
        col = rng.uniform(-60, 60, 3)
        img += col * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))[..., None]
    img += np.random.default_rng(noise_seed).normal(0, noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    h, w = 384, 512
    host = scene(h, w, 1, 2.0, 10)
    donor = np.asarray(Image.fromarray(scene(h, w, 1, 0.0, 11)).filter(ImageFilter.GaussianBlur(1.2)))
    donor = np.clip(donor + np.random.default_rng(3).normal(0, 5, donor.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((h, w), bool)
    mask[140:260, 300:440] = True
    out = host.copy()
    out[mask] = donor[mask]
    Image.fromarray(out).save(OUT / "sample_splice.png", optimize=True)
    Image.fromarray((mask * 255).astype(np.uint8)).save(OUT / "sample_splice_mask.png", optimize=True)


if __name__ == "__main__":
    main()
