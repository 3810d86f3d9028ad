"""Re-shared copies of an evaluation set, the way messaging apps and social networks pass
photographs on (issue #19).

    python scripts/make_reshared.py [DATASET_DIR] [--out OUT_DIR] [--conditions a,b] [--limit N]

DATASET_DIR (default ``../shared/casia-dev``) has the layout of ``trufor-desk evaluate``
(``fake/``, ``mask/``, ``real/``).  OUT_DIR (default ``~/.cache/trufor-desk/reshared``)
gets one folder per condition with the same layout, masks transformed with the image:

* ``resave95`` / ``resave85``: decoded and saved again as JPEG at quality 95 / 85 on the
  same 8x8 grid (aligned re-compression; Pillow's default 4:2:0 chroma);
* ``crop_resave90``: a few pixels cropped from the top and the left (1-7 rows and 1-7
  columns, drawn from the file name, so the old 8x8 grid no longer lines up), then saved
  at quality 90 (non-aligned double compression);
* ``down75_resave75``: downscaled to 0.75 of its size (Lanczos), saved at quality 75:
  resampling erases the compression history;
* ``resave75`` (a messaging app's quality), ``twice85_75`` (passed on twice: saved at 85,
  then at 75), ``crop_resave75`` (the crop above, saved at 75) and ``down50_resave80``
  (halved, saved at 80: a small single-compressed copy, 192x128 from casia-dev).

Deterministic: the same input gives the same bytes (the crop offsets come from a hash of
the file name, Pillow's encoder is deterministic).  The images are never written into
the project: the default folder is a user cache.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def crop_offsets(name: str) -> tuple[int, int]:
    """(rows, columns) cropped from the top and left: 1..7 each, from the file name."""
    h = hashlib.sha256(name.encode()).digest()
    return 1 + h[0] % 7, 1 + h[1] % 7


def _resave(quality: int) -> Callable[[Image.Image, Image.Image | None, str], tuple]:
    def f(img, mask, name):
        return img, mask, quality
    return f


def _crop_resave(quality: int) -> Callable:
    def f(img, mask, name):
        dy, dx = crop_offsets(name)
        box = (dx, dy, img.width, img.height)
        return img.crop(box), (mask.crop(box) if mask is not None else None), quality
    return f


def _down_resave(scale: float, quality: int) -> Callable:
    def f(img, mask, name):
        size = (max(8, round(img.width * scale)), max(8, round(img.height * scale)))
        small = img.resize(size, Image.Resampling.LANCZOS)
        return small, (mask.resize(size, Image.Resampling.NEAREST) if mask is not None else None), quality
    return f


def _twice(first: int, second: int) -> Callable:
    def f(img, mask, name):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=first)
        buf.seek(0)
        with Image.open(buf) as again:
            return again.convert("RGB"), mask, second
    return f


CONDITIONS: dict[str, Callable] = {
    "resave95": _resave(95),
    "resave85": _resave(85),
    "crop_resave90": _crop_resave(90),
    "down75_resave75": _down_resave(0.75, 75),
    "resave75": _resave(75),
    "twice85_75": _twice(85, 75),
    "crop_resave75": _crop_resave(75),
    "down50_resave80": _down_resave(0.5, 80),
}


def build(dataset: Path, out: Path, names: list[str], limit: int | None = None) -> dict[str, int]:
    """Write every condition of ``names``; returns the number of images per condition."""
    counts: dict[str, int] = {}
    for cond in names:
        make = CONDITIONS[cond]
        n = 0
        for kind in ("fake", "real"):
            files = sorted(p for p in (dataset / kind).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png",
                                                                                        ".tif", ".tiff", ".bmp"))
            if limit:
                files = files[:limit]
            (out / cond / kind).mkdir(parents=True, exist_ok=True)
            if kind == "fake":
                (out / cond / "mask").mkdir(parents=True, exist_ok=True)
            for f in files:
                with Image.open(f) as im:
                    img = im.convert("RGB")
                mask = None
                mpath = dataset / "mask" / (f.stem + ".png")
                if kind == "fake" and mpath.is_file():
                    with Image.open(mpath) as m:
                        mask = m.convert("L")
                img2, mask2, quality = make(img, mask, f.name)
                img2.save(out / cond / kind / (f.stem + ".jpg"), "JPEG", quality=quality)
                if mask2 is not None:
                    mask2.save(out / cond / "mask" / (f.stem + ".png"))
                n += 1
        counts[cond] = n
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", default=str(ROOT.parent / "shared" / "casia-dev"))
    ap.add_argument("--out", default=str(Path.home() / ".cache" / "trufor-desk" / "reshared"))
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--limit", type=int, default=None, help="at most N fake and N real images")
    args = ap.parse_args(argv)
    dataset = Path(args.dataset)
    if not (dataset / "fake").is_dir() or not (dataset / "real").is_dir():
        print(f"error: {dataset}: no fake/ and real/ folders (layout of `trufor-desk evaluate`)", file=sys.stderr)
        return 1
    names = [c for c in args.conditions.split(",") if c]
    unknown = [c for c in names if c not in CONDITIONS]
    if unknown:
        print(f"error: unknown condition(s) {', '.join(unknown)}; known: {', '.join(CONDITIONS)}", file=sys.stderr)
        return 1
    for cond, n in build(dataset, Path(args.out), names, args.limit).items():
        print(f"{cond}: {n} images in {Path(args.out) / cond}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
