"""Copy-move matching: SIFT keypoints, iterated 2NN (g2NN) self-matching, affine
hypotheses clustered by RANSAC, and the dense check that verifies each hypothesis.

The steps 1-4 of ``copymove.py`` (Amerini et al., TIFS 2011, with the dense verification
of Pan & Lyu, TIFS 2010); the engine there runs them, adds the dense shift search and
decides which copy was pasted.  ``p`` is the engine's parameter dict (``copymove.DEFAULTS``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from trufor_desk.engines.classical.copymove_dense import fill_holes, local_ncc


def sift_keypoints(gray: np.ndarray, p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(N x 2 keypoint positions in ``gray``'s pixels, N x 128 float32 descriptors)."""
    import cv2

    sift = cv2.SIFT_create(nfeatures=int(p["max_keypoints"]),
                           contrastThreshold=float(p["contrast_threshold"]))
    kps, desc = sift.detectAndCompute(gray, None)
    if desc is None or len(kps) < 2:
        return np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32)
    pts = np.array([k.pt for k in kps], np.float32)
    return pts, desc.astype(np.float32)


# FLANN builds its randomised kd-trees from OpenCV's random generator, which OpenCV keeps per
# thread.  The trees are built and searched in a short-lived thread of their own whose
# generator is seeded with this: every image gets the same neighbours whatever ran before it
# in the process, and the caller's generator is neither read nor changed.  (The engine used
# to seed the process's generator after matching, so each image's trees came from that seed,
# but for the first image in a process: the seed is kept, the side effect is gone.)
FLANN_SEED = 20110601
FLANN_INDEX = {"algorithm": 1, "trees": 4}   # randomised kd-trees
FLANN_SEARCH = {"checks": 48}
T = TypeVar("T")


