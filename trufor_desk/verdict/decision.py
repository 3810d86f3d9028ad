"""One verdict for one analysis, shared by the window, the report, ``analyze`` and triage.

Every output that sums up a result (the window's score panel, the PDF report's
headline, findings table and analysis pages, ``analyze`` text and ``--json``, the batch
rows and the triage view) calls :func:`verdict_for_result` or :func:`decide`, so they
can never disagree.  The verdict weighs three things:

* the image-level score, and whether it is a calibrated probability
  (``AnalysisResult.score_calibration``; a score without one is only a heuristic);
* the share of the image the map flags above the localisation threshold *where the
  reliability map says the map can be trusted* (no reliability map: everywhere);
* the mean reliability.

Decision table (first matching row wins; "flagged" means at least ``strong_fraction``,
0.5 % by default, of the image above the localisation threshold; p is the calibrated
probability and t its decision point, :func:`decision_point`: the larger of 0.5 and the
calibration set's prior, so that p >= t always means a likelihood ratio of at least 1 and a
"score high" headline never sits beside a verbal scale that leans towards authenticity):

  row  applicable  reliable area flagged  further condition                category        colour
  1    no          any                     any                              not_applicable  grey
  2    yes         yes                     p >= t                           indicated       red
  3    yes         yes                     p < t                            inconclusive    amber
                                           ("localized anomalies, score below threshold")
  4    yes         yes                     no calibrated score              inconclusive    amber
                                           ("localized anomalies; no calibrated image-level score")
  5    yes         no                      p >= t                           inconclusive    amber
                                           ("score high but no localized region"; "... anomalies only where
                                           reliability is low" when the map flags unreliable areas)
  6    yes         no                      map flagged, but only where      inconclusive    amber
                                           reliability is low
  7    yes         no                      mean reliability < 0.3           inconclusive    amber
  8    yes         no                      otherwise                        no_indication   green
                                           ("No indication of manipulation found (not proof of authenticity)")

A score without a calibration never decides anything (rows 2, 3, 5 need p); it is named
"heuristic score ... (not a probability)".  Row 6 goes beyond "reliable area flagged" on
purpose: a strong reaction where the detector cannot be trusted must be looked at, so the
window does not show green while its reading warns.

So a negative headline never appears while reliable regions sit above the threshold,
nor while the map reacts strongly where the detector cannot be trusted (a forgery there
could be masked, or the reaction a false alarm: either way the examiner must look).
"No indication" is never "authentic": a method sees only the traces it was built for.

Where the score is calibrated, the verdict also states it on the evaluative verbal scale
of the ENFSI Guideline for Evaluative Reporting in Forensic Science (2015)
(:mod:`trufor_desk.verdict.verbal_scale`), through the likelihood ratio implied by the
calibrated posterior and the calibration set's prior (``score_calibration["prior_fake"]``,
0.5 when not stated).  The maps are measured by :mod:`trufor_desk.verdict.map_measures`;
the colours a verdict's colour names are drawn in are :mod:`trufor_desk.render.verdict_colours`.

Qt-free and torch-free: numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from trufor_desk.verdict.map_measures import MapMeasures, measure_maps
from trufor_desk.verdict.verbal_scale import verbal_scale

__all__ = ["CATEGORIES", "CATEGORY_LABELS", "CATEGORY_RANK", "COLOURS", "DECISION_POINT", "LOW_MEAN_RELIABILITY",
           "NO_INDICATION", "STRONG_FRACTION", "Verdict", "decide", "decision_point", "decision_point_text",
           "evidence_basis", "format_score",
           "score_meaning", "score_text", "stored_score", "verdict_for_result", "with_basis"]

STRONG_FRACTION = 0.005          # 0.5 % of the image above the threshold counts as a localized region
DECISION_POINT = 0.5             # the least decision point: see decision_point()
LOW_MEAN_RELIABILITY = 0.3       # below this mean reliability nothing negative can be said

CATEGORIES = ("indicated", "inconclusive", "no_indication", "not_applicable")
COLOURS = {"indicated": "red", "inconclusive": "amber", "no_indication": "green", "not_applicable": "grey"}
CATEGORY_LABELS = {"indicated": "manipulation indicated", "inconclusive": "inconclusive",
                   "no_indication": "no indication found", "not_applicable": "not applicable"}
CATEGORY_RANK = {"indicated": 0, "inconclusive": 1, "no_indication": 2, "not_applicable": 3}

NO_INDICATION = "No indication of manipulation found (not proof of authenticity)"

# ---------------------------------------------------------------------------------------
# the verdict


@dataclass(frozen=True)
class Verdict:
    """The reading of one analysis, in the words every output prints."""

    category: str                      # one of CATEGORIES
    headline: str                      # the one line shown first
    explanation: str                   # why this category, in one or two plain sentences
    score_text: str                    # how the score is named (a probability only when calibrated)
    verbal_scale: str | None           # ENFSI-style evaluative statement (calibrated scores only)
    colour: str                        # "red" | "amber" | "green" | "grey"
    flagged_reliable_fraction: float   # share of the image above the threshold where reliability is good
    flagged_fraction: float            # share of the image above the threshold, anywhere
    mean_reliability: float | None     # None: the engine gives no reliability map
    score: float | None
    score_is_probability: bool
    likelihood_ratio: float | None     # from the calibrated score (None when uncalibrated)
    loc_threshold: float
    rel_threshold: float
    decision_point: float | None = None  # where a calibrated score counts as high (None: uncalibrated)

    @property
    def label(self) -> str:
        """A short name of the category (for narrow columns)."""
        return CATEGORY_LABELS[self.category]

    @property
    def negative(self) -> bool:
        return self.category == "no_indication"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (an infinite likelihood ratio becomes the string "inf")."""
        d = asdict(self)
        lr = d["likelihood_ratio"]
        if lr is not None and not math.isfinite(lr):
            d["likelihood_ratio"] = "inf" if lr > 0 else "0"
        return d


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.1f} %"


