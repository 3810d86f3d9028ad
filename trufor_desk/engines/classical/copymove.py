"""Copy-move detection: SIFT keypoints, g2NN self-matching, RANSAC affines, dense check.

Written from Amerini, Ballan, Caldelli, Del Bimbo & Serra, "A SIFT-based forensic method
for copy-move attack detection and transformation recovery", IEEE TIFS 6(3), 2011, with
the dense verification step of Pan & Lyu, "Region duplication detection using image
feature matching", IEEE TIFS 5(4), 2010.

1. **Keypoints.**  SIFT on the luminance, with a lowered contrast threshold so that
   weakly textured areas still carry keypoints; images whose short side is under
   ``min_side`` pixels are upscaled first (the copied region is often only a few
   dozen pixels wide).
2. **g2NN matching.**  Every descriptor is compared with every other one (exact
   Euclidean distances, computed block-wise as matrix products).  With the sorted
   distances d1 <= d2 <= ... of its k nearest neighbours (itself excluded), the 2NN
   ratio test d_i / d_{i+1} < T is iterated: neighbours 1..i are all matches as long
   as every ratio up to i passes.  This is what lets one region match several copies
   of itself.  Pairs closer than ``min_distance`` pixels are dropped (a keypoint and
   its own neighbourhood are always similar).
3. **Clustering by transformation.**  Amerini cluster the keypoint positions and then
   fit one affine per pair of clusters.  Here the matched pairs are clustered directly
   by the affine map they agree on: RANSAC (``cv2.estimateAffine2D``) finds the
   largest consensus set among the pairs, taken in both directions (a pair does not
   say which end is the original); its pairs form one cluster and are removed, and
   the search repeats.  Each cluster is one copy-move hypothesis ``x_dst = A x_src``,
   with rotation, scaling and shear included.  Degenerate hypotheses (collinear
   support, extreme scale) are discarded.
4. **Dense verification.**  Matches are sparse; regions come from comparing the image
   with itself warped by the hypothesis.  ``I(x)`` is compared with ``I(A^-1 x)``
   (marks the destination) and with ``I(A x)`` (marks the source) through the local
   zero-mean normalised cross-correlation in a Gaussian window, gated by the local
   mean absolute difference, on a lightly smoothed luminance (bilinear resampling of
   the pasted copy decorrelates the finest detail).  Pixels the map barely moves are
   skipped (near a rotation's fixed point everything correlates with itself).  Only
   the connected regions that contain the hypothesis's own inlier keypoints are kept,
   and each side is kept only where the other side maps onto a correlated region too.

The map is 1 inside verified regions (softened over one or two pixels at their border)
and 0 elsewhere; the score grows with the number of RANSAC inliers of the best verified
hypothesis, above 0.5 exactly when one was verified.  Everything per pixel is numpy or
OpenCV; nothing loops over pixels in Python.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from trufor_desk import __version__
from trufor_desk.engines.base import AnalysisResult, CancelFn, Checkpoint, ProgressFn

ENGINE_NAME = "copymove"
ALGORITHM_VERSION = "1"

DEFAULTS: dict[str, Any] = {
    "contrast_threshold": 0.015,   # SIFT (OpenCV default 0.04): more keypoints in weak texture
    "min_side": 512,               # upscale for SIFT until the short side reaches this (x3 at most)
    "max_keypoints": 12000,        # strongest keypoints kept (bounds the all-pairs matching)
    "g2nn_ratio": 0.5,             # T of the iterated 2NN test (Amerini et al. use 0.5)
    "g2nn_k": 8,                   # neighbours examined per keypoint
    "min_distance": 12.0,          # pixels between the two ends of a match
    "ransac_threshold": 3.0,       # pixels, reprojection error of a RANSAC inlier
    "min_inliers": 6,              # pairs supporting a hypothesis
    "max_hypotheses": 6,
    "ncc_threshold": 0.6,          # local correlation between the image and its warped copy
    "max_abs_diff": 12.0,          # grey levels, local mean |image - warped copy|
    "window_sigma": 2.5,           # Gaussian correlation window (pixels)
    "min_region": 48,              # pixels; smaller verified regions are dropped
}


def _sift(gray: np.ndarray, p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(N x 2 keypoint positions in ``gray``'s pixels, N x 128 float32 descriptors)."""
    import cv2

    sift = cv2.SIFT_create(nfeatures=int(p["max_keypoints"]),
                           contrastThreshold=float(p["contrast_threshold"]))
    kps, desc = sift.detectAndCompute(gray, None)
    if desc is None or len(kps) < 2:
        return np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32)
    pts = np.array([k.pt for k in kps], np.float32)
    return pts, desc.astype(np.float32)


