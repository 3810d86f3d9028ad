"""Image-level scores of the weight-free engines: calibrated probabilities, or none.

A weight-free engine's score is called a probability only where it was calibrated: a
logistic model of one or two explainable statistics, fitted on a named set of
manipulated and authentic photographs, with the AUC measured on that set.  An engine
whose statistic cannot separate manipulated from authentic photographs (AUC < 0.6 on
the calibration set) gives no image-level score at all; its map is still shown.

The constants below are refitted by ``python scripts/calibrate_scores.py [DATASET_DIR]``,
which prints this table from the raw statistics of each engine.  Keeping the models to
one or two parameters per statistic is deliberate: the calibration set is small (500
photographs, 1,500 with the re-shared copies) and the quality is judged on a different draw from the same source.

Every model records the size ``n`` of its calibration set, and its probabilities are held
between 1/(n+1) and n/(n+1) (``probability_range``): n images cannot support a likelihood
ratio much above n, so no output claims more (on casia-dev as stored this touches 3 of 300
manipulated photos and no AUC).

What a calibrated probability means: the fraction of manipulated images among images
of the calibration set's kind with that statistic, at that set's proportion of
manipulated images (``prior_fake``).  It does not carry over to collections of another
kind: on casia-dev the authentic photographs are camera-original JPEGs, so an
authentic photograph saved twice (e.g. re-shared online) also shows a double
compression history and gets a high ADQ probability.  The fusion's models are
therefore fitted on casia-dev pooled with its re-shared copies (``POOLED_SET``), where
authentic photographs with a double-compression history are common.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CALIBRATION_SET = ("casia-dev: CASIA v1.0 development split (300 manipulated, 200 authentic JPEGs, "
                   "mostly 384x256)")
MIN_AUC = 0.6
POOLED_SET = ("casia-dev (300 manipulated, 200 authentic JPEGs) and its re-shared copies from "
              "scripts/make_reshared.py (every fourth image, from the third on, of each of eight copies: re-saved at "
              "95, 85 and 75, saved at 85 then 75, cropped and re-saved at 90 and at 75, downscaled to 0.75 and "
              "re-saved at 75, halved and re-saved at 80): 1,500 images, 60 % manipulated")

# engine -> logistic model: p = sigmoid(intercept + sum(coef[f] * features[f]))
MODELS: dict[str, dict[str, Any]] = {
    "adq": {"intercept": 1.6294, "coef": {"log_dq_gain": 2.3114}, "auc": 0.979, "n": 500},
    # the fusion's models, pooled over casia-dev as stored and its re-shared copies (fusion 1.6's statistics,
    # 1,500 images: 5-fold cross-validated AUC 0.772, bAcc 0.702; on casia-dev as stored 0.957 / 0.822);
    # without copy-move the fusion uses the history model (cross-validated AUC 0.685)
    "fusion": {"intercept": 9.5384, "coef": {"log_dq_gain": 0.1028, "log_once_share": 1.5838, "copymove_raw": 2.3236},
               "auc": 0.779, "set": POOLED_SET, "n": 1500},
    "fusion_history": {"intercept": 9.0766, "coef": {"log_dq_gain": 0.1337, "log_once_share": 1.4120}, "auc": 0.686,
                       "set": POOLED_SET, "n": 1500},
    "copymove": {"intercept": -0.0774, "coef": {"raw_score": 1.9761}, "auc": 0.669, "n": 500},
}
UNCOMPRESSED_SET = ("never-compressed forgeries made from casia-dev's authentic photos by scripts/"
                    "make_uncompressed.py (downscaled by 2-4, then spliced, copy-moved or filled, saved as PNG; "
                    "100 manipulated, 100 authentic, 64x96 to 192x128 pixels)")
# the fusion on never-compressed images (no JPEG history, a lossless format); 5-fold cross-validated AUC 0.796
MODELS["fusion_uncompressed"] = {
    "intercept": 3.1536, "coef": {"copymove_raw": 3.1029, "log_smooth_share": 1.0495, "log_dup_pairs": 4.9442},
    "auc": 0.807, "set": UNCOMPRESSED_SET, "prior_fake": 0.5, "n": 200}
# engines whose raw statistic was measured and found uninformative (AUC on the set)
NO_SCORE: dict[str, float] = {"splicebuster": 0.509, "noise": 0.497, "jpeg": 0.506}
PRIOR_FAKE = 0.6  # 300 / 500
APPLIES_TO = {"adq": "JPEG images", "fusion": "images with a JPEG history",
              "fusion_uncompressed": ("photographs with no JPEG history stored losslessly "
                                      "(PNG, TIFF, BMP, PPM/PGM, TGA)"),
              "fusion_history": "images with a JPEG history", "copymove": "any image"}
# the statistics in words, for every output that names them
FEATURE_WORDS = {
    "log_dq_gain": "strength of the double-compression history",
    "log_once_share": "share of the image compressed fewer times than the rest",
    "copymove_raw": "strength of the best verified copy-move match",
    "raw_score": "strength of the best verified copy-move match",
    "log_smooth_share": "share of the image too smooth for its structure",
    "log_dup_pairs": "number of exactly repeated textured patches",
}
SHARE_FLOOR = 0.002  # log_share's offset: shares below ~0.2 % of the image count as none


def log_share(share: float) -> float:
    """The statistic the fusion's score is calibrated on: the log of the share of the image
    that the compression-history map marks above 0.5, offset so that none stays finite."""
    return float(np.log(max(float(share), 0.0) + SHARE_FLOOR))


def calibration_record(engine: str) -> dict[str, Any]:
    """What ``AnalysisResult.score_calibration`` holds for a calibrated engine."""
    m = MODELS[engine]
    return {"method": "logistic regression on the " + " and the ".join(FEATURE_WORDS.get(k, k) for k in m["coef"]),
            "set": m.get("set", CALIBRATION_SET),
            "auc": m["auc"], "prior_fake": m.get("prior_fake", PRIOR_FAKE), "intercept": m["intercept"],
            "coef": dict(m["coef"]),
            "applies_to": APPLIES_TO.get(engine, ""),
            "caveat": _caveat(m["coef"]) + _range_words(engine)}


def _range_words(engine: str) -> str:
    n = MODELS[engine].get("n")
    if not n:
        return ""
    return (f"; probabilities are held between 1/{n + 1} and {n}/{n + 1}: {n} calibration images cannot "
            "support a stronger statement")


def _caveat(coef: dict[str, float]) -> str:
    """What can make an authentic photograph score high under a model of these statistics."""
    parts = []
    if "log_dq_gain" in coef:
        parts.append("an authentic photo saved twice also shows a double-compression history")
    if "log_once_share" in coef:
        parts.append("flat, saturated or heavily filtered areas of an authentic photo can read as compressed once")
    if "raw_score" in coef or "copymove_raw" in coef:
        parts.append("natural repetitions (tiles, windows, text) can match like a clone")
    if "log_smooth_share" in coef:
        parts.append("flat sky, walls or defocused areas can read as too smooth")
    if "log_dup_pairs" in coef:
        parts.append("an image edited or generated by software can repeat patches exactly")
    return "a probability for photographs like those of the calibration set; " + "; ".join(parts)


def logistic(z):
    """The model's link, clipped so that no statistic overflows: 1 / (1 + exp(-z))."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def calibrated_score(engine: str, features: dict[str, float]) -> tuple[float | None, dict[str, Any] | None]:
    """(probability, calibration record), or (None, None) for an uncalibrated engine."""
    m = MODELS.get(engine)
    if m is None or m["auc"] < MIN_AUC:
        return None, None
    z = m["intercept"] + sum(c * float(features[k]) for k, c in m["coef"].items())
    p = float(logistic(z))
    lo, hi = probability_range(engine)
    return min(max(p, lo), hi), calibration_record(engine)


