"""The banner above the image that says the TruFor weights are missing and offers to install them."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton


class WeightsBanner(QFrame):
    """Explains missing TruFor weights and offers to install them."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("weightsBanner")
        self.setStyleSheet("#weightsBanner { background: #fff3cd; border: 1px solid #e0c36a; } "
                           "#weightsBanner QLabel { color: #5c4400; }")
        lay = QHBoxLayout(self)
        self.text = QLabel("TruFor weights are not installed. The weight-free detectors work meanwhile; "
                           "TruFor needs the authors' TruFor_weights.zip (non-profit research licence).")
        self.text.setWordWrap(True)
        self.install = QPushButton("Install weights…")
        self.install.setToolTip("Choose TruFor_weights.zip or trufor.pth.tar; it is verified against the "
                                "published hashes and copied to your data folder.")
        self.download = QPushButton("Download…")
        self.download.setToolTip("Download the official zip from the authors' site, verify and install it.")
        lay.addWidget(self.text, 1)
        lay.addWidget(self.install)
        lay.addWidget(self.download)
