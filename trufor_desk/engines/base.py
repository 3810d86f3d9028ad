"""The engine contract shared by TruFor and the weight-free detectors.

An engine turns one :class:`~trufor_desk.evidence.image.Evidence` into one
:class:`AnalysisResult`.  It reports progress through ``progress(fraction, message)``
and polls ``cancel()`` between steps, raising :class:`~trufor_desk.errors.Cancelled`
when asked to stop.  Results are plain numpy arrays plus provenance strings so they can
be saved as ``.npz`` files that load with ``allow_pickle=False``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import platform
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from trufor_desk.errors import Cancelled

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


def no_progress(fraction: float, message: str) -> None:  # pragma: no cover - trivial
    """Default progress sink."""


def never_cancel() -> bool:
    return False


class Checkpoint:
    """Bundles the progress/cancel callbacks an engine is given.

    ``step(fraction, message)`` reports progress and raises :class:`Cancelled` if the
    caller asked to stop, so engines call one thing between units of work.
    """

    def __init__(self, progress: ProgressFn | None = None, cancel: CancelFn | None = None,
                 start: float = 0.0, span: float = 1.0):
        self._progress = progress or no_progress
        self._cancel = cancel or never_cancel
        self._start = start
        self._span = span

    def step(self, fraction: float, message: str) -> None:
        if self._cancel():
            raise Cancelled("analysis cancelled")
        f = min(max(fraction, 0.0), 1.0)
        self._progress(self._start + self._span * f, message)

    def sub(self, start: float, end: float) -> Checkpoint:
        """A checkpoint mapping [0, 1] onto [start, end] of this one."""
        return Checkpoint(self._progress, self._cancel,
                          self._start + self._span * start, self._span * (end - start))



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

# Entries :meth:`AnalysisResult.to_npz_dict` writes besides ``prov_*`` keys and extra maps.
NPZ_FIXED_KEYS = frozenset({"map", "conf", "score", "imgsize", "engine", "engine_version", "params_json",
                            "timings_json", "notes_json", "applicable", "score_calibration_json"})


@dataclass
class AnalysisResult:
    """What an engine found in one image.

    ``localization``: HxW float32 in [0, 1], 1 = manipulated.
    ``reliability``: HxW float32 in [0, 1], 1 = the localization can be trusted (optional).
    ``score``: image-level score (optional).  It is a probability that the image is
    manipulated only when ``score_calibration`` says how it was calibrated; engines whose
    score cannot be calibrated leave ``score`` as None.
    ``score_calibration``: None, or a dict naming how the score became a probability:
    ``method`` (e.g. "logistic"), ``set`` (the calibration set's name), ``auc`` (measured
    on that set) and the fitted parameters.
    ``extras``: further named float32 maps (e.g. ``"np++"`` for Noiseprint++).
    ``provenance``: strings/numbers recording how the result was produced.
    """

    engine: str
    engine_version: str
    localization: np.ndarray
    reliability: np.ndarray | None = None
    score: float | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # e.g. why a method does not apply
    applicable: bool = True                          # False: the method cannot judge this image
    score_calibration: dict[str, Any] | None = None  # how the score became a probability (None: it is not one)

    @property
    def score_is_probability(self) -> bool:
        """True when the score exists and is a calibrated probability."""
        return self.score is not None and bool(self.score_calibration)

    @property
    def imgsize(self) -> tuple[int, int]:
        h, w = self.localization.shape
        return int(h), int(w)

    def to_npz_dict(self) -> dict[str, np.ndarray]:  # read back by from_npz_dict: keep NPZ_FIXED_KEYS in step
        """Arrays for ``np.savez``: the official TruFor keys plus provenance.

        Official keys: ``map``, ``conf``, ``score``, ``np++``, ``imgsize``.  Everything
        else is a plain numeric or unicode array, so ``np.load(allow_pickle=False)``
        works.
        """
        out: dict[str, np.ndarray] = {
            "map": np.asarray(self.localization, dtype=np.float32),
            "imgsize": np.asarray(self.imgsize, dtype=np.int64),
        }
        if self.reliability is not None:
            out["conf"] = np.asarray(self.reliability, dtype=np.float32)
        if self.score is not None:
            out["score"] = np.asarray(self.score, dtype=np.float32)
        for name, arr in self.extras.items():
            out[name] = np.asarray(arr, dtype=np.float32)
        out["engine"] = np.asarray(self.engine)
        out["engine_version"] = np.asarray(self.engine_version)
        out["params_json"] = np.asarray(json.dumps(self.params, sort_keys=True))
        out["timings_json"] = np.asarray(json.dumps(self.timings, sort_keys=True))
        out["notes_json"] = np.asarray(json.dumps(self.notes))
        out["applicable"] = np.asarray(self.applicable)
        out["score_calibration_json"] = np.asarray(json.dumps(self.score_calibration, sort_keys=True))
        for key, value in self.provenance.items():
            out[f"prov_{key}"] = np.asarray(value if value is not None else "")
        return out

    @classmethod
    def from_npz_dict(cls, arrays: Mapping[str, np.ndarray]) -> AnalysisResult:
        """Inverse of :meth:`to_npz_dict`: the one reader of stored results (batch folders,
        case files, ``analyze --out``), for arrays loaded with ``allow_pickle=False``.

        A stored result is evidence, so anything inconsistent is refused rather than
        guessed at: :class:`ValueError` (one line naming the entry) when ``map`` is missing
        or not 2-D, ``imgsize``/``conf``/an extra map disagrees with the map's shape, a
        ``*_json`` entry does not decode to the expected type, or an entry is neither a
        known field, ``prov_*`` nor a float map.  Callers add the file's name.
        """
        data = {str(k): np.asarray(v) for k, v in arrays.items()}
        if "map" not in data:
            raise ValueError("not an analysis (no 'map' array)")
        loc = data["map"]
        if loc.ndim != 2 or loc.dtype.kind != "f":
            raise ValueError(f"'map' is a {loc.ndim}-D {loc.dtype} array, not a 2-D float map")
        shape = tuple(int(n) for n in loc.shape)
        if "imgsize" in data and tuple(int(n) for n in data["imgsize"].ravel()) != shape:
            raise ValueError(f"'imgsize' {data['imgsize'].tolist()} disagrees with the {shape} map")

        def scalar(key: str) -> Any:
            value = data[key]
            if value.size != 1:
                raise ValueError(f"'{key}' holds {value.size} values, not one")
            item = value.reshape(()).item()
            return item.item() if isinstance(item, np.generic) else item

        def text(key: str, default: str) -> str:
            return str(scalar(key)) if key in data else default

        def decoded(key: str, default: Any, kind: type | tuple[type, ...]) -> Any:
            if key not in data:
                return default
            try:
                value = json.loads(text(key, ""))
            except json.JSONDecodeError:
                raise ValueError(f"'{key}' is not valid JSON") from None
            if not isinstance(value, kind):
                raise ValueError(f"'{key}' holds {type(value).__name__}, expected {kind}")
            return value

        def float_map(key: str) -> np.ndarray:
            arr = data[key]
            if arr.dtype.kind != "f" or tuple(arr.shape) != shape:
                raise ValueError(f"'{key}' is a {arr.shape} {arr.dtype} array, not a float map of the "
                                 f"map's shape {shape}")
            return arr.astype(np.float32, copy=False)

        extras = {k: float_map(k) for k in data if k not in NPZ_FIXED_KEYS and not k.startswith("prov_")}
        provenance = {k[len("prov_"):]: scalar(k) for k in data if k.startswith("prov_")}
        return cls(
            engine=text("engine", "unknown"),
            engine_version=text("engine_version", ""),
            localization=loc.astype(np.float32, copy=False),
            reliability=float_map("conf") if "conf" in data else None,
            score=float(scalar("score")) if "score" in data else None,
            extras=extras,
            params=decoded("params_json", {}, dict),
            provenance=provenance,
            timings=decoded("timings_json", {}, dict),
            notes=decoded("notes_json", [], list),
            applicable=bool(scalar("applicable")) if "applicable" in data else True,
            score_calibration=decoded("score_calibration_json", None, (dict, type(None))),
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable digest (no maps) for ``--json`` output and logs."""
        loc = self.localization
        d: dict[str, Any] = {
            "engine": self.engine,
            "engine_version": self.engine_version,
            "imgsize": list(self.imgsize),
            "score": None if self.score is None else float(self.score),
            "score_calibrated": self.score_is_probability,
            "score_calibration": self.score_calibration,
            "map_mean": float(loc.mean()),
            "map_max": float(loc.max()),
            "map_fraction_above_0.5": float((loc > 0.5).mean()),
            "params": self.params,
            "timings": self.timings,
            "applicable": self.applicable,
            "notes": self.notes,
        }
        if self.reliability is not None:
            d["conf_mean"] = float(self.reliability.mean())
        d.update(self.provenance)
        return d


class Engine(Protocol):
    name: str
    version: str
    requires_weights: bool

    def analyze(self, evidence: Any, params: dict[str, Any] | None = None,
                progress: ProgressFn | None = None,
                cancel: CancelFn | None = None) -> AnalysisResult: ...
