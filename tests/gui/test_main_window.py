"""The investigator window, driven as an analyst would (offscreen)."""

from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel

from tests.conftest import requires_kit
from tests.gui.conftest import wait_done


def grab(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB888)
    w, h = img.width(), img.height()
    buf = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def test_open_image_shows_it_with_metadata(window, image_file):
    p = image_file("evidence.png")
    doc = window.open_path(p)
    assert window.windowTitle() == "TruFor Desk — evidence.png"
    assert window.viewer.base.image.shape == (120, 160, 3)
    texts = [window.metadata_panel.topLevelItem(0).child(i).text(1)
             for i in range(window.metadata_panel.topLevelItem(0).childCount())]
    assert doc.evidence.sha256 in texts


def test_corrupt_file_gives_a_dialog_and_the_app_keeps_working(window, tmp_path, image_file):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    assert window.open_path(bad) is None
    assert window.last_error is not None and window.last_error.isVisible()
    assert "broken.jpg" in window.last_error.text()
    window.last_error.close()
    assert window.open_path(image_file()) is not None
    assert window.windowTitle().endswith("scene.png")


def test_weights_banner_when_weights_are_missing(window):
    assert window.banner.isVisible()
    assert "not installed" in window.banner.text.text()


@requires_kit
def test_trufor_with_synthetic_weights_and_threshold_rerender(qtbot, window, image_file, synth_weights,
                                                              monkeypatch):
    monkeypatch.setenv("TRUFOR_WEIGHTS", str(synth_weights))
    window.jobs.refresh_weights_banner()
    assert not window.banner.isVisible()
    doc = window.open_path(image_file(h=96, w=128))
    window.engine_combo.setCurrentText("trufor")
    window.layers_panel.thresholds.loc.setValue(90)
    assert window.jobs.analyze()
    assert window.jobs.runner.busy  # off the GUI thread: we are still here while it runs
    wait_done(qtbot, window)
    assert {"trufor:map", "trufor:conf", "trufor:np++"} <= set(doc.layers)
    assert window.score_panel.verdict.text().startswith("trufor: ")  # the verdict's wording: verdict.decision
    assert window.score_panel.gauge.isVisible()
    assert window.score_panel.reliability.isVisible()  # the score never comes without reliability
    result = doc.analyses[0].result
    window.viewer.view.setFixedSize(480, 360)
    window.viewer.fit()
    qtbot.wait(50)
    before = grab(window.viewer.view)
    window.layers_panel.thresholds.loc.setValue(5)  # show almost the whole map
    qtbot.wait(50)
    after = grab(window.viewer.view)
    changed = np.abs(after.astype(int) - before.astype(int)).max(axis=-1) > 10
    assert changed.mean() > 0.05
    assert doc.analyses[0].result is result and len(doc.analyses) == 1  # no recomputation


@requires_kit
def test_cancel_stops_a_running_analysis(qtbot, window, image_file, synth_weights, monkeypatch):
    monkeypatch.setenv("TRUFOR_WEIGHTS", str(synth_weights))
    doc = window.open_path(image_file(h=400, w=400))
    window.engine_combo.setCurrentText("trufor")
    window.jobs.analyze()
    qtbot.waitUntil(lambda: window.stage.text().startswith("Encoder"), timeout=60_000)
    window.cancel_button.click()
    wait_done(qtbot, window, timeout=30_000)
    assert window.stage.text() == "Analysis with trufor cancelled"
    assert window.status_message.text().startswith("Analysis with trufor cancelled")
    assert window.progress.text() == ""  # emptied, not a stale percentage
    assert doc.analyses == []
    assert window.act_analyze.isEnabled()


def test_weight_free_engine_runs_and_panel_explains_missing_score(qtbot, window, image_file):
    doc = window.open_path(image_file(h=128, w=128))
    window.engine_combo.setCurrentText("copymove")
    window.jobs.analyze()
    wait_done(qtbot, window)
    assert "copymove:map" in doc.layers
    assert window.stage.text().startswith("copymove finished")


def test_trufor_without_weights_fails_with_a_readable_dialog(qtbot, window, image_file):
    window.open_path(image_file())
    window.engine_combo.setCurrentText("trufor")
    window.jobs.analyze()
    wait_done(qtbot, window)
    assert window.last_error is not None and "weights" in window.last_error.text()
    # the status bar tells the failure too, and the bar does not claim a 0 % or 100 % run
    assert window.status_message.text().startswith("Analysis with trufor failed:")
    assert "weights" in window.status_message.toolTip()
    assert window.progress.text() == ""


