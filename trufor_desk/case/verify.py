"""Verifying a case: its evidence files, the audit chain, its content and its signature.

What :func:`verify_case` finds is kept as ``case.verification`` (a :class:`Verification`),
which ``case show``/``case verify``, the window and the report print.  Split out of
``store.py`` (saving and loading); ``store`` re-exports these names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .canonical import arrays_digest
from .items import EvidenceRef
from .model import Case
from .signature import SignatureCheck, check_signature

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
