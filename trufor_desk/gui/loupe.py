"""The loupe: the pixels around the cursor, magnified eight times (the window composites the patch)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel


class Loupe(QLabel):
    """Magnified neighbourhood of the cursor, with the visible overlays."""

    RADIUS = 12
    ZOOM = 8

    def __init__(self, parent=None):
        super().__init__(parent)
        side = (2 * self.RADIUS + 1) * self.ZOOM
        self.setFixedSize(QSize(side, side))
        self.setAlignment(Qt.AlignCenter)
        self.setToolTip("Loupe: the pixels around the cursor, magnified 8x, with the visible layers.")
        self.setStyleSheet("background: black;")

    def show_patch(self, rgb: np.ndarray | None) -> None:
        if rgb is None:
            self.clear()
            return
        big = np.repeat(np.repeat(rgb, self.ZOOM, axis=0), self.ZOOM, axis=1)
        c = self.RADIUS * self.ZOOM
        big[c:c + self.ZOOM, c, :] = (0, 229, 255)
        big[c, c:c + self.ZOOM, :] = (0, 229, 255)
        big = np.ascontiguousarray(big)
        img = QImage(big.data, big.shape[1], big.shape[0], big.strides[0], QImage.Format_RGB888).copy()
        self.setPixmap(QPixmap.fromImage(img))
