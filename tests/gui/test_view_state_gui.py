"""The window's widgets follow its view state: what the state says is what the sliders,
the layer list, the overlays, the reading and the side-by-side view show, whoever changed it."""

from __future__ import annotations

import numpy as np
import pytest

from trufor_desk.engines.base import AnalysisResult
from trufor_desk.render.layers import heatmap_lut

CAL = {"method": "logistic", "set": "test set", "auc": 0.9}


def flagged_result(h: int = 120, w: int = 160, engine: str = "x") -> AnalysisResult:
    """A calibrated high score and a square at 0.8: flagged at threshold 0.5, not above 0.8."""
    loc = np.zeros((h, w), np.float32)
    loc[20:60, 30:90] = 0.8
    return AnalysisResult(engine, "1.0.0", loc, np.ones((h, w), np.float32), 0.9, score_calibration=CAL)


@pytest.fixture
def shown(window, image_file):
    """An opened image with an analysis added the way a stored one is (no engine run)."""
    doc = window.open_path(image_file())
    doc.add_analysis(flagged_result())
    return doc


def test_an_analysis_added_to_the_shown_image_is_drawn_without_being_asked(window, shown):
    assert {"x:map", "x:conf"} <= set(window.viewer.layers)
    assert set(window.layers_panel.rows) == set(shown.layers)
    assert window.score_panel.verdict.text().startswith("x: ")


def test_a_threshold_set_in_the_state_moves_the_slider_and_redraws_the_overlay(window, shown):
    th = window.layers_panel.thresholds
    window.view_state.loc_threshold = 0.9
    assert (th.loc.value(), th.loc_label.text()) == (90, "0.90")
    style = shown.layers["x:map"].style
    assert np.array_equal(window.viewer.layers["x:map"].lut, heatmap_lut(style.cmap, 0.9, style.opacity))
    th.rel.setValue(30)                  # and the slider writes the state
    assert window.view_state.rel_threshold == 0.3


def test_the_reading_follows_the_threshold_once_the_slider_rests(qtbot, window, shown):
    before = window.score_panel.verdict.text()
    window.layers_panel.thresholds.loc.setValue(95)    # the 0.8 square is no longer above it
    assert window.score_panel.verdict.text() == before  # not on every slider pixel
    qtbot.waitUntil(lambda: window.score_panel.verdict.text() != before, timeout=2000)


def test_a_layer_style_set_in_the_state_shows_in_its_row_and_on_the_image(window, shown):
    row = window.layers_panel.rows["x:map"]
    window.view_state.set_style("x:map", visible=False, opacity=0.3, cmap="viridis")
    assert (row.visible.isChecked(), row.opacity.value(), row.cmap.currentText()) == (False, 30, "viridis")
    assert not window.viewer.layers["x:map"].isVisible()
    row.visible.setChecked(True)         # and the row writes the state
    assert shown.layers["x:map"].style.visible and window.viewer.layers["x:map"].isVisible()
    assert np.array_equal(window.viewer.layers["x:map"].lut, heatmap_lut("viridis", 0.5, 0.3))


def test_contours_and_the_image_row_follow_the_state(window, shown):
    th = window.layers_panel.thresholds
    window.view_state.contours = True
    assert th.contours.isChecked()
    drawn = window.viewer.layer_data("x:map")
    assert drawn[40, 60] == 0 and drawn[20, 60] > 0     # the outline of the square, not its inside
    window.view_state.show_image = False
    assert not window.layers_panel.image_row.isChecked() and not window.viewer.base.isVisible()
    window.view_state.set_style("x:map", visible=False)
    window.view_state.set_style("x:conf", visible=False)
    assert not window.painter.composite_patch(80, 10, 4).any()   # the loupe shows no image either
    window.layers_panel.image_row.setChecked(True)
    assert window.view_state.show_image and window.viewer.base.isVisible()


def test_an_analysis_of_an_image_no_longer_shown_waits_until_it_is_shown_again(window, image_file):
    a = window.open_path(image_file("a.png", seed=1))
    window.open_path(image_file("b.png", seed=2))
    a.add_analysis(flagged_result())
    assert window.viewer.layers == {} and window.layers_panel.rows == {}
    window.doc_combo.setCurrentIndex(0)
    assert window.view_state.document is a and window.windowTitle().endswith("a.png")
    assert {"x:map", "x:conf"} <= set(window.viewer.layers) and set(window.layers_panel.rows) == set(a.layers)


def test_side_by_side_redraws_a_shown_layer_at_the_new_threshold_keeping_the_view(qtbot, window, shown):
    cmp = window.open_compare()
    qtbot.addWidget(cmp)
    names = [s[0] for s in cmp.sources]
    cmp.left_combo.setCurrentIndex(names.index(f"{shown.title} ▸ x: localization"))
    cmp.left.vb.setRange(xRange=(10, 80), yRange=(10, 60), padding=0)
    qtbot.wait(20)
    view, before = cmp.left.vb.viewRange(), cmp.left.base.image.copy()
    window.view_state.loc_threshold = 0.95   # the square is no longer drawn
    qtbot.waitUntil(lambda: not np.array_equal(cmp.left.base.image, before), timeout=2000)
    assert np.array_equal(cmp.left.base.image, shown.evidence.rgb)
    assert np.allclose(cmp.left.vb.viewRange(), view)
    cmp.close()
