"""Saving and opening ``.tfcase`` files, and checking them.

A ``.tfcase`` is a zip holding ``case.json`` (everything but pixels and maps),
``previews/<evidence id>.png`` (downscaled evidence pixels for reports) and
``analyses/<analysis id>.npz`` (each result's arrays in the official TruFor key layout
plus provenance, readable with ``np.load(..., allow_pickle=False)``).  There is no
pickle anywhere, and every zip entry gets a fixed timestamp, so the same case saves to
the same bytes.

Saving is atomic: the zip is written to a temporary file in the destination folder,
flushed and fsync'ed, then renamed over the old file with :func:`os.replace`; if
anything fails before the rename, the previous file is untouched and the temporary
file is removed.

Opening re-hashes each evidence file (read-only) and reports ``ok``, ``modified``,
``missing`` or ``unreadable`` per item, verifies the audit chain, and checks every item
against the digest its audit entry recorded (see :class:`Verification`).

A case saved with a :class:`~trufor_desk.case.signature.SigningKey` also holds the
examiner's signature (``signature/``, written last; format in :mod:`.signature`) over the
audit head and the SHA-256 of every other member; opening checks it, so an edited and
re-chained log, a truncated log or a swapped ``.npz`` is reported even though the hash
chain alone cannot show it.  An unsigned case saves to exactly the bytes it always did.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trufor_desk.atomic import atomic_open, output_target
from trufor_desk.errors import UserError

from .audit import AuditEntry
from .canonical import arrays_digest
from .comparison import ComparisonRecord
from .items import AnalysisRecord, Annotation, EvidenceRef, Note
from .model import Case, result_from_npz
from .signature import SIGNATURE_DIR, SignatureCheck, SigningKey, check_signature, signature_members

CASE_JSON = "case.json"
SUFFIX = ".tfcase"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_MAX_JSON_BYTES = 256 << 20
_MAX_MEMBER_BYTES = 8 << 30


# ---------------------------------------------------------------------------------------
# verification


@dataclass
class EvidenceStatus:
    evidence_id: str
    path: str
    status: str                 # "ok", "modified", "missing" or "unreadable"
    found_at: str | None = None
    detail: str = ""

    def line(self) -> str:
        where = f" (found at {self.found_at})" if self.found_at and self.found_at != self.path else ""
        return f"{self.evidence_id} {self.status}: {self.path}{where}{': ' + self.detail if self.detail else ''}"


@dataclass
class Verification:
    """What opening a case found.  ``ok`` only when every check passed."""

    evidence: list[EvidenceStatus] = field(default_factory=list)
    chain_problems: list[str] = field(default_factory=list)
    content_problems: list[str] = field(default_factory=list)
    signature: SignatureCheck = field(default_factory=lambda: SignatureCheck("unsigned"))

    @property
    def chain_ok(self) -> bool:
        return not self.chain_problems

    @property
    def evidence_ok(self) -> bool:
        return all(s.status == "ok" for s in self.evidence)

    @property
    def ok(self) -> bool:
        return self.chain_ok and self.evidence_ok and not self.content_problems and self.signature_ok

    @property
    def signature_ok(self) -> bool:
        """Unsigned or validly signed (an unsigned case is not a problem; a broken signature is)."""
        return self.signature.state != "invalid"

    def signature_line(self) -> str:
        return f"signature: {self.signature.line()}"

    def status_of(self, evidence_id: str) -> str | None:
        return next((s.status for s in self.evidence if s.evidence_id == evidence_id), None)

    def lines(self) -> list[str]:
        out = [s.line() for s in self.evidence]
        out += [f"audit log: {p}" for p in self.chain_problems] or ["audit log: chain intact"]
        out += [f"case content: {p}" for p in self.content_problems]
        if not self.signature_ok:  # unsigned and valid are said by signature_line(), not as a problem
            out.append(self.signature_line())
        return out


def _candidates(ref: EvidenceRef, case_dir: Path | None, relpath: str | None) -> list[Path]:
    paths = [Path(ref.path)]
    if case_dir is not None:
        if relpath:
            paths.append(case_dir / relpath)
        paths.append(case_dir / ref.name)
    seen, out = set(), []
    for p in paths:
        key = os.path.normpath(str(p))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def check_evidence(ref: EvidenceRef, case_dir: Path | None = None, relpath: str | None = None) -> EvidenceStatus:
    """Re-hash an evidence file (read-only).  A moved file is found next to the case."""
    from trufor_desk.hashing import file_digests

    for p in _candidates(ref, case_dir, relpath):
        if not p.is_file():
            continue
        try:
            d = file_digests(p, ("sha256", "md5"))
        except OSError as exc:
            return EvidenceStatus(ref.id, ref.path, "unreadable", str(p), exc.strerror or str(exc))
        if d["sha256"] == ref.sha256 and d["md5"] == ref.md5:
            return EvidenceStatus(ref.id, ref.path, "ok", str(p))
        if p == Path(ref.path):
            return EvidenceStatus(ref.id, ref.path, "modified", str(p),
                                  f"SHA-256 is now {d['sha256']}, was {ref.sha256} at intake")
    return EvidenceStatus(ref.id, ref.path, "missing", None, "file not found")


def _audit_digests(case: Case) -> dict[tuple[str, str], dict]:
    """(kind, id) -> details of the audit entry that introduced the item."""
    kinds = {"evidence_added": ("evidence", "evidence_id"), "analysis_added": ("analysis", "analysis_id"),
             "note_added": ("note", "note_id"), "annotation_added": ("annotation", "annotation_id"),
             "comparison_added": ("comparison", "comparison_id")}
    out: dict[tuple[str, str], dict] = {}
    for e in case.audit:
        if e.action in kinds:
            kind, key = kinds[e.action]
            out[(kind, str(e.details.get(key)))] = e.details
    return out


def check_content(case: Case) -> list[str]:
    """Items that differ from what the audit log recorded, or that it never recorded."""
    problems: list[str] = list(getattr(case, "load_problems", []))
    logged = _audit_digests(case)
    present: set[tuple[str, str]] = set()
    groups: list[tuple[str, list]] = [("evidence", case.evidence), ("analysis", case.analyses),
                                      ("note", case.notes), ("annotation", case.annotations),
                                      ("comparison", case.comparisons)]
    for kind, items in groups:
        for it in items:
            present.add((kind, it.id))
            d = logged.get((kind, it.id))
            if d is None:
                problems.append(f"{kind} {it.id} has no audit entry (added outside the application)")
            elif d.get("digest") != it.digest():
                problems.append(f"{kind} {it.id} differs from what the audit log recorded (edited)")
    for kind, item_id in sorted(set(logged) - present):
        problems.append(f"the audit log records {kind} {item_id}, which the case no longer contains")
    for a in case.analyses:
        actual = arrays_digest(a.result.to_npz_dict())
        if actual != a.arrays_sha256:
            problems.append(f"analysis {a.id}: result arrays differ from the recorded digest (edited)")
        last = None
        for e in case.audit:
            if e.details.get("analysis_id") == a.id and "thresholds" in e.details:
                last = e.details["thresholds"]
        if last is not None and {k: float(v) for k, v in last.items()} != a.thresholds:
            problems.append(f"analysis {a.id}: thresholds differ from the last logged ones")
    for c in case.comparisons:
        if arrays_digest(c.figures) != c.arrays_sha256:
            problems.append(f"comparison {c.id}: figure arrays differ from the recorded digest (edited)")
    if case.audit:
        first = case.audit[0]
        if first.action != "case_created":
            problems.append("the audit log does not start with the case's creation")
        else:
            for key in ("case_id", "examiner"):
                if first.details.get(key) != getattr(case, key):
                    problems.append(f"the case's {key} differs from the one recorded at creation")
    else:
        problems.append("the audit log is empty")
    return problems


def verify_case(case: Case, case_path: str | os.PathLike | None = None,
                relpaths: dict[str, str] | None = None) -> Verification:
    """Check evidence files, the audit chain and the case content; sets ``case.verification``."""
    case_dir = Path(case_path).resolve().parent if case_path is not None else None
    relpaths = relpaths if relpaths is not None else getattr(case, "_relpaths", {})
    signature, digests, odd = getattr(case, "_signature_source", ({}, {}, []))
    v = Verification(evidence=[check_evidence(ref, case_dir, relpaths.get(ref.id)) for ref in case.evidence],
                     chain_problems=case.verify_chain(), content_problems=check_content(case),
                     signature=check_signature(case, signature, digests, odd))
    case.verification = v
    return v


# ---------------------------------------------------------------------------------------
# writing


def _info(name: str, compress: int) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    zi.compress_type = compress
    zi.external_attr = 0o644 << 16
    zi.create_system = 3
    return zi


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` with fixed zip timestamps (``np.savez`` stamps the current time)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            with zf.open(_info(f"{name}.npy", zipfile.ZIP_DEFLATED), "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(arrays[name]), allow_pickle=False)
    return buf.getvalue()


def _relpaths(case: Case, target: Path) -> dict[str, str]:
    out = {}
    for ref in case.evidence:
        try:
            out[ref.id] = os.path.relpath(ref.path, target.parent).replace(os.sep, "/")
        except ValueError:  # another drive on Windows
            pass
    return out


def _write_member(zf: zipfile.ZipFile, name: str, data: bytes, compress: int) -> None:
    zf.writestr(_info(name, compress), data)


def case_bytes(case: Case, target: Path | None = None, signer: SigningKey | None = None) -> bytes:
    """The ``.tfcase`` bytes of a case (also what :func:`save_case` writes)."""
    buf = io.BytesIO()
    _write_zip(case, buf, target, signer)
    return buf.getvalue()


def _members(case: Case, target: Path | None):
    """(name, bytes, compression) of every member but the signature, one at a time."""
    doc = case.to_json()
    doc["locations"] = _relpaths(case, target) if target is not None else {}
    yield CASE_JSON, json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8"), \
        zipfile.ZIP_DEFLATED
    for ref in case.evidence:
        if ref.preview_png:
            yield f"previews/{ref.id}.png", ref.preview_png, zipfile.ZIP_STORED
    for a in case.analyses:
        yield f"analyses/{a.id}.npz", npz_bytes(a.result.to_npz_dict()), zipfile.ZIP_STORED
    for c in case.comparisons:
        yield f"comparisons/{c.id}.npz", npz_bytes(c.figures), zipfile.ZIP_STORED


def _write_zip(case: Case, fh, target: Path | None, signer: SigningKey | None = None):
    """Write the members (and, with ``signer``, the signature last); returns what opening checks."""
    digests: dict[str, str] = {}
    signature: dict[str, bytes] = {}
    with zipfile.ZipFile(fh, "w") as zf:
        for name, data, compress in _members(case, target):
            _write_member(zf, name, data, compress)
            if signer is not None:
                digests[name] = hashlib.sha256(data).hexdigest()
        if signer is not None:
            signature = signature_members(case, digests, signer)
            for name, data in signature.items():
                _write_member(zf, name, data, zipfile.ZIP_DEFLATED)
    return (signature, digests, []) if signer is not None else ({}, {}, [])


def save_case(case: Case, path: str | os.PathLike, signer: SigningKey | None = None) -> Path:
    """Write the case atomically to ``path`` (temp file in the same folder, fsync, rename).

    With ``signer`` (:func:`~trufor_desk.case.signature.load_signing_key`) the case is signed;
    without, it is saved unsigned (a signature it had when opened no longer covers it).
    """
    target = output_target(path, [ref.path for ref in case.evidence], ".tfcase")
    if signer is not None:  # refuse before writing anything
        from datetime import datetime, timezone

        signer.check_valid_at(datetime.now(timezone.utc))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{target.parent}: cannot create folder ({exc.strerror or exc})") from None
    try:
        with atomic_open(target, "wb") as fh:
            source = _write_zip(case, fh, target, signer)
    except OSError as exc:
        raise UserError(f"{target}: cannot save case ({exc.strerror or exc}); the previous file, if any, "
                        "is unchanged") from None
    case._relpaths = _relpaths(case, target)  # type: ignore[attr-defined]
    case._signature_source = source  # type: ignore[attr-defined]
    return target


# ---------------------------------------------------------------------------------------
# reading


def _read(zf: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise UserError(f"{path}: damaged case file ({name} is missing)") from None
    if info.file_size > limit:
        raise UserError(f"{path}: damaged case file ({name} claims {info.file_size} bytes)")
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise UserError(f"{path}: damaged case file ({name}: {exc})") from None


def _read_npz(zf: zipfile.ZipFile, name: str, path: Path, what: str) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` member (no pickle); ``what`` names its item in the error."""
    raw = _read(zf, name, _MAX_MEMBER_BYTES, path)
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"{path}: damaged case file ({what}: {exc})") from None