def _calibration_name(calibration: Mapping[str, Any]) -> str:
    parts = []
    if calibration.get("set"):
        parts.append(f"calibrated on {calibration['set']}")
    if calibration.get("method"):
        parts.append(str(calibration["method"]))
    auc = calibration.get("auc")
    if isinstance(auc, (int, float)) and math.isfinite(auc):
        parts.append(f"AUC {float(auc):.2f} there")
    return "; ".join(parts) or "calibrated"


def _prior(calibration: Mapping[str, Any] | None) -> float:
    try:
        p = float((calibration or {}).get("prior_fake", 0.5))
    except (TypeError, ValueError):
        return 0.5
    return p if 0.0 < p < 1.0 else 0.5


def decision_point(calibration: Mapping[str, Any] | None) -> float:
    """The calibrated probability at or above which the score counts as high: the larger of
    :data:`DECISION_POINT` and the calibration set's prior (``prior_fake``).

    At the prior the likelihood ratio is 1, so a score at or above this point never comes with
    an evaluative statement that favours authenticity: the headline and the verbal scale agree.
    With even odds (TruFor's trained head, a prior not stated) it is 0.5."""
    return max(DECISION_POINT, _prior(calibration))


def decision_point_text(calibration: Mapping[str, Any] | None) -> str:
    """The decision point as every output prints it (``:g``, as the report's calibration table
    and the window's tooltip do): "0.5", or "0.6 (the calibration set's prior, where the
    likelihood ratio is 1)" when the prior raises it."""
    point = decision_point(calibration)
    if point > DECISION_POINT:
        return f"{point:g} (the calibration set's prior, where the likelihood ratio is 1)"
    return f"{point:g}"


def format_score(score: float) -> str:
    """A score as every output prints it (window, report, ``analyze`` text and JSON, triage):
    three decimals, and "> 0.999" / "< 0.001" at the ends, because a rounded 1.000 or
    0.000 would read as a certainty that no detector has."""
    s = float(score)
    if s > 0.999:
        return "> 0.999"
    if s < 0.001:
        return "< 0.001"
    return f"{s:.3f}"


def _auc_note(calibration: Mapping[str, Any]) -> str:
    auc = calibration.get("auc")
    if isinstance(auc, (int, float)) and math.isfinite(auc):
        return f"calibrated; AUC {float(auc):.2f} on its calibration set"
    return "calibrated"


