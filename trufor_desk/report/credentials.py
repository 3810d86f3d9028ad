"""Content Credentials (C2PA) in the report: one line per evidence item on page 1, with the
findings of their own (an invalid or unreadable manifest, a declared AI generation) beside
the detectors' findings, and a section on each evidence page.

Everything is printed from the record stored with the evidence at intake (the same one
``case show`` and the window print), including the trust list's SHA-256 and the SDK
version it was read with; nothing is re-read here.
"""

from __future__ import annotations

from trufor_desk.evidence.provenance import NOT_PROOF, C2paRecord, c2pa_rows, caveats, findings, headline

from .context import ReportContext

RED = (160, 0, 0)
GREY = (80, 80, 80)
NOT_READ = "not read (evidence registered before Content Credentials were read)"


def record_of(ref) -> C2paRecord | None:
    data = getattr(ref, "c2pa", None)
    return C2paRecord.from_dict(data) if data else None


def cover_findings(doc: ReportContext) -> None:
    """Page 1, right under the detectors' findings: the Content Credentials findings of their own
    (invalid or unreadable manifests, declared AI generation), one line each."""
    for ref in doc.case.evidence:
        rec = record_of(ref)
        for f in findings(rec) if rec is not None else []:
            doc.para(f"Content Credentials of {ref.id} {ref.name}, beside the detectors' verdict: {f}", 9, "B", RED)


def cover_lines(doc: ReportContext) -> None:
    """Page 1: the state of every evidence item's Content Credentials, one line each."""
    c = doc.case
    if not c.evidence:
        return
    doc.h2("Content Credentials (C2PA) at a glance")
    if not c.analyses:
        cover_findings(doc)
    any_valid = False
    for ref in c.evidence:
        rec = record_of(ref)
        line = headline(rec) if rec is not None else NOT_READ
        doc.para(f"{ref.id} {ref.name}: {line}", 8.5)
        any_valid = any_valid or (rec is not None and rec.state in ("valid", "untrusted"))
    if any_valid:
        doc.para(NOT_PROOF[0].upper() + NOT_PROOF[1:] + ".", 7.5, "I", GREY)


def credentials_section(doc: ReportContext, ref) -> None:
    """The evidence page's Content Credentials section: every row of the record, in words."""
    doc.h2("Content Credentials (C2PA)")
    rec = record_of(ref)
    if rec is None:
        doc.para(NOT_READ, 8.5, "I", GREY)
        return
    for f in findings(rec):
        doc.para(f, 9, "B", RED)
    rows = [(k, v) for k, v in c2pa_rows(rec) if k not in ("Finding", "Note")]
    doc.table(rows, key_w=58, size=7.5)
    for line in caveats(rec):
        doc.para(line[0].upper() + line[1:] + ".", 7.5, "I", GREY)