def g2nn_pairs(desc: np.ndarray, ratio: float = 0.5, k: int = 8,
               block: int = 2048) -> np.ndarray:
    """Index pairs (i, j), i < j, accepted by the generalised 2NN test (M x 2 int64).

    For each descriptor the k nearest others are found exactly (squared distances from
    ``|a|^2 + |b|^2 - 2 a.b``); neighbour i is accepted while every ratio
    ``d_m / d_{m+1}``, m <= i, is below ``ratio``.
    """
    n = len(desc)
    if n < 3:
        return np.zeros((0, 2), np.int64)
    k = int(min(k, n - 1))
    d = desc.astype(np.float32)
    sq = (d * d).sum(1)
    pairs = []
    for start in range(0, n, block):
        stop = min(n, start + block)
        dist2 = sq[start:stop, None] + sq[None, :] - 2.0 * (d[start:stop] @ d.T)
        rows = np.arange(stop - start)
        dist2[rows, rows + start] = np.inf                    # no self-matches
        # k+1 smallest (the extra one is the denominator of the last ratio)
        kk = min(k + 1, n - 1)
        idx = np.argpartition(dist2, kk - 1, axis=1)[:, :kk]
        dd = np.take_along_axis(dist2, idx, 1)
        order = np.argsort(dd, axis=1)
        idx = np.take_along_axis(idx, order, 1)
        dist = np.sqrt(np.maximum(np.take_along_axis(dd, order, 1), 0.0))
        if dist.shape[1] < 2:
            continue
        ok = (dist[:, :-1] < ratio * dist[:, 1:]) | (dist[:, 1:] <= 1e-6)
        accepted = np.cumprod(ok, axis=1).astype(bool)        # all ratios up to i pass
        r, c = np.nonzero(accepted)
        if r.size:
            pairs.append(np.stack([r + start, idx[r, c]], 1))
    if not pairs:
        return np.zeros((0, 2), np.int64)
    pr = np.concatenate(pairs).astype(np.int64)
    pr = np.sort(pr, axis=1)
    return np.unique(pr, axis=0)


def _is_degenerate(affine: np.ndarray, src: np.ndarray) -> bool:
    lin = affine[:, :2]
    sv = np.linalg.svd(lin, compute_uv=False)
    if not np.all(np.isfinite(sv)) or sv[1] < 0.3 or sv[0] > 3.0 or sv[0] / max(sv[1], 1e-9) > 2.5:
        return True
    spread = np.linalg.svd(src - src.mean(0), compute_uv=False) / np.sqrt(len(src))
    return bool(spread[-1] < 2.0)  # support (nearly) on a line: the affine is not determined


