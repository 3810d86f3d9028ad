"""Installing a checkpoint into the per-user folder: from the release zip or a bare
``.pth.tar``, checking the published hashes and that the file loads, never modifying the
source and writing the destination atomically (with a ``trufor.json`` record beside it).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from trufor_desk.atomic import atomic_open, fsync_dir
from trufor_desk.errors import NotOfficialWeights, WeightsError
from trufor_desk.hashing import file_digests

from .load import _load
from .resolve import (
    CHECKPOINT_NAME,
    OFFICIAL_CKPT_SHA256,
    OFFICIAL_ZIP_MD5,
    OFFICIAL_ZIP_SHA256,
    SIDECAR_NAME,
    ZIP_MEMBER,
    _one_line,
    installed_dir,
)

_CHUNK = 1 << 20


def _copy_hashing(src: BinaryIO, dst: BinaryIO, algorithms: tuple[str, ...]) -> tuple[dict[str, str], int]:
    """Copy a stream while hashing it, so a large checkpoint is read only once."""
    hashers = {name: hashlib.new(name) for name in algorithms}
    size = 0
    while True:
        block = src.read(_CHUNK)
        if not block:
            break
        dst.write(block)
        size += len(block)
        for h in hashers.values():
            h.update(block)
    return {name: h.hexdigest() for name, h in hashers.items()}, size


def _temp_in(folder: Path, suffix: str) -> Path:
    """A fresh temp file next to the destination, so ``os.replace`` is an atomic rename."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=".trufor-", suffix=suffix)
    os.close(fd)
    return Path(name)


