"""The output folder of a batch run: its lock, the journal (``results.jsonl``, appended and
fsynced per image) and ``results.csv``; the resume rule reads the journal back.

Only the driver writes here, whichever backend produced the outcomes.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from trufor_desk.atomic import write_bytes_atomic
from trufor_desk.errors import UserError

from .jobs import JobSpec
from .results import (
    COLUMNS,
    CSV_NAME,
    JSONL_NAME,
    csv_cells,
    iter_jsonl,
    latest_rows,
    npz_name,
    npz_path_for,
    write_csv,
)

__all__ = ["OutputStore"]


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
        if (row.get("c2pa_trust_sha256") or "") != job.c2pa_trust_sha256:
            return ""  # Content Credentials judged against another trust list: judge them again
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
