"""The case: what was examined, how, by whom, what was found, and the log of it all.

A :class:`Case` holds plain data only (no Qt, no open files): evidence references with
the digests taken at intake, analyses with their provenance and result arrays, notes,
region annotations and comparisons (the items, ``items.py`` and ``comparison.py``), and an
append-only, hash-chained audit log (``audit.py``).  Every change goes through a method of
the case that checks it and appends one audit entry recording a digest of the item it
introduced, so a later edit of the item (or of the log) shows up in
:func:`trufor_desk.case.store.verify_case`.

The names of ``items.py``, ``audit.py`` and ``canonical.py`` are re-exported here, where
they lived before the split.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import numpy as np

from trufor_desk.engines.base import AnalysisResult
from trufor_desk.errors import UserError

from .audit import GENESIS_HASH, AuditEntry, Clock, fixed_clock, parse_utc, system_clock, utc_iso, verify_chain  # noqa: F401
from .canonical import arrays_digest, canonical_json, sha256_json  # noqa: F401 (re-exported)
from .canonical import plain as _plain
from .comparison import record_from
from .items import AnalysisRecord, Annotation, EvidenceRef, Note  # noqa: F401 (re-exported)

PREVIEW_MAX_SIDE = 1024  # stored preview of each evidence image, used by reports


def _rect(rect: Any, what: str) -> tuple[int, int, int, int] | None:
    if rect is None:
        return None
    try:
        x, y, w, h = (int(v) for v in rect)
    except (TypeError, ValueError):
        raise UserError(f"{what}: a rectangle is (x, y, w, h), not {rect!r}") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise UserError(f"{what}: rectangle {w}x{h} at x={x}, y={y} is empty or negative")
    return x, y, w, h


def make_preview_png(rgb: np.ndarray, max_side: int = PREVIEW_MAX_SIDE) -> bytes:
    """Deterministic PNG of the pixels, box-downscaled so the longer side is <= max_side."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False, compress_level=6)
    return buf.getvalue()


