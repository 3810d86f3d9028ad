"""Deterministic ``.npz`` bytes: sorted members, fixed timestamps, no pickle.

``np.savez`` stamps each member with the current time, so the same arrays give other
bytes at every save.  Case files (``case/store.py``) and batch results
(``batch/stored.py``) both write through :func:`npz_bytes`; ``np.load(...,
allow_pickle=False)`` reads either.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def zip_info(name: str, compress: int, level: int | None = None) -> zipfile.ZipInfo:
    """A member with a fixed timestamp and permissions, compressed with ``compress`` at ``level``
    (None: zlib's default)."""
    zi = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    zi.compress_type = compress
    zi.external_attr = 0o644 << 16
    zi.create_system = 3
    if level is not None:
        # read by ZipFile.open(zinfo, "w"); Python 3.13 keeps this name as an alias of compress_level
        zi._compresslevel = level
    return zi


def npz_bytes(arrays: dict[str, np.ndarray], level: int | None = None) -> bytes:
    """The ``.npz`` of ``arrays``, members deflated at ``level`` (None: zlib's default, 6)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            with zf.open(zip_info(f"{name}.npy", zipfile.ZIP_DEFLATED, level), "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(arrays[name]), allow_pickle=False)
    return buf.getvalue()
