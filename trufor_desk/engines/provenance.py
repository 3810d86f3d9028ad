"""Provenance: what every engine records about the evidence, the software and the run.

Split out of ``base.py`` (the engine contract): the keys every result carries, the
library versions read from the installed distributions, and the helpers that add an
engine's own details.  ``base`` re-exports these names, so ``base.standard_provenance``
and ``from trufor_desk.engines.base import PROVENANCE_KEYS`` keep working.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import platform
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

# -- provenance ---------------------------------------------------------------------------
# Every engine writes exactly these provenance keys (as ``prov_<key>`` in its ``.npz``), each
# a string, "" where the key does not apply, so any two results can be compared field by
# field and a report or batch column never has to guess which keys an engine wrote.
PROVENANCE_KEYS: tuple[str, ...] = (
    "image_sha256",        # SHA-256 of the file's bytes (the bytes that were decoded)
    "image_md5",           # MD5 of the same bytes (many forensic tools and case systems index by MD5)
    "image_path",          # where the file was when it was analysed
    "image_format",        # container format as decoded (JPEG, PNG, RAW, HEIF, ...)
    "image_conversions",   # every change made to the pixels before analysis, "; "-separated
    "decoder",             # the library (and version) that turned the bytes into pixels
    "method",              # the published method the engine implements
    "weights_sha256",      # SHA-256 of the weights file ("" for weight-free engines)
    "weights_path",        # where the weights were read from
    "weights_verified",    # "true"/"false": the weights are the official release
    "device",              # where the numbers were computed ("cpu", "cuda", "cuda:1", "mps")
    "device_name",         # the processor or GPU model
    "precision",           # network arithmetic (fp32/bf16/fp16); "" for weight-free engines
    "app_version",         # TruFor Desk
    "python_version",
    "numpy_version",
    "scipy_version",
    "opencv_version",
    "pillow_version",
    "torch_version",
    "other_versions",      # further libraries an engine names, "name version; ..."
    "platform",            # operating system and architecture
    "engine_details_json",  # engine-specific record (JSON object), e.g. JPEG tables read, matches found
)

# Library versions recorded in every result: (key, module, distributions that ship it).
# The installed distribution's metadata is read first: it imports nothing and names the
# exact release to reinstall (OpenCV's wheels add a build number that ``cv2.__version__``
# lacks), so every engine reports the same string whatever it happened to import.
_LIBRARIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("numpy_version", "numpy", ("numpy",)),
    ("scipy_version", "scipy", ("scipy",)),
    ("opencv_version", "cv2", ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless",
                               "opencv-contrib-python")),
    ("pillow_version", "PIL", ("Pillow", "pillow")),
    ("torch_version", "torch", ("torch",)),
)


@functools.cache
def _installed_version(distributions: tuple[str, ...]) -> str:
    for dist in distributions:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return ""


def library_version(module: str, distributions: Iterable[str] = ()) -> str:
    """Version of ``module`` without importing it: the installed distribution's metadata,
    else the ``__version__`` of the module if it is already imported (a frozen app may ship
    no metadata), else ""."""
    installed = _installed_version(tuple(distributions) or (module,))
    if installed:
        return installed
    loaded = sys.modules.get(module)
    return str(getattr(loaded, "__version__", "") or "") if loaded is not None else ""


def _decoder(evidence: Any, pillow_version: str) -> str:
    fmt = str(getattr(evidence, "format", "") or "").upper()
    if getattr(evidence, "path", None) is None:
        return ""  # pixels handed over directly: nothing was decoded here
    if fmt == "RAW":
        rawpy = library_version("rawpy")
        libraw = getattr(sys.modules.get("rawpy"), "libraw_version", None)
        libraw_text = f" (LibRaw {'.'.join(map(str, libraw))})" if isinstance(libraw, tuple) else ""
        return f"rawpy {rawpy}{libraw_text}".strip()
    if fmt in ("HEIF", "HEIC"):  # pillow-heif's opener; AVIF is Pillow's own plugin
        return f"pillow-heif {library_version('pillow_heif', ('pillow-heif', 'pillow_heif'))} " \
               f"via Pillow {pillow_version}"
    return f"Pillow {pillow_version}" if fmt else ""


@functools.cache
def cpu_name() -> str:
    """The processor model ("Intel(R) Xeon(R) ..."), else the architecture: floating-point
    reductions can differ between processors, so a result says which one computed it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware")):
                    name = line.split(":", 1)[1].strip()
                    if name:
                        return name
    except OSError:
        pass  # not Linux
    return platform.processor() or platform.machine()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def standard_provenance(evidence: Any, *, method: str = "", device: str = "cpu", device_name: str | None = None,
                        precision: str = "", weights_sha256: str = "", weights_path: Any = "",
                        weights_verified: bool | str | None = None, extra_versions: Iterable[str] = (),
                        details: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The provenance every engine records: exactly :data:`PROVENANCE_KEYS`, all strings.

    Call it once per analysis and pass the dict as ``AnalysisResult(provenance=...)``::

        prov = standard_provenance(evidence, method="Author et al., Venue Year")          # weight-free
        prov = standard_provenance(evidence, method=..., device="cuda", precision="fp32",
                                   weights_sha256=sha, weights_path=path, weights_verified=True)

    ``evidence``: an :class:`~trufor_desk.evidence.image.Evidence` (or anything with the
    same attributes; a bare pixel array gives empty image fields).  ``device`` defaults to
    "cpu", where the weight-free engines compute; ``device_name`` defaults to the CPU
    model on the CPU.  ``extra_versions``: further distributions the engine relies on
    (e.g. ``("scikit-learn",)``), recorded in ``other_versions``.  ``details``:
    engine-specific facts (JSON-serialisable) stored as ``engine_details_json``; add more
    later with :func:`add_details`.  Library versions are recorded for numpy, SciPy,
    OpenCV, Pillow and torch whether or not this engine called them (the decoding and
    the environment did); nothing is imported to learn a version.
    """
    pillow = library_version("PIL", ("Pillow", "pillow"))
    if device_name is None:
        device_name = cpu_name() if device == "cpu" else ""
    others = [f"{name} {library_version(name.replace('-', '_'), (name,)) or '(not installed)'}"
              for name in extra_versions]
    prov = {
        "image_sha256": _text(getattr(evidence, "sha256", "")),
        "image_md5": _text(getattr(evidence, "md5", "")),
        "image_path": _text(getattr(evidence, "path", "")),
        "image_format": _text(getattr(evidence, "format", "")),
        "image_conversions": "; ".join(getattr(evidence, "conversions", None) or []),
        "decoder": _decoder(evidence, pillow),
        "method": _text(method),
        "weights_sha256": _text(weights_sha256),
        "weights_path": _text(weights_path),
        "weights_verified": _text(weights_verified),
        "device": _text(device),
        "device_name": _text(device_name),
        "precision": _text(precision),
        "app_version": _app_version(),
        "python_version": platform.python_version(),
        **{key: library_version(module, dists) for key, module, dists in _LIBRARIES},
        "other_versions": "; ".join(others),
        "platform": platform.platform(),
        "engine_details_json": "",
    }
    add_details(prov, **(details or {}))
    assert tuple(prov) == PROVENANCE_KEYS, "standard_provenance and PROVENANCE_KEYS disagree"
    return prov


def add_details(provenance: dict[str, str], **details: Any) -> dict[str, str]:
    """Merge engine-specific facts into ``provenance["engine_details_json"]`` (in place).

    Engine-specific facts never become provenance keys of their own, so every engine keeps
    exactly :data:`PROVENANCE_KEYS`.
    """
    if details:
        current = json.loads(provenance.get("engine_details_json") or "{}")
        current.update(details)
        provenance["engine_details_json"] = json.dumps(current, sort_keys=True, default=_json_default)
    return provenance


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _app_version() -> str:
    from trufor_desk import __version__

    return __version__


def provenance_versions(provenance: Mapping[str, Any]) -> dict[str, str]:
    """The software versions a result records, by library name (``numpy``, ``scipy``,
    ``opencv``, ``pillow``, ``torch``, ``python``, ``trufor_desk`` ...); empty ones left out.

    This is what the batch ``versions`` column and reports list for a result.
    """
    out: dict[str, str] = {}
    for key, value in provenance.items():
        if not value:
            continue
        if key == "app_version":
            out["trufor_desk"] = str(value)
        elif key.endswith("_version"):
            out[key[: -len("_version")]] = str(value)
    for item in str(provenance.get("other_versions") or "").split("; "):
        name, _, version = item.partition(" ")
        if name and version:
            out[name] = version
    return out
