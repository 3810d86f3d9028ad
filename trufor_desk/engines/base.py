"""The engine contract shared by TruFor and the weight-free detectors.

An engine turns one :class:`~trufor_desk.evidence.image.Evidence` into one
:class:`AnalysisResult`.  It reports progress through ``progress(fraction, message)``
and polls ``cancel()`` between steps, raising :class:`~trufor_desk.errors.Cancelled`
when asked to stop.  Results are plain numpy arrays plus provenance strings so they can
be saved as ``.npz`` files that load with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
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



def resolve_params(engine: str, defaults: Mapping[str, Any], params: Mapping[str, Any] | None,
                   fixed: Iterable[str] = ()) -> dict[str, Any]:
    """The parameters an analysis runs with: ``defaults`` updated by ``params``.

    The one resolver of every engine, so that none accepts a parameter it does not have or
    records one it never applies: an unknown name is a :class:`~trufor_desk.errors.UserError`
    naming the known ones, and a ``fixed`` one (set when the engine is created, or a
    constant of this version) may only be passed with the value it already has."""
    from trufor_desk.errors import UserError

    given = dict(params or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise UserError(f"{engine}: unknown parameter(s) {', '.join(unknown)} (known: {', '.join(defaults)})")
    for name in fixed:
        if name in given and given[name] != defaults[name]:
            raise UserError(f"{engine}: {name} cannot be changed per analysis (it is {defaults[name]!r}; "
                            "set it when the engine is created, if it is an option)")
    return {**defaults, **given}


# -- provenance: engines/provenance.py, re-exported here for the engines' one import ----------
from trufor_desk.engines.provenance import (  # noqa: E402, F401
    PROVENANCE_KEYS,
    add_details,
    cpu_name,
    library_version,
    provenance_versions,
    standard_provenance,
)

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


# An engine's ``version``: MAJOR.MINOR.PATCH, digits only ("1.3.0").  It names the engine's
# numbers, not the application (``provenance["app_version"]`` does that): bump it whenever a
# change can change what the engine computes, since every stored result and the batch resume
# rule compare it.
VERSION_FORMAT = "MAJOR.MINOR.PATCH"
VERSION_PATTERN = r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$"


class Engine(Protocol):
    """What every engine declares (checked for each registered engine by
    ``tests/engines/test_contract.py``):

    * ``name``: its CLI name; ``version``: :data:`VERSION_FORMAT`; ``requires_weights``;
    * ``OPTIONS``: the keyword options its constructor takes, which ``registry.create_engine``
      passes on (the rest of the command line's engine options are not its business);
    * ``DEFAULTS``: every parameter an analysis runs with, at the value a default engine uses:
      the names :func:`resolve_params` knows, and the ``params`` a result records.
    """

    name: str
    version: str
    requires_weights: bool
    OPTIONS: tuple[str, ...]
    DEFAULTS: dict[str, Any]

    def analyze(self, evidence: Any, params: dict[str, Any] | None = None,
                progress: ProgressFn | None = None,
                cancel: CancelFn | None = None) -> AnalysisResult: ...
