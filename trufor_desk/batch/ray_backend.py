"""``--backend ray``: the batch workers as Ray Data actors, on this machine or a cluster.

Each worker is one actor of :class:`RayAnalyser`, a callable class that builds the
engine once in its constructor (TruFor loads its model once per actor) and analyses
one image per call (``batch_size=1``: image sizes differ, nothing would be gained by
stacking them).  Actors return each row and the ``.npz`` bytes to the driver, which
writes the output folder exactly as the local backend does (same journal, CSV, file
names, resume rule), so the two backends are interchangeable on the same folder.

Ray is optional (``pip install "trufor-desk[cluster]"``) and imported only here, only
when this backend is chosen.

On this machine
---------------
Without an address, ``ray.init(num_cpus=WORKERS * CPUS_PER_WORKER)`` starts a private
Ray for the run and stops it afterwards::

    trufor-desk batch photos/ --out triage/ --backend ray --workers 4

On a cluster
------------
1. Install the same ``trufor-desk[cluster]`` version (and the same TruFor weights, if
   used) on the head node and every worker node, with a Ray version equal to the
   driver's.  Each worker checks that its engine parameters, including the SHA-256 of
   its checkpoint, equal the driver's, and the run stops with one error line if not.
2. Start the cluster: ``ray start --head --port=6379`` on the head node,
   ``ray start --address=HEAD_IP:6379`` on each worker node (or use a Ray cluster
   launcher / KubeRay).
3. The input images must be readable at the same path on every node (NFS, SMB or a
   parallel file system mounted identically); the output folder only has to be
   writable by the driver, which receives every result over Ray.
4. Run the driver on a node of the cluster (or anywhere that reaches it)::

       RAY_ADDRESS=HEAD_IP:6379 trufor-desk batch /mnt/evidence/case42 --out /mnt/triage/case42 \\
           --backend ray --workers 16 --cpus-per-worker 4
       # or: --ray-address HEAD_IP:6379; "auto" joins the cluster this node belongs to;
       # ray://HEAD_IP:10001 uses Ray Client from outside the cluster.

   TruFor on GPU nodes: ``--engine trufor --device cuda --gpus-per-worker 1``.
   Ctrl-C stops the run; rerunning the same command resumes where it stopped.
5. Token authentication (Ray 2.52 and later): Ray 2.59 turns it on by default for a
   local ``ray.init()``, and ``ray start --head`` turns it on whenever a token is available
   (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``).  Such a cluster
   refuses a driver without its token, and Ray then says only "Failed to connect".  The
   driver needs the same variables as the nodes (names from Ray's documentation,
   https://docs.ray.io/en/latest/ray-security/token-auth.html)::

       RAY_AUTH_MODE=token RAY_AUTH_TOKEN="$(cat token-file)" trufor-desk batch ... --backend ray
       # or RAY_AUTH_TOKEN_PATH=/path/to/token-file; or the token in ~/.ray/auth_token

   ``ray get-auth-token`` on the head node prints the token.  The refusal is recognised
   (:func:`auth_failure`) and becomes one error line that says this.

Ray logs through its own channels: its start-up and one ``core_worker.cc`` line about
restartable actors may appear on stderr; the batch's own messages stay as in the local
backend.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Iterator
from typing import Any

from trufor_desk.errors import UserError

from .jobs import JobSpec, Worker

INSTALL_HINT = ("the ray backend needs Ray, which is not installed: "
                "pip install \"trufor-desk[cluster]\" (or pip install \"ray[data]\")")
_MAX_BLOCKS = 1000


def require_ray():
    """The ``ray`` module with Ray Data, or a one-line :class:`UserError` saying how to get it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return ray


class RayAnalyser:
    """One Ray actor: one engine for its lifetime, one image per call."""

    def __init__(self, job: JobSpec, threads: int = 1):
        self.worker = Worker(job, threads=threads)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        indices, outcomes, blobs = [], [], []
        for index, path, expect in zip(batch["index"], batch["path"], batch["expect"], strict=True):
            outcome = self.worker.process(str(path), str(expect))
            blobs.append(outcome.pop("npz", b"") or b"")
            indices.append(int(index))
            outcomes.append(json.dumps(outcome))
        blob_arr = np.empty(len(blobs), dtype=object)
        blob_arr[:] = blobs
        return {"index": np.asarray(indices, dtype=np.int64), "outcome": np.asarray(outcomes, dtype=object),
                "npz": blob_arr}


def _decode(rows: Iterator[dict]) -> Iterator[tuple[int, dict]]:
    for r in rows:
        outcome = json.loads(r["outcome"])
        blob = r["npz"]
        if blob is not None and len(blob):
            outcome["npz"] = bytes(blob)
        yield int(r["index"]), outcome


_QUIET = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)


def init_local_ray(num_cpus: int) -> None:
    """Start a private Ray on this machine, quietly, whose workers import this very copy
    of trufor_desk (not another installed one) and cap glibc's malloc arenas: Ray's
    processes inherit the driver's environment at start-up, so PYTHONPATH and
    MALLOC_ARENA_MAX are set just for that moment (cheaper than a runtime_env, which Ray
    would build for every worker)."""
    import ray

    import trufor_desk
    from trufor_desk.batch.jobs import MALLOC_ARENAS

    here = os.path.dirname(os.path.dirname(os.path.abspath(trufor_desk.__file__)))
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "MALLOC_ARENA_MAX")}
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (here, saved["PYTHONPATH"]) if p)
    # glibc reads this when a process starts, before Ray's own threads take arenas of their own: a
    # worker fragments far less (jobs.limit_malloc_arenas says what was measured); a value already
    # set by the user is kept
    os.environ.setdefault("MALLOC_ARENA_MAX", str(MALLOC_ARENAS))
    try:
        ray.init(num_cpus=num_cpus, **_QUIET)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


