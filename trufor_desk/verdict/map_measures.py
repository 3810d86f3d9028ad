"""Measuring a result's maps for the verdict: how much of the image the localisation map
flags, how much of that where the reliability map says it can be trusted, and the mean
reliability.  The numbers :func:`trufor_desk.verdict.decision.decide` weighs.

Big maps are read on a regular grid (at most ``MAX_PIXELS`` samples), so the window can
re-judge a 12-megapixel result at every slider move.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_PIXELS", "MapMeasures", "measure_maps"]

MAX_PIXELS = 1_000_000           # maps above this are subsampled for the measurements


@dataclass(frozen=True)
class MapMeasures:
    flagged_fraction: float             # above the localization threshold, anywhere
    flagged_reliable_fraction: float    # above it where reliability > rel threshold (no map: everywhere)
    mean_reliability: float | None
    flagged_in_low_share: float         # share of the flagged area where reliability is low


def measure_maps(localization: np.ndarray, reliability: np.ndarray | None, loc_threshold: float = 0.5,
                 rel_threshold: float = 0.5, max_pixels: int = MAX_PIXELS) -> MapMeasures:
    """Fractions of the image the map flags (values above ``loc_threshold``), where the
    reliability is above ``rel_threshold`` (everywhere without a reliability map).  Maps
    above ``max_pixels`` are subsampled on a regular grid."""
    loc = np.asarray(localization)
    step = max(1, math.ceil(math.sqrt(loc.size / max_pixels))) if loc.size else 1
    flagged = loc[::step, ::step] > loc_threshold
    n = flagged.size
    if n == 0:
        return MapMeasures(0.0, 0.0, None, 0.0)
    n_flagged = int(np.count_nonzero(flagged))
    if reliability is None:
        return MapMeasures(n_flagged / n, n_flagged / n, None, 0.0)
    rel = np.asarray(reliability)[::step, ::step]
    reliable = rel > rel_threshold
    n_reliable_flagged = int(np.count_nonzero(flagged & reliable))
    in_low = (n_flagged - n_reliable_flagged) / n_flagged if n_flagged else 0.0
    mean_rel = float(np.nanmean(rel)) if rel.size else None
    return MapMeasures(n_flagged / n, n_reliable_flagged / n, mean_rel, in_low)
