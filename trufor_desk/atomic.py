"""Atomic writes for user data (results, cases, reports, CSVs, installed weights).

A file is written to a temporary name in the destination folder, flushed and fsynced,
then renamed over the destination with :func:`os.replace`, and the folder is fsynced so
the rename survives a crash.  A reader sees the old file or the new one, never half of
one; a failure leaves the old file untouched and no temporary file behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename in ``folder`` durable (POSIX; folders cannot be opened on Windows)."""
    if os.name != "posix":  # pragma: no cover - Windows
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - exotic file systems
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **kwargs) -> Iterator[IO]:
    """``with atomic_open(p, "w", encoding="utf-8") as fh: ...`` replaces ``p`` on success."""
    if "w" not in mode:
        raise ValueError("atomic_open is for writing")
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        if tmp.exists():
            _unlink_quietly(tmp)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def save_npz_atomic(path: str | os.PathLike, arrays: dict) -> None:
    """An ``.npz`` (uncompressed, pickle-free arrays) written atomically."""
    import numpy as np

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)


def output_target(path: str | os.PathLike, evidence_paths, what: str) -> Path:
    """Resolve an output file name; refuse a folder and never an evidence file."""
    from trufor_desk.errors import UserError

    target = Path(path).resolve()
    if target.is_dir():
        raise UserError(f"{path}: is a folder; give a {what} file name")
    for ev in evidence_paths:
        try:
            if target.exists() and Path(ev).exists() and os.path.samefile(target, ev):
                raise UserError(f"refusing to overwrite the evidence file {ev}")
        except OSError:
            pass
    return target
