"""The window's background jobs: analyses and TruFor weights installs, one at a time.

A :class:`JobController` starts a :class:`~trufor_desk.gui.worker.Job` on the worker
thread and reports it in the window: the progress bar and stage label, the status line,
the Cancel button and the Analyse actions (disabled while a job runs), and an error
dialog when it fails.  Each kind of job says what happens to its result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from trufor_desk.engines import registry
from trufor_desk.errors import UserError

from .worker import Job, JobRunner


class JobController(QObject):
    """Runs the window's jobs.  A child of the window, so it lives on the GUI thread and
    the job's signals, connected to its slots, are queued back onto that thread."""

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self.runner = JobRunner(self)
        self.title = ""               # "Analysis with ela", "Weights download", ...: names the job in messages
        self._started = 0.0           # time.monotonic() when it started
        self._done: Callable[[object, float], None] = lambda result, secs: None
        self._failed: Callable[[str], None] = self.fail
        self._install_path = ""

    # -------------------------------------------------------------------- any job ----
    def _start(self, work, title: str, stage: str, status: str, done, failed=None) -> None:
        """Run ``work(progress, cancel)``; ``done(result, seconds)`` gets its result, ``failed(message)``
        its error (default :meth:`fail`)."""
        job = Job(work)
        # bound methods of this (GUI-thread) object: Qt queues the calls onto the GUI
        # thread; a lambda here would run in the worker thread and touch widgets there
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self._done, self._failed = done, failed or self.fail
        self.title = title
        self._started = time.monotonic()
        self.set_busy(True)
        self.win.progress.setValue(0)
        self.win.stage.setText(stage)
        self.win.set_status(status)
        self.runner.start(job)

    def seconds(self) -> float:
        """Seconds since the job started, as the examiner waited (engine start-up and weights loading included)."""
        return time.monotonic() - self._started

    def set_busy(self, busy: bool) -> None:
        w = self.win
        w.cancel_button.setEnabled(busy)
        w.act_cancel.setEnabled(busy)
        for a in (w.act_analyze, w.act_analyze_sel):
            a.setEnabled(not busy)

    def cancel(self) -> None:
        if self.runner.busy:
            self.win.stage.setText("Cancelling…")
            self.win.set_status(f"Cancelling: {self.title} stops at its next step…")
            self.runner.cancel()

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        bar = self.win.progress
        bar.setValue(int(round(min(max(fraction, 0.0), 1.0) * bar.maximum())))
        self.win.stage.setText(message)

    @Slot(object)
    def _on_finished(self, result) -> None:
        secs = self.seconds()
        self.set_busy(False)
        self.win.progress.setValue(self.win.progress.maximum())
        self._done(result, secs)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._failed(message)

    def fail(self, message: str) -> None:
        """Report a failed job: empty bar, error dialog, banner refreshed (missing weights are a usual cause)."""
        self.set_busy(False)
        self.win.progress.reset()  # empty, not a 0 % that reads like "nothing happened yet"
        self.win.stage.setText(f"{self.title} failed")
        self.win.show_error(f"{self.title} failed", message)
        self.refresh_weights_banner()

    @Slot()
    def _on_cancelled(self) -> None:
        self.set_busy(False)
        self.win.progress.reset()
        self.win.stage.setText(f"{self.title} cancelled")
        self.win.set_status(f"{self.title} cancelled after {self.seconds():.1f} s; nothing was stored")

    def when_idle(self, fn) -> None:
        """Run ``fn`` once the finishing job's thread has really ended."""
        if self.runner.busy:
            QTimer.singleShot(30, lambda: self.when_idle(fn))
        else:
            fn()

    def wait_idle(self, timeout_ms: int = 60000) -> None:
        """Process events until no job runs (tests, scripts)."""
        remaining = timeout_ms
        while self.runner.busy and remaining > 0:
            QApplication.processEvents()
            QTimer.singleShot(0, lambda: None)
            self.runner.wait(20)
            remaining -= 20
        QApplication.processEvents()

    # ------------------------------------------------------------------- analyses ----
    def analyze(self, engine: str | None = None, rect=None) -> bool:
        """Start an analysis of the current image (or a rectangle of it); False if not started."""
        w = self.win
        doc = w.view_state.document
        if doc is None:
            w.show_error("Nothing to analyse", "Open an image first.")
            return False
        if self.runner.busy:
            w.show_error("Analysis running", "Wait for the running analysis or cancel it first.")
            return False
        name = engine or w.engine_combo.currentText()
        device = w.device_combo.currentText()
        try:
            target = doc.evidence.crop(*rect) if rect is not None else doc.evidence
        except UserError as exc:
            w.show_error("Cannot analyse the selection", str(exc))
            return False

        def work(progress, cancel):
            eng = registry.create_engine(name, device=device)
            return eng.analyze(target, progress=progress, cancel=cancel)

        def done(result, secs: float) -> None:
            doc.add_analysis(result, rect)   # redrawn through the view state if it is still the current document
            where = doc.title if rect is None else f"{rect[2]} x {rect[3]} selection of {doc.title}"
            w.stage.setText(f"{result.engine} finished in {secs:.1f} s")
            w.set_status(f"Analysed with {result.engine} in {secs:.1f} s ({where})")

        where = doc.title if rect is None else f"a {rect[2]} x {rect[3]} selection of {doc.title}"
        self._start(work, f"Analysis with {name}", f"Starting {name}…", f"Analysing {where} with {name}…", done)
        return True

    def analyze_selection(self) -> bool:
        rect = self.win.viewer.selection()
        if rect is None:
            self.win.show_error("No selection", "Use Analysis ▸ Select region and place the rectangle first.")
            return False
        return self.analyze(rect=rect)

    # -------------------------------------------------------------------- weights ----
    def refresh_weights_banner(self) -> None:
        from trufor_desk.engines.trufor.weights import resolve_weights

        try:
            path, _ = resolve_weights(None)
        except UserError:
            path = None
        self.win.banner.setVisible(path is None)

    def install_weights_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.win, "Install TruFor weights", str(Path.home()),
                                              "TruFor weights (*.zip *.pth.tar *.tar *.pth);;All files (*)")
        if path:
            self.install_weights(path)

    def install_weights(self, path: str, force: bool = False) -> None:
        from trufor_desk.engines.trufor.weights import install_weights
        from trufor_desk.errors import NotOfficialWeights

        def work(progress, cancel):
            try:
                return install_weights(path, force=force)
            except NotOfficialWeights as exc:  # not an error yet: the examiner may install it anyway
                return {"not_official": exc.reason}

        self._install_path = path
        self._run_weights_job(work, "Weights installation", "Installing weights…")

    def _not_official(self, reason: str) -> None:
        """A checkpoint that loads but is not the official release (e.g. fine-tuned) may
        still be installed on purpose; it is then recorded and shown as unverified."""
        self.set_busy(False)
        if self.win.ask("Not the official TruFor release",
                        reason + ".\n\nInstall it anyway, marked as UNVERIFIED? Every result will record its SHA-256."):
            path = self._install_path
            self.when_idle(lambda: self.install_weights(path, force=True))
            return
        self.fail(reason + " (nothing installed)")

    def download_weights_dialog(self) -> None:
        from trufor_desk.engines.trufor.weights import OFFICIAL_URL, download_weights

        answer = QMessageBox.question(self.win, "Download TruFor weights",
                                      f"Download the official TruFor weights (about 250 MB) from\n{OFFICIAL_URL}?\n\n"
                                      "They are licensed by their authors for non-profit research use only.")
        if answer != QMessageBox.Yes:
            return

        def work(progress, cancel):
            def cb(done, total):
                progress(done / total if total else 0.0, f"Downloading… {done / 1e6:.0f} MB")
            return download_weights(progress=cb)

        self._run_weights_job(work, "Weights download", "Downloading weights…")

    def _run_weights_job(self, work, title: str, label: str, failed=None) -> None:
        if self.runner.busy:
            self.win.show_error("Busy", "Wait for the running job to finish.")
            return
        self._start(work, title, label, label, self._weights_installed, failed)

    def _weights_installed(self, record: dict, secs: float) -> None:
        if "not_official" in record:
            self._not_official(record["not_official"])
            return
        w = self.win
        self.refresh_weights_banner()
        state = "verified" if record.get("verified") else "NOT verified"
        w.stage.setText(f"TruFor weights installed ({state})")
        w.set_status(f"TruFor weights installed ({state}) in {secs:.1f} s")
        if w.engine_combo.findText("trufor") >= 0:
            w.engine_combo.setCurrentText("trufor")
