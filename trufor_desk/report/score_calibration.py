"""A score's calibration record in words: the rows of the analysis page's "Score calibration" table.

``AnalysisResult.score_calibration`` is a dict written for machines (``analyze --json``
prints it as it is); a reader of the report gets each entry as a named row, the model as
a formula over the statistics named in words (``calibration.FEATURE_WORDS``), and any
entry this module does not know by its key, so nothing recorded is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from trufor_desk.engines.classical.calibration import FEATURE_WORDS
from trufor_desk.verdict.decision import decision_point

from .layout import fmt

KNOWN = ("method", "set", "auc", "prior_fake", "applies_to", "caveat", "intercept", "coef")


def _number(v: Any, digits: int = 3) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        return None
    return f"{float(v):.{digits}g}"


def model_formula(intercept: Any, coef: Any) -> str | None:
    """``p = 1 / (1 + exp(-z))`` with ``z`` spelled out over the statistics in words."""
    if not isinstance(coef, Mapping) or not coef or _number(intercept) is None:
        return None
    terms = [_number(intercept)]
    for name, c in coef.items():
        if _number(c) is None:
            return None
        words = FEATURE_WORDS.get(str(name), str(name).replace("_", " "))
        if str(name).startswith("log_") and str(name) in FEATURE_WORDS:
            words = "log of the " + words   # the model takes these statistics on a log scale
        terms.append(f"{'-' if float(c) < 0 else '+'} {_number(abs(float(c)))} \u00d7 ({words})")
    return ("probability = 1 / (1 + exp(-z)), z = " + " ".join(terms)
            + "; each statistic as the engine measured it on this image.")


def calibration_rows(calibration: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(what, value) rows describing a calibration record; [] without one."""
    if not calibration:
        return []
    cal = dict(calibration)
    rows: list[tuple[str, str]] = []
    if cal.get("method"):
        rows.append(("Model", fmt(cal["method"])))
    if cal.get("set"):
        rows.append(("Calibration set", fmt(cal["set"])))
    auc = _number(cal.get("auc"), 2)
    if auc is not None:
        rows.append(("AUC on that set", f"{float(cal['auc']):.2f} (1 = perfect separation of manipulated and "
                                        "authentic images, 0.5 = chance)"))
    prior = _number(cal.get("prior_fake"))
    if prior is not None:
        rows.append(("Manipulated share of the set", f"{100 * float(cal['prior_fake']):.0f} % (the prior behind "
                                                      "the likelihood ratio)"))
    rows.append(("Decision point", f"{decision_point(cal):g} (the larger of 0.5 and the manipulated share of the "
                                   "set: at or above it the likelihood ratio is at least 1)"))
    if cal.get("applies_to"):
        rows.append(("Applies to", fmt(cal["applies_to"])))
    formula = model_formula(cal.get("intercept"), cal.get("coef"))
    if formula:
        rows.append(("Formula", formula))
    if cal.get("caveat"):
        rows.append(("Caveat", fmt(cal["caveat"])))
    for key in sorted(k for k in cal if k not in KNOWN or (k in ("intercept", "coef") and not formula)):
        if cal[key] not in (None, ""):
            rows.append((str(key).replace("_", " ").capitalize(), fmt(cal[key])))
    return rows
