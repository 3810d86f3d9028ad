"""The one-image case of ``report IMAGE``, and telling a case file from an image by its content.

Both are case-model decisions, used by the command line (``cli/report.py``, ``cli/case.py``)
and open to any other front end.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from .audit import fixed_clock
from .canonical import canonical_json
from .model import Case

NO_EXAMINER = "not stated"


def is_case_file(path: str | os.PathLike) -> bool:
    """True for a zip holding case.json (decided by content, not the extension)."""
    try:
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as zf:
            return "case.json" in zf.namelist()
    except OSError:
        return False


def implicit_case(ev, result, when: datetime, examiner: str | None = None, c2pa_trust=None) -> Case:
    """A one-image case: id from the image SHA-256 and the parameters, every timestamp
    ``when`` and no timings, so the same image and arguments give the same case and the
    same report bytes."""
    result = replace(result, timings={})  # timings differ between runs; the report never prints them
    key = {"image_sha256": ev.sha256, "engine": result.engine, "engine_version": result.engine_version,
           "params": result.params, "weights_sha256": result.provenance.get("weights_sha256") or "",
           "device": result.provenance.get("device") or "", "rect": None}
    case_id = "IMG-" + hashlib.sha256(canonical_json(json.loads(json.dumps(key, default=str)))).hexdigest()[:16]
    case = Case(case_id, examiner or NO_EXAMINER, title=f"Examination of {Path(ev.path).name}",
                clock=fixed_clock(when))
    ref = case.add_evidence(ev, c2pa_trust=c2pa_trust)
    case.add_analysis(ref.id, result)
    return case
