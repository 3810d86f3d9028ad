"""The numbers a report can state about two aligned images.

All of them are computed over the *overlap* (pixels of A that B covers after alignment):

* PSNR over the RGB values (``None`` when the overlap is identical);
* SSIM (Wang et al. 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03) on the luma,
  averaged where the whole window lies in the overlap;
* the fraction of pixels whose largest per-channel difference exceeds ``threshold``
  (levels of 255; the report prints the threshold);
* the bounding boxes of the main differing regions, in A's pixels, largest first: the
  difference is averaged down to a working copy first, so that the thin lines resampling
  and JPEG leave along every edge do not count as regions, then thresholded, cleaned by a
  morphological opening and split into connected components;
* for two JPEGs, whether their quantisation tables differ (then at least one of them was
  re-saved), read from the file bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_THRESHOLD = 24       # levels of 255
REGION_SIDE = 1024           # longer side of the copy regions are found on
MAX_REGIONS = 5
MIN_REGION_FRACTION = 2e-4   # of the overlap, at the working copy


@dataclass
class Region:
    x: int
    y: int
    w: int
    h: int
    area_px: int          # differing pixels inside, A's full-resolution pixels (approximate)
    mean_diff: float      # mean largest-channel difference inside the box, levels of 255

    def to_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h, "area_px": self.area_px,
                "mean_diff": round(float(self.mean_diff), 3)}


@dataclass
class Numbers:
    psnr_db: float | None
    ssim: float
    threshold: int
    fraction_over: float
    overlap_px: int
    mean_abs_diff: float
    max_diff: int
    regions: list[Region] = field(default_factory=list)
    jpeg_tables: str = "not both JPEG"       # "identical", "different", "not both JPEG", "unreadable"
    jpeg_detail: str = ""

    def to_dict(self) -> dict:
        return {"psnr_db": None if self.psnr_db is None else round(float(self.psnr_db), 4),
                "ssim": round(float(self.ssim), 6), "threshold": int(self.threshold),
                "fraction_over": round(float(self.fraction_over), 8), "overlap_px": int(self.overlap_px),
                "mean_abs_diff": round(float(self.mean_abs_diff), 4), "max_diff": int(self.max_diff),
                "regions": [r.to_dict() for r in self.regions], "jpeg_tables": self.jpeg_tables,
                "jpeg_detail": self.jpeg_detail}

    @classmethod
    def from_dict(cls, d: dict) -> Numbers:
        return cls(psnr_db=None if d.get("psnr_db") is None else float(d["psnr_db"]), ssim=float(d["ssim"]),
                   threshold=int(d["threshold"]), fraction_over=float(d["fraction_over"]),
                   overlap_px=int(d["overlap_px"]), mean_abs_diff=float(d["mean_abs_diff"]),
                   max_diff=int(d["max_diff"]), regions=[Region(**r) for r in d.get("regions", [])],
                   jpeg_tables=str(d.get("jpeg_tables", "not both JPEG")), jpeg_detail=str(d.get("jpeg_detail", "")))


def abs_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest per-channel absolute difference, uint8 (H, W)."""
    import cv2

    d = cv2.absdiff(np.ascontiguousarray(a), np.ascontiguousarray(b))
    if d.ndim == 2:
        return d
    c = cv2.split(d)
    out = c[0]
    for ch in c[1:]:
        out = cv2.max(out, ch)
    return out


def psnr(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> float | None:
    """PSNR (dB) of the RGB values over ``valid``; None when they are identical there."""
    import cv2

    n = int(valid.sum())
    if n == 0:
        return None
    d = cv2.absdiff(np.ascontiguousarray(a), np.ascontiguousarray(b))
    d = d * valid.reshape(valid.shape + (1,) * (d.ndim - 2)).astype(np.uint8)
    hist = np.bincount(d.ravel(), minlength=256).astype(np.float64)   # exact, and fast on 12 MP
    channels = 1 if d.ndim == 2 else d.shape[2]
    mse = float((hist * np.arange(256, dtype=np.float64) ** 2).sum()) / (n * channels)
    return None if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> float:
    """Mean SSIM of the luma over windows that lie inside ``valid``."""
    import cv2

    from .registration import grey

    x, y = grey(a).astype(np.float32), grey(b).astype(np.float32)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z):
        return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    inner = cv2.erode(valid.astype(np.uint8), np.ones((11, 11), np.uint8), borderType=cv2.BORDER_CONSTANT,
                      borderValue=0) > 0
    if not inner.any():
        inner = valid
    return float(np.mean(s[inner], dtype=np.float64)) if inner.any() else 0.0


