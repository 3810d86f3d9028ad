"""The EXIF (IFD1) thumbnail: found in the TIFF block by hand, decoded, and compared with the image.

Thumbnail comparison thresholds (PSNR between the EXIF thumbnail and the main image
box-downscaled to the thumbnail's size, best of the 8 orientations):

* >= 25 dB: matches (camera thumbnails are small, heavily compressed and resampled
  differently, so typical genuine pairs land at 28-40 dB);
* 18-25 dB: partly matches (global adjustments, a large local edit, or a different
  resampling/crop);
* < 18 dB: differs (different content: the image was probably edited or replaced after
  the thumbnail was written, or the thumbnail was transplanted).

A small local edit usually does not show in a 160x120 thumbnail, so "matches" is no proof
of authenticity.
"""

from __future__ import annotations

import io
import math
import struct
import warnings as _warnings
from typing import Any

import numpy as np

from .jpeg_structure import exif_tiff_from_jpeg, strip_exif_header
from .model import Metadata
from .values import short_error

THUMB_MATCH_DB = 25.0
THUMB_DIFFER_DB = 18.0
MAX_THUMB_PIXELS = 16_000_000


def _ifd1_thumbnail(tiff: bytes) -> tuple[bytes | None, dict]:
    """JPEG bytes of the IFD1 thumbnail of an EXIF TIFF block; raises ValueError when malformed."""
    if tiff[:2] == b"II":
        e = "<"
    elif tiff[:2] == b"MM":
        e = ">"
    else:
        raise ValueError("EXIF block has no TIFF byte-order mark")
    n = len(tiff)

    def u16(o: int) -> int:
        if o < 0 or o + 2 > n:
            raise ValueError(f"EXIF offset {o} outside the block ({n} bytes)")
        return struct.unpack(e + "H", tiff[o:o + 2])[0]

    def u32(o: int) -> int:
        if o < 0 or o + 4 > n:
            raise ValueError(f"EXIF offset {o} outside the block ({n} bytes)")
        return struct.unpack(e + "I", tiff[o:o + 4])[0]

    if u16(2) != 42:
        raise ValueError("EXIF TIFF header has a wrong magic number")
    ifd0 = u32(4)
    next_ifd = u32(ifd0 + 2 + 12 * u16(ifd0))
    if next_ifd == 0:
        return None, {}
    tags: dict[int, int] = {}
    for i in range(min(u16(next_ifd), 512)):
        o = next_ifd + 2 + 12 * i
        tag, typ = u16(o), u16(o + 2)
        if typ == 3:
            tags[tag] = u16(o + 8)
        elif typ == 4:
            tags[tag] = u32(o + 8)
    info = {"compression": tags.get(0x0103), "width_tag": tags.get(0x0100), "height_tag": tags.get(0x0101)}
    off, length = tags.get(0x0201), tags.get(0x0202)
    if off is None or length is None:
        if tags.get(0x0103) == 1 or 0x0111 in tags:
            info["uncompressed"] = True
        return None, info
    info["offset"], info["length"] = off, length
    if off + length > n:
        info["truncated"] = True
    return tiff[off:off + length], info


_ORIENT_TRANSFORMS = [  # (name, function on HxWxC array), the 8 symmetries of the rectangle
    ("as stored", lambda a: a),
    ("mirrored", lambda a: a[:, ::-1]),
    ("rotated 180", lambda a: a[::-1, ::-1]),
    ("flipped vertically", lambda a: a[::-1]),
    ("transposed", lambda a: a.transpose(1, 0, 2)),
    ("rotated 90 CW", lambda a: np.rot90(a, -1)),
    ("transversed", lambda a: np.rot90(a, 2).transpose(1, 0, 2)),
    ("rotated 90 CCW", lambda a: np.rot90(a, 1)),
]
# the transform that EXIF orientation N asks for (stored -> display), in the names above
_DISPLAY_TRANSFORM = {1: "as stored", 2: "mirrored", 3: "rotated 180", 4: "flipped vertically", 5: "transposed",
                      6: "rotated 90 CW", 7: "transversed", 8: "rotated 90 CCW"}


