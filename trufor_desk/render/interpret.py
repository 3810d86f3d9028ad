"""The plain-language reading of a result that sits next to the score.

Analysts misread a low score when low reliability hides a real forgery, and a high
score when the strong region lies where the detector cannot be trusted.  These rules
say so explicitly; they never replace looking at the maps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STRONG_FRACTION = 0.005  # at least 0.5 % of the image above the localisation threshold


@dataclass
class Reading:
    verdict: str                     # one short line
    meaning: str                     # what the score means and does not mean
    warnings: list[str] = field(default_factory=list)
    strong_fraction: float = 0.0
    strong_in_low_reliability: float = 0.0
    mean_reliability: float | None = None


CALIBRATED_ENGINES = {"trufor"}


def score_meaning(score: float | None, engine: str = "trufor") -> tuple[str, str]:
    if score is None:
        return ("No integrity score", "This engine produces a map only; judge the map itself.")
    pct = f"{score:.2f}"
    if engine not in CALIBRATED_ENGINES:
        return (f"Score {pct} (heuristic, not a calibrated probability)",
                "Weight-free engines summarise how much of the image their map flags; the number is an "
                "indication, not a probability of manipulation. Judge the map, and never read a low value as "
                "proof of authenticity.")
    if score >= 0.5:
        verdict = f"Integrity score {pct}: likely manipulated"
    else:
        verdict = f"Integrity score {pct}: no manipulation detected"
    meaning = ("The score is the detector's probability that the image was manipulated (0 = pristine, "
               "1 = manipulated; 0.5 is the decision point). A low score is not proof of authenticity: "
               "read it together with the reliability map.")
    return verdict, meaning


def read_result(localization: np.ndarray, reliability: np.ndarray | None, score: float | None,
                loc_threshold: float = 0.5, rel_threshold: float = 0.5, engine: str = "trufor") -> Reading:
    verdict, meaning = score_meaning(score, engine)
    step = max(1, int(np.sqrt(localization.size / 1_000_000)))  # subsample big maps
    loc = localization[::step, ::step]
    strong = loc > loc_threshold
    frac = float(strong.mean()) if strong.size else 0.0
    r = Reading(verdict=verdict, meaning=meaning, strong_fraction=frac)
    if reliability is None:
        return r
    rel = reliability[::step, ::step]
    low = rel <= rel_threshold
    r.mean_reliability = float(rel.mean())
    n_strong = int(strong.sum())
    in_low = float((strong & low).sum() / n_strong) if n_strong else 0.0
    r.strong_in_low_reliability = in_low
    if score is not None and score < 0.5 and frac >= STRONG_FRACTION and in_low >= 0.5:
        r.warnings.append(
            f"The score is low, but the map shows a strong region ({100 * frac:.1f}% of the image above "
            f"{loc_threshold:.2f}) mostly where reliability is low ({100 * in_low:.0f}% of it): a real "
            "manipulation there could be masked. Inspect that region.")
    if score is not None and score < 0.5 and frac >= STRONG_FRACTION and in_low < 0.5:
        r.warnings.append(
            f"The score is below 0.5, yet the map marks {100 * frac:.1f}% of the image above {loc_threshold:.2f} "
            "where reliability is good. Look at that region before concluding.")
    if score is not None and score >= 0.5 and n_strong and in_low >= 0.5:
        r.warnings.append(
            f"The score is high, but {100 * in_low:.0f}% of the strong map region lies where reliability is "
            "low: it may be a false alarm (e.g. saturated, flat or heavily compressed areas).")
    if score is not None and score >= 0.5 and frac < STRONG_FRACTION:
        r.warnings.append(f"The score is high, but no region exceeds the localisation threshold "
                          f"{loc_threshold:.2f}: lower the threshold to see where the detector reacts.")
    if r.mean_reliability < 0.3:
        r.warnings.append(f"Reliability is low over most of the image (mean {r.mean_reliability:.2f}): "
                          "treat both the map and the score with caution.")
    return r
