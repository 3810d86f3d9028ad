"""Refresh docs/screenshot.png from the real application on a virtual X screen.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot.py [docs/screenshot.png]
    xvfb-run -a -s "-screen 0 1366x768x24" python scripts/screenshot.py laptop.png --size 1366x768

Opens the window on the project's sample image, analyses it with the default engine
(weight-free unless TruFor weights are installed), waits for the result and captures
the X screen with ImageMagick's `import` (QScreen.grabWindow if `import` is missing).
The status bar shows the read-out under a point of the pasted head, as if the cursor were
there.  ``--size WxH`` sets the window's size (the X screen's, given to xvfb-run, must hold it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    args = sys.argv[1:]
    size = (1600, 1000)
    if "--size" in args:
        i = args.index("--size")
        size = tuple(int(v) for v in args[i + 1].lower().split("x"))
        del args[i:i + 2]
    out = Path(args[0]) if args else REPO / "docs" / "screenshot.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from trufor_desk.gui.main_window import MainWindow

    app = QApplication([])
    win = MainWindow()
    win.setGeometry(0, 0, *size)
    win.show()
    # a neutral evidence folder, so that no developer's machine path shows in the metadata panel
    import tempfile

    evidence_dir = Path(tempfile.mkdtemp(prefix="case-")) / "evidence"
    evidence_dir.mkdir()
    sample = evidence_dir / "sample_splice.jpg"
    shutil.copyfile(REPO / "resources" / "samples" / "sample_splice.jpg", sample)
    win.open_path(sample)
    win.jobs.analyze()
    win.jobs.wait_idle(600_000)
    if win.last_error is not None and win.last_error.isVisible():
        print("analysis failed:", win.last_error.text(), file=sys.stderr)
        return 1
    win.layers_panel.thresholds.loc.setValue(50)
    win._on_cursor(500, 80)   # the read-out under a point of the pasted head
    result = {}

    def capture():
        app.processEvents()
        if shutil.which("import"):
            r = subprocess.run(["import", "-window", "root", str(out)], capture_output=True)
            result["ok"] = r.returncode == 0
        else:
            result["ok"] = app.primaryScreen().grabWindow(0).save(str(out))
        app.quit()

    QTimer.singleShot(1500, capture)
    app.exec()
    print(out if result.get("ok") else "capture failed")
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
