"""The written reading next to the score: its verdict is the one verdict, and its
cautions say what the verdict's single line cannot."""

import numpy as np

from trufor_desk.engines.base import AnalysisResult
from trufor_desk.verdict.decision import verdict_for_result
from trufor_desk.verdict.reading import read_result

CAL = {"method": "logistic", "set": "test set", "auc": 0.9}


def result(loc, rel, score, cal=CAL, engine="trufor"):
    return AnalysisResult(engine=engine, engine_version="0", localization=loc, reliability=rel, score=score,
                          score_calibration=cal if score is not None else None)


def maps(h=100, w=100):
    loc = np.zeros((h, w), np.float32)
    loc[20:40, 20:40] = 0.9  # a strong region, 4 % of the image
    rel = np.ones((h, w), np.float32)
    return loc, rel


def test_low_score_with_strong_region_in_unreliable_area_is_inconclusive_not_negative():
    loc, rel = maps()
    rel[10:50, 10:50] = 0.1
    r = read_result(result(loc, rel, 0.2))
    assert r.verdict.category == "inconclusive" and "reliability is low" in r.headline
    assert "no indication" not in r.headline.lower()
    assert r.strong_in_low_reliability == 1.0


def test_high_score_with_strong_region_mostly_in_unreliable_area_warns_of_false_alarm():
    loc, rel = maps()
    rel[20:35, 20:40] = 0.1  # 75 % of the region unreliable, 1 % of the image still reliable
    r = read_result(result(loc, rel, 0.9))
    assert r.verdict.category == "indicated"
    assert any("false alarm" in w and "75%" in w for w in r.warnings)


def test_consistent_results_carry_no_caution():
    loc, rel = maps()
    r = read_result(result(loc, rel, 0.9))
    assert r.verdict.category == "indicated" and r.warnings == []
    clean = read_result(result(np.zeros((50, 50), np.float32), np.ones((50, 50), np.float32), 0.1))
    assert clean.verdict.category == "no_indication" and clean.warnings == []


def test_low_score_with_reliable_region_is_inconclusive_never_negative():
    loc, rel = maps()
    r = read_result(result(loc, rel, 0.2))
    assert r.headline == "Inconclusive: localized anomalies, score below threshold"
    assert "4.0 %" in r.verdict.explanation


def test_low_mean_reliability_is_said_once():
    loc, rel = maps()
    rel[:] = 0.1
    rel[20:40, 20:40] = 0.9  # the region itself is reliable: the verdict is about it
    r = read_result(result(loc, rel, 0.9))
    assert r.verdict.category == "indicated" and any("mean 0.13" in w for w in r.warnings)
    flat = read_result(result(np.zeros((50, 50), np.float32), np.full((50, 50), 0.1, np.float32), 0.1))
    assert flat.headline == "Inconclusive: reliability too low to conclude" and flat.warnings == []


def test_weight_free_scores_are_called_heuristic():
    loc, rel = maps()
    r = read_result(result(loc, None, 0.3, cal=None, engine="splicebuster"))
    assert r.verdict.score_text == "heuristic score 0.300 (not a probability)"
    assert "not a probability" in r.meaning and "decision point" not in r.meaning.replace("no decision point", "")
    assert r.verdict.category == "inconclusive"


def test_reading_follows_the_thresholds_and_matches_the_verdict_function():
    loc, rel = maps()
    for lt, rt in [(0.5, 0.5), (0.95, 0.5), (0.3, 0.99)]:
        res = result(loc, rel, 0.7)
        assert read_result(res, lt, rt).verdict == verdict_for_result(res, lt, rt)
    assert read_result(result(loc, rel, 0.7), 0.95).verdict.headline == \
        "Inconclusive: score high but no localized region"
