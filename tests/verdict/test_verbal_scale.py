"""The ENFSI verbal scale: the bands both ways, the edges, what the explanation says it is
not, and one wording of a likelihood ratio everywhere."""

from __future__ import annotations

import math

import pytest

from trufor_desk.verdict.verbal_scale import (
    ENFSI_BANDS,
    VERBAL_SCALE_EXPLANATION,
    likelihood_ratio,
    ratio_text,
    verbal_scale,
)


def posterior(lr: float, prior_fake: float = 0.5) -> float:
    odds = lr * prior_fake / (1 - prior_fake)
    return odds / (1 + odds)


BANDS = [(1.5, "no meaningful support"), (5, "weak support"), (50, "moderate support"),
         (500, "moderately strong support"), (5_000, "strong support"), (50_000, "very strong support"),
         (5_000_000, "extremely strong support")]


@pytest.mark.parametrize("lr,band", BANDS)
@pytest.mark.parametrize("prior_fake", [0.5, 0.2])
def test_enfsi_bands_for_manipulated_and_authentic(lr, band, prior_fake):
    got_lr, got_band, sentence = verbal_scale(posterior(lr, prior_fake), prior_fake)
    assert got_lr == pytest.approx(lr, rel=1e-6) and got_band == band
    if band == "no meaningful support":
        assert "no meaningful support either way" in sentence
    else:
        assert sentence.startswith(f"The findings give {band} for the proposition that the image was "
                                   "manipulated rather than authentic")
    inv_lr, inv_band, inv_sentence = verbal_scale(posterior(1 / lr, prior_fake), prior_fake)
    assert inv_lr == pytest.approx(1 / lr, rel=1e-6) and inv_band == band
    if band != "no meaningful support":
        assert f"{band} for the proposition that the image is authentic rather than manipulated" in inv_sentence


def test_band_edges_and_extremes():
    assert [b for _, b in ENFSI_BANDS][0] == "no meaningful support"
    assert verbal_scale(posterior(2.0 * 1.000001))[1] == "weak support"
    assert verbal_scale(posterior(2.0 * 0.999999))[1] == "no meaningful support"
    assert verbal_scale(posterior(1_000_000.0 * 1.0001))[1] == "extremely strong support"
    assert likelihood_ratio(1.0) == math.inf and verbal_scale(1.0)[1] == "extremely strong support"
    assert likelihood_ratio(0.0) == 0.0 and "authentic" in verbal_scale(0.0)[2]
    assert likelihood_ratio(0.5, prior_fake=0.2) == pytest.approx(4.0)  # even posterior, prior 1:4
    with pytest.raises(ValueError):
        likelihood_ratio(0.5, prior_fake=1.0)
    with pytest.raises(ValueError):
        likelihood_ratio(1.5)


def test_the_scale_explanation_says_what_it_is_not():
    text = VERBAL_SCALE_EXPLANATION
    for needle in ("ENFSI", "likelihood ratio", "calibration set", "not the probability that the image was "
                   "manipulated", "weak support", "extremely strong support", "authentic"):
        assert needle in text, needle


def test_the_likelihood_ratio_reads_the_same_in_the_verbal_line_and_the_report_table():
    for p in (0.999999999, 0.992, 0.7, 0.55, 0.45, 0.2, 0.01, 1e-9):
        lr, _, sentence = verbal_scale(p, 0.6)
        assert f"(likelihood ratio {ratio_text(lr)})" in sentence
    assert ratio_text(87.3729) == "about 87" and ratio_text(1 / 3.2) == "about 1/3.2"
    assert ratio_text(0.0) == "below 1/1,000,000" and ratio_text(float("inf")) == "more than 1,000,000"