def run_seeded(fn: Callable[[], T], seed: int = FLANN_SEED) -> T:
    """``fn()`` in a short-lived thread whose OpenCV random generator (kept per thread) is
    seeded with ``seed``: its draws are the same whatever ran before in the process, and the
    caller's generator is neither read nor changed.  Exceptions are re-raised here."""
    import threading

    import cv2

    out: dict[str, Any] = {}

    def work() -> None:
        try:
            cv2.setRNGSeed(seed)  # this thread's generator only
            out["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            out["error"] = exc

    worker = threading.Thread(target=work, name="copymove-seeded", daemon=True)
    worker.start()
    worker.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def _flann_knn(desc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices int32, distances float32) of the k approximate nearest neighbours of every
    descriptor among all of them (itself included), from seeded trees (FLANN_SEED).

    ``cv2.flann_Index`` is what ``FlannBasedMatcher.knnMatch`` builds and searches: the same
    neighbours; its distances are squared L2, the matcher's their square roots."""
    import cv2

    def search() -> tuple[np.ndarray, np.ndarray]:
        index = cv2.flann_Index(desc, FLANN_INDEX)
        return index.knnSearch(desc, k, params=FLANN_SEARCH)

    idx, sq = run_seeded(search)
    idx = np.asarray(idx, np.int64).reshape(len(desc), k)
    dist = np.sqrt(np.asarray(sq, np.float32).reshape(len(desc), k))
    dist[idx < 0] = np.inf
    return idx, dist


EXACT_MARGIN = 4  # candidates beyond k kept from the Gram-matrix ranking before the exact re-ranking


def _exact_knn(desc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices int64, distances float32) of the k nearest descriptors of every descriptor
    among all of them (itself included), ranked as ``cv2.BFMatcher(NORM_L2).knnMatch``
    ranks them: by L2 distance, equal distances in ascending index order.

    Candidates come from the Gram matrix in float64 (||a||^2 + ||b||^2 - 2 a.b, one matrix
    product instead of BFMatcher's scalar loops): per row, every descriptor within the
    (k + EXACT_MARGIN)-th smallest Gram distance, so that a run of equal distances enters
    whole; their distances are then computed directly from the differences in float32 and
    the candidates re-ranked by them.  The Gram form's rounding (about 1e-10 of a squared
    distance) only decides which candidates are looked at, never their order."""
    n = len(desc)
    d64 = desc.astype(np.float64)
    sq = np.einsum("ij,ij->i", d64, d64)
    gram = sq[:, None] + sq[None, :] - 2.0 * (d64 @ d64.T)
    m = min(n, k + EXACT_MARGIN)
    # every descriptor within the m-th smallest Gram distance (plus its rounding) of its row, so
    # that a run of equal distances enters whole and the lowest indices of it can be kept
    bound = np.partition(gram, m - 1, axis=1)[:, m - 1:m]
    rows, cols = np.nonzero(gram <= bound + 1e-6 * (1.0 + np.abs(bound)))
    diff = desc[rows] - desc[cols]
    dist = np.sqrt(np.einsum("ij,ij->i", diff, diff, dtype=np.float32))
    order = np.lexsort((cols, dist, rows))  # by row, then distance, then index
    rows, cols, dist = rows[order], cols[order], dist[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    take = rank < k
    idx = np.full((n, k), -1, np.int64)
    out = np.full((n, k), np.inf, np.float32)
    idx[rows[take], rank[take]] = cols[take]
    out[rows[take], rank[take]] = dist[take]
    return idx, out


def _knn(desc: np.ndarray, k: int, exact_limit: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances) of the k nearest other descriptors of each descriptor, sorted.

    Exact brute force up to ``exact_limit`` descriptors; above it FLANN randomised
    kd-trees, the approximate best-bin-first search Amerini et al. used themselves (the
    distinctive matches the g2NN test accepts are found reliably; all-pairs distances
    would cost O(N^2) time), built from a seeded generator (:func:`_flann_knn`).
    """
    n = len(desc)
    kq = min(k + 2, n)
    if n <= exact_limit:
        idx, dist = _exact_knn(desc, kq)
    else:
        idx, dist = _flann_knn(desc, kq)
    # drop the query itself wherever it appears (ties with exact duplicates can put it
    # second), keeping the order of the others
    is_self = (idx == np.arange(n)[:, None]) | (idx < 0)
    order = np.argsort(is_self, axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, 1)[:, :kq - 1]
    dist = np.take_along_axis(dist, order, 1)[:, :kq - 1]
    dist[np.take_along_axis(is_self, order, 1)[:, :kq - 1]] = np.inf
    return idx, dist


def g2nn_accept(dist: np.ndarray, ratio: float) -> np.ndarray:
    """Boolean (N, k-1): neighbour i of each row passes the generalised 2NN test, i.e.
    ``d_m < ratio * d_{m+1}`` for every m <= i (distances sorted ascending)."""
    if dist.shape[1] < 2:
        return np.zeros((dist.shape[0], 0), bool)
    ok = (dist[:, :-1] < ratio * dist[:, 1:]) | (dist[:, 1:] <= 1e-6)
    return np.cumprod(ok, axis=1).astype(bool)


def g2nn_pairs(desc: np.ndarray, ratio: float = 0.5, k: int = 8, exact_limit: int = 3000) -> np.ndarray:
    """Index pairs (i, j), i < j, accepted by the generalised 2NN test (M x 2 int64)."""
    n = 0 if desc is None else len(desc)
    if n < 3:
        return np.zeros((0, 2), np.int64)
    idx, dist = _knn(np.ascontiguousarray(desc, dtype=np.float32), int(k), int(exact_limit))
    accepted = g2nn_accept(dist, ratio)
    r, c = np.nonzero(accepted)
    if r.size == 0:
        return np.zeros((0, 2), np.int64)
    pr = np.sort(np.stack([r, idx[r, c]], 1).astype(np.int64), axis=1)
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


def _moved_enough(affine: np.ndarray, h: int, w: int, min_distance: float) -> np.ndarray:
    """Pixels x with |affine x - x| >= min_distance (near a rotation's fixed point, or
    for tiny shifts, everything correlates with itself)."""
    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)[:, None]
    dx = (affine[0, 0] - 1) * xs + (affine[0, 1] * ys + affine[0, 2])
    dy = affine[1, 0] * xs + ((affine[1, 1] - 1) * ys + affine[1, 2])
    return dx * dx + dy * dy >= np.float32(min_distance) ** 2


