"""Reading a batch output folder back: its rows, and each stored analysis.

A batch folder holds ``results.jsonl`` (the journal, one JSON object per line, appended
as each image finishes), ``results.csv`` (the same rows, one per input file, rewritten
from the journal at the start and end of every run) and one ``.npz`` per analysed image,
named by :func:`npz_name` from the row's path and SHA-256 so that the row alone says where
its analysis is.  Nothing here imports Qt or torch: the CLI, the Ray driver, the GUI
triage view and scripts all read folders through these functions.
"""

from __future__ import annotations

import csv
import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from trufor_desk.atomic import atomic_open
from trufor_desk.engines.base import AnalysisResult
from trufor_desk.errors import UserError

COLUMNS: tuple[str, ...] = ("path", "sha256", "width", "height", "engine", "params", "score", "status",
                            "error", "seconds", "versions", "verdict", "c2pa_state", "c2pa_trust_sha256",
                            "analysis", "triage_score", "triage_verdict")
# ``verdict``: the category of :func:`trufor_desk.verdict.decision.verdict_for_result` at the
# default thresholds (indicated / inconclusive / no_indication / not_applicable); empty for
# error rows and for rows written before the column existed.
# ``c2pa_state``: the file's Content Credentials (:data:`trufor_desk.evidence.provenance.STATES`:
# none, valid, untrusted, invalid, unreadable, not_fetched, unavailable), with ``+ai`` when
# they declare AI generation; beside the verdict, never folded into it.  ``c2pa_trust_sha256``:
# the SHA-256 of the --c2pa-trust bundle it was judged against (empty: no trust list).
# ``analysis``: which pass of ``batch --triage`` wrote the row, :data:`FULL_ANALYSIS` or
# :data:`TRIAGE_ANALYSIS` (empty outside --triage: the row is then the engine's one analysis);
# ``triage_score`` / ``triage_verdict``: the fast pass's score and verdict, on both kinds of
# triage row (a triage-only row repeats its own ``score`` and ``verdict`` there), so the fast
# ranking can be read beside the full one.
FULL_ANALYSIS = "full"
TRIAGE_ANALYSIS = "triage (compression history only)"
JSONL_NAME = "results.jsonl"
CSV_NAME = "results.csv"
_STEM_MAX = 80


def compact_json(value: Any) -> str:
    """The one JSON spelling used for the params/versions columns (sorted, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def npz_name(path: str | os.PathLike, sha256: str) -> str:
    """``<stem>-<sha256[:12]>.npz``: files with the same name in different folders differ in
    content, hence in hash, so they never overwrite each other's results."""
    stem = Path(path).stem[:_STEM_MAX] or "image"
    return f"{stem}-{sha256[:12]}.npz"


def npz_path_for(out_dir: str | os.PathLike, row: dict) -> Path | None:
    """Where an ``ok`` row's analysis is stored; ``None`` for error rows."""
    if row.get("status") != "ok" or not row.get("sha256"):
        return None
    return Path(out_dir) / npz_name(row["path"], row["sha256"])


# -- rows -------------------------------------------------------------------------------
def _typed(row: dict) -> dict:
    """A row with its columns as Python values (CSV gives strings, JSON gives nulls)."""
    out: dict[str, Any] = {}
    for col in COLUMNS:
        v = row.get(col)
        if v == "" and col not in ("error", "sha256", "path", "engine", "status"):
            v = None
        if col in ("width", "height") and v is not None:
            v = int(v)
        elif col in ("score", "seconds", "triage_score") and v is not None:
            v = float(v)
        elif col in ("params", "versions") and not isinstance(v, str):
            v = compact_json(v if v is not None else {})
        elif col in ("path", "sha256", "engine", "status", "error"):
            v = "" if v is None else str(v)
        out[col] = v
    return out


def iter_jsonl(path: Path) -> Iterable[dict]:
    """Rows of a journal; a torn or garbled line (an interrupted write) is skipped."""
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    with fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict) and obj.get("path") and obj.get("status") in ("ok", "error"):
                yield _typed(obj)


def latest_rows(rows: Iterable[dict]) -> dict[str, dict]:
    """The last row of each path, in order of each path's first appearance."""
    latest: dict[str, dict] = {}
    for row in rows:
        latest[row["path"]] = row
    return latest


def read_results(out_dir: str | os.PathLike) -> list[dict]:
    """One row per input file of a batch folder, each with the :data:`COLUMNS` as Python
    values (``score``/``width``/``height``/``seconds`` may be ``None``) plus ``"npz"``: the
    absolute path of the stored analysis, or ``None`` for error rows or a missing file.

    The journal is the source of truth; a folder with only ``results.csv`` (copied
    without its journal) is read from the CSV.
    """
    out_dir = Path(out_dir)
    jsonl, csv_path = out_dir / JSONL_NAME, out_dir / CSV_NAME
    if jsonl.is_file():
        rows = list(latest_rows(iter_jsonl(jsonl)).values())
    elif csv_path.is_file():
        with open(csv_path, newline="", encoding="utf-8") as fh:
            rows = list(latest_rows(_typed(r) for r in csv.DictReader(fh) if r.get("path")).values())
    else:
        raise UserError(f"{out_dir}: not a batch output folder (no {JSONL_NAME} or {CSV_NAME})")
    for row in rows:
        p = npz_path_for(out_dir, row)
        row["npz"] = str(p.resolve()) if p is not None and p.is_file() else None
    return rows


def write_csv(path: Path, rows: Iterable[dict]) -> None:
    """Write rows with exactly :data:`COLUMNS` through a temporary file and a rename."""
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow(csv_cells(row))


def csv_cells(row: dict) -> dict:
    return {c: ("" if row.get(c) is None else row.get(c)) for c in COLUMNS}


# -- stored analyses --------------------------------------------------------------------
def load_result_npz(npz_path: str | os.PathLike) -> AnalysisResult:
    """Rebuild the :class:`AnalysisResult` a batch (or ``analyze``) stored, without pickle,
    through :meth:`AnalysisResult.from_npz_dict` (the reader case files use too).

    Any problem (missing, unreadable or inconsistent file) is one :class:`UserError` line.
    """
    p = Path(npz_path)
    try:
        with np.load(p, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise UserError(f"{p}: stored analysis not found") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{p}: not a readable analysis file ({str(exc).splitlines()[0] if str(exc) else exc})") \
            from None
    try:
        return AnalysisResult.from_npz_dict(data)
    except ValueError as exc:
        raise UserError(f"{p}: not a valid analysis file ({exc})") from None