TOKEN_AUTH_DOCS = "https://docs.ray.io/en/latest/ray-security/token-auth.html"

# What Ray (2.52+) says when token authentication refuses a driver, wherever it says it: the
# GCS answers "Unauthenticated: RPC error: InvalidAuthToken: Authentication token is missing
# or incorrect", wrapped in a RuntimeError whose ConnectionError says only "Failed to connect
# to Ray cluster at ..."; with RAY_AUTH_MODE=token but no token, ray.init raises
# ray.exceptions.AuthenticationError("Token authentication is enabled but no authentication
# token was found").
_AUTH_PATTERNS = re.compile(r"InvalidAuthToken|AuthenticationError|Unauthenticated|authentication token", re.I)


def auth_failure(exc: BaseException) -> bool:
    """True if ``exc``, or an exception it was raised from, is Ray refusing this driver for
    want of the cluster's authentication token."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if _AUTH_PATTERNS.search(type(e).__name__) or _AUTH_PATTERNS.search(str(e)):
            return True
        e = e.__cause__ or e.__context__
    return False


def auth_hint() -> str:
    """How to give this driver the cluster's token, in one line (after "cannot reach X: ")."""
    token_given = os.environ.get("RAY_AUTH_MODE", "").lower() == "token" and (
        os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"))
    if token_given:
        return ("it refused the authentication token given in RAY_AUTH_TOKEN/RAY_AUTH_TOKEN_PATH; use the "
                f"cluster's own token (`ray get-auth-token` on the head node prints it); see {TOKEN_AUTH_DOCS}")
    return ("it uses Ray token authentication and this driver sent no token: run the command with "
            "RAY_AUTH_MODE=token and RAY_AUTH_TOKEN=<token> (or RAY_AUTH_TOKEN_PATH=<file holding it>, "
            "or the token in ~/.ray/auth_token); `ray get-auth-token` on the head node prints it; "
            f"see {TOKEN_AUTH_DOCS}")


def _init_ray(ray, address: str | None, num_cpus: int) -> bool:
    """Join the given cluster, or start a private local Ray; True if we started one here."""
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    refused = (ConnectionError, ValueError, RuntimeError)
    auth_error = getattr(getattr(ray, "exceptions", None), "AuthenticationError", None)
    if isinstance(auth_error, type) and issubclass(auth_error, BaseException):
        refused += (auth_error,)
    try:
        if address:
            ray.init(address=address, **_QUIET)
        else:
            init_local_ray(num_cpus)
    except refused as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        if auth_failure(exc):
            raise UserError(f"cannot reach {where}: {auth_hint()}") from None
        msg = " ".join(str(exc).split())[:300]
        raise UserError(f"cannot start or reach {where}: {msg}") from None
    return True


@contextlib.contextmanager
def ray_session(address: str | None, workers: int = 1, cpus_per_worker: float | None = None) -> Iterator[None]:
    """Ray for a whole run, joined or started once (the two passes of ``--triage`` share it;
    :func:`ray_outcomes` inside it neither starts nor stops Ray)."""
    ray = require_ray()
    cpus = float(cpus_per_worker or 1)
    started = _init_ray(ray, address, num_cpus=max(1, int(round(workers * cpus))))
    try:
        yield
    finally:
        if started:
            with contextlib.suppress(Exception):
                ray.shutdown()


@contextlib.contextmanager
def ray_outcomes(job: JobSpec, items: list[tuple[int, str, str]], workers: int = 1, address: str | None = None,
                 cpus_per_worker: float | None = None,
                 gpus_per_worker: float = 0) -> Iterator[Iterator[tuple[int, dict]]]:
    """(index, outcome) pairs as the actors finish them, in completion order."""
    ray = require_ray()
    cpus = float(cpus_per_worker or 1)
    started = _init_ray(ray, address, num_cpus=max(1, int(round(workers * cpus))))
    try:
        from ray.data import DataContext

        logging.getLogger("ray.data").setLevel(logging.ERROR)  # the CLI reports progress itself
        ctx = DataContext.get_current()
        for attr in ("enable_progress_bars", "enable_operator_progress_bars", "print_on_execution_start"):
            if hasattr(ctx, attr):
                setattr(ctx, attr, False)
        records = [{"index": i, "path": p, "expect": e} for i, p, e in items]
        ds = ray.data.from_items(records, override_num_blocks=max(1, min(len(records), _MAX_BLOCKS)))
        kwargs: dict[str, Any] = dict(batch_size=1, batch_format="numpy", num_cpus=cpus,
                                      fn_constructor_kwargs={"job": job, "threads": max(1, int(cpus))})
        if gpus_per_worker:
            kwargs["num_gpus"] = float(gpus_per_worker)
        try:
            from ray.data import ActorPoolStrategy

            kwargs["compute"] = ActorPoolStrategy(size=workers)
        except ImportError:  # older Ray Data: a fixed-size actor pool is spelled concurrency=N
            kwargs["concurrency"] = workers
        ds = ds.map_batches(RayAnalyser, **kwargs)
        yield _decode(ds.iter_rows())
    finally:
        if started:
            with contextlib.suppress(Exception):
                ray.shutdown()
