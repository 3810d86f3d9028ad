"""The score panel shows the one verdict, and its bar takes the verdict's colour (never
green while the reading warns)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from trufor_desk.engines.base import AnalysisResult  # noqa: E402
from trufor_desk.render.interpret import read_result  # noqa: E402
from trufor_desk.render.verdict import COLOUR_HEX  # noqa: E402

CAL = {"method": "logistic", "set": "test set", "auc": 0.9}


def result(score, cal, flagged=True, rel=1.0):
    loc = np.zeros((80, 80), np.float32)
    if flagged:
        loc[:20, :20] = 0.9
    return AnalysisResult(engine="x", engine_version="0", localization=loc,
                          reliability=np.full((80, 80), rel, np.float32), score=score, score_calibration=cal)


@pytest.fixture
def panel(qtbot):
    from trufor_desk.gui.score_panel import ScorePanel

    p = ScorePanel()
    qtbot.addWidget(p)
    p.show()
    return p


@pytest.mark.parametrize("score,cal,flagged,colour", [
    (0.34, None, True, "amber"),     # heuristic low score with a reliable region: amber, not green
    (0.2, CAL, True, "amber"),
    (0.9, CAL, True, "red"),
    (0.1, CAL, False, "green"),
    (0.9, CAL, False, "amber"),
])
def test_bar_and_headline_follow_the_verdict(panel, score, cal, flagged, colour):
    r = result(score, cal, flagged)
    reading = read_result(r)
    panel.show_reading(reading, r.reliability, "engine")
    assert reading.verdict.colour == colour
    assert panel.verdict.text() == f"engine: {reading.verdict.headline}"
    assert COLOUR_HEX[colour] in panel.gauge.styleSheet()
    assert COLOUR_HEX[colour] in panel.verdict.styleSheet()
    kind = "probability" if cal else "heuristic score"
    assert panel.gauge.format() == f"{kind} {score:.3f}"
    assert panel.verbal.isVisible() == bool(cal)
    if not cal:
        assert "not a probability" in panel.score_text.text()


def test_no_score_hides_the_bar_and_reset_clears(panel):
    r = result(None, None, flagged=False)
    panel.show_reading(read_result(r), r.reliability, "ela")
    assert not panel.gauge.isVisible() and "no image-level score" in panel.score_text.text()
    panel.show_reading(None, None, "")
    assert panel.verdict.text() == "No analysis yet" and panel.explanation.text() == ""


def test_engine_notes_are_shown_and_cleared(panel):
    r = result(0.9, CAL)
    notes = ["not a JPEG file, but its pixels carry the 8x8 quantisation lattice of an earlier JPEG compression"]
    panel.show_reading(read_result(r), r.reliability, "fusion", notes)
    assert panel.notes.isVisible() and notes[0] in panel.notes.text()
    panel.show_reading(read_result(r), r.reliability, "fusion", [])
    assert panel.notes.text() == ""
    panel.show_reading(None, None, "")
    assert panel.notes.text() == ""
