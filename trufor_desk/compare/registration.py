"""Registration of two versions of one photo: where each pixel of B lies in A.

Two copies of a picture that circulate differ by a crop, a rescale and sometimes a small
rotation (or, for a re-photographed print, a perspective).  Differences between them only
mean something after B has been resampled onto A's pixel grid, so the transform is
estimated first and recorded with how well it fits:

1. both images are converted to grey and downscaled (longer side ``WORK_SIDE``) for speed;
2. SIFT features are matched with Lowe's ratio test and a RANSAC similarity (and, with
   ``model="auto"``, a RANSAC homography when it fits clearly better) is estimated;
3. ECC (``cv2.findTransformECC``) refines it on the image intensities, which is what makes
   the result sub-pixel even though the features come from a downscaled copy;
4. the transform is mapped back to full resolution with OpenCV's pixel-centre convention.

Too few agreeing matches means the images do not show the same scene (or too little of
it): :func:`register` then raises a one-line :class:`~trufor_desk.errors.UserError`
rather than return a transform whose difference image would be meaningless.

``matrix`` maps a pixel (x, y, 1) of B to A (OpenCV coordinates: pixel centres at
integers); :func:`resample` uses it to draw B on A's grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trufor_desk.errors import UserError

WORK_SIDE = 1024          # longer side of the copies features and ECC work on
MIN_INLIERS = 25          # fewer agreeing matches: not the same scene
MIN_INLIER_RATIO = 0.15   # of the ratio-test matches
MIN_ECC = 0.5             # intensity correlation after refinement
MIN_OVERLAP = 0.05        # of A's area
RATIO = 0.75              # Lowe's ratio test
RANSAC_PX = 2.5           # inlier distance at work scale


@dataclass
class Registration:
    """An estimated transform from B's pixels to A's, and how well it is supported."""

    model: str                      # "identity", "similarity", "affine" or "homography"
    matrix: list[list[float]]       # 3x3, B pixel -> A pixel (full resolution)
    size_a: tuple[int, int]         # (width, height)
    size_b: tuple[int, int]
    residual_px: float = 0.0        # RMS distance of inlier matches after alignment, A pixels
    inliers: int = 0
    matches: int = 0
    ecc: float | None = None        # correlation coefficient after ECC refinement
    overlap: float = 1.0            # fraction of A covered by B after alignment
    method: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def H(self) -> np.ndarray:  # noqa: N802 - the usual name
        return np.asarray(self.matrix, np.float64)

    @property
    def scale(self) -> float:
        """Mean linear scale from B to A (sqrt of the Jacobian determinant at B's centre)."""
        return float(np.sqrt(abs(np.linalg.det(_jacobian(self.H, self.size_b[0] / 2, self.size_b[1] / 2)))))

    @property
    def rotation_deg(self) -> float:
        j = _jacobian(self.H, self.size_b[0] / 2, self.size_b[1] / 2)
        return float(np.degrees(np.arctan2(j[1, 0] - j[0, 1], j[0, 0] + j[1, 1])))

    @property
    def translation(self) -> tuple[float, float]:
        """Where B's top-left pixel lands in A."""
        p = self.H @ np.array([0.0, 0.0, 1.0])
        return float(p[0] / p[2]), float(p[1] / p[2])

    def describe(self) -> str:
        if self.model == "identity":
            return "none: same size, compared pixel for pixel"
        tx, ty = self.translation
        ecc = f", ECC correlation {self.ecc:.3f}" if self.ecc is not None else ""
        return (f"{self.model}: scale {self.scale:.4f}, rotation {self.rotation_deg:+.2f}\u00b0, B's origin at "
                f"({tx:.1f}, {ty:.1f}) in A; {self.inliers} of {self.matches} matches agree, residual "
                f"{self.residual_px:.2f} px{ecc}; B covers {100 * self.overlap:.1f} % of A")

    def to_dict(self) -> dict:
        return {"model": self.model, "matrix": [[float(v) for v in row] for row in self.matrix],
                "size_a": list(self.size_a), "size_b": list(self.size_b), "residual_px": float(self.residual_px),
                "inliers": int(self.inliers), "matches": int(self.matches),
                "ecc": None if self.ecc is None else float(self.ecc), "overlap": float(self.overlap),
                "method": self.method, "notes": list(self.notes),
                # derived, for readers of the plain record (the report): from_dict ignores them
                "scale": round(self.scale, 6), "rotation_deg": round(self.rotation_deg, 4),
                "origin_in_a": [round(v, 3) for v in self.translation]}

    @classmethod
    def from_dict(cls, d: dict) -> Registration:
        return cls(model=str(d["model"]), matrix=[[float(v) for v in row] for row in d["matrix"]],
                   size_a=tuple(int(v) for v in d["size_a"]), size_b=tuple(int(v) for v in d["size_b"]),
                   residual_px=float(d.get("residual_px", 0.0)), inliers=int(d.get("inliers", 0)),
                   matches=int(d.get("matches", 0)), ecc=None if d.get("ecc") is None else float(d["ecc"]),
                   overlap=float(d.get("overlap", 1.0)), method=str(d.get("method", "")),
                   notes=[str(n) for n in d.get("notes", [])])


def identity(size_a: tuple[int, int], size_b: tuple[int, int]) -> Registration:
    """No registration: B's pixels are A's pixels (the overlap is the common top-left part)."""
    ov = min(size_a[0], size_b[0]) * min(size_a[1], size_b[1]) / float(size_a[0] * size_a[1])
    return Registration("identity", np.eye(3).tolist(), tuple(size_a), tuple(size_b), overlap=ov,
                        method="none")


def _jacobian(h: np.ndarray, x: float, y: float) -> np.ndarray:
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    u = h[0, 0] * x + h[0, 1] * y + h[0, 2]
    v = h[1, 0] * x + h[1, 1] * y + h[1, 2]
    return np.array([[(h[0, 0] * w - u * h[2, 0]) / w ** 2, (h[0, 1] * w - u * h[2, 1]) / w ** 2],
                     [(h[1, 0] * w - v * h[2, 0]) / w ** 2, (h[1, 1] * w - v * h[2, 1]) / w ** 2]])


def grey(rgb: np.ndarray) -> np.ndarray:
    import cv2

    if rgb.ndim == 2:
        return np.ascontiguousarray(rgb, dtype=np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8), cv2.COLOR_RGB2GRAY)


