"""The verdict, the score, what it means, and the reliability beside it — never apart.

The panel shows :func:`trufor_desk.verdict.reading.read_result`'s reading, whose verdict
is the one the report, ``analyze`` and the triage view print; the score bar takes the
verdict's colour, so it is never green while the reading warns.  The score is printed by
:func:`trufor_desk.verdict.decision.format_score`, like everywhere else.

The panel scrolls (mouse wheel, scroll bar): its text is as long as the reading, and a
docked panel on a laptop screen is short.  Each label is as tall as its wrapped text at
the panel's width, so nothing overlaps and nothing is cut.

Given the window's :class:`~trufor_desk.view.state.ViewState`, the panel follows it: the
current document's active analysis, read at the state's thresholds (a new document or
analysis at once; threshold moves once the slider rests for a moment), and its Content
Credentials.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QProgressBar, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from trufor_desk.render.colormaps import colormap
from trufor_desk.render.verdict_colours import COLOUR_HEX
from trufor_desk.verdict.decision import format_score
from trufor_desk.verdict.reading import Reading, read_result
from trufor_desk.view.state import ViewState

THUMB_SIZE = 220  # longest side of the reliability thumbnail, in pixels


def _label(style: str = "") -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    # Preferred, not Minimum: a wrapped label's size hint is its text wrapped at a guessed narrow
    # width; as a minimum it left the panel taller than its text (a blank band at the end)
    label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
    if style:
        label.setStyleSheet(style)
    return label


class ScorePanel(QScrollArea):
    def __init__(self, parent=None, *, state: ViewState | None = None):
        super().__init__(parent)
        self.state = state
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.content = QWidget()
        policy = self.content.sizePolicy()
        policy.setHeightForWidth(True)
        self.content.setSizePolicy(policy)
        lay = QVBoxLayout(self.content)
        lay.setSpacing(8)
        self.verdict = _label("font-weight: bold; font-size: 14px;")
        self.verdict.setText("No analysis yet")
        self.gauge = QProgressBar()
        self.gauge.setRange(0, 1000)
        self.gauge.setTextVisible(True)
        self.explanation = _label()
        self.score_text = _label()
        self.verbal = _label("font-style: italic;")
        self.verbal.setToolTip(VERBAL_TIP)
        self.meaning = _label()
        self.reliability_title = _label("font-weight: bold;")
        self.reliability_title.setText("Reliability map")
        self.reliability = QLabel()
        self.reliability.setAlignment(Qt.AlignCenter)
        self.reliability.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        self.reliability.setToolTip("Where the localization can be trusted: bright = reliable, dark = not.")
        self.rel_stats = _label()
        self.warnings = _label("color: #d35400;")
        self.notes = _label()
        self.notes.setToolTip("What the engine itself recorded about this analysis (also in the report and in "
                              "`analyze --json`).")
        self.credentials = _label()  # the Content Credentials: a reading of their own, beside the verdict
        self.credentials.setVisible(False)
        for w in (self.verdict, self.credentials, self.gauge, self.score_text, self.verbal, self.explanation,
                  self.meaning, self.reliability_title, self.reliability, self.rel_stats, self.warnings, self.notes):
            lay.addWidget(w)
        lay.addStretch(1)
        self.setWidget(self.content)
        self.show_reading(None, None, "")
        if state is not None:
            self._follow(state)

    # -- following the view state ------------------------------------------------------
    def _follow(self, state: ViewState) -> None:
        # the written reading follows the thresholds, but not on every slider pixel
        self._reading_timer = QTimer(self)
        self._reading_timer.setSingleShot(True)
        self._reading_timer.setInterval(120)
        self._reading_timer.timeout.connect(self.show_state)
        state.events.document.connect(self._document_changed)
        state.events.layers.connect(self.show_state)
        state.events.loc_threshold.connect(lambda e: self._reading_timer.start())
        state.events.rel_threshold.connect(lambda e: self._reading_timer.start())

    def _document_changed(self, event) -> None:
        doc = event.value
        self.show_credentials(doc.c2pa if doc is not None else None)
        self.show_state()

    def show_state(self, _event=None) -> None:
        """Read the current document's active analysis at the state's thresholds."""
        doc = self.state.document
        an = doc.active_analysis() if doc is not None else None
        if an is None:
            self.show_reading(None, None, "")
            return
        r = an.result
        reading = read_result(r, self.state.loc_threshold, self.state.rel_threshold)
        self.show_reading(reading, r.reliability, an.label, r.notes)

    def show_reading(self, reading: Reading | None, reliability: np.ndarray | None, engine: str,
                     notes: list[str] | None = None) -> None:
        """Show a reading (None: no analysis yet) of ``engine``'s result with its reliability map
        and the engine's own notes."""
        if reading is None:
            self.verdict.setText("No analysis yet")
            self.verdict.setStyleSheet("font-weight: bold; font-size: 14px;")
            self.gauge.setVisible(False)
            self.reliability_title.setVisible(False)
            self.reliability.clear()
            self.reliability.setVisible(False)
            for label in (self.explanation, self.score_text, self.verbal, self.rel_stats, self.meaning,
                          self.warnings, self.notes):
                label.clear()
            self.verbal.setVisible(False)
            return
        v = reading.verdict
        colour = COLOUR_HEX[v.colour]
        self.verdict.setText(f"{engine}: {v.headline}")
        self.verdict.setStyleSheet(f"font-weight: bold; font-size: 14px; color: {colour};")
        self.verdict.setToolTip(f"Verdict category: {v.label}. The report, `analyze` and the triage view give "
                                "the same verdict for the same thresholds.")
        self.explanation.setText(v.explanation)
        self.gauge.setVisible(v.score is not None)
        if v.score is not None:
            self.gauge.setValue(int(round(min(max(v.score, 0.0), 1.0) * 1000)))
            kind = "probability" if v.score_is_probability else "heuristic score"
            self.gauge.setFormat(f"{kind} {format_score(v.score)}")
            self.gauge.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}")
            self.gauge.setToolTip(
                f"Calibrated probability that the image was manipulated (decision point {v.decision_point:g}: "
                "a likelihood ratio of 1). The bar takes the verdict's colour." if v.score_is_probability else
                "Heuristic score (not a probability, no decision point). The bar takes the verdict's colour.")
        self.score_text.setText("Score: " + v.score_text)
        self.verbal.setVisible(v.verbal_scale is not None)
        self.verbal.setText(v.verbal_scale or "")
        self.meaning.setText(reading.meaning)
        self.warnings.setText("\n\n".join("⚠ " + w for w in reading.warnings))
        self.warnings.setVisible(bool(reading.warnings))   # an empty label would still take a gap
        self.notes.setText("Engine notes:\n" + "\n".join("\u2022 " + n for n in notes) if notes else "")
        self.notes.setVisible(bool(notes))
        has_rel = reliability is not None
        self.reliability_title.setVisible(True)
        self.reliability.setVisible(has_rel)
        if has_rel:
            self.reliability_title.setText("Reliability map")
            thumb = _thumbnail(reliability, THUMB_SIZE)
            self.reliability.setPixmap(thumb)
            self.reliability.setFixedHeight(thumb.height())
            self.rel_stats.setText(f"Mean reliability {reading.mean_reliability:.2f}; "
                                   f"{100 * reading.strong_in_low_reliability:.0f}% of the strong map region "
                                   "lies in low-reliability areas.")
        else:
            self.reliability.clear()
            self.reliability_title.setText("Reliability map: this engine provides no reliability map")
            self.rel_stats.setText("The map cannot be qualified by reliability, so the verdict treats all of it "
                                   "as reliable.")

    def show_credentials(self, rec) -> None:
        """The image's Content Credentials beside the detectors' verdict (never folded into it): the
        state in one line, and an invalid or unreadable manifest or a declared AI generation as a
        finding of its own, in red."""
        if rec is None:
            self.credentials.setVisible(False)
            return
        from trufor_desk.evidence.provenance import NOT_PROOF, caveats, findings, headline

        found = findings(rec)
        lines = [f"<b>Content Credentials:</b> {_html(headline(rec))}"]
        lines += [f"<span style='color:#c0392b; font-weight:bold;'>Finding: {_html(f)}</span>" for f in found]
        self.credentials.setText("<br>".join(lines))
        self.credentials.setToolTip("Read offline from the file's C2PA manifest (Metadata panel: every detail).\n"
                                    + "\n".join(caveats(rec) or [NOT_PROOF]))
        self.credentials.setVisible(True)


def _html(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


VERBAL_TIP = ("Evaluative statement on the ENFSI verbal scale, from the calibrated score only.\n"
              "Likelihood ratio bands: 1-2 no meaningful support, 2-10 weak, 10-100 moderate,\n"
              "100-1,000 moderately strong, 1,000-10,000 strong, 10,000-1,000,000 very strong,\n"
              "above 1,000,000 extremely strong support. It depends on the calibration set and is\n"
              "not the probability that the image was manipulated.")


def _thumbnail(values: np.ndarray, size: int) -> QPixmap:
    h, w = values.shape
    step = max(1, int(np.ceil(max(h, w) / size)))
    small = np.clip(np.rint(values[::step, ::step] * 255), 0, 255).astype(np.uint8)
    rgb = np.ascontiguousarray(colormap("grey")[small][..., :3])
    img = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format_RGB888).copy()
    return QPixmap.fromImage(img)
