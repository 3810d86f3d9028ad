"""Uncompressed forgeries for development: splices, copy-moves and removals made from an
evaluation set's authentic photographs, saved as PNG with their masks.

    python scripts/make_uncompressed.py [DATASET_DIR] [--out OUT_DIR] [--limit N]

Why: in a JPEG evaluation set the compression history gives much away (a pasted region
is off the host's 8x8 grid, was compressed differently, ...).  Here there is none: a
detector has to find the edit itself, from noise, resampling or duplicated content.

DATASET_DIR (default ``../shared/casia-dev``) needs ``real/``; only its authentic photos
are used.  OUT_DIR (default ``~/.cache/trufor-desk/uncompressed``) gets the layout of
``trufor-desk evaluate``: ``fake/*.png``, ``mask/*.png`` (same stem as the fake, single
channel, 255 = manipulated, 0 elsewhere), ``real/*.png``, and ``manifest.json``, which
lists per output file its source file(s), downscale factor(s), kind, region box and
transform parameters, so that a benchmark can report per kind.

1. Every source is converted to RGB and downscaled by 2, 3 or 4 (from a hash of its file
   name) with ``cv2.INTER_AREA`` on a crop to a multiple of the factor: each output pixel
   is the mean of a whole f x f block, which erases the 8x8 JPEG grid.
2. Sources sorted by name: the even-indexed ones become ``real/`` as they are, the
   odd-indexed ones are hosts of forgeries (the two sets are disjoint).  The kinds cycle
   over the hosts (splice, copymove, removal, splice, ...):

   * ``splice``: a smooth random blob (a polygon with a low-frequency jittered radius,
     roughly 5-25 % of the host) cut from a donor (any other source, downscaled with its
     own factor), rescaled by 1 or a factor in [0.7, 1.4] (bilinear), pasted fully inside
     the host.  Mask: the pasted region.
   * ``copymove``: a blob of the host (4-12 %) copied, shifted, rotated by [-10, 10]
     degrees or scaled by [0.9, 1.1] (or neither), to a place that does not overlap it.
     Mask: the destination only, which is what the evaluator scores as manipulated (the
     source is original content).
   * ``removal``: a blob (3-12 %) filled with ``cv2.inpaint`` (Telea, then Navier-Stokes),
     every third by copying 8x8 tiles from nearby outside the hole (a simple exemplar
     fill).  Mask: the filled region.

   Regions are at least ``MIN_SIDE`` x ``MIN_SIDE`` pixels (on the smallest images that
   raises the area above the nominal fraction; the manifest has the real one).  A host
   too small for that is reported on stderr and counted, never skipped silently.

Deterministic: the randomness of each output comes from ``numpy.random.default_rng``
seeded with a hash of its name, PNGs are written by Pillow with fixed settings and no
timestamps, the manifest has no dates or absolute paths; the same input gives the same
bytes.  The images are never written into the project: the default folder is a user cache
(files of an earlier build with the same names are overwritten, other files left alone).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
FACTORS = (2, 3, 4)
KINDS = ("splice", "copymove", "removal")
MIN_SIDE = 24            # smallest region box, pixels
MARGIN = 2               # regions keep this far from the image border
GAP = 2                  # copy-move: pixels between the source box and the destination box
INPAINT_RADIUS = 3
TILE = 8                 # exemplar fill: tile side
TILE_CONTEXT = 2         # exemplar fill: ring of known pixels compared around a tile
TILE_SEARCH = 32         # exemplar fill: search radius around a tile
PNG_OPTIONS = {"compress_level": 6, "optimize": False}


# --------------------------------------------------------------------------- helpers

def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def downscale_factor(name: str) -> int:
    """2, 3 or 4, from the source file name."""
    return FACTORS[_digest(name)[0] % len(FACTORS)]


def seed_of(output_name: str) -> int:
    """The seed of one output file, from its name."""
    return int.from_bytes(_digest(output_name)[:8], "little")


def downscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Block mean over ``factor`` x ``factor`` (INTER_AREA on a crop to a multiple)."""
    h, w = (img.shape[0] // factor), (img.shape[1] // factor)
    crop = np.ascontiguousarray(img[:h * factor, :w * factor])
    return cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)


