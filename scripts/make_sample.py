"""Regenerate the project's sample: ``resources/samples/sample_splice.jpg`` and its ground
truth ``resources/samples/sample_splice_mask.png`` (white = spliced).

What it is: a real photograph with a region spliced in from another real photograph, with
the JPEG history a splice usually has.

1. Host: scikit-image's ``coffee`` (a cup on a wooden table), saved once as a camera
   would, JPEG quality ``HOST_QUALITY``, and decoded again.
2. Donor: the head of Chelsea the cat from scikit-image's ``chelsea``, which had its own
   JPEG history (``DONOR_QUALITY``); cut out with a soft-edged ellipse, scaled down by
   ``DONOR_SCALE`` (resampling changes its noise) and pasted at an offset that is not a
   multiple of 8, so whatever remains of its JPEG grid does not line up with the host's.
3. The composite is saved as JPEG at ``FINAL_QUALITY``: the host area is now doubly
   compressed on one aligned grid, the pasted area is not.

The mask marks the pixels whose pasted weight is at least one half.

Licences of the photographs, as stated in scikit-image's own source
(``skimage/data/_fetchers.py``, the docstrings of ``coffee()`` and ``chelsea()``, checked
in scikit-image 0.26.0; scikit-image's code itself is BSD-3-Clause):

- ``coffee``: "No copyright restrictions. CC0 by the photographer (Rachel Michetti)";
  photograph courtesy of Pikolo Espresso Bar.
- ``chelsea``: "No copyright restrictions. CC0 by the photographer (Stefan van der Walt)".

scikit-image is needed only to regenerate the sample, never to run TruFor Desk::

    python3 -m pip install scikit-image      # into any environment; not a dependency
    python3 scripts/make_sample.py

The output is deterministic for a given scikit-image, NumPy and Pillow (libjpeg) version.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parents[1] / "resources" / "samples"
SAMPLE = "sample_splice.jpg"
MASK = "sample_splice_mask.png"

HOST_QUALITY = 70    # the host photo as first saved (a camera or a messaging app)
DONOR_QUALITY = 85   # the donor photo's own earlier compression
FINAL_QUALITY = 90   # the forger's save of the composite
DONOR_SCALE = 0.45   # the cat's head is shrunk to fit the scene
HEAD_BOX = (30, 0, 380, 300)   # left, top, right, bottom of the head in chelsea (451 x 300)
PASTE_AT = (413, 13)           # left, top in the host (600 x 400); not multiples of 8
FEATHER = 2.0                  # Gaussian blur (px) of the cut-out's edge, after scaling


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality, subsampling="4:2:0")
    return buf.getvalue()


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _photos() -> tuple[np.ndarray, np.ndarray]:
    try:
        from skimage import data
    except ImportError:
        raise SystemExit("scikit-image is needed to regenerate the sample: "
                         "python3 -m pip install scikit-image") from None
    return data.coffee(), data.chelsea()


def compose(host: np.ndarray, donor: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The composite's JPEG bytes and its boolean ground-truth mask."""
    host = _decode(_jpeg(host, HOST_QUALITY)).astype(np.float32)
    donor = _decode(_jpeg(donor, DONOR_QUALITY))

    left, top, right, bottom = HEAD_BOX
    head = Image.fromarray(donor).crop(HEAD_BOX)
    size = (round((right - left) * DONOR_SCALE), round((bottom - top) * DONOR_SCALE))
    head = np.asarray(head.resize(size, Image.Resampling.LANCZOS), dtype=np.float32)

    alpha = Image.new("L", size, 0)
    ImageDraw.Draw(alpha).ellipse((2, 2, size[0] - 3, size[1] - 3), fill=255)
    alpha = np.asarray(alpha.filter(ImageFilter.GaussianBlur(FEATHER)), dtype=np.float32)[..., None] / 255.0

    x, y = PASTE_AT
    h, w = head.shape[:2]
    if x % 8 == 0 or y % 8 == 0 or y + h > host.shape[0] or x + w > host.shape[1]:
        raise ValueError("the paste offset must be inside the host and off its 8x8 grid")
    out = host.copy()
    region = out[y:y + h, x:x + w]
    out[y:y + h, x:x + w] = alpha * head + (1.0 - alpha) * region
    composite = np.clip(np.rint(out), 0, 255).astype(np.uint8)

    mask = np.zeros(host.shape[:2], bool)
    mask[y:y + h, x:x + w] = alpha[..., 0] >= 0.5
    return _jpeg(composite, FINAL_QUALITY), mask


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    jpeg, mask = compose(*_photos())
    (OUT / SAMPLE).write_bytes(jpeg)
    Image.fromarray((mask * 255).astype(np.uint8)).save(OUT / MASK, optimize=True)
    print(f"{OUT / SAMPLE}: {len(jpeg)} bytes; spliced area {mask.mean():.1%} of the frame")


if __name__ == "__main__":
    main()