def _side_region(gray: np.ndarray, affine_to: np.ndarray, seeds: np.ndarray,
                 p: dict[str, Any]) -> np.ndarray:
    """Pixels x where gray(x) matches gray at the point ``affine_to`` sends x to, in the
    connected regions holding at least one of ``seeds`` (n x 2)."""
    import cv2

    h, w = gray.shape
    # warped(x) = gray(affine_to x); outside the image: NaN
    warped = cv2.warpAffine(gray, affine_to, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan"))
    inside = np.isfinite(warped)
    np.copyto(warped, gray, where=~inside)
    ncc, mad = local_ncc(gray, warped, float(p["window_sigma"]))
    good = (ncc > float(p["ncc_threshold"])) & (mad < float(p["max_abs_diff"])) & inside
    good &= _moved_enough(affine_to, h, w, float(p["min_distance"]))
    good = good.astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    good = cv2.morphologyEx(good, cv2.MORPH_OPEN, kernel)
    good = cv2.morphologyEx(good, cv2.MORPH_CLOSE, kernel)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(good, connectivity=8)
    if n <= 1:
        return np.zeros((h, w), bool)
    # a seed may sit just outside its region (keypoints lie on edges): look 3 px around
    off = np.arange(-3, 4)
    sx = np.clip(np.round(seeds[:, 0]).astype(int)[:, None, None] + off[None, None, :], 0, w - 1)
    sy = np.clip(np.round(seeds[:, 1]).astype(int)[:, None, None] + off[None, :, None], 0, h - 1)
    hit = np.unique(labels[sy, sx])
    hit = hit[(hit > 0) & (stats[hit, cv2.CC_STAT_AREA] >= int(p["min_region"]))]
    if hit.size == 0:
        return np.zeros((h, w), bool)
    keep = np.zeros(n, bool)
    keep[hit] = True
    # copied regions are solid: fill holes (textureless patches inside the copy)
    return fill_holes(keep[labels])


def verify(gray: np.ndarray, affine: np.ndarray, inliers: np.ndarray,
           p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(source region, destination region) of hypothesis ``x_dst = affine x_src``."""
    import cv2

    h, w = gray.shape
    inv = cv2.invertAffineTransform(affine)
    # source pixels x: gray(x) ~ gray(A x); destination pixels x: gray(x) ~ gray(A^-1 x)
    src = _side_region(gray, affine, inliers[:, 0], p)
    if not src.any():
        return src, src
    dst = _side_region(gray, inv, inliers[:, 1], p)
    if not dst.any():
        return dst, dst
    # each side only where the other side maps onto it (allowing a little slack)
    slack = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    src_to_dst = cv2.warpAffine(src.astype(np.uint8), affine, (w, h), flags=cv2.INTER_NEAREST)
    dst_to_src = cv2.warpAffine(dst.astype(np.uint8), inv, (w, h), flags=cv2.INTER_NEAREST)
    dst_ok = dst & (cv2.dilate(src_to_dst, slack) > 0)
    src_ok = src & (cv2.dilate(dst_to_src, slack) > 0)
    return src_ok, dst_ok


def match_score(n_inliers: int, verified: bool, min_inliers: int) -> float:
    if verified:
        return float(0.5 + 0.5 * (1.0 - np.exp(-(n_inliers - min_inliers + 1) / 10.0)))
    return float(0.45 * min(1.0, n_inliers / (2.0 * min_inliers)))
