"""Loading a checkpoint safely: ``torch.load(weights_only=True)`` with only the NumPy scalar
types a training checkpoint carries allowed (never a fallback to full unpickling), a sniff
of the container before torch sees it, and a strict check of every key and shape.

torch and NumPy are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import os
import re
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trufor_desk.errors import WeightsError

from .resolve import ZIP_MEMBER, _one_line

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch


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


def _extract_state_dict(obj: Any, label: str) -> OrderedDict[str, torch.Tensor]:
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
    state: Mapping[str, torch.Tensor], expected_shapes: Mapping[str, tuple[int, ...]], label: str
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
) -> OrderedDict[str, torch.Tensor]:
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
) -> OrderedDict[str, torch.Tensor]:
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