class Case:
    """A forensic case.  Use the ``add_*`` methods; each appends one audit entry."""

    FORMAT = "trufor-desk-case"
    FORMAT_VERSION = 1

    def __init__(self, case_id: str, examiner: str, title: str = "", created: str | None = None,
                 clock: Clock | None = None, app_version: str | None = None):
        from trufor_desk import __version__

        if not str(case_id).strip():
            raise UserError("a case needs an id")
        if not str(examiner).strip():
            raise UserError("a case needs an examiner")
        self.clock: Clock = clock or system_clock
        self.case_id = str(case_id).strip()
        self.examiner = str(examiner).strip()
        self.title = title
        self.app_version = app_version or __version__
        self.evidence: list[EvidenceRef] = []
        self.analyses: list[AnalysisRecord] = []
        self.notes: list[Note] = []
        self.annotations: list[Annotation] = []
        self.comparisons: list = []  # ComparisonRecord (trufor_desk.case.comparison)
        self.audit: list[AuditEntry] = []
        self.verification = None  # set by load_case / verify_case
        self.load_problems: list[str] = []  # inconsistencies found while reading a .tfcase
        if created is None:
            self.created = self._now()
            self.log("case_created", {"case_id": self.case_id, "title": self.title,
                                      "examiner": self.examiner, "app_version": self.app_version})
        else:
            self.created = created

    # -- audit ---------------------------------------------------------------------------

    def _now(self) -> str:
        return utc_iso(self.clock())

    def log(self, action: str, details: dict | None = None, actor: str | None = None) -> AuditEntry:
        """Append one audit entry (also for actions outside the case, e.g. a report export)."""
        prev = self.audit[-1].hash if self.audit else GENESIS_HASH
        e = AuditEntry(seq=len(self.audit) + 1, time=self._now(), actor=actor or self.examiner, action=action,
                       details=_plain(details or {}), prev_hash=prev)
        e.hash = e.compute_hash()
        self.audit.append(e)
        return e

    def verify_chain(self) -> list[str]:
        return verify_chain(self.audit)

    @property
    def head_hash(self) -> str:
        return self.audit[-1].hash if self.audit else GENESIS_HASH

    # -- lookup --------------------------------------------------------------------------

    def _next_id(self, prefix: str, items: list) -> str:
        used = {it.id for it in items}
        n = len(items) + 1
        while f"{prefix}{n}" in used:
            n += 1
        return f"{prefix}{n}"

    def _get(self, items: list, item_id: str, kind: str):
        item = next((it for it in items if it.id == item_id), None)
        if item is None:
            raise UserError(f"case {self.case_id} has no {kind} {item_id!r}")
        return item

    def get_evidence(self, evidence_id: str) -> EvidenceRef:
        return self._get(self.evidence, evidence_id, "evidence")

    def find_evidence(self, sha256: str) -> EvidenceRef | None:
        return next((ev for ev in self.evidence if ev.sha256 == sha256), None)

    def get_analysis(self, analysis_id: str) -> AnalysisRecord:
        return self._get(self.analyses, analysis_id, "analysis")

    def get_comparison(self, comparison_id: str):
        return self._get(self.comparisons, comparison_id, "comparison")

    def analyses_of(self, evidence_id: str) -> list[AnalysisRecord]:
        return [a for a in self.analyses if a.evidence_id == evidence_id]

    # -- changes -------------------------------------------------------------------------

    def add_evidence(self, evidence, actor: str | None = None, with_metadata: bool = True,
                     c2pa_trust=None, c2pa: dict | None = None) -> EvidenceRef:
        """Register an opened :class:`~trufor_desk.evidence.image.Evidence`.

        The same file content (SHA-256) is registered once; adding it again returns the
        existing reference.  Metadata and Content Credentials are read from the bytes already
        in memory: ``c2pa`` is a record already read (the window's), otherwise it is read here
        against ``c2pa_trust`` (a :class:`~trufor_desk.evidence.provenance.TrustList` or None).
        """
        from pathlib import Path

        existing = self.find_evidence(evidence.sha256)
        if existing is not None:
            return existing
        rows: list[list[str]] = []
        warns: list[str] = []
        if with_metadata:
            try:
                from trufor_desk.evidence.metadata import extract_metadata, metadata_rows

                md = extract_metadata(evidence)
                rows = [list(r) for r in metadata_rows(md)]
                warns = list(md.warnings)
            except Exception as exc:  # metadata is hostile input; the case must not depend on it
                rows = [["Metadata", "error", f"metadata could not be read ({type(exc).__name__})"]]
        if c2pa is None and getattr(evidence, "raw", b""):
            from trufor_desk.evidence.provenance import read_content_credentials

            c2pa = read_content_credentials(evidence.raw, c2pa_trust).to_dict()
        ref = EvidenceRef(
            id=self._next_id("E", self.evidence), path=str(Path(evidence.path).resolve()),
            sha256=evidence.sha256, md5=evidence.md5, size_bytes=int(evidence.size_bytes),
            format=str(evidence.format), mode=str(evidence.mode), width=int(evidence.width),
            height=int(evidence.height), conversions=list(evidence.conversions),
            exif_orientation=evidence.exif_orientation, n_frames=int(evidence.n_frames),
            added=self._now(), metadata=rows, metadata_warnings=warns,
            preview_png=make_preview_png(evidence.rgb), c2pa=c2pa)
        self.evidence.append(ref)
        self.log("evidence_added", {"evidence_id": ref.id, "path": ref.path, "sha256": ref.sha256,
                                    "md5": ref.md5, "size_bytes": ref.size_bytes, "digest": ref.digest()}, actor)
        return ref

    def add_analysis(self, evidence_id: str, result: AnalysisResult, rect=None,
                     thresholds: dict[str, float] | None = None, actor: str | None = None) -> AnalysisRecord:
        ev = self.get_evidence(evidence_id)
        rect = _rect(rect, "analysis region")
        h, w = result.localization.shape
        if rect is None and (w, h) != (ev.width, ev.height):
            raise UserError(f"the result is {w}x{h} but evidence {ev.id} is {ev.width}x{ev.height}; "
                            "give the analysed rectangle")
        if rect is not None and (rect[2], rect[3]) != (w, h):
            raise UserError(f"the result is {w}x{h} but the rectangle is {rect[2]}x{rect[3]}")
        image_sha = result.provenance.get("image_sha256")
        if image_sha and image_sha != ev.sha256:
            raise UserError(f"the result was computed on another file (SHA-256 {image_sha[:12]}...) "
                            f"than evidence {ev.id} ({ev.sha256[:12]}...)")
        # Keep exactly what the .npz will give back (float32 score, "" for None provenance,
        # JSON-shaped params), so the recorded digest survives a save/load round trip.
        result = result_from_npz(result.to_npz_dict())
        th = {"localization": 0.5, "reliability": 0.5}
        th.update({k: float(v) for k, v in (thresholds or {}).items()})
        rec = AnalysisRecord(id=self._next_id("A", self.analyses), evidence_id=ev.id, engine=result.engine,
                             engine_version=result.engine_version, result=result, rect=rect,
                             created=self._now(), thresholds=th,
                             arrays_sha256=arrays_digest(result.to_npz_dict()))
        self.analyses.append(rec)
        self.log("analysis_added", {"analysis_id": rec.id, "evidence_id": ev.id, "engine": rec.engine,
                                    "engine_version": rec.engine_version, "score": result.score,
                                    "weights_sha256": rec.weights_sha256, "arrays_sha256": rec.arrays_sha256,
                                    "thresholds": dict(th), "digest": rec.digest()}, actor)
        return rec

    def set_thresholds(self, analysis_id: str, localization: float | None = None,
                       reliability: float | None = None, actor: str | None = None) -> None:
        a = self.get_analysis(analysis_id)
        if localization is not None:
            a.thresholds["localization"] = float(localization)
        if reliability is not None:
            a.thresholds["reliability"] = float(reliability)
        self.log("thresholds_set", {"analysis_id": a.id, "thresholds": dict(a.thresholds)}, actor)

    def add_note(self, text: str, evidence_id: str | None = None, author: str | None = None) -> Note:
        if not str(text).strip():
            raise UserError("a note needs text")
        if evidence_id is not None:
            self.get_evidence(evidence_id)
        note = Note(id=self._next_id("N", self.notes), text=str(text), author=author or self.examiner,
                    time=self._now(), evidence_id=evidence_id)
        self.notes.append(note)
        self.log("note_added", {"note_id": note.id, "evidence_id": evidence_id, "digest": note.digest()},
                 note.author)
        return note

    def add_annotation(self, evidence_id: str, label: str, text: str = "", rect=None,
                       polygon=None, author: str | None = None) -> Annotation:
        ev = self.get_evidence(evidence_id)
        if (rect is None) == (polygon is None):
            raise UserError("an annotation is either a rectangle or a polygon")
        rect = _rect(rect, "annotation")
        pts = None
        if polygon is not None:
            try:
                pts = [(float(x), float(y)) for x, y in polygon]
            except (TypeError, ValueError):
                raise UserError("a polygon is a list of (x, y) points") from None
            if len(pts) < 3:
                raise UserError("a polygon needs at least 3 points")
        if rect is not None:
            box = (rect[0], rect[1], rect[0] + rect[2], rect[1] + rect[3])
        else:
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]  # type: ignore[union-attr]
            box = (min(xs), min(ys), max(xs), max(ys))
        if box[0] < 0 or box[1] < 0 or box[2] > ev.width or box[3] > ev.height:
            raise UserError(f"the region lies outside the {ev.width}x{ev.height} image of {ev.id}")
        ann = Annotation(id=self._next_id("R", self.annotations), evidence_id=ev.id, label=str(label),
                         text=str(text), rect=rect, polygon=pts, author=author or self.examiner,
                         time=self._now())
        self.annotations.append(ann)
        self.log("annotation_added", {"annotation_id": ann.id, "evidence_id": ev.id, "label": ann.label,
                                      "digest": ann.digest()}, ann.author)
        return ann

    def add_comparison(self, comparison, actor: str | None = None):
        """Record a :class:`~trufor_desk.compare.comparison.Comparison` (sources, mode, view,
        registration, numbers and figures) as item ``C<n>``."""
        rec = record_from(self, comparison, self._next_id("C", self.comparisons), self._now())
        self.comparisons.append(rec)
        self.log("comparison_added", {"comparison_id": rec.id, "evidence_ids": rec.evidence_ids,
                                      "registered": rec.registered, "arrays_sha256": rec.arrays_sha256,
                                      "digest": rec.digest()}, actor)
        return rec

    # -- serialisation -------------------------------------------------------------------

    def header(self) -> dict:
        return {"format": self.FORMAT, "format_version": self.FORMAT_VERSION, "case_id": self.case_id,
                "title": self.title, "examiner": self.examiner, "created": self.created,
                "app_version": self.app_version}

    def to_json(self) -> dict:
        """Everything except preview images and result arrays (stored beside it)."""
        d = self.header()
        d["evidence"] = [e.record() for e in self.evidence]
        d["analyses"] = [a.record() for a in self.analyses]
        d["notes"] = [n.record() for n in self.notes]
        d["annotations"] = [a.record() for a in self.annotations]
        if self.comparisons:  # absent when empty: cases without comparisons keep their bytes
            d["comparisons"] = [c.record() for c in self.comparisons]
        d["audit"] = [e.record() for e in self.audit]
        return d

    def content_digest(self) -> str:
        """SHA-256 of the whole case content (JSON, previews, arrays): a report id derives from it."""
        h = hashlib.sha256(canonical_json(self.to_json()))
        for e in self.evidence:
            h.update(hashlib.sha256(e.preview_png or b"").digest())
        return h.hexdigest()


def result_from_npz(arrays: dict[str, np.ndarray]) -> AnalysisResult:
    """Inverse of :meth:`AnalysisResult.to_npz_dict`: :meth:`AnalysisResult.from_npz_dict`,
    the one reader shared with batch folders (a damaged entry raises :class:`ValueError`)."""
    return AnalysisResult.from_npz_dict(arrays)
