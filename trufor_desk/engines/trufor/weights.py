"""Finding, checking, installing and downloading the TruFor checkpoint.

The trained TruFor weights are not ours to ship (GRIP-UNINA licence: non-profit use
only), so the user brings them: either by naming a file (``--weights``, env
``TRUFOR_WEIGHTS``) or by installing the official release once into the per-user data
folder.  Everything here treats the checkpoint as untrusted input:

* it is only ever unpickled with ``torch.load(weights_only=True)``; the only extra
  globals allowed are the NumPy scalar/dtype types that the released training
  checkpoint contains next to its ``state_dict`` (there is no fallback to unrestricted
  unpickling, whatever the file holds);
* every problem becomes one :class:`~trufor_desk.errors.WeightsError` whose message is
  a single line the CLI and GUI can show as is;
* installing verifies the published hashes, never modifies the source file and writes
  the destination atomically, so a crash never leaves a half-written checkpoint where
  the engine would pick it up.

The module is Qt-free and imports torch (and NumPy) only inside the functions that need
it, so ``import trufor_desk.engines.trufor.weights`` stays cheap for ``--help`` and
``weights status``.  Nothing here touches the network except :func:`download_weights`,
which runs only when the user asks for it.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable

import platformdirs

from trufor_desk.atomic import atomic_open, fsync_dir
from trufor_desk.errors import WeightsError
from trufor_desk.hashing import file_digests, sha256_file

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

__all__ = [
    "OFFICIAL_URL",
    "OFFICIAL_ZIP_MD5",
    "OFFICIAL_ZIP_SHA256",
    "OFFICIAL_CKPT_SHA256",
    "ZIP_MEMBER",
    "ENV_VAR",
    "DATA_DIR_ENV_VAR",
    "CHECKPOINT_NAME",
    "SIDECAR_NAME",
    "installed_dir",
    "installed_path",
    "resolve_weights",
    "load_checkpoint",
    "install_weights",
    "weights_status",
    "download_weights",
]

#: Where the authors publish the release (a zip holding ``weights/trufor.pth.tar``).
OFFICIAL_URL = "https://www.grip.unina.it/download/prog/TruFor/TruFor_weights.zip"
#: MD5 of ``TruFor_weights.zip`` as published by the authors.
OFFICIAL_ZIP_MD5 = "7bee48f3476c75616c3c5721ab256ff8"
#: SHA-256 of the same zip (recorded by independent projects that pin the release).
OFFICIAL_ZIP_SHA256 = "953f1f7eda0dd2c5ece322ae9c185ba1079c1265aa5fdf319ef5a20604d206d8"
#: SHA-256 of ``weights/trufor.pth.tar`` inside the zip: identifies the real checkpoint
#: however the user obtained it.
OFFICIAL_CKPT_SHA256 = "ac1d90e329a72e0d66e8665e123a19e94bfae3209c3ef8a4f9ca3b91578c7844"
#: The checkpoint's member name inside the release zip.
ZIP_MEMBER = "weights/trufor.pth.tar"
#: Environment variable naming a checkpoint file (second in the lookup order).
ENV_VAR = "TRUFOR_WEIGHTS"
#: Environment variable replacing the per-user data folder (tests, portable installs).
DATA_DIR_ENV_VAR = "TRUFOR_DESK_DATA_DIR"
#: File name of the installed checkpoint and of its JSON record, in :func:`installed_dir`.
CHECKPOINT_NAME = "trufor.pth.tar"
SIDECAR_NAME = "trufor.json"

STATE_VERIFIED = "verified official release"
STATE_UNVERIFIED = "unverified: SHA-256 differs from the official release"
STATE_NOT_INSTALLED = "not installed"

_CHUNK = 1 << 20
#: How many names a mismatch message lists before saying "...".
_SHOW = 4
#: NumPy scalar types a training checkpoint may carry (epoch counters, best scores,
#: optimizer hyper-parameters): bool, signed/unsigned integers, floats.  Object, string,
#: void and datetime dtypes are deliberately absent.
_NUMPY_SCALAR_CODES = "?bhilqBHILQefd"
#: ``torch.serialization.safe_globals`` edits one process-wide set and removes its
#: entries on exit; serialising our loads keeps one thread's exit from pulling the
#: allow-list out from under another thread's load.
_LOAD_LOCK = threading.Lock()


# --------------------------------------------------------------------------- paths


def installed_dir() -> Path:
    """Folder holding the installed checkpoint and its ``trufor.json`` record.

    ``$TRUFOR_DESK_DATA_DIR/weights`` when that variable is set (so tests and portable
    setups never touch the real home folder), else ``<user data dir>/trufor-desk/weights``.
    ``appauthor=False`` keeps Windows from nesting the app name twice.
    """
    override = os.environ.get(DATA_DIR_ENV_VAR)
    if override:
        base = Path(override).expanduser()
    else:
        base = Path(platformdirs.user_data_dir("trufor-desk", appauthor=False))
    return base / "weights"


def installed_path() -> Path:
    """Where :func:`install_weights` puts the checkpoint by default."""
    return installed_dir() / CHECKPOINT_NAME


def resolve_weights(cli_path: str | os.PathLike[str] | None) -> tuple[Path | None, str]:
    """Pick the checkpoint to use: ``--weights``, then ``$TRUFOR_WEIGHTS``, then the installed copy.

    Returns ``(path, source)`` with source ``"--weights"``, ``"TRUFOR_WEIGHTS"`` or
    ``"installed"``, or ``(None, "none")`` when there is nothing.  A path the user named
    explicitly (option or variable) that does not exist is an error rather than a silent
    fall-through, because quietly using some other checkpoint would make the results
    misleading.
    """
    candidates: list[tuple[str, str | os.PathLike[str] | None]] = [
        ("--weights", cli_path),
        (ENV_VAR, os.environ.get(ENV_VAR) or None),
    ]
    for source, value in candidates:
        if value is None or str(value) == "":
            continue
        path = Path(value).expanduser()
        where = "--weights" if source == "--weights" else f"${ENV_VAR}"
        if not path.exists():
            raise WeightsError(f"checkpoint named by {where} not found: {path}")
        if not path.is_file():
            raise WeightsError(f"checkpoint named by {where} is not a file: {path}")
        return path, source
    installed = installed_path()
    if installed.is_file():
        return installed, "installed"
    return None, "none"


# --------------------------------------------------------------------------- loading


def _one_line(text: object, limit: int = 200) -> str:
    """Squash an exception text (torch's are multi-line essays) into a short single line."""
    words = " ".join(str(text).split())
    return words if len(words) <= limit else words[: limit - 3] + "..."


def _numpy_safe_globals() -> list[Any]:
    """The NumPy globals a trusted-layout training checkpoint needs, and nothing more.

    A NumPy scalar pickles as ``multiarray.scalar(dtype, raw_bytes)`` with the dtype
    rebuilt by ``numpy.dtype(...)`` and then given its state (the BUILD step, which the
    restricted unpickler only allows for allow-listed types, hence the concrete dtype
    classes such as ``numpy.dtypes.Float64DType``).  Files written under NumPy 1.x -- the
    released checkpoint is one -- name the reconstructor ``numpy.core.multiarray.scalar``,
    NumPy 2 calls it ``numpy._core.multiarray.scalar``; both names are registered for
    the same function so either NumPy can read either file.  Arrays
    (``multiarray._reconstruct``/``ndarray``) are not allowed.
    """
    import numpy as np

    try:
        from numpy._core import multiarray as _multiarray  # NumPy >= 2
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]
    scalar = _multiarray.scalar
    allowed: list[Any] = [
        (scalar, "numpy.core.multiarray.scalar"),
        (scalar, "numpy._core.multiarray.scalar"),
        np.dtype,
    ]
    for code in _NUMPY_SCALAR_CODES:
        dtype_class = type(np.dtype(code))
        if dtype_class is not np.dtype and dtype_class not in allowed:
            allowed.append(dtype_class)
    return allowed


