"""``batch --triage``: the cheapest sufficient evidence on every image, then the full
analysis only for the images that rank high or that the cheap evidence cannot settle.

* **Fast pass**, on every input: the fusion engine with ``copymove`` off and ``noise_cap``
  0 (:data:`FAST_PARAMS`), i.e. the JPEG compression history alone (Splicebuster is not
  computed, copy-move is off); its score is the calibrated ``fusion_history`` model.
  Rows say ``analysis`` = :data:`~trufor_desk.batch.results.TRIAGE_ANALYSIS`.
* **Selection** (:func:`select_for_full`): an image goes on to the full analysis when its
  fast verdict (:func:`~trufor_desk.verdict.decision.verdict_for_result`, stored in the
  row) is one of ``promote`` (default: indicated, inconclusive with a fast probability at or above
  the verdict's decision point, i.e. a likelihood ratio of at least 1
  (:data:`HIGH_INCONCLUSIVE`, :data:`HIGH_POINT`), not applicable), when the
  fast pass gave no score (e.g. a PNG without a JPEG history: nothing cheap applies), or
  when its fast score is in the top ``top_fraction`` (default 0.2) of the scored images.
* **Full pass**, on the selected images only: the full engine (fusion with its defaults
  unless another ``engine`` is named).  Its row replaces the fast one (``analysis`` =
  ``full``; ``triage_score``/``triage_verdict`` keep the fast reading) and its ``.npz``
  replaces the fast ``.npz`` (same name: one result file per image, the full one where
  full ran).

Resuming follows the batch rule per pass: a file whose last row is a finished full
analysis (of this run's full engine and parameters) is skipped by both passes; one whose
last row is a finished fast analysis skips the fast pass and is selected again from that
row, so a rerun with a larger ``top_fraction`` promotes more images and analyses only those.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from trufor_desk.engines.classical.calibration import calibration_record
from trufor_desk.verdict.decision import CATEGORIES, decision_point

__all__ = ["DEFAULT_TOP", "FAST_ENGINE", "FAST_PARAMS", "FULL_ENGINE", "HIGH_INCONCLUSIVE", "HIGH_POINT",
           "PROMOTE_NAMES", "PROMOTE_VERDICTS", "TriageCounts", "select_for_full"]

FAST_ENGINE = "fusion"
FAST_PARAMS = {"copymove": False, "noise_cap": 0.0}
FULL_ENGINE = "fusion"
# Every "inconclusive" is not in the default: on casia-dev the fast pass calls 484 of 500 JPEGs inconclusive
# (an authentic photo saved once has no history to read: "reliability too low"), so promoting them all sent
# 97 % of the images on to the full analysis.  An inconclusive reading whose calibrated probability is at or
# above the verdict's own decision point (the larger of 0.5 and the calibration set's share of manipulated
# images: a likelihood ratio of at least 1, "score high" in its headline) goes on: there the history's
# evidence favours manipulation, and copy-move or the noise statistics may localise it.  The fast pass is
# always the fusion's history model, so the point is that model's.  (At 0.5 the pooled history model of
# fusion 1.4.1, which gives a camera original with no marked blocks about 0.52, sent 232 of 250 casia-dev
# images on.)
HIGH_INCONCLUSIVE = "inconclusive_high"
HIGH_POINT = decision_point(calibration_record("fusion_history"))
PROMOTE_VERDICTS = ("indicated", HIGH_INCONCLUSIVE, "not_applicable")
PROMOTE_NAMES = (*CATEGORIES, HIGH_INCONCLUSIVE)  # what --triage-verdicts accepts
DEFAULT_TOP = 0.2


@dataclass
class TriageCounts:
    """What the triage did, for the summary line and scripts."""

    top_fraction: float
    candidates: int = 0      # images with a finished fast reading (the rest: error rows, or full rows without one)
    scored: int = 0          # images with a fast score (the ranked ones)
    top: int = 0             # how many of them the rank takes: ceil(top_fraction * scored)
    by_verdict: int = 0      # sent to full analysis by their fast verdict, or for want of a fast score
    by_rank: int = 0         # sent to full analysis by their fast score's rank alone
    fast_analysed: int = 0   # fast analyses run now (the rest were done before)
    full_analysed: int = 0   # full analyses run now
    already_full: int = 0    # images whose full analysis was done before (skipped by both passes)
    fast_seconds: float = 0.0
    full_seconds: float = 0.0

    @property
    def sent_to_full(self) -> int:
        return self.by_verdict + self.by_rank

    def line(self) -> str:
        return (f"triage: {self.sent_to_full} of {self.candidates} sent to full analysis ({self.by_verdict} by "
                f"fast verdict or no fast score, {self.by_rank} more in the top {100 * self.top_fraction:g} % "
                "by fast score); "
                f"fast pass {self.fast_seconds:.1f} s, full pass {self.full_seconds:.1f} s")


def select_for_full(candidates: Iterable[tuple[int, float | None, str | None]], top_fraction: float,
                    promote: Iterable[str] = PROMOTE_VERDICTS) -> tuple[dict[int, str], int, int]:
    """Which images the full analysis gets, from their fast ``(index, score, verdict)``.

    Returns ``({index: reason}, scored, top)``: reason ``"verdict"`` (the fast verdict is in
    ``promote``, or there is no fast score; :data:`HIGH_INCONCLUSIVE` in ``promote`` takes an
    inconclusive verdict whose score is at or above :data:`HIGH_POINT`) or ``"rank"`` (only its score's rank: among the
    ``top = ceil(top_fraction * scored)`` highest scores, ties broken by input order).
    """
    promote = frozenset(promote)
    chosen: dict[int, str] = {}
    scored: list[tuple[float, int]] = []
    for index, score, verdict in candidates:
        high = (HIGH_INCONCLUSIVE in promote and verdict == "inconclusive" and score is not None
                and float(score) >= HIGH_POINT)
        if score is None or verdict in promote or high:
            chosen[index] = "verdict"
        if score is not None:
            scored.append((float(score), index))
    top = min(len(scored), math.ceil(top_fraction * len(scored) - 1e-9)) if scored else 0
    for _, index in sorted(scored, key=lambda t: (-t[0], t[1]))[:top]:
        chosen.setdefault(index, "rank")
    return chosen, len(scored), top
