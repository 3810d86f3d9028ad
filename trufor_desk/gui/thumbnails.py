"""Thumbnails of image files, made off the GUI thread on demand and kept in a bounded cache,
so a folder of thousands of photos opens at once (the triage view asks only for the items
it is about to draw)."""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from .pool_loader import PoolLoader

THUMB = 128
CACHE_SIZE = 1500


def make_thumbnail(path: str, size: int = THUMB) -> QImage | None:
    """A thumbnail of the image file (read-only), or None if it cannot be decoded."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                img.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a reduced scale
                img = img.convert("RGB")
                img.thumbnail((size, size))
                data = img.tobytes()
                w, h = img.size
    except Exception:  # noqa: BLE001 - a bad file just gets the placeholder
        return None
    return QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ThumbnailLoader(QObject):
    """Thumbnails on demand: :meth:`get` answers from the cache or queues the file and
    emits :attr:`ready` when it is done (``None`` results are remembered as failures)."""

    ready = Signal(str)

    def __init__(self, size: int = THUMB, cache_size: int = CACHE_SIZE, parent: QObject | None = None):
        super().__init__(parent)
        self.size = size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, QPixmap | None] = OrderedDict()
        self._pending: set[str] = set()
        self.tasks = PoolLoader(partial(make_thumbnail, size=size), max_threads=4, parent=self)
        self.tasks.ready.connect(self._on_done)

    def get(self, path: str) -> tuple[bool, QPixmap | None]:
        """(known, pixmap): known is False while the thumbnail is still being made."""
        if path in self._cache:
            self._cache.move_to_end(path)
            return True, self._cache[path]
        if path not in self._pending:
            self._pending.add(path)
            self.tasks.request(path, path)
        return False, None

    @Slot(str, object)
    def _on_done(self, path: str, image) -> None:
        self._pending.discard(path)
        self._cache[path] = QPixmap.fromImage(image) if image is not None else None
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        self.ready.emit(path)

    def clear(self) -> None:
        self.tasks.clear()
        self._cache.clear()
        self._pending.clear()

    def wait(self, ms: int = 30000) -> bool:
        return self.tasks.wait(ms)
