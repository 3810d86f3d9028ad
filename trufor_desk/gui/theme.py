"""Light and dark palettes on Qt's Fusion style."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def apply_theme(app: QApplication, dark: bool) -> None:
    app.setStyle("Fusion")
    if not dark:
        app.setPalette(app.style().standardPalette())
        return
    p = QPalette()
    base, alt, text = QColor(37, 37, 38), QColor(53, 53, 56), QColor(220, 220, 220)
    for role, color in ((QPalette.Window, alt), (QPalette.WindowText, text), (QPalette.Base, base),
                        (QPalette.AlternateBase, alt), (QPalette.ToolTipBase, alt), (QPalette.ToolTipText, text),
                        (QPalette.Text, text), (QPalette.Button, alt), (QPalette.ButtonText, text),
                        (QPalette.Highlight, QColor(42, 130, 218)), (QPalette.HighlightedText, QColor(0, 0, 0)),
                        (QPalette.Link, QColor(90, 170, 255))):
        p.setColor(role, color)
    p.setColor(QPalette.Disabled, QPalette.Text, QColor(127, 127, 127))
    p.setColor(QPalette.Disabled, QPalette.ButtonText, QColor(127, 127, 127))
    app.setPalette(p)
