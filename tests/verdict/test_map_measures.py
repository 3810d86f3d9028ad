"""Measuring a result's maps: strict thresholds, and big maps read on a grid without
changing what is measured."""

from __future__ import annotations

import numpy as np
import pytest

from trufor_desk.verdict.map_measures import measure_maps


def test_thresholds_are_strict_and_reliability_threshold_counts_as_low():
    loc = np.full((10, 10), 0.5, np.float32)
    assert measure_maps(loc, None).flagged_fraction == 0.0          # "above" the threshold
    loc[:5] = 0.6
    m = measure_maps(loc, np.full((10, 10), 0.5, np.float32))       # at the threshold: not reliable
    assert (m.flagged_fraction, m.flagged_reliable_fraction, m.flagged_in_low_share) == (0.5, 0.0, 1.0)


def test_big_maps_are_subsampled_but_measured_faithfully():
    loc = np.zeros((2400, 2000), np.float32)     # 4.8 MP
    loc[:240, :] = 0.9                           # 10 %
    rel = np.ones_like(loc)
    m = measure_maps(loc, rel)
    assert m.flagged_fraction == pytest.approx(0.1, abs=0.002)
    stripes = np.zeros((2400, 2000), np.float32)
    stripes[::3] = 0.9                           # every third row: a third of the image
    assert measure_maps(stripes, None).flagged_fraction == 1.0   # read on a 3-pixel grid (ceil(sqrt(4.8)))
    small = np.zeros((900, 1000), np.float32)    # 0.9 MP: every pixel counts
    small[::3] = 0.9
    assert measure_maps(small, None).flagged_fraction == pytest.approx(1 / 3)
