"""Quitting the window after real work exits cleanly (issue 11: abort in ``bool_dealloc``).

The abort came from PySide6 6.12.0's ``SignalInstance.emit``, which hands back ``True``
without a reference: every Python-side emit (pyqtgraph's range and image signals, the
worker's progress) cost ``True`` one reference until interpreter shutdown released it
below zero.  ``trufor_desk.gui.emit_refcount`` supplies the missing reference.  The
scenario runs in a subprocess because the abort happens only when the interpreter
finalises.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def sample_image() -> Path:
    """The shipped spliced sample (its format follows scripts/make_sample.py)."""
    found = [p for p in sorted((REPO / "resources" / "samples").glob("sample_splice.*"))
             if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".tif", ".tiff"}]
    assert found, "resources/samples/sample_splice.* is missing"
    return found[0]

# Drives the real entry point (app.run_gui) the way a user does: ela on the sample,
# splicebuster on a 640x480 copy, View > Side by side, File > Quit.
SCENARIO = textwrap.dedent("""
    import sys, traceback
    from pathlib import Path

    from PIL import Image
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from trufor_desk.gui.app import run_gui
    from trufor_desk.gui.main_window import MainWindow

    sample, small = Path(sys.argv[1]), Path(sys.argv[2])
    Image.open(sample).convert("RGB").resize((640, 480)).save(small)

    def analyse(win, engine):
        win.engine_combo.setCurrentText(engine)
        assert win.engine_combo.currentText() == engine, engine + " is not offered"
        assert win.jobs.analyze(), engine + " did not start"
        win.jobs.wait_idle(300_000)
        doc = win.view_state.document
        assert doc.analyses and doc.analyses[-1].result.engine == engine, engine + " gave no result"

    def steps():
        try:
            win = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
            analyse(win, "ela")
            assert win.open_path(small) is not None
            analyse(win, "splicebuster")
            win.act_compare.trigger()
            QApplication.processEvents()
            assert win.compare_window is not None and win.compare_window.isVisible()
            print("SCENARIO DONE", flush=True)
            QTimer.singleShot(100, win.act_quit.trigger)
        except BaseException:
            traceback.print_exc()
            QApplication.instance().exit(3)

    QTimer.singleShot(0, steps)
    sys.exit(run_gui([str(sample)]))
""")


def run_scenario(tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONFAULTHANDLER="1",
               TRUFOR_DESK_SETTINGS=str(tmp_path / "settings.ini"), TRUFOR_DESK_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")])))
    env.pop("TRUFOR_WEIGHTS", None)
    script = tmp_path / "quit_scenario.py"
    script.write_text(SCENARIO)
    return subprocess.run([sys.executable, str(script), str(sample_image()), str(tmp_path / "sample_640x480.png")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


def test_quit_after_two_analyses_and_side_by_side_exits_cleanly(tmp_path):
    proc = run_scenario(tmp_path)
    report = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "SCENARIO DONE" in proc.stdout, report
    assert "Fatal Python error" not in proc.stderr, report
    assert "Traceback" not in proc.stderr, report
    assert proc.returncode == 0, report


def test_emitting_signals_leaves_true_with_its_references():
    """The contract whose breach caused the abort, checked directly: emit() costs nothing."""
    from PySide6.QtCore import QObject, Signal

    import trufor_desk.gui.viewer  # noqa: F401  the window's modules install the repair

    class Source(QObject):
        bare = Signal()
        payload = Signal(object)

    src = Source()
    received = []
    src.payload.connect(received.append)
    before = sys.getrefcount(True)
    for _ in range(1000):
        src.bare.emit()
        src.payload.emit(False)
    # a defective emit loses 2000 here; unrelated objects may take or drop a few
    assert abs(sys.getrefcount(True) - before) < 50
    assert len(received) == 1000


def test_repair_is_only_applied_where_pyside_needs_it():
    from PySide6.QtCore import SignalInstance

    from trufor_desk.gui import emit_refcount

    assert emit_refcount.emit_drops_reference() is False  # after install(): nothing is lost any more
    assert emit_refcount.REPAIRED == bool(getattr(SignalInstance.emit, "trufor_repaired", False))
    assert emit_refcount.install() == emit_refcount.REPAIRED  # idempotent
