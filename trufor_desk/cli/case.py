"""``trufor-desk case ...``: create, extend, show, verify and compare ``.tfcase`` files.

``entry.py`` wires it in: ``add_case_parser(sub).set_defaults(run=run_case)``.  The
helpers it shares with ``report`` (analysing an image, the implicit case, the password
from an environment variable, the one-line error guard) live in ``cli/report.py``.

Errors are one ``error: ...`` line on stderr and exit status 1; ``case verify`` exits
with 2 when it finds a problem.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from trufor_desk.cli.args import add_c2pa_trust_argument, add_engine_arguments, c2pa_trust_from
from trufor_desk.cli.messages import error, warn
from trufor_desk.cli.report import (
    _analyse,
    _c2pa_findings,
    _c2pa_headline,
    _c2pa_object,
    _guarded,
    _say,
    _verdict,
    _verdict_line,
)
from trufor_desk.errors import UserError

__all__ = ["add_case_parser", "run_case"]


def add_case_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    p = subparsers.add_parser("case", help="create, extend, show or verify a .tfcase file",
                              description="Case files (.tfcase): evidence with hashes, analyses, notes and a "
                                          "hash-chained audit log.")
    acts = p.add_subparsers(dest="case_command", metavar="{new,add,note,compare,show,verify}")
    acts.required = True
    new = acts.add_parser("new", help="create an empty case")
    new.add_argument("case", metavar="CASE.tfcase")
    new.add_argument("--examiner", required=True)
    new.add_argument("--title", default="")
    new.add_argument("--id", dest="case_id", default=None, help="case id (default: the file name)")
    from trufor_desk.cli.case_signing import add_case_sign_arguments

    add_case_sign_arguments(new)
    add = acts.add_parser("add", help="add images to a case and analyse them")
    add.add_argument("case", metavar="CASE.tfcase")
    add.add_argument("images", nargs="+", metavar="IMAGE")
    add_engine_arguments(add)
    add.add_argument("--no-analyze", action="store_true", help="register the evidence only")
    add.add_argument("--actor", default=None, help="who does this (default: the case's examiner)")
    add_c2pa_trust_argument(add)
    add_case_sign_arguments(add)
    note = acts.add_parser("note", help="add a note")
    note.add_argument("case", metavar="CASE.tfcase")
    note.add_argument("text")
    note.add_argument("--evidence", default=None, metavar="ID", help="the evidence it is about (e.g. E1)")
    note.add_argument("--actor", default=None)
    add_case_sign_arguments(note)
    show = acts.add_parser("show", help="print what a case holds and whether it verifies")
    show.add_argument("case", metavar="CASE.tfcase")
    show.add_argument("--json", action="store_true")
    from trufor_desk.cli.case_compare import add_compare_parser

    add_compare_parser(acts)
    ver = acts.add_parser("verify", help="re-hash the evidence, check the audit log and the examiner's signature "
                                         "(exit 2 on problems)")
    ver.add_argument("case", metavar="CASE.tfcase")
    return p


# ---------------------------------------------------------------------------------------
# helpers


# ---------------------------------------------------------------------------------------
# case


def run_case(args: argparse.Namespace) -> int:
    return _guarded(_CASE_ACTIONS[args.case_command], args)


def _open_for_change(path: str):
    from trufor_desk.case import load_case

    case = load_case(path)
    v = case.verification
    if not v.chain_ok or v.content_problems or not v.signature_ok:
        first = (v.chain_problems + v.content_problems + [v.signature_line()])[0]
        raise UserError(f"{path}: the case fails its integrity checks ({first}); "
                        "refusing to change it (run `trufor-desk case verify`)")
    for s in v.evidence:
        if s.status != "ok":
            warn(s.line())
    return case


def _case_new(args) -> int:
    from trufor_desk.case import Case
    from trufor_desk.cli.case_signing import case_signer, save

    path = Path(args.case)
    if path.exists():
        raise UserError(f"{args.case}: already exists; choose another name")
    signer = case_signer(args)
    case = Case(args.case_id or path.stem, args.examiner, args.title)
    save(case, path, signer)
    _say(f"{path}: created case {case.case_id} (examiner {case.examiner})"
         + (f", signed by {signer.subject}" if signer else ""))
    return 0


def _case_add(args) -> int:
    from trufor_desk.cli.case_signing import case_signer, save
    from trufor_desk.evidence import open_evidence

    signer = case_signer(args)
    trust = c2pa_trust_from(args)
    case = _open_for_change(args.case)
    failures = 0
    for img in args.images:
        try:
            ev = open_evidence(img)
            known = case.find_evidence(ev.sha256)
            ref = case.add_evidence(ev, actor=args.actor, c2pa_trust=trust)
            line = f"{img}: {'already in the case as' if known else 'added as'} {ref.id} (sha256 {ref.sha256})"
            line += f"; Content Credentials: {_c2pa_headline(ref)}"
            if not args.no_analyze:
                result = _analyse(ev, args)
                rec = case.add_analysis(ref.id, result, actor=args.actor)
                line += f"; analysis {rec.id} ({rec.engine}): {_verdict_line(case, rec)}"
            _say(line)
        except UserError as exc:
            from trufor_desk.errors import WeightsError

            error(exc)
            failures += 1
            if isinstance(exc, WeightsError):
                break
        save(case, args.case, signer)  # after each image: a later failure loses nothing
    return 1 if failures else 0


def _case_note(args) -> int:
    from trufor_desk.cli.case_signing import case_signer, save

    signer = case_signer(args)
    case = _open_for_change(args.case)
    note = case.add_note(args.text, evidence_id=args.evidence, author=args.actor)
    save(case, args.case, signer)
    _say(f"{args.case}: note {note.id} added" + (f", signed by {signer.subject}" if signer else ""))
    return 0


def _case_show(args) -> int:
    from trufor_desk.case import load_case

    case = load_case(args.case)
    v = case.verification
    if args.json:
        doc = {"case_id": case.case_id, "title": case.title, "examiner": case.examiner, "created": case.created,
               "evidence": [{"id": e.id, "path": e.path, "sha256": e.sha256, "status": v.status_of(e.id),
                             "c2pa": _c2pa_object(e)} for e in case.evidence],
               "analyses": [{"id": a.id, "evidence_id": a.evidence_id, "engine": a.engine, "score": a.score,
                             "weights_sha256": a.weights_sha256, "thresholds": a.thresholds,
                             "verdict": _verdict(a).to_dict()} for a in case.analyses],
               "comparisons": [{"id": r.id, "evidence_ids": r.evidence_ids, "mode": r.mode,
                                "registered": r.registered, "numbers": r.numbers, "summary": r.summary()}
                               for r in case.comparisons],
               "notes": len(case.notes), "annotations": len(case.annotations), "audit_entries": len(case.audit),
               "audit_head": case.head_hash, "signature": v.signature.to_dict(), "ok": v.ok,
               "problems": [ln for ln in v.lines() if " ok: " not in ln and "intact" not in ln]}
        print(json.dumps(doc, indent=2, sort_keys=True))
        return 0
    _say(f"case {case.case_id}{': ' + case.title if case.title else ''}")
    _say(f"  examiner: {case.examiner}; created {case.created}")
    for e in case.evidence:
        _say(f"  {e.id} [{v.status_of(e.id)}] {e.path}")
        _say(f"     sha256 {e.sha256}  {e.format} {e.width}x{e.height}")
        _say(f"     Content Credentials: {_c2pa_headline(e)}")
        for line in _c2pa_findings(e):
            _say(f"     finding: {line}")
        for a in case.analyses_of(e.id):
            _say(f"     {a.id} {a.engine}: {_verdict_line(case, a)}"
                 + (f" weights {a.weights_sha256}" if a.weights_sha256 else ""))
    for r in case.comparisons:
        _say(f"  {r.id} {r.source_line(0)} vs {r.source_line(1)} ({r.mode}): {r.summary()}")
    _say(f"  notes {len(case.notes)}, annotations {len(case.annotations)}, audit entries {len(case.audit)}")
    _say(f"  audit head {case.head_hash}")
    _say(f"  {v.signature_line()}")
    _say(f"  integrity: {'ok' if v.ok else 'PROBLEMS (run `trufor-desk case verify`)'}")
    return 0


def _case_verify(args) -> int:
    from trufor_desk.case import load_case

    case = load_case(args.case)
    for line in case.verification.lines():
        _say(line)
    if case.verification.signature_ok:  # a broken signature is already among the lines
        _say(case.verification.signature_line())
    _say("verified: all checks passed" if case.verification.ok else "NOT VERIFIED: see the lines above")
    return 0 if case.verification.ok else 2


def _case_compare(args) -> int:
    from trufor_desk.cli.case_compare import run_compare

    return run_compare(args, _open_for_change, _say)


_CASE_ACTIONS = {"new": _case_new, "add": _case_add, "note": _case_note, "compare": _case_compare,
                 "show": _case_show,
                 "verify": _case_verify}


# ---------------------------------------------------------------------------------------
