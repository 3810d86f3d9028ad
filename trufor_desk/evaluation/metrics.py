"""Localisation and detection metrics as TruFor reports them (CVPR 2023, section 5).

Localisation, per manipulated image: pixels near the mask boundary are ignored; the
sure-manipulated pixels are the mask eroded with a 15x15 window, the sure-pristine ones
lie outside the mask dilated with an 11x11 window.  On those pixels F1 is computed at
the best threshold and at 0.5, for the map and for its inverse (1 - map), keeping the
better of the two (a detector may flag the host instead of the splice).

Two rules for the thresholds, both reported:

* **official** (the headline, so figures compare with published ones): the rule of
  TruFor's scorer.  The map predicts ``map > t`` for every distinct map value ``t``; the
  inverse predicts ``map <= t``.  At the largest value the inverse predicts every pixel
  manipulated, so every map, a constant one included, scores at least
  ``2|F| / (2|F| + |P|)`` (|F| sure-manipulated, |P| sure-pristine pixels).  F1@0.5 is
  the better of ``map > 0.5`` and ``map <= 0.5``.
* **strict** (ours, the more honest figure for weak detectors): a constant map carries
  no localisation and scores 0, and neither the map nor its inverse may predict every
  pixel (the inverse predicts ``map < t``, F1@0.5 uses ``map < 0.5``).

A perfect binary map scores 1 under both.

Detection, over manipulated + pristine images: ROC AUC of the scores and balanced
accuracy of ``score > 0.5``.
"""

from __future__ import annotations

import numpy as np

ERODE = 15
DILATE = 11


def evaluation_masks(mask: np.ndarray, erode: int = ERODE, dilate: int = DILATE) -> tuple[np.ndarray, np.ndarray]:
    """(sure_manipulated, sure_pristine) boolean maps from a boolean ground-truth mask."""
    import cv2

    m = mask.astype(np.uint8)
    sure_fake = cv2.erode(m, np.ones((erode, erode), np.uint8), borderType=cv2.BORDER_REPLICATE) > 0
    sure_real = cv2.dilate(m, np.ones((dilate, dilate), np.uint8), borderType=cv2.BORDER_REPLICATE) == 0
    return sure_fake, sure_real


def _f1_curve(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(best F1 over thresholds, F1 at 0.5) for ``scores > t`` against ``truth``."""
    pos = int(truth.sum())
    if scores.size == 0:
        return 0.0, 0.0

    def f1(tp, fp):
        fn = pos - tp
        denom = 2 * tp + fp + fn
        return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)

    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    t = truth[order]
    tp = np.cumsum(t)
    fp = np.cumsum(~t)
    # predictions "> threshold" for threshold = each distinct value: take the counts just
    # before the first element equal to that value (elements strictly greater)
    last_of_run = np.r_[s[1:] != s[:-1], True]
    tp_runs = tp[last_of_run]
    fp_runs = fp[last_of_run]
    # thresholds = distinct values; "> value" counts = counts through the previous run
    tp_gt = np.r_[0, tp_runs[:-1]]
    fp_gt = np.r_[0, fp_runs[:-1]]
    best = float(f1(tp_gt, fp_gt).max())
    above = scores > 0.5
    fixed = float(f1(np.array(int((above & truth).sum())), np.array(int((above & ~truth).sum()))))
    return best, fixed


def localization_f1(score_map: np.ndarray, mask: np.ndarray, erode: int = ERODE,
                    dilate: int = DILATE) -> dict[str, float]:
    """F1-best and F1@0.5 of a map (1 = manipulated) against a boolean mask.

    Returns ``f1_best`` and ``f1_fixed`` under the official rule, ``f1_best_strict`` and
    ``f1_fixed_strict`` under ours (see the module docstring), and ``inverted`` (1.0 if
    the inverse map gave the better official F1-best).
    """
    if score_map.shape != mask.shape:
        raise ValueError(f"map {score_map.shape} and mask {mask.shape} differ in size")
    sure_fake, sure_real = evaluation_masks(mask.astype(bool), erode, dilate)
    valid = sure_fake | sure_real
    s = np.asarray(score_map, dtype=np.float64)[valid]
    truth = sure_fake[valid]
    pos, neg = int(truth.sum()), int((~truth).sum())
    # the official inverse at the largest threshold: every pixel predicted manipulated
    all_pixels = 2 * pos / (2 * pos + neg) if pos else 0.0
    if s.size == 0 or s.max() == s.min():
        # at 0.5 either the map or its inverse predicts every pixel
        return {"f1_best": all_pixels, "f1_fixed": all_pixels, "f1_best_strict": 0.0,
                "f1_fixed_strict": 0.0, "inverted": 1.0 if all_pixels > 0 else 0.0}
    b1, f1_ = _f1_curve(s, truth)
    b2, _ = _f1_curve(1.0 - s, truth)           # inverse, "map < t"
    inv_le = max(b2, all_pixels)                 # inverse, "map <= t" (adds "every pixel")
    at_or_below = s <= 0.5
    tp = int((at_or_below & truth).sum())
    fp = int((at_or_below & ~truth).sum())
    f_inv_fixed = 2 * tp / (2 * tp + fp + (pos - tp)) if (2 * tp + fp + pos - tp) else 0.0
    below = s < 0.5
    tp_s = int((below & truth).sum())
    fp_s = int((below & ~truth).sum())
    f_inv_fixed_strict = 2 * tp_s / (2 * tp_s + fp_s + (pos - tp_s)) if (tp_s + fp_s + pos) else 0.0
    return {"f1_best": max(b1, inv_le), "f1_fixed": max(f1_, f_inv_fixed),
            "f1_best_strict": max(b1, b2), "f1_fixed_strict": max(f1_, f_inv_fixed_strict),
            "inverted": float(inv_le > b1)}


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half); nan without both classes."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def balanced_accuracy(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> float:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    pred = scores > threshold
    parts = []
    if labels.any():
        parts.append(float((pred & labels).sum() / labels.sum()))
    if (~labels).any():
        parts.append(float((~pred & ~labels).sum() / (~labels).sum()))
    return float(np.mean(parts)) if parts else float("nan")
