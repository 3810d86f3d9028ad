"""GUI responsiveness (issue #7 targets).

1. Threshold re-render: a 12 MP image (4000x3000) with localisation and reliability maps,
   offscreen window whose view is 1600x1000 at fit zoom; the localisation threshold slider
   is moved 50 times and each step is painted synchronously.  Median target <= 16 ms.
2. Cold start: from launching a fresh `python -m trufor_desk gui` process to the window
   being shown and painted once (offscreen).  Target <= 2 s.

    python benchmarks/bench_gui.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rerender_times(steps: int = 50) -> list[float]:
    import numpy as np
    from PIL import Image
    from PySide6.QtWidgets import QApplication

    from trufor_desk.engines.base import AnalysisResult
    from trufor_desk.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp())
    os.environ["TRUFOR_DESK_SETTINGS"] = str(tmp / "bench.ini")
    h, w = 3000, 4000
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([128 + 100 * np.sin(x / 300 + c) * np.cos(y / 200) for c in range(3)], -1).astype(np.uint8)
    Image.fromarray(rgb).save(tmp / "big.png")
    win = MainWindow()
    win.show()
    doc = win.open_path(tmp / "big.png")
    loc = (0.5 + 0.5 * np.sin(x / 500) * np.cos(y / 400)).astype(np.float32)
    rel = (0.5 + 0.5 * np.cos(x / 700)).astype(np.float32)
    doc.add_analysis(AnalysisResult("bench", "1", loc, rel, 0.7))
    win.viewer.view.setFixedSize(1600, 1000)
    win.viewer.fit()
    app.processEvents()
    vp = win.viewer.view.viewport()
    vp.repaint()
    slider = win.layers_panel.thresholds.loc
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        slider.setValue(20 + (i * 37) % 70)
        vp.repaint()
        times.append(time.perf_counter() - t0)
    win.close()
    return times


def cold_start() -> float:
    code = ("import sys\nfrom PySide6.QtCore import QTimer\nfrom PySide6.QtWidgets import QApplication\n"
            "from trufor_desk.gui.main_window import MainWindow\napp = QApplication([])\nw = MainWindow()\nw.show()\n"
            "QTimer.singleShot(0, lambda: (w.repaint(), print('shown', flush=True), app.quit()))\napp.exec()\n")
    env = dict(os.environ, TRUFOR_DESK_SETTINGS=str(Path(tempfile.mkdtemp()) / "s.ini"))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    assert "shown" in p.stdout, p.stderr
    return dt


def main() -> None:
    times = rerender_times()
    med = statistics.median(times) * 1000
    print(f"threshold re-render, 12 MP, 1600x1000 view, fit zoom: median {med:.1f} ms "
          f"(p90 {sorted(times)[int(0.9 * len(times))] * 1000:.1f} ms) over {len(times)} steps; "
          f"target 16 ms -> {16 / med:.2f}x of budget headroom")
    starts = [cold_start() for _ in range(3)]
    print(f"cold start to a painted window: median {statistics.median(starts):.2f} s over 3 runs "
          f"({', '.join(f'{s:.2f}' for s in starts)}); target 2 s")


if __name__ == "__main__":
    main()
