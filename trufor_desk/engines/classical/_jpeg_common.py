"""Helpers shared by the JPEG-history detectors (``jpeg``, ``ela``, ``ghost``).

Everything here is plain numpy/OpenCV/Pillow and works on whole images at once:

* the JPEG luminance of decoded pixels and 8x8 block DCTs on any grid origin, with the
  orthonormal DCT-II that the JPEG standard uses (so a re-computed coefficient divided by
  the file's quantisation step is close to the integer that was stored);
* the file's own quantisation tables, read from the evidence bytes with Pillow
  (``Image.quantization`` gives them in natural row-major order);
* an in-memory JPEG round trip with Pillow, used by ELA and ghosts;
* the provenance every classical engine records.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

# ITU-R BT.601 luma weights, the ones JFIF uses for its Y channel
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """JFIF luminance Y (float32, 0..255) of a uint8 RGB image.

    Decoded RGB is YCbCr converted and rounded; Y recomputed with the same weights
    equals the decoder's Y up to rounding (chroma terms cancel), which is what makes
    DCT-domain analysis of decoded pixels possible.
    """
    return (rgb.astype(np.float32) @ _LUMA).astype(np.float32)


def dct_matrix(n: int = 8) -> np.ndarray:
    """Orthonormal DCT-II matrix D (rows = frequencies): coefficients = D @ block @ D.T."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    d[0, :] = np.sqrt(1.0 / n)
    return d.astype(np.float64)


DCT8 = dct_matrix(8)


def _block_dct_rows(plane: np.ndarray, oy: int, ox: int) -> np.ndarray:
    """Coefficients as (nby, 8 [u], nbx, 8 [v]) float32 of the whole 8x8 blocks of
    ``plane - 128`` on the grid with origin (oy, ox): the rows of each block transformed by one
    GEMM, then its columns by one (8 x 8) @ (8 x 8 nbx) product per block row, which needs no
    transposed copy in between (the same products and sums as transforming the columns of the
    transposed blocks: the same numbers)."""
    p = plane[oy:, ox:]
    nby, nbx = p.shape[0] // 8, p.shape[1] // 8
    d = DCT8.astype(np.float32)
    blocks = p[:nby * 8, :nbx * 8].astype(np.float32) - 128.0
    t = blocks.reshape(nby * 8 * nbx, 8) @ d.T                    # (a, i, b, v): rows over j
    t = np.matmul(d, t.reshape(nby, 8, nbx * 8))                  # (a, u, b, v): columns over i
    return t.reshape(nby, 8, nbx, 8)


