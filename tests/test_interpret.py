"""The written reading next to the score says what the maps imply."""

import numpy as np

from trufor_desk.render.interpret import read_result


def maps(h=100, w=100):
    loc = np.zeros((h, w), np.float32)
    loc[20:40, 20:40] = 0.9  # a strong region, 4 % of the image
    rel = np.ones((h, w), np.float32)
    return loc, rel


def test_low_score_with_strong_region_in_unreliable_area_warns():
    loc, rel = maps()
    rel[10:50, 10:50] = 0.1
    r = read_result(loc, rel, 0.2)
    assert "no manipulation detected" in r.verdict
    assert any("could be masked" in w for w in r.warnings)
    assert r.strong_in_low_reliability == 1.0


def test_high_score_with_strong_region_only_in_unreliable_area_warns_of_false_alarm():
    loc, rel = maps()
    rel[10:50, 10:50] = 0.1
    r = read_result(loc, rel, 0.9)
    assert "likely manipulated" in r.verdict and any("false alarm" in w for w in r.warnings)


def test_consistent_result_has_no_warning_and_low_score_with_reliable_region_is_flagged():
    loc, rel = maps()
    assert read_result(loc, rel, 0.9).warnings == []
    r = read_result(loc, rel, 0.2)
    assert any("reliability is good" in w for w in r.warnings)
    assert read_result(np.zeros((50, 50), np.float32), np.ones((50, 50), np.float32), 0.1).warnings == []


def test_weight_free_scores_are_called_heuristic():
    loc, rel = maps()
    r = read_result(loc, None, 0.3, engine="splicebuster")
    assert "heuristic" in r.verdict and "not a probability" in r.meaning