def probability_range(engine: str) -> tuple[float, float]:
    """The probabilities a model may state: where its calibration set records its size ``n``,
    1/(n+1) to n/(n+1) -- a set of n images cannot support a stronger statement (the likelihood
    ratio stays below about n); (0, 1) otherwise."""
    n = MODELS[engine].get("n")
    return (1.0 / (n + 1), n / (n + 1)) if n else (0.0, 1.0)


def no_score_note(engine: str) -> str:
    """Why an engine gives no image-level score."""
    auc = NO_SCORE.get(engine)
    if auc is None:
        return "this engine gives no image-level score: judge its map"
    return (f"no image-level score: this engine's whole-image statistic separated manipulated from authentic "
            f"photographs no better than chance on the calibration set (AUC {auc:.2f} < {MIN_AUC}); judge its map")


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iterations: int = 50) -> tuple[float, np.ndarray]:
    """Intercept and coefficients of a logistic regression by Newton's method (small ridge)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
    y = np.asarray(y, dtype=np.float64)
    a = np.c_[np.ones(len(y)), x]
    w = np.zeros(a.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -60, 60)))
        g = a.T @ (p - y) + l2 * np.r_[0.0, w[1:]]
        hess = (a * (p * (1 - p))[:, None]).T @ a + l2 * np.diag(np.r_[0.0, np.ones(len(w) - 1)])
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(w)), g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), w[1:]
