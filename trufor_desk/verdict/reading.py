"""The plain-language reading of a result that sits next to the score.

The verdict itself (category, headline, how the score is named) comes from
:mod:`trufor_desk.verdict.decision`, the one place every output takes it from.  This module
adds what a reader needs around it: what the score means, and cautions the verdict's
one line cannot carry (a strong region lying mostly where the detector is unreliable, a
reliability map that is low over most of the image).  Cautions never contradict the
verdict; they tell where to look.  None of this replaces looking at the maps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trufor_desk.verdict.decision import (
    LOW_MEAN_RELIABILITY,
    STRONG_FRACTION,
    Verdict,
    score_meaning,
    stored_score,
    verdict_for_result,
)
from trufor_desk.verdict.map_measures import measure_maps

__all__ = ["Reading", "read_result"]


@dataclass
class Reading:
    verdict: Verdict                   # the one verdict (headline, category, colour, ...)
    meaning: str                       # what the score means and does not mean
    warnings: list[str] = field(default_factory=list)
    flagged_fraction: float = 0.0      # share of the image above the localization threshold
    strong_in_low_reliability: float = 0.0   # share of that area where reliability is low
    mean_reliability: float | None = None

    @property
    def headline(self) -> str:
        return self.verdict.headline


def read_result(result, loc_threshold: float = 0.5, rel_threshold: float = 0.5,
                strong_fraction: float = STRONG_FRACTION) -> Reading:
    """The verdict of ``result`` (an :class:`~trufor_desk.engines.base.AnalysisResult`) at
    these thresholds, with the meaning of its score and the cautions that go with it."""
    m = measure_maps(result.localization, result.reliability, loc_threshold, rel_threshold)
    verdict = verdict_for_result(result, loc_threshold, rel_threshold, strong_fraction, measures=m)
    score = stored_score(result.score)
    calibration = result.score_calibration if score is not None else None
    r = Reading(verdict=verdict, meaning=score_meaning(score, calibration), flagged_fraction=m.flagged_fraction,
                strong_in_low_reliability=m.flagged_in_low_share, mean_reliability=m.mean_reliability)
    if verdict.category == "not_applicable" or result.reliability is None:
        return r
    flagged = m.flagged_fraction >= strong_fraction
    reliable_part = m.flagged_reliable_fraction >= strong_fraction
    if flagged and reliable_part and m.flagged_in_low_share >= 0.5:
        r.warnings.append(
            f"{100 * m.flagged_in_low_share:.0f}% of the map's strong region lies where reliability is low: "
            "that part may be a false alarm (saturated, flat or heavily compressed areas), or may hide the "
            "true extent of a manipulation. Compare it with the reliability map.")
    if (m.mean_reliability is not None and m.mean_reliability < LOW_MEAN_RELIABILITY
            and "reliability too low" not in verdict.headline):
        r.warnings.append(f"Reliability is low over most of the image (mean {m.mean_reliability:.2f}): "
                          "treat both the map and the score with caution.")
    return r