def _work_copy(g: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """A downscaled copy and the 3x3 map from full-resolution pixels to its pixels."""
    import cv2

    h, w = g.shape
    s = min(1.0, side / max(h, w))
    if s >= 1.0:
        return g, np.eye(3)
    sw, sh = max(8, round(w * s)), max(8, round(h * s))
    small = cv2.resize(g, (sw, sh), interpolation=cv2.INTER_AREA)
    sx, sy = sw / w, sh / h
    return small, np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1.0]])


def _match(ga: np.ndarray, gb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ratio-test SIFT matches: point arrays (N, 2) in A and in B (work pixels)."""
    import cv2

    sift = cv2.SIFT_create(nfeatures=4000)
    ka, da = sift.detectAndCompute(ga, None)
    kb, db = sift.detectAndCompute(gb, None)
    if da is None or db is None or len(ka) < 2 or len(kb) < 2:
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(db, da, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    pa = np.float32([ka[m.trainIdx].pt for m in good]).reshape(-1, 2)
    pb = np.float32([kb[m.queryIdx].pt for m in good]).reshape(-1, 2)
    return pa, pb


def _apply(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.c_[pts.astype(np.float64), np.ones(len(pts))] @ h.T
    return p[:, :2] / p[:, 2:3]


def _robust_fit(pa: np.ndarray, pb: np.ndarray, model: str) -> tuple[str, np.ndarray, np.ndarray]:
    """RANSAC: (model, 3x3 B->A at work scale, inlier mask)."""
    import cv2

    empty = (model, np.eye(3), np.zeros(len(pa), bool))
    if len(pa) < 4:
        return empty
    m, inl = cv2.estimateAffinePartial2D(pb, pa, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX,
                                         maxIters=5000, confidence=0.999, refineIters=10)
    best = empty if m is None else ("similarity", np.vstack([m, [0, 0, 1]]), inl.ravel().astype(bool))
    if model in ("auto", "homography"):
        h, hin = cv2.findHomography(pb, pa, cv2.RANSAC, RANSAC_PX, maxIters=5000, confidence=0.999)
        if h is not None:
            hin = hin.ravel().astype(bool)
            if model == "homography" or hin.sum() > 1.15 * best[2].sum() + 10:
                best = ("homography", h / h[2, 2], hin)
    return best


def _refine_ecc(ga: np.ndarray, gb: np.ndarray, h_ba: np.ndarray, model: str) -> tuple[np.ndarray, float | None]:
    """ECC on intensities, starting from the feature estimate; returns (B->A, correlation)."""
    import cv2

    homography = model == "homography"
    a_to_b = np.linalg.inv(h_ba)
    warp = (a_to_b / a_to_b[2, 2]).astype(np.float32) if homography else a_to_b[:2].astype(np.float32)
    motion = cv2.MOTION_HOMOGRAPHY if homography else cv2.MOTION_AFFINE
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
    try:
        cc, warp = cv2.findTransformECC(ga.astype(np.float32), gb.astype(np.float32), warp, motion, criteria,
                                        None, 5)
    except cv2.error:
        return h_ba, None
    full = warp.astype(np.float64) if homography else np.vstack([warp.astype(np.float64), [0, 0, 1]])
    return np.linalg.inv(full), float(cc)


def register(a_rgb: np.ndarray, b_rgb: np.ndarray, model: str = "auto", ecc: bool = True,
             work_side: int = WORK_SIDE) -> Registration:
    """Estimate the transform that puts B onto A; raises :class:`UserError` when they do not match."""
    if model not in ("auto", "similarity", "homography"):
        raise UserError(f"registration model {model!r}: use auto, similarity or homography")
    ga_full, gb_full = grey(a_rgb), grey(b_rgb)
    ga, sa = _work_copy(ga_full, work_side)
    gb, sb = _work_copy(gb_full, work_side)
    pa, pb = _match(ga, gb)
    kind, h_small, inl = _robust_fit(pa, pb, model)
    n_in, n_m = int(inl.sum()), len(pa)
    if n_in < MIN_INLIERS or n_in < MIN_INLIER_RATIO * n_m:
        raise UserError(f"the two images do not match: only {n_in} of {n_m} feature matches agree on one "
                        f"transform (at least {MIN_INLIERS} needed), so no aligned difference can be shown")
    cc = None
    method = f"SIFT + ratio test {RATIO}, RANSAC {kind}"
    if ecc:
        refined, cc = _refine_ecc(ga, gb, h_small, kind)
        if cc is None:
            notes = ["ECC refinement did not converge; the feature estimate is used"]
        else:
            h_small, notes = refined, []
            kind = "homography" if kind == "homography" else "affine"
            method += ", refined by ECC"
    else:
        notes = []
    h_full = np.linalg.inv(sa) @ h_small @ sb
    h_full /= h_full[2, 2]
    # residual of the inlier matches under the final transform, in A's full-resolution pixels
    fa = _apply(np.linalg.inv(sa), pa[inl])
    fb = _apply(np.linalg.inv(sb), pb[inl])
    residual = float(np.sqrt(np.mean(np.sum((_apply(h_full, fb) - fa) ** 2, axis=1))))
    size_a, size_b = (ga_full.shape[1], ga_full.shape[0]), (gb_full.shape[1], gb_full.shape[0])
    reg = Registration(kind, h_full.tolist(), size_a, size_b, residual_px=residual, inliers=n_in, matches=n_m,
                       ecc=cc, method=method + f" (work copies at most {work_side} px)", notes=notes)
    reg.overlap = _overlap(reg)
    if cc is not None and cc < MIN_ECC:
        raise UserError(f"the two images do not match after alignment (intensity correlation {cc:.2f}, at "
                        f"least {MIN_ECC} needed), so no aligned difference can be shown")
    if reg.overlap < MIN_OVERLAP:
        raise UserError(f"after alignment B covers only {100 * reg.overlap:.1f} % of A (at least "
                        f"{100 * MIN_OVERLAP:.0f} % needed) ")
    if not 0.05 < reg.scale < 20:
        raise UserError(f"the estimated scale between the images ({reg.scale:.3g}) is implausible; they do not "
                        "show the same scene at comparable size")
    return reg


def _overlap(reg: Registration) -> float:
    """Fraction of A's area covered by B's frame after alignment."""
    import cv2

    wb, hb = reg.size_b
    corners = _apply(reg.H, np.array([[-0.5, -0.5], [wb - 0.5, -0.5], [wb - 0.5, hb - 0.5], [-0.5, hb - 0.5]]))
    wa, ha = reg.size_a
    frame = np.array([[-0.5, -0.5], [wa - 0.5, -0.5], [wa - 0.5, ha - 0.5], [-0.5, ha - 0.5]], np.float32)
    area, _ = cv2.intersectConvexConvex(frame, corners.astype(np.float32))
    return float(max(0.0, area) / (wa * ha))


def resample(b_rgb: np.ndarray, reg: Registration) -> tuple[np.ndarray, np.ndarray]:
    """B drawn on A's grid, and the mask (bool, A's size) of pixels B covers."""
    import cv2

    wa, ha = reg.size_a
    if reg.model == "identity":
        out = np.zeros((ha, wa) + b_rgb.shape[2:], np.uint8)
        hb, wb = b_rgb.shape[:2]
        h, w = min(ha, hb), min(wa, wb)
        out[:h, :w] = b_rgb[:h, :w]
        valid = np.zeros((ha, wa), bool)
        valid[:h, :w] = True
        return out, valid
    h = reg.H
    src = np.ascontiguousarray(b_rgb)
    ones = np.full(src.shape[:2], 255, np.uint8)
    if reg.model == "homography":
        out = cv2.warpPerspective(src, h, (wa, ha), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        mask = cv2.warpPerspective(ones, h, (wa, ha), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
    else:
        out = cv2.warpAffine(src, h[:2], (wa, ha), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        mask = cv2.warpAffine(ones, h[:2], (wa, ha), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
    # one pixel in from the edge: bilinear samples there mix in the black border
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    return out, mask > 0
