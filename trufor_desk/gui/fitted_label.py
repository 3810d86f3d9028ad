"""A one-line label that never cuts a word and never pushes its neighbours away.

The status bar holds the cursor read-out and the last status message side by side. A
plain QLabel asks for its whole text's width; when the bar is too narrow the two overlap
or one is cut mid-word. :class:`FittedLabel` shows as many whole parts of its text as fit
(parts separated by ``separator``: the read-out's fields, the message's words), then "…",
and keeps the whole text in :meth:`text` and, while it is cut, in its tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QLabel

ELLIPSIS = "\u2026"


def fit_parts(parts: list[str], separator: str, width: int, measure) -> str:
    """The longest prefix of ``parts`` (joined by ``separator``) that ``measure`` says fits in
    ``width`` pixels, with an ellipsis when parts were left out ("" when not even one fits)."""
    whole = separator.join(parts)
    if measure(whole) <= width:
        return whole
    for n in range(len(parts) - 1, 0, -1):
        shown = separator.join(parts[:n]) + " " + ELLIPSIS
        if measure(shown) <= width:
            return shown
    return ELLIPSIS if measure(ELLIPSIS) <= width else ""


class FittedLabel(QLabel):
    def __init__(self, text: str = "", separator: str = " ", parent=None):
        super().__init__(parent)
        self.separator = separator
        self._full = ""
        self._tip = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full = str(text)
        self._fit()
        self.updateGeometry()

    def text(self) -> str:
        """The whole text, whatever part of it fits."""
        return self._full

    def shown_text(self) -> str:
        """What is drawn now."""
        return super().text()

    def setToolTip(self, tip: str) -> None:  # noqa: N802 - Qt's name
        """The label's own tooltip; the whole text is put above it while the label is cut."""
        self._tip = str(tip)
        self._fit()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 8, super().sizeHint().height())

    def resizeEvent(self, ev):  # noqa: N802 - Qt's name
        super().resizeEvent(ev)
        self._fit()

    def _fit(self) -> None:
        parts = [p for p in self._full.split(self.separator) if p] if self._full else []
        fm = self.fontMetrics()
        width = self.contentsRect().width()
        shown = fit_parts(parts, self.separator, width, fm.horizontalAdvance) if parts else ""
        super().setText(shown)
        tip = self._tip
        if shown != self._full and self._full not in tip:
            tip = self._full + ("\n\n" + tip if tip else "")
        QLabel.setToolTip(self, tip)
