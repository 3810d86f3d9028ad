"""Synthetic JPEG splices with known masks, for the jpeg / ela / ghost tests and benchmarks.

Content is natural-looking rather than flat: a smooth colour gradient, 1/f ("pink")
texture at several scales, a few soft-edged shapes, fine sensor-like noise.  A forgery
is made the way a splice is made in practice:

1. the host is JPEG-compressed at ``q1`` (or left uncompressed when ``q1`` is None);
2. a donor (other content) is compressed at ``q_region`` (or not) on an 8x8 grid shifted
   by ``shift`` relative to the host's grid, and a region of it (ellipse or polygon-ish
   blob, not block aligned) is pasted into the host;
3. the composite is saved as JPEG at ``q2``: these bytes are the evidence.

``pristine_jpeg`` gives single-compressed images from the same content generator.
All functions are deterministic in their seed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def natural_content(h: int, w: int, seed: int = 0) -> np.ndarray:
    """uint8 (h, w, 3): gradient + multi-scale 1/f texture + soft shapes + noise."""
    import cv2

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.empty((h, w, 3), np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    grad = (np.cos(ang) * x / w + np.sin(ang) * y / h)
    for c in range(3):
        base[..., c] = rng.uniform(70, 170) + rng.uniform(-50, 50) * grad
    # 1/f texture, shared luminance part plus a weaker chroma part
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    f = np.sqrt(fy ** 2 + fx ** 2)
    f[0, 0] = 1.0
    amp = 1.0 / f ** 1.1
    amp[0, 0] = 0.0

    def pink() -> np.ndarray:
        ph = np.exp(2j * np.pi * rng.random((h, w)))
        t = np.real(np.fft.ifft2(amp * ph))
        return (t / (t.std() + 1e-9)).astype(np.float32)

    lum = pink()
    for c in range(3):
        base[..., c] += 22 * lum + 8 * pink()
    # a few soft-edged shapes (objects with edges)
    for _ in range(rng.integers(3, 7)):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.05, 0.25) * h, rng.uniform(0.05, 0.25) * w
        m = (((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 < 1).astype(np.float32)
        m = cv2.GaussianBlur(m, (0, 0), rng.uniform(0.8, 2.5))
        col = rng.uniform(-60, 60, 3).astype(np.float32)
        base += m[..., None] * col[None, None, :]
    # fine texture (high-frequency detail) and sensor-like noise
    base += rng.normal(0, 3.0, (h, w, 1)).astype(np.float32) * rng.uniform(0.5, 1.5)
    base += rng.normal(0, 1.5, (h, w, 3)).astype(np.float32)
    return np.clip(np.round(base), 0, 255).astype(np.uint8)


def jpeg_bytes(rgb: np.ndarray, quality: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=int(quality))
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


def jpeg_roundtrip(rgb: np.ndarray, quality: int | None, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Compress/decompress ``rgb`` at ``quality`` on a grid whose origin is ``shift``
    (dy, dx); pixels left of / above the origin are compressed with a padded copy, so
    the whole image is covered.  ``quality=None`` returns the input unchanged."""
    if quality is None:
        return rgb.copy()
    dy, dx = shift[0] % 8, shift[1] % 8
    if dy == 0 and dx == 0:
        return decode(jpeg_bytes(rgb, quality))
    # put the origin at (dy, dx): pad 8 - d pixels in front, compress, cut them off
    py, px = (8 - dy) % 8, (8 - dx) % 8
    padded = np.pad(rgb, ((py, 0), (px, 0), (0, 0)), mode="reflect")
    return decode(jpeg_bytes(padded, quality))[py:, px:]