def cluster_by_affine(p1: np.ndarray, p2: np.ndarray, p: dict[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sequential RANSAC over the pairs in both directions.

    Returns [(2x3 affine mapping source to destination, inlier source and destination
    points as an (n, 2, 2) array)], best supported first.
    """
    import cv2

    hyps: list[tuple[np.ndarray, np.ndarray]] = []
    active = np.ones(len(p1), bool)
    min_inl = int(p["min_inliers"])
    for _ in range(int(p["max_hypotheses"]) * 2):
        ids = np.nonzero(active)[0]
        if len(ids) < min_inl:
            break
        src = np.concatenate([p1[ids], p2[ids]]).astype(np.float32)
        dst = np.concatenate([p2[ids], p1[ids]]).astype(np.float32)
        affine, inl = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC,
                                           ransacReprojThreshold=float(p["ransac_threshold"]),
                                           maxIters=3000, confidence=0.999, refineIters=10)
        if affine is None or inl is None:
            break
        inl = inl.ravel().astype(bool)
        # keep one direction only: pairs whose forward copy is an inlier go src->dst
        fwd, bwd = inl[:len(ids)], inl[len(ids):]
        use_fwd = fwd.sum() >= bwd.sum()
        sel = fwd if use_fwd else bwd
        both = fwd | bwd
        active[ids[both]] = False
        if sel.sum() < min_inl:
            if both.sum() == 0:
                break
            continue
        s = src[:len(ids)][sel] if use_fwd else src[len(ids):][sel]
        t = dst[:len(ids)][sel] if use_fwd else dst[len(ids):][sel]
        if _is_degenerate(affine, s):
            continue
        hyps.append((affine.astype(np.float64), np.stack([s, t], 1)))
        if len(hyps) >= int(p["max_hypotheses"]):
            break
    return hyps


def _local_ncc(a: np.ndarray, b: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(zero-mean normalised cross-correlation, mean |a - b|) in a Gaussian window."""
    import cv2

    def g(x):
        return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)

    ma, mb = g(a), g(b)
    va = np.maximum(g(a * a) - ma * ma, 0)
    vb = np.maximum(g(b * b) - mb * mb, 0)
    cov = g(a * b) - ma * mb
    ncc = cov / np.sqrt(va * vb + 1.0)  # +1 grey level^2: flat areas do not correlate
    mad = g(np.abs(a - b))
    return ncc, mad


def _side_region(gray: np.ndarray, affine_to: np.ndarray, valid_disp: np.ndarray,
                 seeds: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    """Pixels x where gray(x) matches gray at the point ``affine_to`` sends x to, in the
    connected regions holding at least one of ``seeds`` (n x 2)."""
    import cv2

    h, w = gray.shape
    # warped(x) = gray(affine_to x)
    warped = cv2.warpAffine(gray, affine_to, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan"))
    inside = np.isfinite(warped)
    warped = np.where(inside, warped, gray)
    ncc, mad = _local_ncc(gray, warped, float(p["window_sigma"]))
    good = (ncc > float(p["ncc_threshold"])) & (mad < float(p["max_abs_diff"])) & inside & valid_disp
    good = good.astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    good = cv2.morphologyEx(good, cv2.MORPH_OPEN, kernel)
    good = cv2.morphologyEx(good, cv2.MORPH_CLOSE, kernel)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(good, connectivity=8)
    if n <= 1:
        return np.zeros((h, w), bool)
    sx = np.clip(np.round(seeds[:, 0]).astype(int), 0, w - 1)
    sy = np.clip(np.round(seeds[:, 1]).astype(int), 0, h - 1)
    # a seed may sit just outside its region (keypoints lie on blob edges): look 3 px around
    lab_dil = cv2.dilate(labels.astype(np.float32), np.ones((7, 7), np.uint8))
    hit = np.unique(np.concatenate([labels[sy, sx], lab_dil[sy, sx].astype(np.int32)]))
    hit = hit[(hit > 0) & (stats[hit, cv2.CC_STAT_AREA] >= int(p["min_region"]))]
    return np.isin(labels, hit)


def _invert(affine: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.invertAffineTransform(affine)


def verify(gray: np.ndarray, affine: np.ndarray, inliers: np.ndarray,
           p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(source region, destination region) of hypothesis ``x_dst = affine x_src``."""
    import cv2

    h, w = gray.shape
    inv = _invert(affine)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fwd_dx = affine[0, 0] * xx + affine[0, 1] * yy + affine[0, 2] - xx
    fwd_dy = affine[1, 0] * xx + affine[1, 1] * yy + affine[1, 2] - yy
    moved_fwd = np.hypot(fwd_dx, fwd_dy) >= float(p["min_distance"])
    bwd_dx = inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2] - xx
    bwd_dy = inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2] - yy
    moved_bwd = np.hypot(bwd_dx, bwd_dy) >= float(p["min_distance"])
    # source pixels x: gray(x) ~ gray(A x); destination pixels x: gray(x) ~ gray(A^-1 x)
    src = _side_region(gray, affine, moved_fwd, inliers[:, 0], p)
    dst = _side_region(gray, inv, moved_bwd, inliers[:, 1], p)
    if not src.any() or not dst.any():
        return np.zeros((h, w), bool), np.zeros((h, w), bool)
    # each side only where the other side maps onto it (allowing a little slack)
    slack = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    src_to_dst = cv2.warpAffine(src.astype(np.uint8), affine, (w, h), flags=cv2.INTER_NEAREST)
    dst_to_src = cv2.warpAffine(dst.astype(np.uint8), inv, (w, h), flags=cv2.INTER_NEAREST)
    dst_ok = dst & (cv2.dilate(src_to_dst, slack) > 0)
    src_ok = src & (cv2.dilate(dst_to_src, slack) > 0)
    return src_ok, dst_ok


def _score(n_inliers: int, verified: bool, min_inliers: int) -> float:
    if verified:
        return float(0.5 + 0.5 * (1.0 - np.exp(-(n_inliers - min_inliers + 1) / 10.0)))
    return float(0.45 * min(1.0, n_inliers / (2.0 * min_inliers)))


class CopyMoveEngine:
    """Copy-move (cloning) detection with SIFT, g2NN and RANSAC (Amerini et al. 2011)."""

    name = ENGINE_NAME
    version = f"{ENGINE_NAME}-{ALGORITHM_VERSION} (trufor-desk {__version__})"
    requires_weights = False
    OPTIONS: tuple[str, ...] = ()

    def analyze(self, evidence: Any, params: dict[str, Any] | None = None,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> AnalysisResult:
        import cv2

        unknown = set(params or {}) - set(DEFAULTS)
        if unknown:
            from trufor_desk.errors import UserError

            raise UserError(f"copymove: unknown parameter(s) {', '.join(sorted(unknown))} "
                            f"(known: {', '.join(DEFAULTS)})")
        p = {**DEFAULTS, **(params or {})}
        cp = Checkpoint(progress, cancel)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        rgb = evidence.rgb if hasattr(evidence, "rgb") else np.asarray(evidence)
        h, w = rgb.shape[:2]
        gray8 = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)
        empty = np.zeros((h, w), np.float32)

        cp.step(0.0, "copy-move: keypoints")
        up = float(np.clip(p["min_side"] / max(1, min(h, w)), 1.0, 3.0))
        sift_img = gray8 if up == 1.0 else cv2.resize(gray8, (round(w * up), round(h * up)),
                                                      interpolation=cv2.INTER_CUBIC)
        pts, desc = _sift(sift_img, p) if min(h, w) >= 8 else (np.zeros((0, 2), np.float32), None)
        pts = pts / up
        timings["keypoints_s"] = time.perf_counter() - t0

        cp.step(0.3, "copy-move: g2NN matching")
        t1 = time.perf_counter()
        pairs = g2nn_pairs(desc, float(p["g2nn_ratio"]), int(p["g2nn_k"])) if desc is not None \
            else np.zeros((0, 2), np.int64)
        if len(pairs):
            far = np.hypot(*(pts[pairs[:, 0]] - pts[pairs[:, 1]]).T) >= float(p["min_distance"])
            pairs = pairs[far]
        timings["matching_s"] = time.perf_counter() - t1

        cp.step(0.5, "copy-move: clustering and RANSAC")
        t2 = time.perf_counter()
        hyps = cluster_by_affine(pts[pairs[:, 0]], pts[pairs[:, 1]], p) if len(pairs) else []
        timings["ransac_s"] = time.perf_counter() - t2

        t3 = time.perf_counter()
        loc = empty.copy()
        gray = cv2.GaussianBlur(gray8.astype(np.float32), (0, 0), 1.0)
        best_verified, best_any = 0, 0
        found: list[dict[str, Any]] = []
        for i, (affine, inl) in enumerate(hyps):
            cp.step(0.6 + 0.35 * i / max(1, len(hyps)), f"copy-move: verifying hypothesis {i + 1}/{len(hyps)}")
            best_any = max(best_any, len(inl))
            src, dst = verify(gray, affine, inl, p)
            region = src | dst
            if not region.any():
                continue
            best_verified = max(best_verified, len(inl))
            loc = np.maximum(loc, region.astype(np.float32))
            found.append({"affine": affine.round(4).tolist(), "inliers": int(len(inl)),
                          "source_px": int(src.sum()), "destination_px": int(dst.sum())})
        if loc.any():
            # soft edge of about one pixel: still 1 inside, 0 well outside
            loc = np.clip(cv2.GaussianBlur(loc, (0, 0), 1.0) * 1.5 - 0.25, 0, 1)
            loc = np.maximum(loc, 0.0)
        timings["verification_s"] = time.perf_counter() - t3
        timings["total_s"] = time.perf_counter() - t0

        if best_verified:
            score = _score(best_verified, True, int(p["min_inliers"]))
        else:
            score = _score(best_any, False, int(p["min_inliers"]))
        notes = []
        if min(h, w) < 32:
            notes.append("image smaller than 32 pixels: too small for keypoint matching")
        cp.step(1.0, "copy-move: done")
        return AnalysisResult(
            engine=ENGINE_NAME, engine_version=self.version, localization=loc.astype(np.float32),
            score=score, params=p,
            provenance={"keypoints": int(len(pts)), "matches": int(len(pairs)),
                        "hypotheses": int(len(hyps)), "verified": int(len(found)),
                        "sift_upscale": round(up, 4)},
            timings=timings, notes=notes,
            extras={},
        )
