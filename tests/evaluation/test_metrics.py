"""TruFor's evaluation metrics on cases small enough to count by hand.

Geometry used below (40x40, manipulated square rows/cols 10..29):
* sure-manipulated = the mask eroded by 15x15 (7 px each side): rows/cols 17..22, 36 px;
* sure-pristine = outside the mask dilated by 11x11 (5 px each side), i.e. outside
  rows/cols 5..34: 1600 - 30*30 = 700 px;
* everything else (the band around the boundary) is ignored.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trufor_desk.evaluation.metrics import balanced_accuracy, evaluation_masks, localization_f1, roc_auc


@pytest.fixture
def mask():
    m = np.zeros((40, 40), bool)
    m[10:30, 10:30] = True
    return m


def test_evaluation_masks_match_the_hand_count(mask):
    sure_fake, sure_real = evaluation_masks(mask)
    assert sure_fake.sum() == 36 and sure_fake[17:23, 17:23].all()
    assert sure_real.sum() == 700 and not sure_real[5:35, 5:35].any()


def test_perfect_map_scores_one(mask):
    f = localization_f1(mask.astype(np.float32), mask)
    assert f["f1_best"] == 1.0 and f["f1_fixed"] == 1.0 and f["inverted"] == 0.0


def test_inverted_map_scores_one_and_is_flagged(mask):
    f = localization_f1(1.0 - mask.astype(np.float32), mask)
    assert f["f1_best"] == 1.0 and f["f1_fixed"] == 1.0 and f["inverted"] == 1.0


def test_constant_map_official_rule_credits_all_pixels_strict_scores_zero(mask):
    """Official rule: the inverse at the top threshold predicts every pixel manipulated,
    F1 = 2|F| / (2|F| + |P|) = 72 / 772 with 36 sure-manipulated and 700 sure-pristine
    pixels.  Ours (strict): a constant map localises nothing and scores 0."""
    for value in (0.0, 0.5, 1.0):
        f = localization_f1(np.full((40, 40), value, np.float32), mask)
        assert f["f1_best"] == pytest.approx(72 / 772) and f["f1_fixed"] == pytest.approx(72 / 772)
        assert f["f1_best_strict"] == 0.0 and f["f1_fixed_strict"] == 0.0


def test_official_rule_never_below_the_all_pixels_floor(mask):
    """A map that flags only a pristine stripe (120 px): its inverse predicts the other
    616 valid pixels, TP 36, FP 580 -> 72 / 652 under both rules (above the 72 / 772
    floor), and the inverse is reported as the better map."""
    m = np.zeros((40, 40), np.float32)
    m[0:3, :] = 1.0
    f = localization_f1(m, mask)
    assert f["f1_best"] == pytest.approx(72 / 652) and f["f1_best_strict"] == pytest.approx(72 / 652)
    assert f["inverted"] == 1.0


def test_partial_map_with_the_boundary_band(mask):
    """0.9 on half of the sure-manipulated pixels (rows 17..22, cols 17..19: 18 px),
    0.6 on a stripe of sure-pristine pixels (rows 0..2: 120 px), 0 elsewhere.

    Map, threshold "> 0.6": TP 18, FP 0, FN 18 -> F1 = 36 / 54 = 2/3 (the best).
    Map, threshold 0.5 (box + stripe): TP 18, FP 120, FN 18 -> 36 / 174.
    Inverse map (0.1 box, 0.4 stripe, 1 elsewhere), "> 0.4": TP 18 (the other half),
    FP 700 - 120 = 580, FN 18 -> 36 / 634; "> 0.1": 36 / 754; so the map wins.
    The band pixels (e.g. the mask's own edge at rows 10..16) count for nothing:
    setting them to anything leaves F1 unchanged.
    """
    m = np.zeros((40, 40), np.float32)
    m[17:23, 17:20] = 0.9
    m[0:3, :] = 0.6
    f = localization_f1(m, mask)
    assert f["f1_best"] == pytest.approx(36 / 54) and f["f1_best_strict"] == pytest.approx(36 / 54)
    assert f["f1_fixed"] == pytest.approx(36 / 174) and f["f1_fixed_strict"] == pytest.approx(36 / 174)
    assert f["inverted"] == 0.0
    band = m.copy()
    band[10:17, 10:30] = 0.95   # inside the mask but not sure-manipulated
    band[30:35, 5:35] = 0.95    # outside the mask but within the dilation
    assert localization_f1(band, mask) == f


def test_sizes_must_agree(mask):
    with pytest.raises(ValueError):
        localization_f1(np.zeros((40, 41), np.float32), mask)


def test_auc_on_crafted_rankings():
    labels = np.array([0, 0, 1, 1], bool)
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == 1.0          # perfect
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == 0.0          # reversed
    assert roc_auc(np.full(4, 0.3), labels) == 0.5                          # all tied
    # 0.35 beats 0.1, loses to 0.4; 0.8 beats both: 3 of 4 pairs
    assert roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), labels) == 0.75
    # a tie between a positive and a negative counts one half: (0.5 + 1) / 2
    assert roc_auc(np.array([0.5, 0.2, 0.5]), np.array([1, 0, 0], bool)) == 0.75
    assert math.isnan(roc_auc(np.array([0.1, 0.9]), np.array([1, 1], bool)))


def test_balanced_accuracy_by_hand():
    scores = np.array([0.9, 0.6, 0.4, 0.2, 0.7])
    labels = np.array([1, 1, 1, 0, 0], bool)
    # TPR 2/3 (0.4 missed), TNR 1/2 (0.7 is a false alarm)
    assert balanced_accuracy(scores, labels) == pytest.approx((2 / 3 + 1 / 2) / 2)
    # the threshold is strict: 0.5 is predicted pristine
    assert balanced_accuracy(np.array([0.5, 0.5]), np.array([1, 0], bool)) == 0.5
    assert balanced_accuracy(np.array([0.9, 0.1]), np.array([1, 0], bool)) == 1.0
    assert balanced_accuracy(np.array([0.9, 0.8]), np.array([1, 1], bool)) == 1.0  # one class only
    assert math.isnan(balanced_accuracy(np.array([]), np.array([], bool)))