def load_source(path: Path) -> tuple[np.ndarray, int]:
    """The downscaled RGB pixels of a source and its factor."""
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    f = downscale_factor(path.name)
    return downscale(rgb, f), f


def sources_in(dataset: Path) -> list[Path]:
    return sorted(p for p in (dataset / "real").iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS)


def save_png(arr: np.ndarray, path: Path) -> None:
    Image.fromarray(arr).save(path, "PNG", **PNG_OPTIONS)


def box_of(mask: np.ndarray) -> list[int]:
    """[x, y, w, h] of the True pixels."""
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def _r(v: float) -> float:
    return round(float(v), 4)


# --------------------------------------------------------------------------- regions

def blob(rng: np.random.Generator, area: float, max_h: int, max_w: int,
         min_side: int = MIN_SIDE) -> np.ndarray | None:
    """A smooth random blob of about ``area`` pixels, cropped to its box.

    A 64-gon whose radius is 1 plus four low-frequency cosines with random phases,
    stretched to a random aspect ratio (made rounder if the bounds need it); its box is at
    least ``min_side`` and at most ``max_h`` x ``max_w``.  None when those cannot both hold.
    """
    t = np.linspace(0.0, 2.0 * np.pi, 64, endpoint=False)
    r = np.ones_like(t)
    for k in range(2, 6):
        r += rng.uniform(0.0, 0.35 / k) * np.cos(k * t + rng.uniform(0.0, 2.0 * np.pi))
    r = np.maximum(r, 0.35)
    aspect = math.exp(rng.uniform(math.log(0.6), math.log(1.0 / 0.6)))
    for _ in range(4):              # too elongated for the bounds: rounder, down to aspect ~1
        out = _rasterize(r, t, aspect, area, max_h, max_w, min_side)
        if out is not None:
            return out
        aspect = math.sqrt(aspect) if abs(math.log(aspect)) > 0.05 else 1.0
    return None


