"""The local backend: the workers in this process (``workers=1``) or in a pool of spawned
processes, each with its own engine and a share of the machine's threads.

Like :mod:`trufor_desk.batch.ray_backend`, it yields ``(index, outcome)`` pairs that the
runner stores; files already finished are recognised here, before any process starts.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from .jobs import JobSpec, Worker

__all__ = ["local_outcomes"]


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
def local_outcomes(job: JobSpec, engine: Any, items: list[tuple[int, str, str]],
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
