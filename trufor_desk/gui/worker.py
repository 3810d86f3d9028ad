"""Running engines off the GUI thread.

A :class:`Job` lives in its own QThread, calls ``engine.analyze`` with a progress
callback that emits a signal and a cancel callback that reads a flag, and reports
``finished(result)``, ``failed(message)`` or ``cancelled()`` back on the GUI thread.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from trufor_desk.errors import Cancelled, UserError


class Job(QObject):
    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, work: Callable[[Callable[[float, str], None], Callable[[], bool]], Any]):
        """``work(progress, cancel)`` does the job and returns its result."""
        super().__init__()
        self._work = work
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._stop.set()

    @property
    def cancel_requested(self) -> bool:
        return self._stop.is_set()

    @Slot()
    def run(self) -> None:
        try:
            result = self._work(lambda f, m: self.progress.emit(float(f), str(m)), self._stop.is_set)
        except Cancelled:
            self.cancelled.emit()
        except UserError as exc:
            self.failed.emit(str(exc))
        except MemoryError:
            self.failed.emit("Not enough memory for this analysis. Try a selection of the image, or fp32 → bf16.")
        except Exception as exc:  # an engine bug must not take the window down
            tb = traceback.format_exc(limit=3)
            self.failed.emit(f"Unexpected error in the analysis: {exc}\n\n{tb}")
        else:
            if self._stop.is_set():
                self.cancelled.emit()
            else:
                self.finished.emit(result)


class JobRunner(QObject):
    """Owns the thread of the one job that runs at a time."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.thread: QThread | None = None
        self.job: Job | None = None

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    def start(self, job: Job) -> None:
        if self.busy:
            raise RuntimeError("a job is already running")
        thread = QThread()
        job.moveToThread(thread)
        thread.started.connect(job.run)
        for sig in (job.finished, job.failed, job.cancelled):
            sig.connect(thread.quit)
        thread.finished.connect(self._cleanup)
        self.thread, self.job = thread, job
        thread.start()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def wait(self, ms: int = 30000) -> bool:
        return self.thread.wait(ms) if self.thread is not None else True

    def _cleanup(self) -> None:
        self.thread = None
        self.job = None
