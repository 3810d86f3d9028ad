"""The ENFSI verbal scale: a calibrated probability stated as a likelihood ratio and its band.

ENFSI Guideline for Evaluative Reporting in Forensic Science (2015): the likelihood ratio
implied by a calibrated posterior and the calibration set's prior (the share of
manipulated images it held), and the words of its band.  The verdict
(:mod:`trufor_desk.verdict.decision`) states a calibrated score with it; the report prints
the explanation and the ratio in the same words.
"""

from __future__ import annotations

import math

# (lower bound of the likelihood ratio, band) -- ENFSI Guideline for Evaluative Reporting, 2015
ENFSI_BANDS: tuple[tuple[float, str], ...] = (
    (1.0, "no meaningful support"),
    (2.0, "weak support"),
    (10.0, "moderate support"),
    (100.0, "moderately strong support"),
    (1_000.0, "strong support"),
    (10_000.0, "very strong support"),
    (1_000_000.0, "extremely strong support"),
)

VERBAL_SCALE_EXPLANATION = (
    "Where an engine's score is calibrated, the report also states it on the verbal scale of the ENFSI "
    "Guideline for Evaluative Reporting in Forensic Science (2015). The calibrated probability is turned into "
    "a likelihood ratio: how much more probable the detector's output is if the image was manipulated than if "
    "it is authentic, i.e. the posterior odds divided by the prior odds of the calibration set (the share of "
    "manipulated images it held; even odds when not stated). Bands: 1 to 2, no meaningful support either way; "
    "2 to 10, weak support; 10 to 100, moderate support; 100 to 1,000, moderately strong support; 1,000 to "
    "10,000, strong support; 10,000 to 1,000,000, very strong support; above 1,000,000, extremely strong "
    "support. A ratio below 1 supports the proposition that the image is authentic, on the same bands of its "
    "inverse. The statement concerns the image-level score only, and only as far as the calibration set "
    "resembles this image's kind and history: it is not the probability that the image was manipulated, "
    "it is not a probability that anyone did anything, and it does not weigh the other findings of the case "
    "(maps, metadata, provenance) -- that remains the examiner's task.")


def likelihood_ratio(p: float, prior_fake: float = 0.5) -> float:
    """LR = posterior odds / prior odds, from a calibrated probability ``p``."""
    if not 0.0 < prior_fake < 1.0:
        raise ValueError(f"prior_fake must lie strictly between 0 and 1, not {prior_fake}")
    if not 0.0 <= p <= 1.0 or math.isnan(p):
        raise ValueError(f"a probability lies in [0, 1], not {p}")
    prior_odds = prior_fake / (1.0 - prior_fake)
    if p >= 1.0:
        return math.inf
    if p <= 0.0:
        return 0.0
    return (p / (1.0 - p)) / prior_odds


def _band(ratio: float) -> str:
    band = ENFSI_BANDS[0][1]
    for lo, name in ENFSI_BANDS:
        if ratio >= lo:
            band = name
    return band


def _ratio_text(ratio: float) -> str:
    if not math.isfinite(ratio) or ratio > 1_000_000:
        return "more than 1,000,000"
    if ratio >= 10:
        return f"about {ratio:,.0f}"
    return f"about {ratio:.1f}"


def ratio_text(lr: float) -> str:
    """A likelihood ratio in the words every output uses: "about 87", "about 1/3.2", "more than
    1,000,000", "below 1/1,000,000" (the verbal line and the report's table say the same)."""
    if lr >= 1.0:
        return _ratio_text(lr)
    inv = math.inf if lr == 0.0 else 1.0 / lr
    if not math.isfinite(inv) or inv > 1_000_000:
        return "below 1/1,000,000"
    return f"about 1/{inv:,.0f}" if inv >= 10 else f"about 1/{inv:.1f}"


def verbal_scale(p: float, prior_fake: float = 0.5) -> tuple[float, str, str]:
    """(likelihood ratio, band, sentence) for a calibrated probability ``p``."""
    lr = likelihood_ratio(p, prior_fake)
    band = _band(lr if lr >= 1.0 else (math.inf if lr == 0.0 else 1.0 / lr))  # bands are symmetric
    if band == ENFSI_BANDS[0][1]:
        sentence = ("The findings give no meaningful support either way to the propositions that the image "
                    f"was manipulated or that it is authentic (likelihood ratio {ratio_text(lr)}).")
    elif lr >= 1.0:
        sentence = (f"The findings give {band} for the proposition that the image was manipulated rather "
                    f"than authentic (likelihood ratio {ratio_text(lr)}).")
    else:
        sentence = (f"The findings give {band} for the proposition that the image is authentic rather than "
                    f"manipulated (likelihood ratio {ratio_text(lr)}).")
    return lr, band, sentence