def _unlink_quietly(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError:  # pragma: no cover - e.g. still mapped on Windows
        pass


def _write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    with atomic_open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")


def _mismatch(what: str, got: str, expected: str) -> str:
    return f"{what} is {got}, expected {expected}"


def _zip_problems(digests: Mapping[str, str], expected_md5: str, expected_sha256: str,
                  prefix: str = "") -> list[str]:
    """Mismatches of a release zip's MD5 / SHA-256 against the published values."""
    problems = []
    if digests["md5"] != expected_md5.lower():
        problems.append(_mismatch(f"{prefix}MD5", digests["md5"], expected_md5))
    if digests["sha256"] != expected_sha256.lower():
        problems.append(_mismatch(f"{prefix}SHA-256", digests["sha256"], expected_sha256))
    return problems


def _classify_source(src: Path, name: str) -> str:
    """``"release-zip"`` or ``"checkpoint"``, judged by content, not by file name.

    A torch zip-format checkpoint is itself a zip, so the release is recognised by its
    ``weights/trufor.pth.tar`` member and a checkpoint by torch's ``data.pkl`` record.
    """
    if not zipfile.is_zipfile(src):
        return "checkpoint"  # legacy format or garbage: the load check decides
    try:
        with zipfile.ZipFile(src) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise WeightsError(f"{name} is a corrupt zip archive ({_one_line(exc)})") from None
    if ZIP_MEMBER in names:
        return "release-zip"
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return "checkpoint"
    raise WeightsError(
        f"{name} is a zip archive without {ZIP_MEMBER}: expected the TruFor release "
        f"(TruFor_weights.zip) or the {CHECKPOINT_NAME} checkpoint"
    )


def _install(
    src: Path,
    *,
    expected_zip_sha256: str,
    expected_zip_md5: str,
    expected_ckpt_sha256: str,
    force: bool,
    dest_dir: str | os.PathLike[str] | None,
    source_label: str,
    zip_digests: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Shared body of :func:`install_weights` and :func:`download_weights`."""
    if not src.exists():
        raise WeightsError(f"file not found: {src}")
    if not src.is_file():
        raise WeightsError(f"not a file: {src}")
    name = source_label  # what messages call the source (a URL for downloads)
    kind = _classify_source(src, name)
    dest = Path(dest_dir) if dest_dir is not None else installed_dir()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"cannot create weights folder {dest}: {exc.strerror or exc}") from None

    problems: list[str] = []
    record: dict[str, Any] = {}
    if kind == "release-zip":
        digests = dict(zip_digests) if zip_digests else file_digests(src, ("md5", "sha256"))
        record["zip_md5"] = digests["md5"]
        record["zip_sha256"] = digests["sha256"]
        problems += _zip_problems(digests, expected_zip_md5, expected_zip_sha256, "zip ")
        if problems and not force:
            raise NotOfficialWeights(f"{name} is not the published TruFor release: " + "; ".join(problems))

    final = dest / CHECKPOINT_NAME
    tmp: Path | None = _temp_in(dest, ".part")
    try:
        try:
            with open(tmp, "wb") as out:
                if kind == "release-zip":
                    with zipfile.ZipFile(src) as zf, zf.open(ZIP_MEMBER) as member:
                        ckpt_digests, size = _copy_hashing(member, out, ("sha256",))
                else:
                    with open(src, "rb") as fh:
                        ckpt_digests, size = _copy_hashing(fh, out, ("sha256",))
                out.flush()
                os.fsync(out.fileno())
        except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
            # bad CRC / cut-off member, unsupported compression, encrypted member
            raise WeightsError(
                f"{name} is truncated or corrupt ({_one_line(exc)}); nothing installed"
            ) from None
        except OSError as exc:
            raise WeightsError(f"cannot copy {name} to {dest}: {exc.strerror or exc}") from None

        # Load first (safely): "not a checkpoint" explains a wrong file better than a
        # hash mismatch does, and a broken file is never installed, even with force.
        label = f"{name} ({ZIP_MEMBER})" if kind == "release-zip" else name
        state = _load(tmp, None, label)
        del state
        gc.collect()  # drop the memory map before renaming the file (needed on Windows)

        sha = ckpt_digests["sha256"]
        if sha != expected_ckpt_sha256.lower():
            problems.append(_mismatch("checkpoint SHA-256", sha, expected_ckpt_sha256))
            if not force:
                raise NotOfficialWeights(f"{name} does not contain the official TruFor checkpoint: "
                                         + "; ".join(problems))

        try:
            os.replace(tmp, final)
        except OSError as exc:
            raise WeightsError(
                f"cannot replace {final} (is it in use?): {exc.strerror or exc}"
            ) from None
        tmp = None
        fsync_dir(dest)
    finally:
        _unlink_quietly(tmp)

    record.update(
        {
            "path": str(final),
            "sha256": sha,
            "size": size,
            "source": source_label,
            "source_kind": kind,
            "expected_sha256": expected_ckpt_sha256.lower(),
            "verified": not problems,
            "mismatches": problems,
            "installed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )
    try:
        _write_json_atomic(dest / SIDECAR_NAME, record)
    except OSError as exc:
        raise WeightsError(
            f"installed {final} but could not write {SIDECAR_NAME}: {exc.strerror or exc}"
        ) from None
    return record


def install_weights(
    src: str | os.PathLike[str],
    *,
    expected_zip_sha256: str = OFFICIAL_ZIP_SHA256,
    expected_zip_md5: str = OFFICIAL_ZIP_MD5,
    expected_ckpt_sha256: str = OFFICIAL_CKPT_SHA256,
    force: bool = False,
    dest_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Install the release zip or a bare ``trufor.pth.tar`` into ``dest_dir``.

    ``dest_dir`` defaults to :func:`installed_dir`.  The checkpoint's SHA-256 (and, for
    the zip, its MD5 and SHA-256) must equal the expected values; a mismatch is refused
    unless ``force``, which installs it recorded as ``verified: False``.  The file must
    also load (safely) before it is installed.  The source is only read; the
    destination appears atomically (temp file, fsync, rename), followed by the
    ``trufor.json`` record, which is also returned.
    """
    src_path = Path(src).expanduser()
    return _install(
        src_path,
        expected_zip_sha256=expected_zip_sha256,
        expected_zip_md5=expected_zip_md5,
        expected_ckpt_sha256=expected_ckpt_sha256,
        force=force,
        dest_dir=dest_dir,
        source_label=str(src_path.resolve()) if src_path.exists() else str(src_path),
    )
