"""The score panel shows the one verdict, and its bar takes the verdict's colour (never
green while the reading warns)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel, QWidget  # noqa: E402

from trufor_desk.engines.base import AnalysisResult  # noqa: E402
from trufor_desk.render.verdict_colours import COLOUR_HEX  # noqa: E402
from trufor_desk.verdict.decision import format_score  # noqa: E402
from trufor_desk.verdict.reading import read_result  # noqa: E402

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
    assert panel.gauge.format() == f"{kind} {format_score(score)}"
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


LONG_NOTES = ["compression history: the file is a JPEG (quality about 90), saved at least twice on the same 8x8 "
              "grid; some regions were compressed fewer times than the rest: content added or replaced after an "
              "earlier save",
              "the map is led by blocks compressed fewer times than the rest of the image (double quantisation); "
              "the noise statistics weigh in only where that history is weak"]


def _visible_children(panel):
    return [w for w in panel.content.findChildren(QWidget) if w.isVisibleTo(panel.content) and w.parent() is
            panel.content]


def _assert_laid_out_without_overlap(qtbot, panel):
    qtbot.wait(50)
    widgets = sorted(_visible_children(panel), key=lambda w: w.geometry().top())
    assert len(widgets) >= 8
    for above, below in zip(widgets, widgets[1:]):
        assert above.geometry().bottom() < below.geometry().top(), (above, below)
    for w in widgets:
        if isinstance(w, QLabel) and w.wordWrap() and w.text():
            assert w.height() >= w.heightForWidth(w.width()), w.text()[:60]   # no wrapped line cut off
    assert panel.content.height() >= widgets[-1].geometry().bottom()


def _show_long_reading(panel):
    r = result(0.9996, CAL)
    reading = read_result(r)
    reading.warnings.append("a caution long enough to wrap over several lines of the docked panel, " * 3)
    panel.show_reading(reading, r.reliability, "fusion", LONG_NOTES)
    return reading


def test_one_number_in_the_bar_the_score_line_and_the_explanation(panel):
    reading = _show_long_reading(panel)
    assert panel.gauge.format() == "probability > 0.999"
    assert "probability > 0.999 " in panel.score_text.text() and "(> 0.999)" in panel.explanation.text()
    assert "1.00" not in panel.explanation.text() + panel.score_text.text()
    # the calibration (set, model) is said once, in the meaning, not in the score line too
    assert "test set" in reading.meaning and "test set" not in panel.score_text.text()


def test_the_panel_scrolls_and_nothing_overlaps_in_a_short_dock(qtbot, panel):
    panel.resize(330, 260)
    _show_long_reading(panel)
    _assert_laid_out_without_overlap(qtbot, panel)
    bar = panel.verticalScrollBar()
    assert bar.maximum() > 0                            # longer than the dock: it scrolls
    assert panel.reliability.geometry().height() == panel.reliability.pixmap().height()
    before = bar.value()
    pos = QPointF(panel.viewport().rect().center())
    wheel = QWheelEvent(pos, panel.viewport().mapToGlobal(pos), QPoint(0, 0), QPoint(0, -240), Qt.NoButton,
                        Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(panel.viewport(), wheel)
    assert bar.value() > before                         # the mouse wheel scrolls it
    panel.ensureWidgetVisible(panel.notes)
    assert panel.notes.visibleRegion().boundingRect().height() > 0   # the engine notes can be reached


@pytest.mark.parametrize("size", [(1600, 1000), (1366, 768)])
def test_every_line_is_readable_in_the_window(qtbot, window, size):
    window.resize(*size)
    _show_long_reading(window.score_panel)
    qtbot.wait(50)
    panel = window.score_panel
    _assert_laid_out_without_overlap(qtbot, panel)
    assert panel.content.width() <= panel.viewport().width()   # wrapped to the dock, never wider
    assert panel.verticalScrollBar().maximum() == max(0, panel.content.height() - panel.viewport().height())


def test_the_panel_is_as_long_as_its_text(qtbot, panel):
    """No blank band after the last line: the content is as tall as its text wrapped at the panel's width."""
    panel.resize(330, 260)
    _show_long_reading(panel)
    qtbot.wait(50)
    last = max(w.geometry().bottom() for w in _visible_children(panel))
    assert panel.content.height() - last < 40