def test_progress_bar_moves_during_an_analysis_and_reads_100_percent_after(qtbot, window, image_file):
    assert window.progress.text() == ""  # nothing has run: no "0%" either
    window.open_path(image_file(h=128, w=160))
    window.engine_combo.setCurrentText("ela")
    seen = []
    window.progress.valueChanged.connect(seen.append)
    assert window.jobs.analyze()
    wait_done(qtbot, window)
    assert any(0 < v < window.progress.maximum() for v in seen), seen  # ELA reports a step in between
    assert window.progress.value() == window.progress.maximum()
    assert window.progress.text() == "100%"


def test_status_bar_says_what_was_opened_and_analysed(qtbot, window, image_file):
    assert window.status_message.text().startswith("Open an image")
    window.open_path(image_file("evidence.png", h=128, w=160))
    assert window.status_message.text().startswith("Opened evidence.png (160 x 128)")
    window.engine_combo.setCurrentText("ela")
    window.jobs.analyze()
    assert window.status_message.text() == "Analysing evidence.png with ela…"
    wait_done(qtbot, window)
    assert re.fullmatch(r"Analysed with ela in \d+\.\d s \(evidence\.png\)", window.status_message.text()), \
        window.status_message.text()
    assert window.stage.text().startswith("ela finished in ")


def _score_panel_texts(window) -> str:
    return " ".join(label.text() for label in window.score_panel.findChildren(QLabel) if label.isVisible())


def _score_panel_images(window) -> list:
    return [label for label in window.score_panel.findChildren(QLabel)
            if label.isVisible() and not label.pixmap().isNull()]


def test_engine_without_reliability_map_says_so_instead_of_an_empty_preview(qtbot, window, image_file):
    doc = window.open_path(image_file(h=128, w=160))
    window.engine_combo.setCurrentText("splicebuster")
    window.jobs.analyze()
    wait_done(qtbot, window)
    assert doc.analyses[-1].result.reliability is not None
    assert _score_panel_images(window)  # splicebuster has a reliability map: its preview is shown
    window.engine_combo.setCurrentText("ela")
    window.jobs.analyze()
    wait_done(qtbot, window)
    assert doc.analyses[-1].result.reliability is None
    assert "this engine provides no reliability map" in _score_panel_texts(window).lower()
    assert _score_panel_images(window) == []  # no blank box where the preview was


@requires_kit
def test_analyse_selection_places_the_result_in_the_rectangle(qtbot, window, image_file, synth_weights,
                                                              monkeypatch):
    monkeypatch.setenv("TRUFOR_WEIGHTS", str(synth_weights))
    doc = window.open_path(image_file(h=150, w=200))
    window.engine_combo.setCurrentText("trufor")
    window.viewer.set_selection(40, 30, 64, 48)
    assert window.viewer.selection() == (40, 30, 64, 48)
    assert window.jobs.analyze_selection()
    wait_done(qtbot, window)
    layer = doc.layers["trufor@40,30,64,48:map"]
    assert layer.rect == (40, 30, 64, 48) and layer.values.shape == (48, 64)
    item = window.viewer.layers["trufor@40,30,64,48:map"]
    rect = item.mapRectToParent(item.boundingRect())
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (40, 30, 64, 48)
    assert "selection 64x48 at x=40, y=30" in doc.analyses[0].result.provenance["image_conversions"]


def test_side_by_side_views_stay_in_sync(qtbot, window, image_file):
    window.open_path(image_file("a.png", seed=1))
    window.open_path(image_file("b.png", seed=2))
    cmp = window.open_compare()
    qtbot.addWidget(cmp)
    cmp.left_combo.setCurrentIndex(0)
    cmp.right_combo.setCurrentIndex(1)
    cmp.left.vb.setRange(xRange=(10, 50), yRange=(20, 60), padding=0)
    qtbot.wait(20)
    (lx, ly), (rx, ry) = cmp.left.vb.viewRange(), cmp.right.vb.viewRange()
    assert np.allclose(lx, rx) and np.allclose(ly, ry)
    cmp.right.vb.setRange(xRange=(0, 30), yRange=(0, 30), padding=0)
    qtbot.wait(20)
    assert np.allclose(cmp.left.vb.viewRange()[0], cmp.right.vb.viewRange()[0])
    cmp.left.cursorMoved.emit(7, 9)
    assert cmp.right.cross[0].isVisible() and cmp.right.cross[0].value() == 7.5
    cmp.mode_combo.setCurrentText("Difference")
    a, b = cmp.source(0), cmp.source(1)
    expected = np.abs(a.astype(int) - b.astype(int)).max(-1)
    shown = cmp.left.base.image
    assert shown.shape == expected.shape and (shown > 0).sum() == (expected > 0).sum()
    cmp.close()