def score_text(score: float | None, calibration: Mapping[str, Any] | None) -> str:
    """How to name a score: a probability only when it is calibrated.  Short on purpose:
    the calibration set and model are named once, by :func:`score_meaning`."""
    if score is None:
        return "no image-level score"
    if calibration:
        return f"probability {format_score(score)} ({_auc_note(calibration)})"
    return f"heuristic score {format_score(score)} (not a probability)"


def score_meaning(score: float | None, calibration: Mapping[str, Any] | None) -> str:
    """What the score means and does not mean, in plain words."""
    if score is None:
        return "This engine gives no image-level score: judge its map, with the reliability beside it."
    if calibration:
        return (f"The score is a probability that the image was manipulated ({_calibration_name(calibration)}); "
                f"{decision_point_text(calibration)} is the decision point. It holds as far as the calibration "
                "set resembles this image, and a low value is not proof of authenticity: read it with the maps.")
    return ("This engine's score is a heuristic summary of its map, not a probability of manipulation: it is "
            "not calibrated, so no decision point applies to it. Judge the map; never read a low value as "
            "proof of authenticity.")


def decide(score: float | None, calibration: Mapping[str, Any] | None, flagged_reliable_fraction: float,
           mean_reliability: float | None, applicable: bool = True, strong_fraction: float = STRONG_FRACTION,
           flagged_fraction: float | None = None, loc_threshold: float = 0.5,
           rel_threshold: float = 0.5) -> Verdict:
    """The verdict from the measurements (see the table in the module docstring).

    ``calibration`` is ``AnalysisResult.score_calibration``: the score is a probability
    only when it is set.  ``flagged_fraction`` (anywhere, reliable or not) defaults to
    ``flagged_reliable_fraction``; ``mean_reliability`` is None when the engine gives no
    reliability map.
    """
    calibrated = score is not None and bool(calibration)
    frac_rel = float(flagged_reliable_fraction)
    frac_all = max(frac_rel, float(flagged_fraction) if flagged_fraction is not None else frac_rel)
    s_text = score_text(score, calibration if calibrated else None)
    lr = scale = None
    if calibrated:
        lr, _, scale = verbal_scale(min(max(float(score), 0.0), 1.0), _prior(calibration))
    where = f"above {loc_threshold:.2f}" + ("" if mean_reliability is None else " where reliability is good")

    def make(category: str, headline: str, explanation: str) -> Verdict:
        if calibrated and category != "not_applicable" and lr is not None and lr < 1.0 and frac_all >= strong_fraction:
            explanation += (" The evaluative statement weighs the image-level score only; the localized "
                            "anomalies are not part of it.")
        return Verdict(category=category, headline=headline, explanation=explanation, score_text=s_text,
                       verbal_scale=scale if category != "not_applicable" else None, colour=COLOURS[category],
                       flagged_reliable_fraction=frac_rel, flagged_fraction=frac_all,
                       mean_reliability=None if mean_reliability is None else float(mean_reliability),
                       score=None if score is None else float(score), score_is_probability=calibrated,
                       likelihood_ratio=lr if category != "not_applicable" else None,
                       loc_threshold=float(loc_threshold), rel_threshold=float(rel_threshold),
                       decision_point=point)

    point = decision_point(calibration) if calibrated else None
    if not applicable:
        return make("not_applicable", "Method not applicable to this image",
                    "This method cannot judge this image (see the method's note); its output says nothing "
                    "either way.")
    high = calibrated and score >= point
    at_point = f"the decision point {decision_point_text(calibration)}"
    if frac_rel >= strong_fraction:
        region = f"The map marks {_pct(frac_rel)} of the image {where}"
        if high:
            return make("indicated", "Manipulation indicated",
                        f"{region}, and the calibrated probability ({format_score(score)}) is at or above "
                        f"{at_point}.")
        if calibrated:
            return make("inconclusive", "Inconclusive: localized anomalies, score below threshold",
                        f"{region}, but the calibrated probability ({format_score(score)}) is below {at_point}. "
                        "Examine that region before concluding either way.")
        return make("inconclusive",
                    "Inconclusive: localized anomalies; this engine gives no calibrated image-level score",
                    f"{region}. Without a calibrated score the map alone cannot decide: examine that region.")
    if high:
        if frac_all >= strong_fraction:
            return make("inconclusive", "Inconclusive: score high, but anomalies only where reliability is low",
                        f"The calibrated probability ({format_score(score)}) is at or above {at_point}, but the "
                        f"{_pct(frac_all)} of the image above {loc_threshold:.2f} lies where the map is not "
                        "reliable: it may be a false alarm (saturated, flat or heavily compressed areas).")
        return make("inconclusive", "Inconclusive: score high but no localized region",
                    f"The calibrated probability ({format_score(score)}) is at or above {at_point}, but less "
                    f"than {_pct(strong_fraction)} of the image lies {where}. Lower the localization threshold "
                    "to see where the detector reacts.")
    if frac_all >= strong_fraction:
        return make("inconclusive", "Inconclusive: anomalies only where reliability is low",
                    f"The map marks {_pct(frac_all)} of the image above {loc_threshold:.2f}, but only where its "
                    "reliability is low: a manipulation there could be masked, or the reaction a false alarm. "
                    "Inspect that region.")
    if mean_reliability is not None and mean_reliability < LOW_MEAN_RELIABILITY:
        return make("inconclusive", "Inconclusive: reliability too low to conclude",
                    f"Mean reliability is {mean_reliability:.2f}: over most of the image the detector cannot "
                    "tell, so the absence of marked regions means little.")
    why = f"Less than {_pct(strong_fraction)} of the image lies above {loc_threshold:.2f}"
    if calibrated:
        why += f" and the calibrated probability ({format_score(score)}) is below {at_point}"
    return make("no_indication", NO_INDICATION,
                why + ". This method found no trace it was built to find; other manipulations may remain.")


