"""The one verdict: each row of the decision table, the score's name and print, and the
promise that no negative headline appears while reliable regions are flagged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trufor_desk.engines.base import AnalysisResult
from trufor_desk.verdict.decision import (
    CATEGORIES,
    COLOURS,
    STRONG_FRACTION,
    decide,
    decision_point,
    format_score,
    score_meaning,
    verdict_for_result,
)

CAL = {"method": "logistic", "set": "CASIA v2 (test)", "auc": 0.91}
TRUFOR_LIKE = {"method": "trained detection head", "set": "TruFor training data", "auc": None}
FLAGGED = 0.04            # 4 % of the image above the threshold
NONE_FLAGGED = 0.0


# -- the table, row by row ----------------------------------------------------------------
def test_row1_not_applicable_is_grey_whatever_the_map_and_score():
    v = decide(0.95, CAL, FLAGGED, 0.9, applicable=False)
    assert (v.category, v.colour) == ("not_applicable", "grey")
    assert "not applicable" in v.headline and v.verbal_scale is None and v.likelihood_ratio is None


@pytest.mark.parametrize("p", [0.5, 0.83, 0.999])
def test_row2_flagged_reliable_area_with_calibrated_score_at_or_above_half_is_indicated(p):
    v = decide(p, CAL, FLAGGED, 0.9)
    assert (v.category, v.colour, v.headline) == ("indicated", "red", "Manipulation indicated")
    assert "4.0 %" in v.explanation and f"({format_score(p)})" in v.explanation


def test_row3_flagged_reliable_area_with_low_calibrated_score_is_inconclusive():
    v = decide(0.2, CAL, FLAGGED, 0.9)
    assert (v.category, v.colour) == ("inconclusive", "amber")
    assert v.headline == "Inconclusive: localized anomalies, score below threshold"
    # the verbal scale leans authentic; the explanation says it weighs the score only
    assert "authentic rather than manipulated" in v.verbal_scale and "score only" in v.explanation


@pytest.mark.parametrize("score", [None, 0.1, 0.9])
def test_row4_flagged_reliable_area_without_calibrated_score_is_inconclusive(score):
    v = decide(score, None, FLAGGED, None)
    assert (v.category, v.colour) == ("inconclusive", "amber")
    assert v.headline == "Inconclusive: localized anomalies; this engine gives no calibrated image-level score"
    assert v.verbal_scale is None and v.likelihood_ratio is None and not v.score_is_probability


def test_row5_high_calibrated_score_without_localized_region_is_inconclusive():
    v = decide(0.9, CAL, NONE_FLAGGED, 0.9)
    assert (v.category, v.colour) == ("inconclusive", "amber")
    assert v.headline == "Inconclusive: score high but no localized region"
    assert "Lower the localization threshold" in v.explanation
    v = decide(0.9, CAL, NONE_FLAGGED, 0.9, flagged_fraction=0.03)  # the map reacts, but only where unreliable
    assert v.category == "inconclusive" and "only where reliability is low" in v.headline
    assert "false alarm" in v.explanation


@pytest.mark.parametrize("score,cal", [(None, None), (0.1, None), (0.1, CAL)])
def test_row6_map_flagged_only_where_reliability_is_low_is_inconclusive(score, cal):
    v = decide(score, cal, 0.001, 0.8, flagged_fraction=0.03)
    assert (v.category, v.colour) == ("inconclusive", "amber")
    assert v.headline == "Inconclusive: anomalies only where reliability is low"


def test_row7_low_mean_reliability_is_inconclusive():
    v = decide(0.1, CAL, NONE_FLAGGED, 0.2)
    assert (v.category, v.colour) == ("inconclusive", "amber")
    assert v.headline == "Inconclusive: reliability too low to conclude" and "0.20" in v.explanation
    assert decide(0.1, CAL, NONE_FLAGGED, 0.3).category == "no_indication"  # 0.3 itself is enough


@pytest.mark.parametrize("score,cal,rel", [(0.1, CAL, 0.9), (None, None, None), (0.95, None, 0.9),
                                          (0.49, TRUFOR_LIKE, 0.5)])
def test_row8_otherwise_no_indication_never_proof_of_authenticity(score, cal, rel):
    v = decide(score, cal, NONE_FLAGGED, rel)
    assert (v.category, v.colour) == ("no_indication", "green")
    assert v.headline == "No indication of manipulation found (not proof of authenticity)"


def test_strong_fraction_is_the_boundary():
    assert decide(None, None, STRONG_FRACTION, None).category == "inconclusive"
    assert decide(None, None, STRONG_FRACTION * 0.99, None).category == "no_indication"
    assert decide(None, None, 0.002, None, strong_fraction=0.001).category == "inconclusive"


def test_a_heuristic_score_never_decides_and_is_never_called_a_probability():
    high, low = decide(0.97, None, NONE_FLAGGED, 0.9), decide(0.02, None, NONE_FLAGGED, 0.9)
    assert high.category == low.category == "no_indication"
    assert high.score_text == "heuristic score 0.970 (not a probability)"
    assert "probability" not in high.score_text.replace("not a probability", "")
    assert decide(None, None, 0.0, None).score_text == "no image-level score"
    assert decide(None, CAL, 0.0, None).score_text == "no image-level score"  # calibration without a score


def test_a_calibrated_score_is_named_with_its_calibration():
    v = decide(0.83, CAL, NONE_FLAGGED, 0.9)
    assert v.score_text == "probability 0.830 (calibrated; AUC 0.91 on its calibration set)"
    # the calibration set and model are named once, in the meaning, not again in the score's name
    assert "calibrated on CASIA v2 (test); logistic; AUC 0.91 there" in score_meaning(0.83, CAL)
    assert v.score_is_probability and v.verbal_scale.startswith("The findings give ")
    assert "AUC" not in decide(0.83, TRUFOR_LIKE, NONE_FLAGGED, 0.9).score_text  # auc None: not printed


def test_verdict_uses_the_calibration_sets_prior():
    even = decide(0.5, CAL, FLAGGED, 0.9)
    rare = decide(0.5, {**CAL, "prior_fake": 0.2}, FLAGGED, 0.9)
    assert even.likelihood_ratio == pytest.approx(1.0) and rare.likelihood_ratio == pytest.approx(4.0)
    assert "weak support" in rare.verbal_scale
    assert decide(0.5, {**CAL, "prior_fake": "n/a"}, FLAGGED, 0.9).likelihood_ratio == pytest.approx(1.0)


@pytest.mark.parametrize("flagged", [FLAGGED, NONE_FLAGGED])
def test_the_decision_point_is_the_calibration_sets_prior_when_that_is_above_half(flagged):
    """Between 0.5 and a prior of 0.6 the likelihood ratio is below 1: such a score is not "high"."""
    cal = {**CAL, "prior_fake": 0.6}
    assert decision_point(cal) == 0.6 and decision_point(CAL) == decision_point(None) == 0.5
    assert decision_point({**CAL, "prior_fake": 0.2}) == 0.5       # never below 0.5
    low = decide(0.55, cal, flagged, 0.9)
    assert low.likelihood_ratio < 1 and "high" not in low.headline and low.category != "indicated"
    assert low.category == ("inconclusive" if flagged else "no_indication")
    assert "below the decision point 0.6 (the calibration set's prior, where the likelihood ratio is 1)" \
        in low.explanation
    high = decide(0.6, cal, flagged, 0.9)
    assert high.likelihood_ratio == pytest.approx(1.0)
    assert high.category == "indicated" if flagged else "score high" in high.headline
    assert "at or above the decision point 0.6 " in high.explanation
    assert "0.6 (the calibration set's prior" in score_meaning(0.55, cal)
    assert "0.5 is the decision point" in score_meaning(0.55, CAL)


# -- the promise, over random inputs -------------------------------------------------------
def test_never_negative_while_a_reliable_region_is_flagged_and_probability_only_when_calibrated():
    rng = np.random.default_rng(11)
    seen = set()
    for _ in range(5000):
        score = None if rng.random() < 0.2 else float(rng.random())
        cal = [None, CAL, TRUFOR_LIKE, {**CAL, "prior_fake": float(rng.uniform(0.01, 0.99))}][rng.integers(4)]
        frac_rel = float(rng.choice([0.0, rng.uniform(0, 0.01), rng.uniform(0, 1)]))
        frac_all = frac_rel + float(rng.choice([0.0, rng.uniform(0, 0.05)]))
        mean_rel = None if rng.random() < 0.2 else float(rng.random())
        applicable = bool(rng.random() > 0.05)
        v = decide(score, cal, frac_rel, mean_rel, applicable=applicable, flagged_fraction=frac_all)
        seen.add(v.category)
        assert v.category in CATEGORIES and v.colour == COLOURS[v.category]
        if applicable and frac_rel >= STRONG_FRACTION:
            assert v.category in ("indicated", "inconclusive")
            assert "no indication" not in v.headline.lower() and v.colour != "green"
        if v.category == "indicated" or "score high" in v.headline:
            # "high" and "indicated" never sit beside a verbal scale that leans towards authenticity
            assert v.score_is_probability and score >= decision_point(cal) >= 0.5
            assert v.likelihood_ratio >= 1.0 and "is authentic rather than" not in v.verbal_scale
        calibrated = score is not None and cal is not None
        assert ("probability" in v.score_text.replace("not a probability", "")) == calibrated
        assert (v.verbal_scale is not None) == (calibrated and applicable)
        json.dumps(v.to_dict())  # always serialisable
    assert seen == set(CATEGORIES)


# -- the verdict of a result---------------------------------------------------------------
def result(loc, rel=None, score=None, cal=None, applicable=True):
    return AnalysisResult(engine="test", engine_version="0", localization=loc, reliability=rel, score=score,
                          score_calibration=cal, applicable=applicable)


def test_verdict_for_result_counts_only_reliable_flagged_area():
    loc = np.zeros((100, 100), np.float32)
    loc[20:40, 20:40] = 0.9                      # 4 % of the image
    rel = np.ones((100, 100), np.float32)
    v = verdict_for_result(result(loc, rel, 0.2, CAL))
    assert v.flagged_reliable_fraction == pytest.approx(0.04) and v.category == "inconclusive"
    rel[20:40, 20:40] = 0.1                      # the same region, now unreliable
    v = verdict_for_result(result(loc, rel, 0.2, CAL))
    assert v.flagged_reliable_fraction == 0.0 and v.flagged_fraction == pytest.approx(0.04)
    assert v.headline == "Inconclusive: anomalies only where reliability is low"
    v = verdict_for_result(result(loc, None, 0.9, CAL))  # no reliability map: reliable everywhere
    assert v.category == "indicated" and v.mean_reliability is None
    assert verdict_for_result(result(loc, None, 0.9, CAL), loc_threshold=0.95).category == "inconclusive"
    assert verdict_for_result(result(loc, rel, 0.9, CAL, applicable=False)).category == "not_applicable"


def test_uncalibrated_or_missing_calibration_on_the_result():
    loc = np.zeros((50, 50), np.float32)
    loc[:10] = 0.9
    assert "not a probability" in verdict_for_result(result(loc, None, 0.7)).score_text
    assert verdict_for_result(result(loc, None, None, CAL)).score_text == "no image-level score"


@pytest.mark.parametrize("score,text", [(0.0, "< 0.001"), (0.0004, "< 0.001"), (0.001, "0.001"), (0.5, "0.500"),
                                        (0.83, "0.830"), (0.9924, "0.992"), (0.999, "0.999"), (0.9996, "> 0.999"),
                                        (1.0, "> 0.999")])
def test_one_score_format_three_decimals_never_a_rounded_certainty(score, text):
    assert format_score(score) == text


@pytest.mark.parametrize("score", [0.9996, 0.9924, 0.2345])
def test_the_score_reads_the_same_in_every_sentence_of_the_verdict(score):
    """The bar, the score line and the explanation print one number: never 0.999 beside 1.00."""
    for frac in (FLAGGED, NONE_FLAGGED):
        v = decide(score, CAL, frac, 0.9)
        shown = format_score(score)
        assert f"probability {shown} " in v.score_text
        assert f"({shown})" in v.explanation
        if not shown.startswith(f"{score:.2f}"):
            assert f"{score:.2f}" not in v.explanation + v.score_text   # e.g. 0.9996 is never "1.00"
        assert json.loads(json.dumps(v.to_dict()))["score_text"] == v.score_text   # the JSON text: the same
