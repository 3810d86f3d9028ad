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

The work itself happens in a :class:`~trufor_desk.batch.jobs.Worker`, which holds one engine (so TruFor loads its
model once per worker) and turns a path into a row plus the ``.npz`` bytes.  The driver
alone writes files, whichever backend runs the workers: in this process
(``workers=1``), in a pool of spawned processes (``workers>1``), or as Ray actors
(:mod:`trufor_desk.batch.ray_backend`).  One bad file is one error row, never the end of
the batch; only a broken engine (e.g. unreadable weights) stops it.

Nothing here imports Qt; torch is imported only by the engines that need it.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from trufor_desk.atomic import write_bytes_atomic
from trufor_desk.errors import UserError

from .jobs import JobSpec, Worker, make_job
from .results import (COLUMNS, CSV_NAME, JSONL_NAME, csv_cells, iter_jsonl, latest_rows,
                      npz_name, npz_path_for, write_csv)

__all__ = ["COLUMNS", "IMAGE_EXTENSIONS", "BatchProgress", "BatchSummary", "JobSpec", "Worker",
           "collect_inputs", "make_job", "run_batch"]

IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".bmp", ".dib", ".gif", ".webp",
    ".ppm", ".pgm", ".pbm", ".pnm", ".jp2", ".j2k", ".tga", ".heic", ".heif", ".avif",
})
BACKENDS = ("local", "ray")


# -- inputs -----------------------------------------------------------------------------
def is_image_name(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _same(a: Path, b: Path | None) -> bool:
    if b is None:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _walk(top: Path, exclude: Path | None) -> list[Path]:
    """Image files under ``top`` (recursively, symlinked folders not followed), sorted by
    their path relative to ``top``; the batch's own output folder is left out."""
    found: list[Path] = []
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not _same(Path(root, d), exclude)]
        found.extend(Path(root, f) for f in files if is_image_name(f))
    return sorted(found, key=lambda p: p.relative_to(top).parts)


def collect_inputs(inputs: Iterable[str | os.PathLike], exclude: str | os.PathLike | None = None) -> list[Path]:
    """Absolute paths of the files to analyse, in a deterministic order.

    A folder contributes every file with an image extension (case-insensitive) below it;
    a glob pattern (``*``, ``?``, ``[``; ``**`` recurses) contributes its matching image
    files and the images in matching folders; a path given explicitly is taken whatever
    its extension, and one that does not exist becomes an error row rather than stopping
    the batch.  Duplicates are dropped, first occurrence kept.  A pattern that matches
    nothing, or no files at all, is a :class:`UserError`.
    """
    excl = Path(exclude) if exclude is not None else None
    seen: set[str] = set()
    out: list[Path] = []
    for spec in inputs:
        spec = os.path.expanduser(os.fspath(spec))
        p = Path(spec)
        if p.is_dir():
            found = _walk(p, excl)
        elif p.exists() or not glob.has_magic(spec):
            found = [p]
        else:
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                raise UserError(f"{spec}: no files match this pattern")
            found = []
            for m in matches:
                mp = Path(m)
                if mp.is_dir():
                    found.extend(_walk(mp, excl))
                elif is_image_name(mp) and not (excl is not None and _same(mp.parent, excl)):
                    found.append(mp)
        for f in found:
            a = os.path.abspath(f)
            if a not in seen:
                seen.add(a)
                out.append(Path(a))
    if not out:
        raise UserError("no images found in: " + ", ".join(os.fspath(i) for i in inputs))
    return out