_UNSAFE_PATTERNS = (
    re.compile(r"GLOBAL (\S+) was not an allowed global"),
    re.compile(r"unsupported GLOBAL (\S+) whose module"),
    re.compile(r"reduce for unrecognized function (.+?)(?: which belongs|$)", re.MULTILINE),
    re.compile(r"Can only create new object for .*? but got (.+)$", re.MULTILINE),
    re.compile(r"Can only build .*? but got (.+)$", re.MULTILINE),
    re.compile(r"(\S+) must be imported to load"),
)


def _unsafe_global(message: str) -> str | None:
    """The offending name if torch's weights-only refusal is about disallowed content.

    Returns ``""`` for a refusal that names nothing and ``None`` when the error is not a
    refusal at all (e.g. "Unsupported operand": garbage bytes, i.e. a corrupt file).
    """
    for pattern in _UNSAFE_PATTERNS:
        match = pattern.search(message)
        if match:
            return match.group(1).strip().strip("`").rstrip(".")
    return None


def _sniff(path: Path, label: str) -> bool:
    """Check the file looks like a torch checkpoint; return True for the zip format.

    Cheap checks before torch sees the file give clear messages for the common
    mistakes (a text file, the release zip itself, a half-downloaded file) instead of
    torch's internal errors, and tell :func:`load_checkpoint` whether it may memory-map.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise WeightsError(f"cannot read checkpoint {label}: {exc.strerror or exc}") from None
    if not head:
        raise WeightsError(f"checkpoint {label} is empty (0 bytes)")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise WeightsError(
                f"checkpoint {label} is truncated or corrupt (broken zip archive: {_one_line(exc)})"
            ) from None
        if ZIP_MEMBER in names:
            raise WeightsError(
                f"{label} is the TruFor release zip, not the checkpoint itself; "
                f"install it with `trufor-desk weights install {path}`"
            )
        if not any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
            raise WeightsError(f"{label} is a zip archive but not a PyTorch checkpoint")
        return True
    if head.startswith(b"PK"):
        raise WeightsError(
            f"checkpoint {label} is truncated or corrupt (zip archive without its central "
            "directory, e.g. an incomplete download or copy)"
        )
    if head[0] != 0x80:  # legacy torch.save files start with a pickle PROTO opcode
        raise WeightsError(f"{label} is not a PyTorch checkpoint")
    return False


def _restricted_torch_load(path: Path, label: str, use_mmap: bool) -> Any:
    """``torch.load`` with ``weights_only=True`` plus only the NumPy scalar allow-list."""
    import pickle

    import torch

    try:
        with _LOAD_LOCK:
            # Only add what is not registered already: safe_globals removes its entries
            # on exit, which would otherwise also drop globals the host application added.
            present = set(torch.serialization.get_safe_globals())
            extra = [g for g in _numpy_safe_globals() if g not in present]
            with torch.serialization.safe_globals(extra):
                return torch.load(path, map_location="cpu", weights_only=True, mmap=use_mmap)
    except pickle.UnpicklingError as exc:
        offending = _unsafe_global(str(exc))
        if offending is None:
            raise WeightsError(
                f"checkpoint {label} is truncated or corrupt (unreadable pickle data)"
            ) from None
        what = f" (it references {offending})" if offending else ""
        raise WeightsError(
            f"refused to load checkpoint {label}: it contains code or objects that are not "
            f"plain data{what}; only tensors, numbers and strings are accepted"
        ) from None
    except FileNotFoundError:
        raise WeightsError(f"checkpoint not found: {label}") from None
    except MemoryError:
        raise WeightsError(f"not enough memory to load checkpoint {label}") from None
    except Exception as exc:  # EOFError, RuntimeError (miniz), KeyError, struct errors...
        raise WeightsError(
            f"checkpoint {label} is truncated or corrupt ({type(exc).__name__}: {_one_line(exc, 120)})"
        ) from None


def _preview(items: list[str]) -> str:
    shown = ", ".join(items[:_SHOW])
    return shown + (", ..." if len(items) > _SHOW else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _extract_state_dict(obj: Any, label: str) -> "OrderedDict[str, torch.Tensor]":
    """The tensor mapping inside a checkpoint: ``obj['state_dict']`` or ``obj`` itself.

    The training script stores ``state_dict`` beside ``epoch``, ``best_value`` and
    ``optimizer``, which inference ignores; a bare ``{name: tensor}`` mapping (what
    ``torch.save(model.state_dict())`` writes) is accepted too.
    """
    import torch

    if not isinstance(obj, Mapping):
        raise WeightsError(
            f"checkpoint {label} holds a {type(obj).__name__}, not a state_dict"
        )
    if "state_dict" in obj:
        state = obj["state_dict"]
        if not isinstance(state, Mapping):
            raise WeightsError(
                f"checkpoint {label}: its 'state_dict' entry is a {type(state).__name__}, "
                "not a mapping of tensors"
            )
    elif any(isinstance(v, torch.Tensor) for v in obj.values()):
        state = obj
    else:
        keys = [repr(k) for k in obj.keys()]
        raise WeightsError(
            f"checkpoint {label} has no 'state_dict' entry (top-level keys: {_preview(keys) or 'none'})"
        )
    bad_keys = [repr(k) for k in state if not isinstance(k, str)]
    if bad_keys:
        raise WeightsError(
            f"checkpoint {label}: state_dict has {_plural(len(bad_keys), 'non-string key')} "
            f"({_preview(bad_keys)})"
        )
    non_tensors = [f"{k}: {type(v).__name__}" for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if non_tensors:
        raise WeightsError(
            f"checkpoint {label}: state_dict has {_plural(len(non_tensors), 'value')} that "
            f"{'is not a tensor' if len(non_tensors) == 1 else 'are not tensors'} ({_preview(non_tensors)})"
        )
    if isinstance(state, OrderedDict):
        return state  # keeps ``_metadata``, which load_state_dict uses for module versions
    return OrderedDict(state)


def _check_layout(
    state: Mapping[str, "torch.Tensor"], expected_shapes: Mapping[str, tuple[int, ...]], label: str
) -> None:
    """One error listing missing keys, unexpected keys and wrong shapes together.

    Reporting all three at once (with counts and the first few names) tells the user at
    a glance whether this is a different model, a renamed/prefixed state_dict or a
    damaged file, which a strict ``load_state_dict`` traceback does not.
    """
    missing = [k for k in expected_shapes if k not in state]
    unexpected = [k for k in state if k not in expected_shapes]
    wrong = [
        f"{k}: got {list(state[k].shape)}, expected {list(shape)}"
        for k, shape in expected_shapes.items()
        if k in state and tuple(state[k].shape) != tuple(int(d) for d in shape)
    ]
    parts = []
    if missing:
        parts.append(f"{_plural(len(missing), 'missing key')} ({_preview(missing)})")
    if unexpected:
        parts.append(f"{_plural(len(unexpected), 'unexpected key')} ({_preview(unexpected)})")
    if wrong:
        parts.append(f"{_plural(len(wrong), 'wrong shape')} ({_preview(wrong)})")
    if parts:
        raise WeightsError(
            f"checkpoint {label} does not match the TruFor model: " + "; ".join(parts)
        )


def _load(
    path: Path, expected_shapes: Mapping[str, tuple[int, ...]] | None, label: str
) -> "OrderedDict[str, torch.Tensor]":
    if not path.exists():
        raise WeightsError(f"checkpoint not found: {label}")
    if not path.is_file():
        raise WeightsError(f"checkpoint {label} is not a file")
    is_zip = _sniff(path, label)
    # mmap keeps the 275 MB file out of RAM until the model copies it; torch only
    # supports it for the zip format, so legacy files are read normally.
    obj = _restricted_torch_load(path, label, use_mmap=is_zip)
    state = _extract_state_dict(obj, label)
    if expected_shapes is not None:
        _check_layout(state, expected_shapes, label)
    return state


def load_checkpoint(
    path: str | os.PathLike[str], expected_shapes: Mapping[str, tuple[int, ...]] | None = None
) -> "OrderedDict[str, torch.Tensor]":
    """Load a TruFor checkpoint safely and return its state_dict (CPU tensors).

    ``expected_shapes`` (key -> shape, e.g. from the model's own ``state_dict()``)
    turns on the strict layout check; without it only the container is validated.
    Zip-format files are memory-mapped (private, read-only use of the file), so the
    returned tensors may be backed by the file until copied into a model.  Every
    failure -- missing, not a checkpoint, truncated/corrupt, unsafe content, no
    ``state_dict``, wrong layout -- raises one :class:`WeightsError`.
    """
    p = Path(path)
    return _load(p, expected_shapes, str(p))


# --------------------------------------------------------------------------- installing


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
            raise WeightsError(
                f"{name} is not the published TruFor release: " + "; ".join(problems)
                + " (nothing installed; use --force to install it anyway, unverified)"
            )

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
                raise WeightsError(
                    f"{name} does not contain the official TruFor checkpoint: " + "; ".join(problems)
                    + " (nothing installed; use --force to install it anyway, unverified)"
                )

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


# --------------------------------------------------------------------------- status


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


# --------------------------------------------------------------------------- download


ProgressCallback = Callable[[int, "int | None"], None]


def _fetch(url: str, target: Path, timeout: float, progress: ProgressCallback | None) -> dict[str, str]:
    """Stream ``url`` into ``target``; return its MD5 and SHA-256."""
    import http.client
    import socket

    from trufor_desk import __version__

    request = urllib.request.Request(url, headers={"User-Agent": f"trufor-desk/{__version__}"})
    host = urllib.parse.urlsplit(url).netloc or url
    hashers = {"md5": hashlib.md5(), "sha256": hashlib.sha256()}
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.strip().isdigit() else None
            done = 0
            if progress is not None:
                progress(0, total)
            with open(target, "wb") as out:
                while True:
                    block = response.read(1 << 16)
                    if not block:
                        break
                    out.write(block)
                    for h in hashers.values():
                        h.update(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
                out.flush()
                os.fsync(out.fileno())
    except urllib.error.HTTPError as exc:
        exc.close()
        raise WeightsError(f"download failed: HTTP {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise WeightsError(f"download failed: {host} did not answer within {timeout:g} s") from None
        text = getattr(reason, "strerror", None) or reason
        raise WeightsError(f"download failed: cannot reach {host} ({_one_line(text)})") from None
    except (TimeoutError, socket.timeout):
        raise WeightsError(f"download failed: connection to {host} timed out after {timeout:g} s") from None
    except (http.client.HTTPException, OSError) as exc:
        text = getattr(exc, "strerror", None) or exc
        raise WeightsError(f"download failed: {type(exc).__name__}: {_one_line(text)}") from None
    if total is not None and done != total:
        raise WeightsError(f"download incomplete: got {done} of {total} bytes from {host}")
    return {name: h.hexdigest() for name, h in hashers.items()}


def download_weights(
    url: str = OFFICIAL_URL,
    *,
    expected_zip_md5: str = OFFICIAL_ZIP_MD5,
    expected_zip_sha256: str = OFFICIAL_ZIP_SHA256,
    expected_ckpt_sha256: str = OFFICIAL_CKPT_SHA256,
    progress: ProgressCallback | None = None,
    force: bool = False,
    dest_dir: str | os.PathLike[str] | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    """Download the release zip, verify it, and install it (see :func:`install_weights`).

    Only called on the user's explicit request.  The zip is streamed to a temp file in
    the destination folder with ``progress(bytes_done, total_or_None)`` callbacks; its
    MD5 and SHA-256 must match the published values (unless ``force``) before anything
    is installed, and the temp file is always removed.  Only http(s) URLs are accepted.
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise WeightsError(f"download failed: only http(s) URLs are supported, got {url!r}")
    dest = Path(dest_dir) if dest_dir is not None else installed_dir()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"cannot create weights folder {dest}: {exc.strerror or exc}") from None
    tmp = _temp_in(dest, ".zip.part")
    try:
        digests = _fetch(url, tmp, timeout, progress)
        problems = _zip_problems(digests, expected_zip_md5, expected_zip_sha256)
        if problems and not force:
            raise WeightsError(
                f"downloaded file from {url} is not the published release: " + "; ".join(problems)
                + " (nothing installed)"
            )
        return _install(
            tmp,
            expected_zip_sha256=expected_zip_sha256,
            expected_zip_md5=expected_zip_md5,
            expected_ckpt_sha256=expected_ckpt_sha256,
            force=force,
            dest_dir=dest,
            source_label=url,
            zip_digests=digests,
        )
    finally:
        _unlink_quietly(tmp)
