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

With ``triage=True`` the run has two passes over the same store and backend: a fast one on
every image, then the full analysis on those it selects (:mod:`~trufor_desk.batch.triage`).

Nothing here imports Qt; torch is imported only by the engines that need it.
"""

from __future__ import annotations

import contextlib
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
from .results import COLUMNS, CSV_NAME, FULL_ANALYSIS, TRIAGE_ANALYSIS
from .store import OutputStore
from .triage import DEFAULT_TOP, FAST_ENGINE, FAST_PARAMS, FULL_ENGINE, PROMOTE_VERDICTS, TriageCounts, select_for_full

__all__ = ["COLUMNS", "IMAGE_EXTENSIONS", "BatchProgress", "BatchSummary", "JobSpec", "Worker",
           "collect_inputs", "make_job", "run_batch"]

BACKENDS = ("local", "ray")


# -- progress and summary ---------------------------------------------------------------
@dataclass
class BatchProgress:
    """Reported once at the start of a pass (``done=0``) and after every finished input:
    ``done`` of ``total`` (skips included).  ``stage``: "" for a plain run; "triage" (the
    fast pass, every input) then "full" (the selected inputs only) with ``triage=True``."""

    done: int
    total: int
    ok: int
    errors: int
    skipped: int
    elapsed: float
    eta: float | None          # seconds still to go in this pass, None until one image was analysed
    path: str = ""
    row: dict | None = None    # the row just written; None for a skipped file
    stage: str = ""


@dataclass
class BatchSummary:
    total: int
    ok: int
    errors: int
    skipped: int               # inputs nothing was analysed for in this run (already done)
    seconds: float
    out_dir: Path
    engine: str
    backend: str
    error_rows: list[dict] = field(default_factory=list)
    triage: TriageCounts | None = None

    @property
    def analysed(self) -> int:
        return self.total - self.skipped

    def line(self) -> str:
        rate = f", {self.analysed / self.seconds:.2f} images/s" if self.analysed and self.seconds > 0 else ""
        triage = f"; {self.triage.line()}" if self.triage is not None else ""
        return (f"{self.total} files: {self.ok} ok, {self.errors} error{'s' if self.errors != 1 else ''}, "
                f"{self.skipped} skipped (already done) in {self.seconds:.1f} s{rate}{triage} -> "
                f"{self.out_dir / CSV_NAME}")


ProgressCallback = Callable[[BatchProgress], None]


# -- the run ----------------------------------------------------------------------------
def run_batch(inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike, engine: str | None = None, *,
              weights: str | None = None, device: str = "auto", precision: str = "fp32",
              engine_options: dict[str, Any] | None = None, backend: str = "local", workers: int = 1,
              ray_address: str | None = None, cpus_per_worker: float | None = None,
              gpus_per_worker: float = 0, progress: ProgressCallback | None = None,
              c2pa_trust: Any = None, triage: bool = False, triage_top: float = DEFAULT_TOP,
              triage_promote: Iterable[str] = PROMOTE_VERDICTS) -> BatchSummary:
    """Analyse every input into ``out_dir``; see the module docstring for the contract.

    ``engine``: a registry name (default: TruFor when weights resolve, else the weight-free
    default; with ``triage``: the full pass's engine, default fusion).  ``weights``/``device``/
    ``precision`` and ``engine_options`` go to
    :func:`~trufor_desk.engines.registry.create_engine`.  ``progress`` is called after
    each input; an exception it raises (``KeyboardInterrupt`` included) ends the run with
    every finished row stored and the CSV rewritten.  Raises :class:`UserError` for
    problems that concern the whole run (no inputs, unknown engine, missing weights,
    folder locked).  ``c2pa_trust``: the :class:`~trufor_desk.evidence.provenance.TrustList`
    each file's Content Credentials are judged against (``c2pa_state`` column).
    ``triage``: the fast pass on every image, the full analysis only on those whose fast
    verdict is in ``triage_promote``, that have no fast score, or whose fast score is in the
    top ``triage_top`` fraction (:mod:`~trufor_desk.batch.triage`).
    """
    from trufor_desk.engines.registry import default_engine

    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if workers < 1:
        raise UserError(f"--workers must be at least 1, not {workers}")
    if triage and not 0.0 <= float(triage_top) <= 1.0:
        raise UserError(f"--triage-top must be a fraction between 0 and 1, not {triage_top}")
    out = Path(os.path.abspath(os.path.expanduser(os.fspath(out_dir))))
    paths = [str(p) for p in collect_inputs(inputs, exclude=out)]
    name = engine or (FULL_ENGINE if triage else default_engine(weights))
    options: dict[str, Any] = {"weights": weights, "device": device, "precision": precision}
    options.update(engine_options or {})
    if backend == "ray":
        from .ray_backend import require_ray

        require_ray()
    job, local_engine = make_job(name, options, c2pa_trust)
    fast = make_job(FAST_ENGINE, options, c2pa_trust, params=FAST_PARAMS) if triage else None

    t0 = time.perf_counter()
    store = OutputStore(out)
    counts = None
    analysed: set[int] = set()
    try:
        if backend == "ray":
            from .ray_backend import ray_session

            session = ray_session(ray_address, workers=workers, cpus_per_worker=cpus_per_worker)
        else:
            session = contextlib.nullcontext()
        run = _Passes(store, paths, backend, workers, progress, t0,
                      dict(address=ray_address, cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker))
        with session:
            if fast is None:
                items = [(i, p, store.done_sha256(p, job)) for i, p in enumerate(paths)]
                analysed = run.run(job, local_engine, items)
            else:
                counts = TriageCounts(top_fraction=float(triage_top))
                analysed = _triage(run, (job, local_engine), fast, counts, float(triage_top), triage_promote)
    finally:
        store.close(paths)
    latest = [store.latest[p] for p in paths if p in store.latest]
    errors = [r for r in latest if r["status"] == "error"]
    return BatchSummary(total=len(paths), ok=sum(1 for r in latest if r["status"] == "ok"), errors=len(errors),
                        skipped=len(paths) - len(analysed), seconds=time.perf_counter() - t0, out_dir=out,
                        engine=name, backend=backend, error_rows=errors, triage=counts)


def _triage(run: _Passes, full: tuple[JobSpec, Any], fast: tuple[JobSpec, Any], counts: TriageCounts,
            top: float, promote: Iterable[str]) -> set[int]:
    """The two passes of ``--triage`` (see :mod:`~trufor_desk.batch.triage`); the indices analysed."""
    store, paths = run.store, run.paths
    full_job, fast_job = full[0], fast[0]

    def fast_row(index: int, row: dict) -> dict:
        return {**row, "analysis": TRIAGE_ANALYSIS, "triage_score": row.get("score"),
                "triage_verdict": row.get("verdict")}

    # pass 1: every image not already fully analysed (a finished full row skips it; so does a fast one)
    items = [(i, p, store.done_sha256(p, full_job) or store.done_sha256(p, fast_job)) for i, p in enumerate(paths)]
    t = time.perf_counter()
    first = run.run(*fast, items, stage="triage", decorate=fast_row)
    counts.fast_seconds = time.perf_counter() - t
    counts.fast_analysed = len(first)

    done_full: set[int] = set()
    candidates = []
    for i, p in enumerate(paths):
        row = store.latest.get(p)
        if row is None or row["status"] != "ok":
            continue  # an error row: retried on the next run, like any batch error
        if store.done_sha256(p, full_job):
            done_full.add(i)
            if row.get("triage_score") is not None or row.get("triage_verdict"):
                candidates.append((i, row.get("triage_score"), row.get("triage_verdict")))
        elif store.done_sha256(p, fast_job):
            candidates.append((i, row["score"], row["verdict"]))
    chosen, counts.scored, counts.top = select_for_full(candidates, top, promote)
    counts.candidates = len(candidates)
    counts.by_verdict = sum(1 for r in chosen.values() if r == "verdict")
    counts.by_rank = len(chosen) - counts.by_verdict
    counts.already_full = len(done_full)
    fast_reading = {i: (s, v) for i, s, v in candidates}

    def full_row(index: int, row: dict) -> dict:
        score, verdict = fast_reading[index]
        return {**row, "analysis": FULL_ANALYSIS, "triage_score": score, "triage_verdict": verdict}

    # pass 2: the selected images still without their full analysis
    items = [(i, paths[i], "") for i in sorted(chosen) if i not in done_full]
    t = time.perf_counter()
    second = run.run(*full, items, stage="full", decorate=full_row)
    counts.full_seconds = time.perf_counter() - t
    counts.full_analysed = len(second)
    return first | second


class _Passes:
    """One pass of workers over some inputs, into the run's store, with progress."""

    def __init__(self, store: OutputStore, paths: list[str], backend: str, workers: int,
                 progress: ProgressCallback | None, t0: float, ray_kw: dict[str, Any]):
        self.store, self.paths, self.backend, self.workers = store, paths, backend, workers
        self.progress, self.t0, self.ray_kw = progress, t0, ray_kw

    def run(self, job: JobSpec, local_engine: Any, items: list[tuple[int, str, str]], stage: str = "",
            decorate: Callable[[int, dict], dict] | None = None) -> set[int]:
        """Analyse ``items`` (index, path, SHA-256 of a finished result or ''); the indices analysed."""
        progress, paths = self.progress, self.paths
        counts = {"ok": 0, "errors": 0, "skipped": 0, "expect_left": sum(1 for _, _, e in items if e)}
        expected = {i: bool(e) for i, _, e in items}
        analysed: set[int] = set()
        t0 = time.perf_counter()
        if progress is not None:  # at once, so a bar shows before the first (maybe slow) image
            progress(BatchProgress(done=0, total=len(items), ok=0, errors=0, skipped=0, elapsed=0.0, eta=None,
                                   stage=stage))
        if not items:
            return analysed
        if self.backend == "ray":
            from .ray_backend import ray_outcomes

            ctx = ray_outcomes(job, items, workers=self.workers, **self.ray_kw)
        else:
            ctx = local_outcomes(job, local_engine, items, self.workers)
        done = 0
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
                    if decorate is not None:
                        outcome = {**outcome, "row": decorate(index, outcome["row"])}
                    row = self.store.commit(outcome)
                    analysed.add(index)
                    counts["ok" if row["status"] == "ok" else "errors"] += 1
                if progress is not None:
                    elapsed = time.perf_counter() - t0
                    eta = None
                    if analysed:
                        todo = len(items) - done - counts["expect_left"]
                        eta = elapsed / len(analysed) * max(todo, 0)
                    progress(BatchProgress(done=done, total=len(items), ok=counts["ok"],
                                           errors=counts["errors"], skipped=counts["skipped"],
                                           elapsed=elapsed, eta=eta, path=paths[index], row=row, stage=stage))
        return analysed
