"""Work items on a thread pool of their own, with the answers delivered on the GUI thread.

The triage view needs two kinds of background work per item, thumbnails and verdicts of
folders written before the verdict column; both are "run this plain function for that key
off the GUI thread and tell me the answer", which is all a :class:`PoolLoader` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Carrier(QObject):
    """Lives on the GUI thread: a signal emitted from a worker thread reaches it queued."""

    done = Signal(str, object)   # key, answer


class _Task(QRunnable):
    def __init__(self, fn: Callable[..., Any], key: str, args: tuple, carrier: _Carrier):
        super().__init__()
        self.fn, self.key, self.args, self.carrier = fn, key, args, carrier

    def run(self) -> None:
        try:
            answer = self.fn(*self.args)
        except Exception:  # noqa: BLE001 - a file that cannot be read just has no answer
            answer = None
        self.carrier.done.emit(self.key, answer)


class PoolLoader(QObject):
    """Runs ``fn(*args)`` for each :meth:`request` on at most ``max_threads`` threads and emits
    :attr:`ready` (key, answer) on the GUI thread; the answer is None when ``fn`` raised."""

    ready = Signal(str, object)

    def __init__(self, fn: Callable[..., Any], max_threads: int, parent: QObject | None = None):
        super().__init__(parent)
        self.fn = fn
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, min(max_threads, QThreadPool.globalInstance().maxThreadCount())))
        self._carrier = _Carrier(self)
        self._carrier.done.connect(self.ready)

    def request(self, key: str, *args) -> None:
        """Queue ``fn(*args)``; :attr:`ready` gives ``(key, answer)`` when it is done."""
        self.pool.start(_Task(self.fn, key, args, self._carrier))

    def clear(self) -> None:
        """Drop the requests not started yet (those running still answer)."""
        self.pool.clear()

    def wait(self, ms: int = 30000) -> bool:
        return self.pool.waitForDone(ms)