def block_dct(plane: np.ndarray, oy: int = 0, ox: int = 0) -> np.ndarray:
    """8x8 block DCT of ``plane - 128`` on the grid whose origin is (oy, ox).

    Returns float32 (nby, nbx, 8, 8); only whole blocks are used, so the shape may be
    (0, 0, 8, 8) for tiny images.
    """
    p = plane[oy:, ox:]
    if p.shape[0] // 8 == 0 or p.shape[1] // 8 == 0:
        return np.zeros((max(p.shape[0] // 8, 0), max(p.shape[1] // 8, 0), 8, 8), np.float32)
    return np.ascontiguousarray(_block_dct_rows(plane, oy, ox).transpose(0, 2, 1, 3))


def block_dct_planes(plane: np.ndarray, oy: int = 0, ox: int = 0) -> np.ndarray:
    """:func:`block_dct` laid out by frequency: float32 (8, 8, nby, nbx), so that one
    frequency's coefficients over all blocks (``planes[u, v]``) are contiguous."""
    p = plane[oy:, ox:]
    if p.shape[0] // 8 == 0 or p.shape[1] // 8 == 0:
        return np.zeros((8, 8, max(p.shape[0] // 8, 0), max(p.shape[1] // 8, 0)), np.float32)
    return np.ascontiguousarray(_block_dct_rows(plane, oy, ox).transpose(1, 3, 0, 2))


def grid_offset(evidence: Any) -> tuple[int, int]:
    """(row, column) of the first whole 8x8 block of the file's JPEG grid in
    ``evidence.rgb``: (0, 0) for a whole image, shifted for a selection (``origin``)."""
    oy, ox = getattr(evidence, "origin", (0, 0)) or (0, 0)
    return (-int(oy)) % 8, (-int(ox)) % 8


def is_jpeg(evidence: Any) -> bool:
    fmt = str(getattr(evidence, "format", "") or "").upper()
    raw = getattr(evidence, "raw", b"") or b""
    return fmt in ("JPEG", "MPO") or (fmt in ("", "UNKNOWN") and raw[:3] == b"\xff\xd8\xff")


def jpeg_tables(raw: bytes) -> dict[str, Any] | None:
    """Quantisation tables and layout facts of a JPEG file, or None if unreadable.

    Keys: ``luma_q`` (8x8 float64, natural order), ``chroma_q`` (or None),
    ``progressive`` (bool), ``sampling`` (Pillow's subsampling code, -1 unknown).
    """
    if not raw:
        return None
    try:
        from PIL import Image, JpegImagePlugin

        with Image.open(io.BytesIO(raw)) as img:
            q = getattr(img, "quantization", None)
            if not q:
                return None
            keys = sorted(q)
            luma = np.asarray(list(q[keys[0]]), dtype=np.float64)
            if luma.size != 64:
                return None
            chroma = None
            if len(keys) > 1 and len(q[keys[1]]) == 64:
                chroma = np.asarray(list(q[keys[1]]), dtype=np.float64).reshape(8, 8)
            try:
                sampling = int(JpegImagePlugin.get_sampling(img))
            except Exception:
                sampling = -1
            progressive = bool(img.info.get("progressive") or img.info.get("progression"))
            return {"luma_q": luma.reshape(8, 8), "chroma_q": chroma, "progressive": progressive,
                    "sampling": sampling}
    except Exception:
        return None


def estimate_quality(luma_q: np.ndarray) -> float:
    """IJG quality whose scaled standard luminance table is closest to ``luma_q``."""
    std = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
                    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
                    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
                   dtype=np.float64).reshape(8, 8)
    best, best_err = 0, np.inf
    for qual in range(1, 101):
        s = 5000 / qual if qual < 50 else 200 - 2 * qual
        t = np.clip(np.floor((std * s + 50) / 100), 1, 255)
        err = float(np.abs(np.log(t) - np.log(np.maximum(luma_q, 1))).mean())
        if err < best_err:
            best, best_err = qual, err
    return float(best)


def recompress(rgb: np.ndarray, quality: int, subsampling: int | None = None) -> np.ndarray:
    """Encode ``rgb`` as JPEG at ``quality`` with Pillow in memory and decode it again."""
    from PIL import Image

    buf = io.BytesIO()
    kw: dict[str, Any] = {"quality": int(quality)}
    if subsampling is not None and subsampling >= 0:
        kw["subsampling"] = int(subsampling)
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, "JPEG", **kw)
    buf.seek(0)
    with Image.open(buf) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


def base_provenance(evidence: Any, method: str = "") -> dict[str, str]:
    """The JPEG-family engines' provenance: :func:`trufor_desk.engines.base.standard_provenance`."""
    from trufor_desk.engines.base import standard_provenance

    return standard_provenance(evidence, method=method)


def blocks_to_pixels(block_map: np.ndarray, h: int, w: int, oy: int = 0, ox: int = 0,
                     fill: float = 0.0) -> np.ndarray:
    """Expand a per-block map (grid origin oy, ox) to an h x w pixel map; uncovered
    border pixels take the nearest block's value (or ``fill`` if there are no blocks)."""
    out = np.full((h, w), fill, np.float32)
    nby, nbx = block_map.shape
    if nby == 0 or nbx == 0:
        return out
    up = np.repeat(np.repeat(block_map.astype(np.float32), 8, axis=0), 8, axis=1)
    out[oy:oy + up.shape[0], ox:ox + up.shape[1]] = up
    # replicate into the uncovered margins
    y0, y1 = oy, oy + up.shape[0]
    x0, x1 = ox, ox + up.shape[1]
    out[:y0, :] = out[y0:y0 + 1, :] if y0 > 0 else out[:0]
    out[y1:, :] = out[y1 - 1:y1, :]
    out[:, :x0] = out[:, x0:x0 + 1] if x0 > 0 else out[:, :0]
    out[:, x1:] = out[:, x1 - 1:x1]
    return out


def robust_unit(x: np.ndarray, pct: float = 99.0) -> np.ndarray:
    """Scale a non-negative map to [0, 1] by a high percentile (float32)."""
    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        return x
    hi = float(np.percentile(x, pct))
    if not np.isfinite(hi) or hi <= 1e-12:
        hi = float(x.max())
    if hi <= 1e-12:
        return np.zeros_like(x, dtype=np.float32)
    return np.clip(x / hi, 0.0, 1.0).astype(np.float32)