def blob_mask(h: int, w: int, rng: np.random.Generator, frac: tuple[float, float] = (0.12, 0.25)) -> np.ndarray:
    """A smooth, non-block-aligned blob covering roughly ``frac`` of the image."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    target = rng.uniform(*frac) * h * w
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    aspect = rng.uniform(0.6, 1.6)
    r = np.sqrt(target / np.pi)
    ry, rx = r * np.sqrt(aspect), r / np.sqrt(aspect)
    theta = np.arctan2(y - cy, x - cx)
    wobble = 1 + 0.15 * np.sin(3 * theta + rng.uniform(0, 6)) + 0.08 * np.sin(5 * theta + rng.uniform(0, 6))
    rr = np.sqrt(((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2)
    return rr < wobble


@dataclass
class Case:
    name: str
    data: bytes          # the evidence file (JPEG at q2)
    mask: np.ndarray     # bool (h, w), True = pasted
    q1: int | None
    q_region: int | None
    q2: int
    shift: tuple[int, int]


def make_splice(h: int, w: int, seed: int, q1: int | None, q_region: int | None, q2: int,
                shift: tuple[int, int] = (0, 0), same_scene: bool = False) -> Case:
    """A splice; with ``same_scene`` the donor is the host's own scene (before any
    compression), so only the compression history of the region differs, not its
    content: what a JPEG-ghost test should measure."""
    rng = np.random.default_rng(10_000 + seed)
    scene = natural_content(h, w, seed)
    host = jpeg_roundtrip(scene, q1)
    donor = jpeg_roundtrip(scene if same_scene else natural_content(h, w, seed + 5000), q_region, shift)
    mask = blob_mask(h, w, rng)
    comp = host.copy()
    comp[mask] = donor[mask]
    name = f"s{seed}_{h}x{w}_q1{q1}_qr{q_region}_sh{shift[0]}{shift[1]}_q2{q2}{'_same' if same_scene else ''}"
    return Case(name, jpeg_bytes(comp, q2), mask, q1, q_region, q2, shift)


def pristine_jpeg(h: int, w: int, seed: int, quality: int) -> bytes:
    return jpeg_bytes(natural_content(h, w, seed), quality)


# The set the ``jpeg`` engine is meant for: typical double compression (q2 > q1) with an
# uncompressed, differently compressed or grid-shifted region, two q2 < q1 cases (which
# the engine does not detect) and an uncompressed host with a grid-shifted JPEG region
# saved at high quality (ZERO's case).
JPEG_CASES = [
    # (h, w, seed, q1, q_region, q2, shift)
    (256, 256, 1, 60, None, 90, (0, 0)),
    (256, 320, 2, 70, 90, 95, (3, 5)),
    (320, 256, 3, 65, None, 85, (0, 0)),
    (256, 384, 4, 50, 50, 80, (4, 4)),
    (384, 512, 5, 80, None, 95, (0, 0)),
    (256, 256, 6, 60, 95, 90, (2, 6)),
    (320, 320, 7, 75, 75, 90, (0, 3)),
    (256, 384, 8, 85, None, 75, (0, 0)),
    (288, 352, 9, 90, 90, 80, (5, 1)),
    (256, 320, 10, None, 80, 97, (3, 5)),
]

# The set ``ghost`` is designed for (Farid 2009): the region was compressed at a lower
# quality than the final save, on the same grid; host uncompressed or high quality.  The
# region comes from the same scene, so only its compression history differs.
GHOST_CASES = [
    (256, 256, 11, None, 60, 90, (0, 0), True),
    (256, 320, 12, 95, 65, 90, (0, 0), True),
    (320, 256, 13, None, 70, 95, (0, 0), True),
    (256, 384, 14, 92, 55, 85, (0, 0), True),
    (320, 320, 15, None, 75, 95, (0, 0), True),
    (256, 256, 16, 90, 60, 85, (0, 0), True),
]

# Classic error level analysis cases: a region less compressed than the host (never
# compressed) pasted into a low-quality JPEG, the whole saved at a higher quality.
ELA_CASES = [
    (256, 256, 31, 60, None, 90, (0, 0), True),
    (256, 320, 32, 70, None, 95, (0, 0), True),
    (256, 384, 34, 65, None, 85, (0, 0), True),
    (256, 256, 35, 75, None, 92, (0, 0), False),
]

PRISTINE_CASES = [(256, 256, 21, 60), (256, 320, 22, 75), (320, 256, 23, 85), (256, 384, 24, 90),
                  (320, 320, 25, 95), (384, 512, 26, 70)]


def jpeg_set() -> list[Case]:
    return [make_splice(*c) for c in JPEG_CASES]


def ghost_set() -> list[Case]:
    return [make_splice(*c) for c in GHOST_CASES]


def ela_set() -> list[Case]:
    return [make_splice(*c) for c in ELA_CASES]


def pristine_set() -> list[tuple[str, bytes]]:
    return [(f"p{s}_{h}x{w}_q{q}", pristine_jpeg(h, w, s, q)) for h, w, s, q in PRISTINE_CASES]


def write_case(case: Case, folder: Path) -> Path:
    """Write the evidence bytes to ``folder/<name>.jpg`` and return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / f"{case.name}.jpg"
    p.write_bytes(case.data)
    return p


def evidence_from_bytes(data: bytes, tmpdir: Path, name: str):
    """Open bytes as an Evidence through the app's own loader (written to tmpdir)."""
    from trufor_desk.evidence.image import open_evidence

    tmpdir.mkdir(parents=True, exist_ok=True)
    p = tmpdir / name
    p.write_bytes(data)
    return open_evidence(p)
