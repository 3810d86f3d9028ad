"""What every batch backend runs: the job (which engine, with which parameters) and the
:class:`Worker` that turns one path into a result row plus its ``.npz`` bytes.

Shared by the local backend (in this process or a pool of spawned processes) and the Ray
backend (:mod:`trufor_desk.batch.ray_backend`), which is why it lives apart from
:mod:`trufor_desk.batch.runner`: the runner chooses a backend, each backend builds workers
from a :class:`JobSpec`, and neither has to import the other.  The driver alone writes files.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from trufor_desk.errors import EvidenceError, UserError, WeightsError

from .results import COLUMNS, compact_json

__all__ = ["JobSpec", "Worker", "engine_params", "engine_versions", "make_job", "run_params_json"]


# -- the engine's identity --------------------------------------------------------------
def engine_params(engine: Any) -> dict[str, Any]:
    """The settings that decide an engine's numbers, independent of any one image.

    Used as the ``params`` column and as half of the resume key.  TruFor's include the
    SHA-256 of its checkpoint, so other weights mean a fresh analysis.
    """
    if callable(getattr(engine, "params", None)):
        params = dict(engine.params())
    elif isinstance(getattr(engine, "DEFAULTS", None), dict):
        params = {**engine.DEFAULTS, **getattr(engine, "options", {})}
    else:
        params = dict(getattr(engine, "options", {}) or {})
    weights = getattr(engine, "weights_path", None)
    if weights is not None:
        from trufor_desk.hashing import sha256_file

        try:
            params["weights_sha256"] = sha256_file(weights)
        except OSError as exc:
            raise WeightsError(f"{weights}: cannot read the weights ({exc.strerror or exc})") from None
    return json.loads(compact_json(params))  # tuples -> lists, exactly what the row will hold


def engine_versions(engine: Any, result: Any = None) -> dict[str, str]:
    """What produced a row (``versions`` column): the engine's version, the library versions
    the result's provenance records (numpy, scipy, opencv, pillow, torch, python,
    trufor_desk, ...) and the device.  Without a result (an error row) the same keys come
    from this process's environment."""
    from trufor_desk.engines.base import provenance_versions, standard_provenance

    if result is not None:
        prov = result.provenance
    else:
        prov = standard_provenance(None, device=str(getattr(engine, "device", None) or "cpu"))
    v = {"engine": str(getattr(engine, "version", "")), **provenance_versions(prov)}
    if prov.get("device"):
        v["device"] = str(prov["device"])
    return v


@dataclass(frozen=True)
class JobSpec:
    """Everything a worker needs to rebuild the driver's engine (picklable, small)."""

    engine: str
    options: dict[str, Any]
    params_json: str
    engine_version: str
    # the Content Credentials trust list (a frozen TrustList: its PEM text travels to every worker)
    c2pa_trust: Any = None
    # parameters passed to every ``analyze`` call (None: the engine's defaults); part of params_json
    params: dict[str, Any] | None = None

    @property
    def c2pa_trust_sha256(self) -> str:
        return self.c2pa_trust.sha256 if self.c2pa_trust is not None else ""


def run_params_json(engine: Any, params: dict[str, Any] | None = None) -> str:
    """The ``params`` column of a run: :func:`engine_params` with the per-analysis ``params``
    applied (checked by the engine's own resolver, so an unknown name is one error line)."""
    values = engine_params(engine)
    if params:
        defaults = getattr(engine, "DEFAULTS", None)
        if isinstance(defaults, dict):
            from trufor_desk.engines.base import resolve_params

            resolve_params(str(getattr(engine, "name", "")), defaults, params)
        values.update(json.loads(compact_json(params)))
    return compact_json(values)


def make_job(engine_name: str, options: dict[str, Any], c2pa_trust: Any = None,
             params: dict[str, Any] | None = None) -> tuple[JobSpec, Any]:
    """Create the engine once in the driver: checks the name, device and weights early
    (one error line instead of one per image) and fixes the parameters of the run
    (``params``: passed to every ``analyze`` call, e.g. the fast pass of ``--triage``)."""
    from trufor_desk.engines.registry import create_engine

    engine = create_engine(engine_name, **options)
    job = JobSpec(engine=engine_name, options=dict(options), params_json=run_params_json(engine, params),
                  engine_version=str(getattr(engine, "version", "")), c2pa_trust=c2pa_trust,
                  params=dict(params) if params else None)
    return job, engine


# -- one image --------------------------------------------------------------------------
def _one_line(text: object) -> str:
    return " ".join(str(text).split()) or "unknown error"