# -- the output folder --------------------------------------------------------------------
class OutputStore:
    """The journal, the CSV and the lock of one output folder."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
        if not out_dir.is_dir():
            raise UserError(f"{out_dir}: exists and is not a folder")
        self._lock = self._acquire_lock()
        try:
            for stale in out_dir.glob(".*.tmp"):  # left by a killed run; never visible as results
                with contextlib.suppress(OSError):
                    stale.unlink()
            self.jsonl = out_dir / JSONL_NAME
            self.csv = out_dir / CSV_NAME
            self._repair_journal()
            self.latest = latest_rows(iter_jsonl(self.jsonl))
            write_csv(self.csv, self.latest.values())
            self._jfh = open(self.jsonl, "a", encoding="utf-8")
            self._cfh = open(self.csv, "a", newline="", encoding="utf-8")
        except BaseException:
            self._release_lock()
            raise

    def _acquire_lock(self):
        fh = open(self.out_dir / ".batch.lock", "a+")
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            return fh
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise UserError(f"{self.out_dir}: another batch is writing to this folder") from None
        return fh

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the descriptor drops the flock
            self._lock = None

    def _repair_journal(self) -> None:
        """Cut a torn last line (a write interrupted mid-line) so appends start clean."""
        try:
            with open(self.jsonl, "rb+") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                if size == 0:
                    return
                fh.seek(size - 1)
                if fh.read(1) == b"\n":
                    return
                pos = size
                while pos > 0:
                    step = min(65536, pos)
                    fh.seek(pos - step)
                    chunk = fh.read(step)
                    i = chunk.rfind(b"\n")
                    if i >= 0:
                        fh.truncate(pos - step + i + 1)
                        return
                    pos -= step
                fh.truncate(0)
        except FileNotFoundError:
            pass

    def done_sha256(self, path: str, job: JobSpec) -> str:
        """The SHA-256 for which ``path`` already has a finished result under ``job``, or ''."""
        row = self.latest.get(path)
        if not row or row["status"] != "ok" or row["engine"] != job.engine or row["params"] != job.params_json:
            return ""
        try:
            if json.loads(row["versions"] or "{}").get("engine") != job.engine_version:
                return ""
        except (json.JSONDecodeError, AttributeError):
            return ""
        p = npz_path_for(self.out_dir, row)
        return row["sha256"] if p is not None and p.is_file() else ""

    def commit(self, outcome: dict) -> dict:
        """Store one finished image: the ``.npz`` first, then its row (journal, then CSV)."""
        row = outcome["row"]
        if row["status"] == "ok":
            target = self.out_dir / npz_name(row["path"], row["sha256"])
            try:
                write_bytes_atomic(target, outcome["npz"])
            except OSError as exc:
                row = {**row, "status": "error", "score": None,
                       "error": f"{target}: cannot write result ({exc.strerror or exc})"}
        self._jfh.write(json.dumps({c: row.get(c) for c in COLUMNS}, ensure_ascii=False) + "\n")
        self._jfh.flush()
        os.fsync(self._jfh.fileno())
        import csv

        csv.DictWriter(self._cfh, fieldnames=list(COLUMNS)).writerow(csv_cells(row))
        self._cfh.flush()
        self.latest[row["path"]] = row
        return row

    def close(self, order: Sequence[str]) -> None:
        """Rewrite the CSV deduplicated: this run's inputs in input order, then rows of
        earlier runs on other files in the order the journal first saw them."""
        try:
            for fh in (self._jfh, self._cfh):
                with contextlib.suppress(OSError):
                    fh.close()
            first = [self.latest[p] for p in order if p in self.latest]
            wanted = set(order)
            rest = [r for p, r in self.latest.items() if p not in wanted]
            write_csv(self.csv, first + rest)
        finally:
            self._release_lock()


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


# -- backends ---------------------------------------------------------------------------
_POOL_WORKER: Worker | None = None


def _pool_init(job: JobSpec, threads: int) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver handles Ctrl-C and ends the pool
    global _POOL_WORKER
    _POOL_WORKER = Worker(job, threads=threads)


def _pool_process(item: tuple[int, str, str]) -> tuple[int, dict]:
    index, path, expect = item
    assert _POOL_WORKER is not None
    return index, _POOL_WORKER.process(path, expect)


def _unchanged(path: str, expect_sha256: str) -> bool:
    from trufor_desk.hashing import sha256_file

    try:
        return sha256_file(path) == expect_sha256
    except OSError:
        return False


@contextlib.contextmanager
def _local_outcomes(job: JobSpec, engine: Any, items: list[tuple[int, str, str]],
                    workers: int) -> Iterator[Iterator[tuple[int, dict]]]:
    if workers <= 1 or len(items) <= 1:
        worker = Worker(job, engine=engine)
        yield ((i, worker.process(p, e)) for i, p, e in items)
        return
    import multiprocessing

    pools = []

    def outcomes() -> Iterator[tuple[int, dict]]:
        todo = []
        for i, p, e in items:  # finished files are recognised here: no process is started for them
            if e and _unchanged(p, e):
                yield i, {"kind": "skipped"}
            else:
                todo.append((i, p, ""))
        if not todo:
            return
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = max(1, cores // workers)
        pool = multiprocessing.get_context("spawn").Pool(min(workers, len(todo)), initializer=_pool_init,
                                                         initargs=(job, threads))
        pools.append(pool)
        yield from pool.imap_unordered(_pool_process, todo, chunksize=1)
        pool.close()

    try:
        yield outcomes()
    finally:
        for pool in pools:  # on Ctrl-C or a fatal error: workers hold nothing the driver has not written
            pool.terminate()
            pool.join()


# -- the run ----------------------------------------------------------------------------
def run_batch(inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike, engine: str | None = None, *,
              weights: str | None = None, device: str = "auto", precision: str = "fp32",
              engine_options: dict[str, Any] | None = None, backend: str = "local", workers: int = 1,
              ray_address: str | None = None, cpus_per_worker: float | None = None,
              gpus_per_worker: float = 0, progress: ProgressCallback | None = None) -> BatchSummary:
    """Analyse every input into ``out_dir``; see the module docstring for the contract.

    ``engine``: a registry name (default: TruFor when weights resolve, else the weight-free
    default).  ``weights``/``device``/``precision`` and ``engine_options`` go to
    :func:`~trufor_desk.engines.registry.create_engine`.  ``progress`` is called after
    each input; an exception it raises (``KeyboardInterrupt`` included) ends the run with
    every finished row stored and the CSV rewritten.  Raises :class:`UserError` for
    problems that concern the whole run (no inputs, unknown engine, missing weights,
    folder locked).
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
    job, local_engine = make_job(name, options)

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
            ctx = _local_outcomes(job, local_engine, items, workers)
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
