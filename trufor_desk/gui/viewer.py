"""Image viewer: the image and its overlay layers as pyqtgraph ImageItems.

Overlays hold uint8 indices and draw through a lookup table, so threshold, opacity and
colour-map changes only swap a 256-entry table.  Each item shows the level of its
resolution pyramid that matches the zoom (see ``pyramid``), so a change re-maps about
as many pixels as the screen has.  The ViewBox gives wheel zoom and drag pan; the y axis
points down like image rows.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .pyramid import Pyramid

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)


class ImageViewer(QWidget):
    """One view: base image, named overlay layers, an optional selection rectangle."""

    cursorMoved = Signal(int, int)       # image pixel under the mouse, (-1, -1) outside
    rangeChanged = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.view = pg.GraphicsView(background="k")
        self.vb = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.vb.setDefaultPadding(0.01)
        self.view.setCentralItem(self.vb)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self.base = pg.ImageItem()
        self.base.setZValue(0)
        self.vb.addItem(self.base)
        self.layers: dict[str, pg.ImageItem] = {}
        # item -> (pyramid, full extent (x, y, w, h), level shown)
        self._pyramids: dict[pg.ImageItem, list] = {}
        self.image_shape: tuple[int, int] | None = None
        self.roi: pg.RectROI | None = None
        self.annotation_items: list = []
        self.cross = [pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#00e5ff", width=1)),
                      pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen("#00e5ff", width=1))]
        for line in self.cross:
            line.setZValue(100)
            line.setVisible(False)
            self.vb.addItem(line, ignoreBounds=True)
        self.view.scene().sigMouseMoved.connect(self._mouse_moved)
        self.vb.sigRangeChanged.connect(self._range_changed)
        self.setToolTip("Wheel: zoom. Drag: pan. The status bar reads the values under the cursor.")

    # -- content -------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray) -> None:
        """Show an (H, W, 3) uint8 image (or (H, W) grey) and forget previous overlays."""
        for name in list(self.layers):
            self.remove_layer(name)
        for item in self.annotation_items:
            self.vb.removeItem(item)
        self.annotation_items = []
        self.image_shape = rgb.shape[:2]
        self._set_pyramid(self.base, rgb, "mean", (0, 0, rgb.shape[1], rgb.shape[0]))
        self.fit()

    def set_layer(self, name: str, indices: np.ndarray, lut: np.ndarray, z: float,
                  rect: tuple[int, int, int, int] | None = None, visible: bool = True,
                  mode: str = "max") -> None:
        """Show uint8 ``indices`` through ``lut``; ``mode`` is the pyramid reduction."""
        item = self.layers.get(name)
        if item is None:
            item = pg.ImageItem()
            self.vb.addItem(item)
            self.layers[name] = item
        item.setLookupTable(lut, update=False)
        item.setZValue(z)
        h, w = indices.shape
        x, y = (rect[0], rect[1]) if rect else (0, 0)
        self._set_pyramid(item, indices, mode, (x, y, w, h))
        item.setVisible(visible)

    def layer_data(self, name: str) -> np.ndarray:
        """The full-resolution array a layer was given."""
        return self._pyramids[self.layers[name]][0].levels[0]

    def set_layer_lut(self, name: str, lut: np.ndarray) -> None:
        self.layers[name].setLookupTable(lut)

    # -- pyramids ------------------------------------------------------------------------
    def _set_pyramid(self, item: pg.ImageItem, data: np.ndarray, mode: str, rect) -> None:
        self._pyramids[item] = [Pyramid(data, mode), rect, None]
        self._show_level(item)

    def _data_px_per_screen_px(self) -> float:
        (x0, x1), _ = self.vb.viewRange()
        width = max(1.0, float(self.vb.width()))
        return (x1 - x0) / width

    def _show_level(self, item: pg.ImageItem) -> None:
        pyr, rect, shown = self._pyramids[item]
        level = min(Pyramid.level_for(self._data_px_per_screen_px()), pyr.n_levels - 1)
        if level == shown:
            return
        item.setImage(pyr.level(level), levels=(0, 255), autoLevels=False)
        item.setRect(QRectF(*rect))
        self._pyramids[item][2] = level

    def _range_changed(self, *_):
        for item in self._pyramids:
            self._show_level(item)
        self.rangeChanged.emit()

    def resizeEvent(self, ev):  # noqa: N802
        super().resizeEvent(ev)
        self._range_changed()

    def set_layer_visible(self, name: str, visible: bool) -> None:
        self.layers[name].setVisible(visible)

    def remove_layer(self, name: str) -> None:
        item = self.layers.pop(name, None)
        if item is not None:
            self._pyramids.pop(item, None)
            self.vb.removeItem(item)

    # -- navigation ----------------------------------------------------------------------
    def fit(self) -> None:
        if self.image_shape is not None:
            h, w = self.image_shape
            self.vb.setRange(QRectF(0, 0, w, h), padding=0.01)

    def one_to_one(self) -> None:
        """One image pixel per screen pixel, centred on the current view."""
        if self.image_shape is None:
            return
        (x0, x1), (y0, y1) = self.vb.viewRange()
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        size = self.vb.size()
        w, h = size.width(), size.height()
        self.vb.setRange(QRectF(cx - w / 2, cy - h / 2, w, h), padding=0)

    def zoom(self, factor: float) -> None:
        self.vb.scaleBy((1 / factor, 1 / factor))

    def show_cursor(self, x: int, y: int) -> None:
        """Draw the linked cursor (used by side-by-side views)."""
        show = x >= 0 and y >= 0
        for line in self.cross:
            line.setVisible(show)
        if show:
            self.cross[0].setValue(x + 0.5)
            self.cross[1].setValue(y + 0.5)

    def _mouse_moved(self, pos: QPointF) -> None:
        if self.image_shape is None:
            return
        p = self.vb.mapSceneToView(pos)
        x, y = int(np.floor(p.x())), int(np.floor(p.y()))
        h, w = self.image_shape
        if 0 <= x < w and 0 <= y < h:
            self.cursorMoved.emit(x, y)
        else:
            self.cursorMoved.emit(-1, -1)

    # -- selection -----------------------------------------------------------------------
    def start_selection(self) -> None:
        """Put a resizable rectangle in the middle of the view."""
        if self.image_shape is None:
            return
        self.clear_selection()
        (x0, x1), (y0, y1) = self.vb.viewRange()
        h, w = self.image_shape
        x0, x1, y0, y1 = max(0, x0), min(w, x1), max(0, y0), min(h, y1)
        sw, sh = max(32, (x1 - x0) / 3), max(32, (y1 - y0) / 3)
        self.roi = pg.RectROI([x0 + (x1 - x0 - sw) / 2, y0 + (y1 - y0 - sh) / 2], [sw, sh],
                              pen=pg.mkPen("#ffd000", width=2), maxBounds=QRectF(0, 0, w, h),
                              snapSize=1.0, scaleSnap=True, translateSnap=True)
        self.roi.setZValue(50)
        self.vb.addItem(self.roi)

    def set_selection(self, x: int, y: int, w: int, h: int) -> None:
        if self.roi is None:
            self.start_selection()
        self.roi.setPos((x, y))
        self.roi.setSize((w, h))

    def selection(self) -> tuple[int, int, int, int] | None:
        """(x, y, w, h) in whole image pixels, clipped to the image."""
        if self.roi is None or self.image_shape is None:
            return None
        h, w = self.image_shape
        pos, size = self.roi.pos(), self.roi.size()
        x0, y0 = int(round(max(0, pos.x()))), int(round(max(0, pos.y())))
        x1, y1 = int(round(min(w, pos.x() + size.x()))), int(round(min(h, pos.y() + size.y())))
        if x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1 - x0, y1 - y0

    def clear_selection(self) -> None:
        if self.roi is not None:
            self.vb.removeItem(self.roi)
            self.roi = None

    def add_annotation_box(self, rect: tuple[int, int, int, int], label: str) -> None:
        """A labelled rectangle marking an examiner's annotation."""
        from PySide6.QtWidgets import QGraphicsRectItem

        x, y, w, h = rect
        box = QGraphicsRectItem(x, y, w, h)
        box.setPen(pg.mkPen("#39ff14", width=2, style=Qt.DashLine))
        box.setZValue(60)
        text = pg.TextItem(label, color="#39ff14", anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 150))
        text.setPos(x, y)
        text.setZValue(61)
        for item in (box, text):
            self.vb.addItem(item)
            self.annotation_items.append(item)

    def link_to(self, other: ImageViewer) -> None:
        self.vb.setXLink(other.vb)
        self.vb.setYLink(other.vb)

    def keyPressEvent(self, ev):  # noqa: N802 - Qt naming
        if ev.key() in (Qt.Key_Plus, Qt.Key_Equal):
            self.zoom(1.25)
        elif ev.key() == Qt.Key_Minus:
            self.zoom(0.8)
        else:
            super().keyPressEvent(ev)