def _rasterize(r: np.ndarray, t: np.ndarray, aspect: float, area: float, max_h: int, max_w: int,
               min_side: int) -> np.ndarray | None:
    x = r * np.cos(t) * math.sqrt(aspect)
    y = r * np.sin(t) / math.sqrt(aspect)
    a0 = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))
    ext_w, ext_h = float(x.max() - x.min()), float(y.max() - y.min())
    k = math.sqrt(area / a0)
    k = max(k, (min_side + 0.5) / ext_w, (min_side + 0.5) / ext_h)
    k = min(k, (max_w - 2) / ext_w, (max_h - 2) / ext_h)
    if k * ext_w < min_side or k * ext_h < min_side:
        return None
    px, py = (x - x.min()) * k, (y - y.min()) * k
    canvas = np.zeros((math.ceil(k * ext_h) + 2, math.ceil(k * ext_w) + 2), np.uint8)
    pts = np.round(np.stack([px, py], axis=1) * 16).astype(np.int32)
    cv2.fillPoly(canvas, [pts], 1, lineType=cv2.LINE_8, shift=4)
    ys, xs = np.nonzero(canvas)
    out = canvas[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(bool)
    if min(out.shape) < min_side or out.shape[0] > max_h or out.shape[1] > max_w:
        return None
    return out


def _place(rng: np.random.Generator, shape: tuple[int, int], patch: np.ndarray, margin: int = MARGIN):
    """A full-size mask with ``patch`` at a random place at least ``margin`` inside."""
    h, w = shape
    bh, bw = patch.shape
    y = int(rng.integers(margin, h - bh - margin + 1))
    x = int(rng.integers(margin, w - bw - margin + 1))
    mask = np.zeros(shape, bool)
    mask[y:y + bh, x:x + bw] = patch
    return mask, x, y


# --------------------------------------------------------------------------- manipulations

def splice(rng: np.random.Generator, host: np.ndarray, donors: list[tuple[str, np.ndarray]]):
    """Paste a blob of the first donor it fits in; (image, mask, params) or None."""
    h, w = host.shape[:2]
    frac = rng.uniform(0.05, 0.25)
    scale = 1.0 if rng.random() < 1.0 / 3.0 else float(rng.uniform(0.7, 1.4))
    for name, donor in donors:
        hd, wd = donor.shape[:2]
        max_h = min(h - 2 * MARGIN, math.floor((hd - 2) * scale))
        max_w = min(w - 2 * MARGIN, math.floor((wd - 2) * scale))
        if min(max_h, max_w) < MIN_SIDE:
            continue
        patch = blob(rng, frac * h * w, max_h, max_w)
        if patch is None:
            continue
        mask, px, py = _place(rng, (h, w), patch)
        bh, bw = patch.shape
        sh, sw = bh / scale, bw / scale
        dy = int(rng.integers(0, math.floor(hd - 1 - sh) + 1))
        dx = int(rng.integers(0, math.floor(wd - 1 - sw) + 1))
        m = np.array([[scale, 0.0, px - scale * dx], [0.0, scale, py - scale * dy]])
        warped = cv2.warpAffine(donor, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        out = host.copy()
        out[mask] = warped[mask]
        params = {"donor": name, "scale": _r(scale), "target_fraction": _r(frac),
                  "donor_region": [dx, dy, _r(sw), _r(sh)], "interpolation": "bilinear"}
        return out, mask, params
    return None


def copymove(rng: np.random.Generator, host: np.ndarray, tries: int = 50):
    """Copy a blob of the host elsewhere in it; (image, mask of the destination, params) or None."""
    h, w = host.shape[:2]
    frac = rng.uniform(0.04, 0.12)
    transform = ("none", "rotate", "scale")[int(rng.integers(3))]
    angle = float(rng.uniform(-10.0, 10.0)) if transform == "rotate" else 0.0
    scale = float(rng.uniform(0.9, 1.1)) if transform == "scale" else 1.0
    # room for two boxes (the copy up to ~1.35x larger once turned) along the long side
    if w >= h:
        max_w, max_h = int((w - 2 * MARGIN - GAP) / 2.4), int((h - 2 * MARGIN) / 1.35)
    else:
        max_w, max_h = int((w - 2 * MARGIN) / 1.35), int((h - 2 * MARGIN - GAP) / 2.4)
    if min(max_h, max_w) < MIN_SIDE:
        return None
    patch = blob(rng, frac * h * w, max_h, max_w)
    if patch is None:
        return None
    bh, bw = patch.shape
    lin = cv2.getRotationMatrix2D((0.0, 0.0), angle, scale)[:, :2]
    gx, gy = np.meshgrid(np.arange(-w, w + 1), np.arange(-h, h + 1))
    shifts = np.stack([gx.ravel(), gy.ravel()], axis=1)     # every integer shift, to pick from
    for _ in range(tries):
        src, sx, sy = _place(rng, (h, w), patch)
        cs = np.array([sx + (bw - 1) / 2.0, sy + (bh - 1) / 2.0])
        corners = np.array([[sx, sy], [sx + bw - 1, sy], [sx, sy + bh - 1], [sx + bw - 1, sy + bh - 1]], float)
        turned = (corners - cs) @ lin.T + cs               # corners of the copy before the shift
        lo = turned.min(axis=0)[None, :] + shifts
        hi = turned.max(axis=0)[None, :] + shifts
        inside = ((lo[:, 0] >= MARGIN) & (lo[:, 1] >= MARGIN)
                  & (hi[:, 0] <= w - 1 - MARGIN) & (hi[:, 1] <= h - 1 - MARGIN))
        apart = ((hi[:, 0] < sx - GAP) | (lo[:, 0] > sx + bw - 1 + GAP)
                 | (hi[:, 1] < sy - GAP) | (lo[:, 1] > sy + bh - 1 + GAP))
        ok = np.nonzero(inside & apart)[0]
        if len(ok):
            break
    else:
        return None
    tx, ty = (int(v) for v in shifts[ok[int(rng.integers(len(ok)))]])
    m = np.concatenate([lin, (cs + np.array([tx, ty]) - lin @ cs)[:, None]], axis=1)
    warped = cv2.warpAffine(host, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    dst = cv2.warpAffine(src.astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR) >= 0.5
    dst &= ~src
    out = host.copy()
    out[dst] = warped[dst]
    params = {"transform": transform, "angle": _r(angle), "scale": _r(scale), "shift": [tx, ty],
              "target_fraction": _r(frac), "source_region": box_of(src), "interpolation": "bilinear"}
    return out, dst, params


def exemplar_fill(img: np.ndarray, hole: np.ndarray, tile: int = TILE, context: int = TILE_CONTEXT,
                  search: int = TILE_SEARCH) -> np.ndarray:
    """Fill ``hole`` tile by tile, in raster order, with the nearby tile outside it whose
    surrounding ring best matches the known pixels (sum of squared differences; ties go
    to the nearest).  Only hole pixels change."""
    pad = tile + context
    h, w = hole.shape
    work = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REFLECT_101).astype(np.float32)
    unknown = np.pad(hole, pad)
    outside = np.ones_like(unknown)
    outside[pad:pad + h, pad:pad + w] = False           # the pad never serves as a source
    win = tile + 2 * context
    ys, xs = np.nonzero(unknown)
    for ty in range(ys.min(), ys.max() + 1, tile):
        for tx in range(xs.min(), xs.max() + 1, tile):
            todo = unknown[ty:ty + tile, tx:tx + tile]
            if not todo.any():
                continue
            wy, wx = ty - context, tx - context
            known = ~unknown[wy:wy + win, wx:wx + win]
            target = work[wy:wy + win, wx:wx + win]
            radius = search
            while True:
                y0, y1 = max(0, wy - radius), min(work.shape[0] - win, wy + radius)
                x0, x1 = max(0, wx - radius), min(work.shape[1] - win, wx + radius)
                region = work[y0:y1 + win, x0:x1 + win]
                cand = np.lib.stride_tricks.sliding_window_view(region, (win, win), axis=(0, 1))
                bad = (unknown | outside)[y0:y1 + win, x0:x1 + win]
                inner = np.lib.stride_tricks.sliding_window_view(
                    bad[context:bad.shape[0] - context, context:bad.shape[1] - context], (tile, tile))
                valid = ~inner.any(axis=(2, 3))
                if valid.any() or radius >= max(work.shape):
                    break
                radius *= 2
            ky, kx = np.nonzero(known)                                  # compare known pixels only
            diff = cand[:, :, :, ky, kx] - target[ky, kx].T[None, None]    # (ny, nx, 3, n_known)
            ssd = np.einsum("abck,abck->ab", diff, diff) / max(1, len(ky))
            gy, gx = np.mgrid[y0:y1 + 1, x0:x1 + 1]
            cost = ssd + 1e-3 * np.hypot(gy - wy, gx - wx)
            cost[~valid] = np.inf
            iy, ix = np.unravel_index(int(np.argmin(cost)), cost.shape)
            sy, sx = y0 + iy + context, x0 + ix + context
            src = work[sy:sy + tile, sx:sx + tile]
            dst = work[ty:ty + tile, tx:tx + tile]
            dst[todo] = src[todo]
            unknown[ty:ty + tile, tx:tx + tile] = False
    out = img.copy()
    filled = np.clip(np.rint(work[pad:pad + h, pad:pad + w]), 0, 255).astype(np.uint8)
    out[hole] = filled[hole]
    return out


def removal(rng: np.random.Generator, host: np.ndarray, index: int):
    """Remove a blob: Telea, Navier-Stokes, exemplar fill in turn; (image, mask, params) or None."""
    h, w = host.shape[:2]
    frac = rng.uniform(0.03, 0.12)
    method = ("telea", "ns", "exemplar")[index % 3]
    patch = blob(rng, frac * h * w, h - 2 * MARGIN, w - 2 * MARGIN)
    if patch is None:
        return None
    mask, _, _ = _place(rng, (h, w), patch)
    params: dict = {"method": method, "target_fraction": _r(frac)}
    if method == "exemplar":
        out = exemplar_fill(host, mask)
        params.update(tile=TILE, context=TILE_CONTEXT, search=TILE_SEARCH)
    else:
        flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
        out = cv2.inpaint(np.ascontiguousarray(host), mask.astype(np.uint8) * 255, INPAINT_RADIUS, flag)
        params.update(inpaint_radius=INPAINT_RADIUS)
    return out, mask, params


# --------------------------------------------------------------------------- build

def build(dataset: Path, out: Path, limit: int | None = None) -> dict[str, int]:
    """Write the whole set; returns the number of images per kind (``authentic``,
    ``splice``, ``copymove``, ``removal``) and of hosts ``skipped`` as too small."""
    dataset, out = Path(dataset), Path(out)
    files = sources_in(dataset)
    if limit is not None:
        files = files[:limit]
    pixels: dict[str, np.ndarray] = {}
    factor: dict[str, int] = {}
    for p in files:
        pixels[p.name], factor[p.name] = load_source(p)
    names = [p.name for p in files]
    for sub in ("fake", "mask", "real"):
        (out / sub).mkdir(parents=True, exist_ok=True)

    counts = {"authentic": 0, **{k: 0 for k in KINDS}, "skipped": 0}
    entries, skipped = [], []
    n_removal = 0
    for i, name in enumerate(names):
        img = pixels[name]
        size = [int(img.shape[1]), int(img.shape[0])]
        stem = Path(name).stem
        if i % 2 == 0:
            save_png(img, out / "real" / f"{stem}.png")
            entries.append({"image": f"real/{stem}.png", "mask": None, "kind": "authentic", "sources": [name],
                            "downscale": {name: factor[name]}, "size": size})
            counts["authentic"] += 1
            continue
        kind = KINDS[(i // 2) % len(KINDS)]
        out_name = f"{kind}_{stem}.png"
        seed = seed_of(out_name)
        rng = np.random.default_rng(seed)
        if kind == "splice":
            order = [n for n in names if n != name]
            donors = [(order[j], pixels[order[j]]) for j in rng.permutation(len(order))]
            made = splice(rng, img, donors)
        elif kind == "copymove":
            made = copymove(rng, img)
        else:
            made = removal(rng, img, n_removal)
            n_removal += 1
        if made is None:
            reason = (f"{size[0]}x{size[1]} after /{factor[name]} is too small for a "
                      f"{MIN_SIDE}x{MIN_SIDE} {kind} region")
            print(f"skipped {name}: {reason}", file=sys.stderr)
            skipped.append({"source": name, "kind": kind, "reason": reason})
            counts["skipped"] += 1
            continue
        fake, mask, params = made
        save_png(fake, out / "fake" / out_name)
        save_png(mask.astype(np.uint8) * 255, out / "mask" / out_name)
        sources = [name] + ([params["donor"]] if kind == "splice" else [])
        entries.append({"image": f"fake/{out_name}", "mask": f"mask/{out_name}", "kind": kind,
                        "sources": sources, "downscale": {s: factor[s] for s in sources}, "size": size,
                        "region": box_of(mask), "area_fraction": _r(mask.mean()), "seed": seed,
                        "params": params})
        counts[kind] += 1

    manifest = {
        "generator": "scripts/make_uncompressed.py",
        "dataset": dataset.resolve().name,
        "layout": "fake/, mask/ (same stem, 255 = manipulated), real/; all PNG",
        "mask_convention": "splice: pasted region; copymove: destination only; removal: filled region",
        "min_region_side": MIN_SIDE,
        "counts": counts,
        "skipped": skipped,
        "files": sorted(entries, key=lambda e: e["image"]),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")

    written = {e["image"] for e in entries} | {e["mask"] for e in entries if e["mask"]}
    stale = [p for sub in ("fake", "mask", "real") for p in sorted((out / sub).iterdir())
             if f"{sub}/{p.name}" not in written]
    if stale:
        print(f"warning: {len(stale)} file(s) in {out} are not from this build (left in place), "
              f"e.g. {stale[0]}", file=sys.stderr)
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", default=str(ROOT.parent / "shared" / "casia-dev"))
    ap.add_argument("--out", default=str(Path.home() / ".cache" / "trufor-desk" / "uncompressed"))
    ap.add_argument("--limit", type=int, default=None, help="use at most N source images")
    args = ap.parse_args(argv)
    dataset, out = Path(args.dataset), Path(args.out)
    if not (dataset / "real").is_dir():
        print(f"error: {dataset}: no real/ folder (authentic photos, layout of `trufor-desk evaluate`)",
              file=sys.stderr)
        return 1
    if not sources_in(dataset):
        print(f"error: {dataset / 'real'}: no images", file=sys.stderr)
        return 1
    counts = build(dataset, out, args.limit)
    print(f"authentic: {counts['authentic']} images in {out / 'real'}")
    for kind in KINDS:
        print(f"{kind}: {counts[kind]} images in {out / 'fake'} (masks in {out / 'mask'})")
    print(f"skipped: {counts['skipped']} hosts too small; manifest: {out / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