def _black_bars(t: np.ndarray, level: float = 16.0) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) rows/cols of near-black letterboxing around a thumbnail."""
    g = t.astype(np.float32).max(axis=2)
    rows, cols = g.mean(axis=1), g.mean(axis=0)
    rmax, cmax = g.max(axis=1), g.max(axis=0)
    dark_r = (rows < level) & (rmax < 3 * level)
    dark_c = (cols < level) & (cmax < 3 * level)

    def run(mask: np.ndarray) -> int:
        k = 0
        while k < len(mask) and mask[k]:
            k += 1
        return k

    top, bottom = run(dark_r), run(dark_r[::-1])
    left, right = run(dark_c), run(dark_c[::-1])
    h, w = g.shape
    if top + bottom >= h // 2:
        top = bottom = 0
    if left + right >= w // 2:
        left = right = 0
    return top, bottom, left, right


def _psnr_mad(a: np.ndarray, b: np.ndarray) -> tuple[float, float, np.ndarray]:
    d = np.abs(a.astype(np.float32) - b.astype(np.float32))
    mse = float((d ** 2).mean())
    psnr = 99.0 if mse <= 1e-10 else min(99.0, 10 * math.log10(255.0 ** 2 / mse))
    return round(psnr, 2), round(float(d.mean()), 2), d.mean(axis=2)


def _centre_crop(a: np.ndarray, aspect: float) -> np.ndarray:
    h, w = a.shape[:2]
    if w / h > aspect:
        nw = max(1, round(h * aspect))
        x0 = (w - nw) // 2
        return a[:, x0:x0 + nw]
    nh = max(1, round(w / aspect))
    y0 = (h - nh) // 2
    return a[y0:y0 + nh]


def compare_thumbnail(image_rgb: np.ndarray, thumb_rgb: np.ndarray, orientation: int | None = None) -> dict:
    """Compare an EXIF thumbnail with the main image box-downscaled to its size.

    All 8 orientations of the image are tried (some software stores the thumbnail already
    turned for display), black letterbox bars around the thumbnail are removed when that
    brings its aspect closer to the image's, and when the aspects differ the centre crop of
    the image is tried too (some cameras crop rather than letterbox).  The stored orientation
    is preferred unless another one matches clearly better.  Returns a dict (PSNR, MAD,
    aspect, verdict, status in {"match", "partial", "differs"}) and, under ``_diff``, the
    per-pixel mean absolute difference (float32, thumbnail-sized) of the comparison used.
    """
    from PIL import Image

    th, tw = thumb_rgb.shape[:2]
    bars = _black_bars(thumb_rgb)
    variants = [(thumb_rgb, (0, 0, 0, 0))]
    if any(bars):
        t, b, l_, r = bars
        variants.append((thumb_rgb[t:th - b, l_:tw - r], bars))
    ih, iw = image_rgb.shape[:2]
    # reduce the big image once (box filter) to a few times the thumbnail; the 8 transforms are then cheap
    base = Image.fromarray(np.ascontiguousarray(image_rgb))
    factor = max(1, min(ih, iw) // (4 * max(th, tw, 1)))
    if factor > 1:
        base = base.reduce(factor)
    base_arr = np.asarray(base)
    results = []
    for name, fn in _ORIENT_TRANSFORMS:
        arr = fn(base_arr)
        swapped = name in ("transposed", "rotated 90 CW", "transversed", "rotated 90 CCW")
        img_aspect = (ih / iw) if swapped else (iw / ih)
        # the thumbnail variant (with or without letterbox) whose aspect is closest to this orientation
        t, vbars = min(variants, key=lambda v: abs(math.log((v[0].shape[1] / v[0].shape[0]) / img_aspect)))
        t_aspect = t.shape[1] / t.shape[0]
        aspect_match = abs(t_aspect / img_aspect - 1) < 0.05
        size = (t.shape[1], t.shape[0])
        small = np.asarray(Image.fromarray(np.ascontiguousarray(arr)).resize(size, Image.Resampling.BOX))
        psnr, mad, diff = _psnr_mad(small, t)
        crop = False
        if not aspect_match:
            cc = _centre_crop(arr, t_aspect)
            small_c = np.asarray(Image.fromarray(np.ascontiguousarray(cc)).resize(size, Image.Resampling.BOX))
            psnr_c, mad_c, diff_c = _psnr_mad(small_c, t)
            if psnr_c > psnr + 3:
                psnr, mad, diff, crop = psnr_c, mad_c, diff_c, True
        results.append({"orientation": name, "psnr_db": psnr, "mad": mad, "aspect_match": aspect_match,
                        "thumbnail_aspect": round(t_aspect, 4), "image_aspect": round(img_aspect, 4),
                        "letterbox": list(vbars) if any(vbars) else None, "centre_crop": crop, "_diff": diff})
    same = results[0]
    best = max(results, key=lambda r: r["psnr_db"])
    # another orientation only counts when it genuinely matches, not when it is marginally less bad
    use = best if best["psnr_db"] >= THUMB_DIFFER_DB and best["psnr_db"] > same["psnr_db"] + 3 else same
    out = {k: use[k] for k in ("orientation", "psnr_db", "mad", "aspect_match", "thumbnail_aspect", "image_aspect",
                               "letterbox", "centre_crop")}
    out["as_stored_psnr_db"] = same["psnr_db"]
    out["best_orientation"], out["best_psnr_db"] = best["orientation"], best["psnr_db"]
    out["per_orientation"] = {r["orientation"]: r["psnr_db"] for r in results}
    psnr = use["psnr_db"]
    where = "" if use is same else f" when the image is {use['orientation']}"
    if use is not same and orientation and _DISPLAY_TRANSFORM.get(int(orientation)) == use["orientation"]:
        where += " (the display orientation of the EXIF Orientation tag)"
    what = "the centre of the image" if use["centre_crop"] else "the image"
    if psnr >= THUMB_MATCH_DB:
        verdict, status = f"thumbnail matches {what} (PSNR {psnr:.0f} dB{where})", "match"
    elif psnr >= THUMB_DIFFER_DB:
        verdict, status = (f"thumbnail partly matches {what} (PSNR {psnr:.0f} dB{where}): colour/tone changes, "
                           "a large local edit, a crop or a different resampling"), "partial"
    else:
        verdict, status = (f"thumbnail differs from the image (PSNR {psnr:.0f} dB{where}): the image may have been "
                           "edited or replaced after the thumbnail was written"), "differs"
    if use["centre_crop"] and status == "match":
        verdict += "; the thumbnail was cropped to its own aspect ratio (some cameras do this)"
    elif not use["aspect_match"]:
        verdict += (f"; aspect ratios differ (thumbnail {use['thumbnail_aspect']:.3f}, image "
                    f"{use['image_aspect']:.3f}): the image may have been cropped")
    out["status"] = status
    out["verdict"] = verdict
    out["_diff"] = use["_diff"]
    return out


def decode_thumbnail(data: bytes, max_side: int | None = None) -> tuple[np.ndarray, str | None]:
    """RGB uint8 pixels of an embedded JPEG/TIFF thumbnail or preview; refuses huge ones.

    ``max_side``: a bigger preview is decoded at reduced size (JPEG draft mode, then a box
    filter), which is all a comparison at thumbnail scale needs.
    """
    from PIL import Image

    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        t = Image.open(io.BytesIO(data))
        fmt = t.format
        if max_side and max(t.size) > max_side:
            t.draft("RGB", (max_side, max_side))
        if t.size[0] * t.size[1] > MAX_THUMB_PIXELS:
            raise ValueError(f"thumbnail of {t.size[0]}x{t.size[1]} pixels refused")
        t = t.convert("RGB")
        if max_side and max(t.size) > max_side:
            t.thumbnail((max_side, max_side), Image.Resampling.BOX)
        return np.asarray(t, np.uint8).copy(), fmt


def thumbnail_section(ev, fmt: str, img, jpeg_segs: list[dict] | None, md: Metadata) -> dict:
    sec: dict[str, Any] = {"present": False, "notes": []}
    tiff = None
    if jpeg_segs is not None:
        tiff = exif_tiff_from_jpeg(jpeg_segs)
    elif fmt == "TIFF":
        tiff = ev.raw
    elif img is not None:
        v = img.info.get("exif")
        tiff = strip_exif_header(bytes(v)) if isinstance(v, (bytes, bytearray)) else None
    if not tiff:
        return sec
    try:
        data, info = _ifd1_thumbnail(tiff)
    except Exception as exc:
        sec["notes"].append(f"EXIF thumbnail directory unreadable: {short_error(exc)}")
        return sec
    if info.get("uncompressed"):
        sec["notes"].append("uncompressed (TIFF-strip) thumbnail present, not decoded")
    if data is None:
        return sec
    sec.update(present=True, size_bytes=len(data), offset=info.get("offset"))
    if info.get("truncated"):
        sec["notes"].append("thumbnail runs past the end of the EXIF block (truncated)")
    sec["_data"] = data              # for the embedded previews (same bytes: same image); not stored
    try:
        arr, sec["format"] = decode_thumbnail(data)
    except Exception as exc:
        sec["notes"].append(f"thumbnail could not be decoded: {short_error(exc)}")
        return sec
    md.thumbnail_rgb = arr
    sec["width"], sec["height"] = int(arr.shape[1]), int(arr.shape[0])
    try:
        if getattr(ev, "rgb", None) is None or ev.rgb.size == 0:
            raise ValueError("no decoded main image to compare with")
        cmp = compare_thumbnail(ev.rgb, arr, ev.exif_orientation)
        md.thumbnail_diff = cmp.pop("_diff").astype(np.float32)
        sec["comparison"] = cmp
    except Exception as exc:
        sec["notes"].append(f"thumbnail comparison failed: {short_error(exc)}")
    return sec