def _tuple_or_none(v):
    return tuple(int(x) for x in v) if v is not None else None


def load_case(path: str | os.PathLike, verify: bool = True) -> Case:
    """Open a ``.tfcase``; with ``verify`` (default) ``case.verification`` tells what was found.

    A damaged or foreign file raises :class:`UserError` (one line).  Evidence that
    changed or went missing, or a tampered log, does not raise: it is reported.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{path}: case file not found")
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(f"{path}: not a TruFor Desk case file ({exc})") from None
    with zf:
        try:
            doc = json.loads(_read(zf, CASE_JSON, _MAX_JSON_BYTES, p).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"{path}: damaged case file (case.json: {exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != Case.FORMAT:
            raise UserError(f"{path}: not a TruFor Desk case file")
        try:
            if int(doc.get("format_version", 0)) > Case.FORMAT_VERSION:
                raise UserError(f"{path}: case format {doc.get('format_version')} is newer than this version "
                                f"of TruFor Desk reads ({Case.FORMAT_VERSION}); update the application")
            case = _case_from_doc(doc, zf, p)
        except UserError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UserError(f"{path}: damaged case file ({type(exc).__name__}: {exc})") from None
        case._signature_source = _signature_source(zf, p)  # type: ignore[attr-defined]
    case._relpaths = dict(doc.get("locations") or {})  # type: ignore[attr-defined]
    if verify:
        verify_case(case, p)
    return case


def _signature_source(zf: zipfile.ZipFile, p: Path) -> tuple[dict[str, bytes], dict[str, str], list[str]]:
    """The signature members, the SHA-256 of every other member, and oddities of the zip's layout
    (only read when the case is signed: an unsigned case is opened as before)."""
    infos = zf.infolist()
    signature = {i.filename: _read(zf, i.filename, _MAX_JSON_BYTES, p) for i in infos
                 if i.filename.startswith(SIGNATURE_DIR)}
    if not signature:
        return {}, {}, []
    from .signature import MEMBERS

    counts = Counter(i.filename for i in infos)
    odd = [f"the zip holds {name} more than once" for name in sorted(n for n, k in counts.items() if k > 1)]
    odd += [f"unexpected member {name} beside the signature" for name in sorted(signature) if name not in MEMBERS]
    digests: dict[str, str] = {}
    for info in infos:
        if info.filename.startswith(SIGNATURE_DIR):
            continue
        if info.file_size > _MAX_MEMBER_BYTES:
            raise UserError(f"{p}: damaged case file ({info.filename} claims {info.file_size} bytes)")
        h = hashlib.sha256()
        try:
            with zf.open(info) as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise UserError(f"{p}: damaged case file ({info.filename}: {exc})") from None
        digests[info.filename] = h.hexdigest()
    return signature, digests, odd


def _case_from_doc(doc: dict, zf: zipfile.ZipFile, p: Path) -> Case:
    case = Case(doc["case_id"], doc["examiner"], doc.get("title", ""), created=doc["created"],
                app_version=doc.get("app_version"))
    names = set(zf.namelist())
    for e in doc.get("evidence", []):
        e = dict(e)
        e.pop("preview_sha256", None)
        member = f"previews/{e['id']}.png"
        png = _read(zf, member, _MAX_MEMBER_BYTES, p) if member in names else None
        case.evidence.append(EvidenceRef(preview_png=png, **e))
    for a in doc.get("analyses", []):
        result = result_from_npz(_read_npz(zf, f"analyses/{a['id']}.npz", p, f"analysis {a['id']}"))
        rec = AnalysisRecord(
            id=a["id"], evidence_id=a["evidence_id"], engine=a["engine"], engine_version=a["engine_version"],
            result=result, rect=_tuple_or_none(a.get("rect")), created=a.get("created", ""),
            thresholds={k: float(v) for k, v in (a.get("thresholds") or {}).items()},
            arrays_sha256=a.get("arrays_sha256", ""))
        if rec.record() != a:  # case.json mirrors the npz; the npz is what is used
            case.load_problems.append(f"analysis {rec.id}: case.json and the stored result arrays disagree "
                                      "(edited)")
        case.analyses.append(rec)
    for n in doc.get("notes", []):
        case.notes.append(Note(**n))
    for r in doc.get("annotations", []):
        r = dict(r)
        r["rect"] = _tuple_or_none(r.get("rect"))
        r["polygon"] = [tuple(pt) for pt in r["polygon"]] if r.get("polygon") is not None else None
        case.annotations.append(Annotation(**r))
    for c in doc.get("comparisons", []):
        rec = ComparisonRecord.from_doc(c, _read_npz(zf, f"comparisons/{c['id']}.npz", p, f"comparison {c['id']}"))
        if rec.record() != c:
            case.load_problems.append(f"comparison {rec.id}: its record in case.json is not in the expected form "
                                      "(edited)")
        case.comparisons.append(rec)
    for e in doc.get("audit", []):
        case.audit.append(AuditEntry(**e))
    return case