def regions(diff: np.ndarray, valid: np.ndarray, threshold: int, side: int = REGION_SIDE,
            limit: int = MAX_REGIONS) -> list[Region]:
    """Bounding boxes (A's pixels) of the largest differing areas, largest first."""
    import cv2

    h, w = diff.shape
    s = min(1.0, side / max(h, w))
    sw, sh = max(1, round(w * s)), max(1, round(h * s))
    d = np.where(valid, diff, 0).astype(np.uint8)
    small = cv2.resize(d, (sw, sh), interpolation=cv2.INTER_AREA) if s < 1 else d
    vsmall = cv2.resize(valid.astype(np.uint8) * 255, (sw, sh), interpolation=cv2.INTER_AREA) > 250 \
        if s < 1 else valid
    small = cv2.GaussianBlur(small, (0, 0), 1.0)
    mask = ((small > threshold) & vsmall).astype(np.uint8)
    k = np.ones((5, 5), np.uint8)
    mask = cv2.morphologyEx(cv2.morphologyEx(mask, cv2.MORPH_OPEN, k), cv2.MORPH_CLOSE, k)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    min_area = max(4, MIN_REGION_FRACTION * float(vsmall.sum()))
    order = sorted((i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_area),
                   key=lambda i: (-int(stats[i, cv2.CC_STAT_AREA]), int(stats[i, 0]), int(stats[i, 1])))
    out = []
    fx, fy = w / sw, h / sh
    for i in order[:limit]:
        x, y, bw, bh, area = (int(v) for v in stats[i])
        x0, y0 = int(np.floor(x * fx)), int(np.floor(y * fy))
        x1, y1 = min(w, int(np.ceil((x + bw) * fx))), min(h, int(np.ceil((y + bh) * fy)))
        box = diff[y0:y1, x0:x1][valid[y0:y1, x0:x1]]
        out.append(Region(x0, y0, x1 - x0, y1 - y0, int(round(area * fx * fy)),
                          float(box.mean()) if box.size else 0.0))
    return out


def compare_jpeg_tables(raw_a: bytes | None, raw_b: bytes | None) -> tuple[str, str]:
    """("identical" | "different" | "not both JPEG" | "unreadable", detail) from the files' bytes."""
    from trufor_desk.engines.classical._jpeg_common import estimate_quality, jpeg_tables

    if not raw_a or not raw_b or raw_a[:3] != b"\xff\xd8\xff" or raw_b[:3] != b"\xff\xd8\xff":
        return "not both JPEG", ""
    ta, tb = jpeg_tables(raw_a), jpeg_tables(raw_b)
    if ta is None or tb is None:
        return "unreadable", "the quantisation tables of one file could not be read"
    qa, qb = estimate_quality(ta["luma_q"]), estimate_quality(tb["luma_q"])
    detail = f"luma quality about {qa:.0f} (A) and {qb:.0f} (B)"

    def same(x, y):
        return (x is None) == (y is None) and (x is None or np.array_equal(x, y))

    if same(ta["luma_q"], tb["luma_q"]) and same(ta["chroma_q"], tb["chroma_q"]):
        return "identical", detail
    return "different", detail


def compute_numbers(a: np.ndarray, b_aligned: np.ndarray, valid: np.ndarray,
                    threshold: int = DEFAULT_THRESHOLD, raw_a: bytes | None = None,
                    raw_b: bytes | None = None, diff: np.ndarray | None = None) -> Numbers:
    if not 0 <= int(threshold) <= 255:
        from trufor_desk.errors import UserError

        raise UserError(f"difference threshold {threshold}: use 0 to 255 levels")
    diff = abs_diff(a, b_aligned) if diff is None else diff
    n = int(valid.sum())
    dv = diff[valid]
    tables, detail = compare_jpeg_tables(raw_a, raw_b)
    return Numbers(psnr_db=psnr(a, b_aligned, valid), ssim=ssim(a, b_aligned, valid), threshold=int(threshold),
                   fraction_over=float((dv > threshold).sum()) / n if n else 0.0, overlap_px=n,
                   mean_abs_diff=float(dv.mean(dtype=np.float64)) if n else 0.0,
                   max_diff=int(dv.max()) if n else 0, regions=regions(diff, valid, threshold),
                   jpeg_tables=tables, jpeg_detail=detail)