def test_drag_and_drop_opens_files(qtbot, window, image_file):
    p = image_file("dropped.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p))])
    ev = QDropEvent(QPoint(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(ev)
    assert window.windowTitle().endswith("dropped.png")


def test_cursor_readout_and_loupe(window, image_file):
    doc = window.open_path(image_file())
    window._on_cursor(5, 7)
    r, g, b = doc.evidence.rgb[7, 5]
    assert "x=5 y=7" in window.readout.text() and f"RGB=({r}, {g}, {b})" in window.readout.text()
    assert not window.loupe.pixmap().isNull()


def test_settings_persist_between_sessions(qtbot, isolated, image_file):
    from trufor_desk.gui.main_window import MainWindow

    w1 = MainWindow()
    qtbot.addWidget(w1)
    w1.open_path(image_file("recent.png"))
    w1.layers_panel.thresholds.loc.setValue(37)
    w1.layers_panel.thresholds.rel.setValue(64)
    w1.device_combo.setCurrentText("cpu")
    w1.close()
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert (w2.view_state.loc_threshold, w2.view_state.rel_threshold) == (0.37, 0.64)
    th = w2.layers_panel.thresholds   # the restored state is what the sliders show
    assert (th.loc.value(), th.rel.value(), th.loc_label.text(), th.rel_label.text()) == (37, 64, "0.37", "0.64")
    assert w2.device_combo.currentText() == "cpu"
    assert any(a.text().endswith("recent.png") for a in w2.recent_menu.actions())


def test_export_view_png(window, image_file, tmp_path):
    window.open_path(image_file())
    out = tmp_path / "view.png"
    assert window.export_view(out)
    from PIL import Image

    assert Image.open(out).size == (window.viewer.view.width(), window.viewer.view.height())


def test_install_weights_from_the_banner(qtbot, window, tmp_path, monkeypatch):
    """A checkpoint that is not the official release is refused unless the analyst
    confirms; then it is installed as unverified and the banner disappears."""
    import torch

    ckpt = tmp_path / "finetuned.pth.tar"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "epoch": 3}, ckpt)
    asked = []
    monkeypatch.setattr(window, "ask", lambda title, text: asked.append(text) or False)
    window.jobs.install_weights(str(ckpt))
    wait_done(qtbot, window)
    assert asked and "expected" in asked[0]
    assert window.banner.isVisible() and window.last_error is not None
    window.last_error.close()
    monkeypatch.setattr(window, "ask", lambda title, text: True)
    window.jobs.install_weights(str(ckpt))
    qtbot.waitUntil(lambda: "installed" in window.stage.text(), timeout=30_000)
    assert "NOT verified" in window.stage.text()
    assert not window.banner.isVisible()


def test_status_bar_readout_and_message_never_cut_a_word_or_overlap(qtbot, window, image_file):
    """The cursor read-out shows whole fields only (the rest in its tooltip), and it never runs
    into the status message beside it, at a laptop's width too."""
    from trufor_desk.gui.fitted_label import ELLIPSIS

    window.resize(1366, 768)
    window.open_path(image_file("evidence.png"))
    long_parts = ["x=12 y=34", "RGB=(1, 2, 3)"] + [f"fusion: layer number {i}=0.{i}23" for i in range(12)]
    window.readout.setText("   ".join(long_parts))
    window.set_status("Analysed with fusion in 3.9 s (a_rather_long_file_name_for_the_status_bar.jpg) " * 2)
    qtbot.wait(50)
    for label, sep in ((window.readout, "   "), (window.status_message, " ")):
        shown = label.shown_text()
        assert shown and label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
        kept = shown.removesuffix(" " + ELLIPSIS)
        assert label.text().startswith(kept)                          # a prefix of whole parts
        assert label.text()[len(kept):] == "" or label.text()[len(kept):].startswith(sep)
    assert window.readout.shown_text().endswith(ELLIPSIS) and long_parts[-1] in window.readout.toolTip()
    r, m = window.readout.geometry(), window.status_message.geometry()
    assert r.right() < m.left()                                       # side by side, not overlapping
    assert window.readout.text() == "   ".join(long_parts)            # the whole read-out is kept


def test_the_command_line_opens_and_analyses_an_image(qtbot, isolated, image_file, monkeypatch):
    """`trufor-desk gui IMAGE --engine ela --analyze`: the window opens the image and starts the engine."""
    from PySide6.QtWidgets import QApplication

    from trufor_desk.gui.app import run_gui
    from trufor_desk.gui.main_window import MainWindow

    monkeypatch.setattr(QApplication, "exec", lambda self: 0)   # return at once instead of running the loop
    before = set(QApplication.topLevelWidgets())
    assert run_gui([str(image_file("cli.png"))], engine="ela", analyze=True) == 0
    win = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w not in before)
    qtbot.addWidget(win)
    win.jobs.wait_idle()
    assert [a.result.engine for a in win.view_state.document.analyses] == ["ela"]
    assert "ela:map" in win.viewer.layers
