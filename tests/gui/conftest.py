"""GUI tests drive the real window offscreen with pytest-qt."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from tests.conftest import natural_image  # noqa: E402


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Settings and the weights folder in tmp; no weights unless a test sets them."""
    monkeypatch.setenv("TRUFOR_DESK_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("TRUFOR_DESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TRUFOR_WEIGHTS", raising=False)
    return tmp_path


@pytest.fixture
def window(qtbot, isolated):
    from trufor_desk.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    yield win
    if win.jobs.runner.busy:
        win.jobs.runner.cancel()
        win.jobs.runner.wait(30000)
    if win.last_error is not None:
        win.last_error.close()


@pytest.fixture
def image_file(tmp_path):
    def make(name="scene.png", h=120, w=160, seed=0):
        p = tmp_path / name
        Image.fromarray(natural_image(h, w, seed)).save(p)
        return p

    return make


def wait_done(qtbot, win, timeout=120_000):
    qtbot.waitUntil(lambda: not win.jobs.runner.busy, timeout=timeout)
    qtbot.wait(50)  # let queued result signals arrive
