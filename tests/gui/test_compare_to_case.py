"""Side-by-side window: the registration state is shown, "Aligned" and "As stored" switch
between B on A's grid and the pixels as they are, and *Add comparison to case* records it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.compare.scenes import jpeg_bytes, second_version, textured_scene


@pytest.fixture
def versions(tmp_path):
    first = textured_scene(450, 600, seed=31)
    (tmp_path / "camera.jpg").write_bytes(jpeg_bytes(first, 92))
    (tmp_path / "social.jpg").write_bytes(second_version(first, quality=75).data)
    (tmp_path / "other.jpg").write_bytes(jpeg_bytes(textured_scene(450, 600, seed=77), 92))
    return tmp_path


def test_aligned_view_and_add_comparison_to_case(qtbot, window, versions, monkeypatch):
    monkeypatch.setattr(window.cases, "ask_text", lambda *a, **k: "A. Examiner")
    window.open_path(versions / "camera.jpg")
    window.open_path(versions / "social.jpg")
    cmp = window.open_compare()
    qtbot.addWidget(cmp)
    cmp.left_combo.setCurrentIndex(0)
    cmp.right_combo.setCurrentIndex(1)
    cmp.mode_combo.setCurrentText("Difference")
    assert "same size" in cmp.status.text()              # as stored: 600x450 against a smaller crop
    assert cmp.registration_label.text() == "Registration: none (as stored)"
    cmp.align_combo.setCurrentText("Aligned")
    assert cmp.registration_label.text().startswith("Registering")   # on the worker: as stored meanwhile
    qtbot.waitUntil(lambda: cmp.registration_label.text().startswith("Registration: affine: scale 1.2"),
                    timeout=60_000)
    assert cmp.left.base.image.shape == (450, 600)         # the difference of A and B on A's grid
    cmp.left.vb.setRange(xRange=(100, 400), yRange=(80, 300), padding=0)
    qtbot.wait(20)
    shown = cmp.view_rect()
    assert shown[2] < 600 or shown[3] < 450                # zoomed in: a crop of A, not all of it
    cmp.act_add_comparison.trigger()
    case = window.cases.case
    assert case is not None and len(case.comparisons) == 1
    rec = case.comparisons[0]
    assert rec.registered and rec.mode == "difference" and rec.evidence_ids == ["E1", "E2"]
    assert rec.view == shown                                # the visible rectangle is what the report crops
    assert case.audit[-1].action == "comparison_added"
    assert "Comparison C1 added" in cmp.status.text()
    cmp.align_combo.setCurrentText("As stored")
    assert cmp.registration_label.text() == "Registration: none (as stored)"
    cmp.close()


def test_unrelated_images_show_the_refusal(qtbot, window, versions):
    window.open_path(versions / "camera.jpg")
    window.open_path(versions / "other.jpg")
    cmp = window.open_compare()
    qtbot.addWidget(cmp)
    shown = []
    window.show_error = lambda title, text: shown.append((title, text))
    cmp.align_combo.setCurrentText("Aligned")
    qtbot.waitUntil(lambda: cmp.registration_label.text().startswith("Registration refused: the two images do "
                                                                     "not match"), timeout=60_000)
    assert not cmp.add_to_case() and shown and "do not match" in shown[0][1]
    assert window.cases.case is None or not window.cases.case.comparisons
    cmp.close()


def test_layer_against_its_image_is_recorded_without_registration(qtbot, window, versions, monkeypatch):
    from tests.gui.conftest import wait_done

    monkeypatch.setattr(window.cases, "ask_text", lambda *a, **k: "A. Examiner")
    window.open_path(versions / "camera.jpg")
    window.engine_combo.setCurrentText("ela")
    window.jobs.analyze()
    wait_done(qtbot, window)
    cmp = window.open_compare()
    qtbot.addWidget(cmp)
    names = [s[0] for s in cmp.sources]
    cmp.left_combo.setCurrentIndex(0)
    cmp.right_combo.setCurrentIndex(next(i for i, n in enumerate(names) if "localization" in n))
    assert cmp.add_to_case()
    rec = window.cases.case.comparisons[0]
    assert not rec.registered and rec.sources[1]["layer"] == "localization" and rec.sources[1]["analysis_id"] == "A1"
    assert np.array_equal(rec.figures["a"].shape[:2], rec.figures["b"].shape[:2])
    cmp.close()


def test_registration_runs_off_the_gui_thread_and_the_window_stays_responsive(qtbot, window, versions,
                                                                                monkeypatch):
    import threading

    from trufor_desk.compare import registration

    real, threads, release = registration.register, [], threading.Event()

    def slow_register(a, b, *args, **kwargs):
        threads.append(threading.current_thread())
        release.wait(30)   # held until the test has seen the window answer
        return real(a, b, *args, **kwargs)

    monkeypatch.setattr(registration, "register", slow_register)
    window.open_path(versions / "camera.jpg")
    window.open_path(versions / "social.jpg")
    cmp = window.open_compare()
    qtbot.addWidget(cmp)
    cmp.left_combo.setCurrentIndex(0)
    cmp.right_combo.setCurrentIndex(1)
    cmp.align_combo.setCurrentText("Aligned")       # returns at once: the registration is on its way
    qtbot.waitUntil(lambda: bool(threads), timeout=10_000)
    assert threads[0] is not threading.main_thread()
    assert cmp.registering and cmp.registration_label.text().startswith("Registering")
    cmp.mode_combo.setCurrentText("Difference")      # the window answers while it runs
    assert cmp.left.base.image is not None
    release.set()
    qtbot.waitUntil(lambda: cmp.registration_label.text().startswith("Registration: affine"), timeout=60_000)
    assert not cmp.registering and cmp.left.base.image.shape == (450, 600)
    cmp.close()