# ---------------------------------------------------------------------------------------
# the verdict of a result


def stored_score(score: float | None) -> float | None:
    """The score as an ``.npz`` stores it (float32), so a saved result gives the same verdict."""
    return None if score is None else float(np.float32(score))


def evidence_basis(provenance: Mapping[str, Any] | None) -> tuple[str, str]:
    """(the trace the flagged area rests on, the compression history found), in words,
    from an engine's recorded details (empty strings when the engine records neither)."""
    import json

    raw = (provenance or {}).get("engine_details_json") or ""
    try:
        details = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return "", ""
    if not isinstance(details, dict):
        return "", ""
    history = details.get("compression_history")
    description = history.get("description", "") if isinstance(history, dict) else ""
    return str(details.get("finding_basis") or ""), str(description or "")


def with_basis(v: Verdict, basis: str, history: str) -> Verdict:
    """The verdict with the trace its flagged area rests on and the compression history
    added to its explanation (what every output prints)."""
    extra = []
    if basis and v.flagged_fraction >= STRONG_FRACTION and v.category in ("indicated", "inconclusive"):
        extra.append(f"The marked area rests on {basis}.")
    if history and v.category != "not_applicable":
        extra.append(f"Compression history: {history}.")
    if not extra:
        return v
    from dataclasses import replace

    return replace(v, explanation=" ".join([v.explanation, *extra]))


def verdict_for_result(result, loc_threshold: float = 0.5, rel_threshold: float = 0.5,
                       strong_fraction: float = STRONG_FRACTION, measures: MapMeasures | None = None) -> Verdict:
    """The verdict of an :class:`~trufor_desk.engines.base.AnalysisResult` at the given
    display thresholds (the window's sliders, the case's recorded thresholds, 0.5 elsewhere).

    ``measures``: the result's :func:`measure_maps` at the same thresholds, when the
    caller has them already.  Where the engine records them (the fusion default), the
    explanation names the trace the marked area rests on and the compression history."""
    m = measures or measure_maps(result.localization, result.reliability, loc_threshold, rel_threshold)
    score = stored_score(result.score)
    calibration = result.score_calibration if score is not None else None
    v = decide(score, calibration, m.flagged_reliable_fraction, m.mean_reliability,
               applicable=bool(result.applicable), strong_fraction=strong_fraction,
               flagged_fraction=m.flagged_fraction, loc_threshold=loc_threshold, rel_threshold=rel_threshold)
    return with_basis(v, *evidence_basis(getattr(result, "provenance", None)))