class Worker:
    """One engine, created once, analysing one path at a time.

    :meth:`process` never raises for a bad image: it returns an outcome dict with
    ``kind`` ``"row"`` (``row`` and, when ok, ``npz`` bytes), ``"skipped"`` (the file
    still has the SHA-256 of its finished result) or ``"fatal"`` (the engine itself is
    broken, e.g. weights that cannot be loaded; ``message`` says why).
    """

    def __init__(self, job: JobSpec, engine: Any = None, threads: int | None = None):
        self.job = job
        self.fatal: str | None = None
        self.engine = engine
        if threads:
            _limit_threads(threads)
        limit_malloc_arenas()
        try:
            if self.engine is None:
                from trufor_desk.engines.registry import create_engine

                self.engine = create_engine(job.engine, **job.options)
                mine = run_params_json(self.engine, job.params)
                if mine != job.params_json:
                    self.fatal = (f"this worker's {job.engine} engine differs from the driver's "
                                  f"(parameters {mine} != {job.params_json}); install the same weights "
                                  "and version on every node")
            self.versions_json = compact_json(engine_versions(self.engine))
        except UserError as exc:
            self.fatal = _one_line(exc)
        except Exception as exc:  # noqa: BLE001 - reported to the driver, which stops
            self.fatal = _one_line(f"cannot create the {job.engine} engine: {type(exc).__name__}: {exc}")

    def _row(self, path: str, **values: Any) -> dict:
        row = {c: None for c in COLUMNS}
        row.update(path=path, sha256="", engine=self.job.engine, params=self.job.params_json,
                   error="", versions=getattr(self, "versions_json", "{}"))
        row.update(values)
        return row

    def process(self, path: str, expect_sha256: str = "") -> dict:
        if self.fatal is not None:
            return {"kind": "fatal", "message": self.fatal}
        from trufor_desk.evidence import open_evidence
        from trufor_desk.hashing import sha256_file

        t0 = time.perf_counter()
        if expect_sha256:
            try:
                if sha256_file(path) == expect_sha256:
                    return {"kind": "skipped"}
            except OSError:
                pass  # open_evidence below reports the problem as a row

        def error(message: str, **values: Any) -> dict:
            return {"kind": "row", "row": self._row(path, status="error", error=_one_line(message),
                                                     seconds=round(time.perf_counter() - t0, 3), **values)}

        try:
            ev = open_evidence(path)
        except EvidenceError as exc:
            try:
                sha = sha256_file(path)
            except OSError:
                sha = ""
            return error(str(exc), sha256=sha)
        except MemoryError:
            return error(f"{path}: not enough memory to open this image")
        from trufor_desk.verdict.decision import verdict_for_result

        from .stored import stored_npz

        known = {"sha256": ev.sha256, "width": ev.width, "height": ev.height,
                 "c2pa_state": _c2pa_state(ev, self.job.c2pa_trust), "c2pa_trust_sha256": self.job.c2pa_trust_sha256}
        try:
            result = (self.engine.analyze(ev, params=self.job.params) if self.job.params
                      else self.engine.analyze(ev))
            verdict = verdict_for_result(result)
            data, _ = stored_npz(result, verdict)
        except WeightsError as exc:
            return {"kind": "fatal", "message": _one_line(exc)}
        except UserError as exc:
            return error(str(exc), **known)
        except MemoryError:
            return error(f"{path}: not enough memory to analyse this {ev.width}x{ev.height} image", **known)
        except Exception as exc:  # noqa: BLE001 - an engine failure on one image is that image's row
            return error(f"{path}: {self.job.engine} failed: {type(exc).__name__}: {exc}", **known)
        score = None if result.score is None else round(float(result.score), 6)
        row = self._row(path, status="ok", score=score, seconds=round(time.perf_counter() - t0, 3),
                        versions=compact_json(engine_versions(self.engine, result)),
                        verdict=verdict.category, **known)
        return {"kind": "row", "row": row, "npz": data}


def _c2pa_state(ev: Any, trust: Any) -> str:
    """The Content Credentials state of the evidence (``c2pa_state`` column), read offline."""
    from trufor_desk.evidence.provenance import read_content_credentials

    rec = read_content_credentials(ev.raw, trust)
    return rec.state + ("+ai" if rec.ai_declared else "")


MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas in the process that runs a worker (a worker process, or the calling
    process for a batch run in-process; Linux with glibc; elsewhere nothing happens).

    glibc gives threads arenas of their own, up to eight per core, and memory freed in one is
    not returned to the system while a neighbour in it lives: a worker that analyses image after
    image in threads (the fusion's detectors, a Ray actor's own threads) fragments them.  Measured
    with ``benchmarks/bench_batch.py --large 20`` (12 MP fusion, 2 workers): a Ray worker's private
    memory grew to 3.08 GB over ten images, and stayed at 1.60 GB with two arenas (peak RSS 3.58 ->
    2.05 GB, throughput 862 -> 911 images/h); a local worker's 1.50 GB became 1.37 GB.  The results do
    not change: only where freed memory goes.  True when the cap was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):  # not glibc (musl, ...): its allocator is left alone
        return False


def _limit_threads(n: int) -> None:
    """Share the machine between workers: each uses ``n`` threads (set before torch loads)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        import cv2

        cv2.setNumThreads(n)
    except ImportError:  # pragma: no cover
        pass
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(n)
