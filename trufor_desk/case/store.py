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
from pathlib import Path

import numpy as np

from trufor_desk.atomic import atomic_open, output_target
from trufor_desk.errors import UserError
from trufor_desk.npz import npz_bytes, zip_info

from .audit import AuditEntry
from .comparison import ComparisonRecord
from .items import AnalysisRecord, Annotation, EvidenceRef, Note
from .model import Case, result_from_npz
from .signature import SIGNATURE_DIR, SigningKey, signature_members

CASE_JSON = "case.json"
SUFFIX = ".tfcase"
_MAX_JSON_BYTES = 256 << 20
_MAX_MEMBER_BYTES = 8 << 30


# verification: case/verify.py (re-exported for the callers of store)
from .verify import EvidenceStatus, Verification, check_content, check_evidence, verify_case  # noqa: E402, F401

# ---------------------------------------------------------------------------------------
# writing


def _relpaths(case: Case, target: Path) -> dict[str, str]:
    out = {}
    for ref in case.evidence:
        try:
            out[ref.id] = os.path.relpath(ref.path, target.parent).replace(os.sep, "/")
        except ValueError:  # another drive on Windows
            pass
    return out


def _write_member(zf: zipfile.ZipFile, name: str, data: bytes, compress: int) -> None:
    zf.writestr(zip_info(name, compress), data)


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
