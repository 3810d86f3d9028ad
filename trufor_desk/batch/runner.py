"""Batch triage of a collection: one engine, many images, results that survive Ctrl-C.

``run_batch(inputs, out_dir, engine=...)`` expands folders (recursively) and glob
patterns into a deterministic list of files, analyses each one and writes, in
``out_dir``:

* one ``.npz`` per analysed image (the official TruFor keys plus provenance, see
  :meth:`AnalysisResult.to_npz_dict`), named ``<stem>-<sha256[:12]>.npz`` so two inputs
  never overwrite each other, written through a temporary file and a rename;
* ``results.jsonl``, the journal: one row per finished image, appended and flushed as it
  finishes, so an interrupted run loses nothing it completed;
* ``results.csv``, exactly :data:`COLUMNS`, one row per input file, rewritten from the
  journal at the start and the end of every run (also after Ctrl-C).

Resuming is by content: a rerun skips a file when the journal's last row for its path is
``ok``, its ``.npz`` exists and the file's SHA-256, the engine, its parameters and the
engine version are unchanged.  Error rows are retried on every run (the cause may have
been memory or a file being copied); a file that is still bad gets a fresh error row.

The work itself happens in a :class:`~trufor_desk.batch.jobs.Worker`, which holds one
engine (so TruFor loads its model once per worker) and turns a path into a row plus the
``.npz`` bytes.  The driver alone writes files (:mod:`~trufor_desk.batch.store`), whichever
backend runs the workers: in this process (``workers=1``) or a pool of spawned processes
(``workers>1``; :mod:`~trufor_desk.batch.local_backend`), or as Ray actors
(:mod:`~trufor_desk.batch.ray_backend`).  Inputs are expanded by
:mod:`~trufor_desk.batch.inputs`.  One bad file is one error row, never the end of the
batch; only a broken engine (e.g. unreadable weights) stops it.

Nothing here imports Qt; torch is imported only by the engines that need it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trufor_desk.errors import UserError

from .inputs import IMAGE_EXTENSIONS, collect_inputs
from .jobs import JobSpec, Worker, make_job
from .local_backend import local_outcomes
from .results import COLUMNS, CSV_NAME
from .store import OutputStore

__all__ = ["COLUMNS", "IMAGE_EXTENSIONS", "BatchProgress", "BatchSummary", "JobSpec", "Worker",
           "collect_inputs", "make_job", "run_batch"]

BACKENDS = ("local", "ray")


# -- progress and summary ---------------------------------------------------------------
@dataclass
class BatchProgress:
    """Reported once at the start (``done=0``) and after every finished input: ``done`` of
    ``total`` (skips included)."""

    done: int
    total: int
    ok: int
    errors: int
    skipped: int
    elapsed: float
    eta: float | None          # seconds still to go, None until one image was analysed
    path: str = ""
    row: dict | None = None    # the row just written; None for a skipped file


@dataclass
class BatchSummary:
    total: int
    ok: int
    errors: int
    skipped: int
    seconds: float
    out_dir: Path
    engine: str
    backend: str
    error_rows: list[dict] = field(default_factory=list)

    @property
    def analysed(self) -> int:
        return self.total - self.skipped

    def line(self) -> str:
        rate = f", {self.analysed / self.seconds:.2f} images/s" if self.analysed and self.seconds > 0 else ""
        return (f"{self.total} files: {self.ok} ok, {self.errors} error{'s' if self.errors != 1 else ''}, "
                f"{self.skipped} skipped (already done) in {self.seconds:.1f} s{rate} -> {self.out_dir / CSV_NAME}")


ProgressCallback = Callable[[BatchProgress], None]


# -- the run ----------------------------------------------------------------------------
def run_batch(inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike, engine: str | None = None, *,
              weights: str | None = None, device: str = "auto", precision: str = "fp32",
              engine_options: dict[str, Any] | None = None, backend: str = "local", workers: int = 1,
              ray_address: str | None = None, cpus_per_worker: float | None = None,
              gpus_per_worker: float = 0, progress: ProgressCallback | None = None,
              c2pa_trust: Any = None) -> BatchSummary:
    """Analyse every input into ``out_dir``; see the module docstring for the contract.

    ``engine``: a registry name (default: TruFor when weights resolve, else the weight-free
    default).  ``weights``/``device``/``precision`` and ``engine_options`` go to
    :func:`~trufor_desk.engines.registry.create_engine`.  ``progress`` is called after
    each input; an exception it raises (``KeyboardInterrupt`` included) ends the run with
    every finished row stored and the CSV rewritten.  Raises :class:`UserError` for
    problems that concern the whole run (no inputs, unknown engine, missing weights,
    folder locked).  ``c2pa_trust``: the :class:`~trufor_desk.evidence.provenance.TrustList`
    each file's Content Credentials are judged against (``c2pa_state`` column).
    """
    from trufor_desk.engines.registry import default_engine

    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if workers < 1:
        raise UserError(f"--workers must be at least 1, not {workers}")
    out = Path(os.path.abspath(os.path.expanduser(os.fspath(out_dir))))
    paths = [str(p) for p in collect_inputs(inputs, exclude=out)]
    name = engine or default_engine(weights)
    options: dict[str, Any] = {"weights": weights, "device": device, "precision": precision}
    options.update(engine_options or {})
    if backend == "ray":
        from .ray_backend import require_ray

        require_ray()
    job, local_engine = make_job(name, options, c2pa_trust)

    t0 = time.perf_counter()
    store = OutputStore(out)
    counts = {"ok": 0, "errors": 0, "skipped": 0, "analysed": 0, "expect_left": 0}
    try:
        items = [(i, p, store.done_sha256(p, job)) for i, p in enumerate(paths)]
        counts["expect_left"] = sum(1 for _, _, e in items if e)
        expected = {i: bool(e) for i, _, e in items}
        if backend == "ray":
            from .ray_backend import ray_outcomes

            ctx = ray_outcomes(job, items, workers=workers, address=ray_address,
                               cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker)
        else:
            ctx = local_outcomes(job, local_engine, items, workers)
        done = 0
        if progress is not None:  # at once, so a bar shows before the first (maybe slow) image
            progress(BatchProgress(done=0, total=len(items), ok=0, errors=0, skipped=0, elapsed=0.0, eta=None))
        with ctx as outcomes:
            for index, outcome in outcomes:
                if outcome["kind"] == "fatal":
                    raise UserError(outcome["message"])  # the engine is broken: every image would fail
                done += 1
                if expected[index]:
                    counts["expect_left"] -= 1
                row = None
                if outcome["kind"] == "skipped":
                    counts["skipped"] += 1
                    counts["ok"] += 1
                else:
                    row = store.commit(outcome)
                    counts["analysed"] += 1
                    counts["ok" if row["status"] == "ok" else "errors"] += 1
                if progress is not None:
                    elapsed = time.perf_counter() - t0
                    eta = None
                    if counts["analysed"]:
                        todo = len(items) - done - counts["expect_left"]
                        eta = elapsed / counts["analysed"] * max(todo, 0)
                    progress(BatchProgress(done=done, total=len(items), ok=counts["ok"],
                                           errors=counts["errors"], skipped=counts["skipped"],
                                           elapsed=elapsed, eta=eta, path=paths[index], row=row))
    finally:
        store.close(paths)
    errors = [store.latest[p] for p in paths if p in store.latest and store.latest[p]["status"] == "error"]
    return BatchSummary(total=len(paths), ok=counts["ok"], errors=counts["errors"], skipped=counts["skipped"],
                        seconds=time.perf_counter() - t0, out_dir=out, engine=name, backend=backend,
                        error_rows=errors)
