"""The integrity score, what it means, and the reliability beside it — never apart."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from trufor_desk.render.colormaps import colormap
from trufor_desk.render.interpret import Reading


class ScorePanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        self.verdict = QLabel("No analysis yet")
        self.verdict.setWordWrap(True)
        self.verdict.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.gauge = QProgressBar()
        self.gauge.setRange(0, 1000)
        self.gauge.setTextVisible(True)
        self.gauge.setToolTip("Integrity score: 0 = pristine, 1 = manipulated, 0.5 = decision point.")
        self.reliability_title = QLabel("Reliability map")
        self.reliability = QLabel()
        self.reliability.setAlignment(Qt.AlignCenter)
        self.reliability.setMinimumHeight(120)
        self.reliability.setToolTip("Where the localization can be trusted: bright = reliable, dark = not.")
        self.rel_stats = QLabel()
        self.meaning = QLabel()
        self.meaning.setWordWrap(True)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #d35400;")
        for w in (self.verdict, self.gauge, self.reliability_title, self.reliability, self.rel_stats,
                  self.warnings, self.meaning):
            lay.addWidget(w)
        lay.addStretch(1)
        self.show_reading(None, None, "")

    def show_reading(self, reading: Reading | None, reliability: np.ndarray | None, engine: str,
                     score: float | None = None) -> None:
        if reading is None:
            self.verdict.setText("No analysis yet")
            self.gauge.setVisible(False)
            self.reliability_title.setVisible(False)
            self.reliability.clear()
            self.rel_stats.clear()
            self.meaning.clear()
            self.warnings.clear()
            return
        self.verdict.setText(f"{engine}: {reading.verdict}")
        self.gauge.setVisible(score is not None)
        if score is not None:
            self.gauge.setValue(int(round(score * 1000)))
            self.gauge.setFormat(f"score {score:.3f}")
            color = "#c0392b" if score >= 0.5 else "#27ae60"
            self.gauge.setStyleSheet(f"QProgressBar::chunk {{ background: {color}; }}")
        self.meaning.setText(reading.meaning)
        self.warnings.setText("\n\n".join("⚠ " + w for w in reading.warnings))
        has_rel = reliability is not None
        self.reliability_title.setVisible(has_rel)
        self.reliability.setVisible(has_rel)
        if has_rel:
            self.reliability.setPixmap(_thumbnail(reliability, 220))
            self.rel_stats.setText(f"Mean reliability {reading.mean_reliability:.2f}; "
                                   f"{100 * reading.strong_in_low_reliability:.0f}% of the strong map region "
                                   "lies in low-reliability areas.")
        else:
            self.rel_stats.setText("This engine gives no reliability map: the map cannot be qualified.")


def _thumbnail(values: np.ndarray, size: int) -> QPixmap:
    h, w = values.shape
    step = max(1, int(np.ceil(max(h, w) / size)))
    small = np.clip(np.rint(values[::step, ::step] * 255), 0, 255).astype(np.uint8)
    rgb = np.ascontiguousarray(colormap("grey")[small][..., :3])
    img = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format_RGB888).copy()
    return QPixmap.fromImage(img)
