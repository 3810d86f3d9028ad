"""The one byte form every digest in a case is taken over, and the digests themselves.

Kept apart from the case model so that item modules (``comparison.py``) and the model can
both use them without importing each other.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np


def canonical_json(obj: Any) -> bytes:
    """The one byte form hashed everywhere: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sha256_json(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def arrays_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over (name, dtype, shape, bytes) of each array in name order.

    ``.npz`` bytes carry zip timestamps, so the arrays themselves are hashed instead.
    """
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        if a.dtype.kind == "U":  # unicode: hash the UTF-8 text, independent of the array width
            payload = "\x00".join(str(x) for x in a.ravel()).encode("utf-8")
            dtype = "str"
        else:
            payload = a.tobytes()
            dtype = a.dtype.str
        h.update(canonical_json([name, dtype, list(a.shape)]))
        h.update(hashlib.sha256(payload).digest())
    return h.hexdigest()


def plain(value: Any) -> Any:
    """numpy scalars/arrays and tuples -> JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
