"""``weights status``: which checkpoint would be used and whether it is the official release
(hashed afresh every time, the install record shown only when it matches the bytes)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from trufor_desk.errors import WeightsError
from trufor_desk.hashing import sha256_file

from .resolve import (
    OFFICIAL_CKPT_SHA256,
    SIDECAR_NAME,
    STATE_NOT_INSTALLED,
    STATE_UNVERIFIED,
    STATE_VERIFIED,
    installed_dir,
    resolve_weights,
)


def _read_record(folder: Path, sha: str) -> dict[str, Any] | None:
    """The install record, if there is one and it describes these exact bytes."""
    try:
        with open(folder / SIDECAR_NAME, encoding="utf-8") as fh:
            record = json.load(fh)
    except (OSError, ValueError):
        return None
    if isinstance(record, dict) and record.get("sha256") == sha:
        return record
    return None


def weights_status(cli_path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Which checkpoint would be used, and is it the official release?

    Hashes the whole file every time (about a second for 275 MB) rather than trusting
    the install record, because the file may have been replaced or damaged since.
    Keys: ``path``, ``source``, ``exists``, ``size``, ``sha256``, ``verified``,
    ``state``, ``official_sha256``, ``installed_dir`` and, for an installed copy whose
    record matches, ``record`` (the ``trufor.json`` contents).
    """
    path, source = resolve_weights(cli_path)
    status: dict[str, Any] = {
        "path": str(path) if path is not None else None,
        "source": source,
        "exists": False,
        "size": None,
        "sha256": None,
        "verified": False,
        "state": STATE_NOT_INSTALLED,
        "official_sha256": OFFICIAL_CKPT_SHA256,
        "installed_dir": str(installed_dir()),
    }
    if path is None:
        return status
    try:
        size = path.stat().st_size
        sha = sha256_file(path)
    except OSError as exc:
        raise WeightsError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    verified = sha == OFFICIAL_CKPT_SHA256
    status.update(
        exists=True,
        size=size,
        sha256=sha,
        verified=verified,
        state=STATE_VERIFIED if verified else STATE_UNVERIFIED,
    )
    if source == "installed":
        record = _read_record(path.parent, sha)
        if record is not None:
            status["record"] = record
    return status
