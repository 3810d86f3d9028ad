"""The items a case holds besides comparisons (``comparison.py``): evidence references, analyses,
notes and region annotations.

Each item gives its JSON form (``record``) and the digest its audit entry records
(``digest``), so a later edit of the item shows up in :func:`trufor_desk.case.store.verify_case`.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from trufor_desk.engines.base import AnalysisResult

from .canonical import plain as _plain
from .canonical import sha256_json


@dataclass
class EvidenceRef:
    """An evidence file as it was at intake: where it was, its digests, how it decoded.

    ``metadata`` holds the ``(section, key, value)`` rows of
    :func:`trufor_desk.evidence.metadata.metadata_rows` and ``metadata_warnings`` their
    warnings, taken at intake so a report does not need to reopen the file.
    ``preview_png`` is a downscaled PNG of the decoded pixels (stored orientation).
    """

    id: str
    path: str
    sha256: str
    md5: str
    size_bytes: int
    format: str
    mode: str
    width: int
    height: int
    conversions: list[str] = field(default_factory=list)
    exif_orientation: int | None = None
    n_frames: int = 1
    added: str = ""
    metadata: list[list[str]] = field(default_factory=list)
    metadata_warnings: list[str] = field(default_factory=list)
    preview_png: bytes | None = field(default=None, repr=False)
    c2pa: dict | None = None

    @property
    def name(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]

    def record(self) -> dict:
        """JSON form (the preview is stored beside case.json, not in it)."""
        d = asdict(self)
        png = d.pop("preview_png")
        d["preview_sha256"] = hashlib.sha256(png).hexdigest() if png else None
        if d.get("c2pa") is None:
            d.pop("c2pa", None)
        return _plain(d)

    def digest(self) -> str:
        """What the audit entry records: everything but the path (a moved file stays the same evidence)."""
        return sha256_json({k: v for k, v in self.record().items() if k != "path"})


@dataclass
class AnalysisRecord:
    """One engine run on one evidence item (optionally a rectangle of it).

    ``result`` carries the arrays; everything else is mirrored here for reading the case
    without loading arrays.  ``thresholds`` are the display thresholds the examiner
    chose (localisation, reliability); reports print and use them.
    """

    id: str
    evidence_id: str
    engine: str
    engine_version: str
    result: AnalysisResult = field(repr=False)
    rect: tuple[int, int, int, int] | None = None
    created: str = ""
    thresholds: dict[str, float] = field(default_factory=lambda: {"localization": 0.5, "reliability": 0.5})
    arrays_sha256: str = ""

    @property
    def score(self) -> float | None:
        return self.result.score

    @property
    def params(self) -> dict[str, Any]:
        return self.result.params

    @property
    def provenance(self) -> dict[str, Any]:
        return self.result.provenance

    @property
    def weights_sha256(self) -> str | None:
        return self.result.provenance.get("weights_sha256") or None

    @property
    def device(self) -> str | None:
        return self.result.provenance.get("device") or None

    @property
    def precision(self) -> str | None:
        return self.result.provenance.get("precision") or self.result.params.get("precision") or None

    def record(self) -> dict:
        r = self.result
        return _plain({
            "id": self.id, "evidence_id": self.evidence_id, "engine": self.engine,
            "engine_version": self.engine_version, "rect": list(self.rect) if self.rect else None,
            "created": self.created, "thresholds": self.thresholds, "arrays_sha256": self.arrays_sha256,
            "score": r.score, "params": r.params, "provenance": r.provenance, "timings": r.timings,
            "notes": r.notes, "applicable": r.applicable, "weights_sha256": self.weights_sha256,
            "device": self.device, "precision": self.precision,
        })

    def digest(self) -> str:
        rec = self.record()
        rec.pop("thresholds")  # display choice, changed through set_thresholds (logged)
        return sha256_json(rec)


@dataclass
class Note:
    id: str
    text: str
    author: str
    time: str
    evidence_id: str | None = None

    def record(self) -> dict:
        return _plain(asdict(self))

    def digest(self) -> str:
        return sha256_json(self.record())


@dataclass
class Annotation:
    """A region of one evidence image, in stored-orientation pixels: a rectangle
    ``(x, y, w, h)`` or a polygon ``[(x, y), ...]``, with a label and free text."""

    id: str
    evidence_id: str
    label: str
    text: str = ""
    rect: tuple[int, int, int, int] | None = None
    polygon: list[tuple[float, float]] | None = None
    author: str = ""
    time: str = ""

    def record(self) -> dict:
        return _plain(asdict(self))

    def digest(self) -> str:
        return sha256_json(self.record())

    def describe_region(self) -> str:
        if self.rect is not None:
            x, y, w, h = self.rect
            return f"rectangle {w}x{h} at x={x}, y={y}"
        pts = self.polygon or []
        return "polygon " + ", ".join(f"({x:g}, {y:g})" for x, y in pts)
