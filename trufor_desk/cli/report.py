"""``trufor-desk report ...`` and ``trufor-desk case ...``: case files and PDF reports.

``entry.py`` wires them in: ``add_report_parser(sub).set_defaults(run=run_report)``, the same
for ``case``.

``report IMAGE`` analyses the image and reports it through an implicit case whose id
derives from the image SHA-256 and the analysis parameters, with every date taken from
``SOURCE_DATE_EPOCH`` (or today's UTC date), so running it twice gives identical bytes.
``report CASE.tfcase`` re-verifies the case's evidence and reports it as it stands.
``report IMAGE --case OUT.tfcase`` also saves that implicit case, and the report then
refers to it for what it does not print (full-resolution maps, the timed audit log); a
report without a case file never mentions one.

Errors are one ``error: ...`` line on stderr and exit status 1; ``case verify`` exits
with 2 when it finds a problem.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Any

from trufor_desk.cli.args import add_c2pa_trust_argument, add_engine_arguments, c2pa_trust_from
from trufor_desk.cli.messages import error, warn
from trufor_desk.errors import UserError

__all__ = ["add_report_parser", "run_report", "add_case_parser", "run_case", "implicit_case",
           "is_case_file"]

NO_EXAMINER = "not stated"


# ---------------------------------------------------------------------------------------
# parsers


def add_report_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report", help="write a PDF case report for an image or a .tfcase",
        description="Write a PDF case report. An image is analysed first and reported as an implicit case "
                    "(id from the image SHA-256 and the parameters; dates from SOURCE_DATE_EPOCH, else "
                    "today in UTC), so the same command gives the same bytes. A .tfcase is re-verified and "
                    "reported as it stands.")
    p.add_argument("source", metavar="IMAGE_or_CASE")
    p.add_argument("--out", required=True, metavar="REPORT.pdf", help="the PDF to write")
    add_engine_arguments(p)
    p.add_argument("--examiner", default=None, help="examiner's name (images only; a case has its own)")
    p.add_argument("--case", dest="case_out", metavar="OUT.tfcase", default=None,
                   help="images only: also save the analysed image as a case file (refuses to overwrite one)")
    p.add_argument("--sign", metavar="P12", default=None,
                   help="sign the report (PAdES) with this PKCS#12 certificate (needs pyHanko); with --case, "
                        "the saved case is signed with it too")
    p.add_argument("--sign-password-env", metavar="VAR", default=None,
                   help="environment variable holding the certificate's password")
    p.add_argument("--no-pdfa", action="store_true", help="do not declare PDF/A-2B")
    add_c2pa_trust_argument(p)
    return p


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


def is_case_file(path: str | os.PathLike) -> bool:
    """True for a zip holding case.json (decided by content, not the extension)."""
    import zipfile

    try:
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as zf:
            return "case.json" in zf.namelist()
    except OSError:
        return False


def _progress():
    if not sys.stderr.isatty():
        return None
    try:
        from trufor_desk.cli.progress import PercentBar

        return PercentBar("analysing")
    except Exception:  # pragma: no cover - the bar is a nicety
        return None


def _analyse(ev, args):
    from trufor_desk.engines.registry import create_engine, default_engine

    name = args.engine or default_engine(args.weights)
    engine = create_engine(name, weights=args.weights, device=args.device, precision=args.precision)
    bar = _progress()
    try:
        return engine.analyze(ev, progress=bar)
    finally:
        if bar is not None:
            bar.close()


def _reference_time() -> datetime:
    from trufor_desk.report.pdf import source_date_epoch

    sde = source_date_epoch()
    if sde is not None:
        return sde
    return datetime.combine(datetime.now(timezone.utc).date(), time(0, 0), tzinfo=timezone.utc)


def implicit_case(ev, result, examiner: str | None = None, when: datetime | None = None, c2pa_trust=None):
    """A one-image case for ``report IMAGE``: id from the image SHA-256 and the parameters,
    every timestamp ``when`` (SOURCE_DATE_EPOCH or today 00:00 UTC) and no timings, so the
    same image and arguments give the same case and the same report bytes."""
    from dataclasses import replace

    from trufor_desk.case import Case, fixed_clock
    from trufor_desk.case.canonical import canonical_json

    when = when or _reference_time()
    result = replace(result, timings={})  # timings differ between runs; the report never prints them
    key = {"image_sha256": ev.sha256, "engine": result.engine, "engine_version": result.engine_version,
           "params": result.params, "weights_sha256": result.provenance.get("weights_sha256") or "",
           "device": result.provenance.get("device") or "", "rect": None}
    case_id = "IMG-" + hashlib.sha256(canonical_json(json.loads(json.dumps(key, default=str)))).hexdigest()[:16]
    case = Case(case_id, examiner or NO_EXAMINER, title=f"Examination of {Path(ev.path).name}",
                clock=fixed_clock(when))
    ref = case.add_evidence(ev, c2pa_trust=c2pa_trust)
    case.add_analysis(ref.id, result)
    return case


def _password(args) -> str | None:
    if not args.sign_password_env:
        return None
    value = os.environ.get(args.sign_password_env)
    if value is None:
        raise UserError(f"--sign-password-env {args.sign_password_env}: that environment variable is not set")
    return value


def _say(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------
# report


def _guarded(action, args: argparse.Namespace) -> int:
    """Run a command; what goes wrong becomes one ``error:`` line and an exit code."""
    try:
        return action(args)
    except UserError as exc:
        error(exc)
        return 1
    except OSError as exc:
        error(f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}")
        return 1
    except KeyboardInterrupt:
        error("interrupted")
        return 130


def run_report(args: argparse.Namespace) -> int:
    return _guarded(_run_report, args)


def _run_report(args) -> int:
    from trufor_desk.report import write_report

    if args.sign_password_env and not args.sign:
        raise UserError("--sign-password-env needs --sign P12")
    password = _password(args) if args.sign else None
    src = Path(args.source)
    if not src.exists():
        raise UserError(f"{args.source}: file not found")
    if is_case_file(src):
        given = [o for o, v in (("--engine", args.engine), ("--weights", args.weights),
                                ("--examiner", args.examiner), ("--case", args.case_out),
                                ("--c2pa-trust", getattr(args, "c2pa_trust", None))) if v]
        if given:
            raise UserError(f"{', '.join(given)} {'apply' if len(given) > 1 else 'applies'} to an image only; "
                            "a case keeps its own analyses, examiner and the Content Credentials read at intake "
                            "(add analyses with `trufor-desk case add`)")
        from trufor_desk.case import load_case

        case = load_case(src)
        case_file: Path | None = src
        for line in case.verification.lines() if not case.verification.ok else []:
            if " ok: " not in line and "chain intact" not in line:
                warn(line)
    else:
        from trufor_desk.case import save_case, verify_case
        from trufor_desk.evidence import open_evidence

        case_file = None
        if args.case_out is not None:
            case_file = Path(args.case_out)
            if case_file.exists():
                raise UserError(f"--case {args.case_out}: already exists; choose another name (a case file is "
                                "never overwritten)")
            if case_file.resolve() == Path(args.out).resolve():
                raise UserError("--case and --out name the same file")
        signer = None
        if case_file is not None and args.sign:
            from trufor_desk.case import load_signing_key

            signer = load_signing_key(args.sign, password)  # before the analysis: a wrong password costs nothing
        trust = c2pa_trust_from(args)  # likewise: a bad trust list is one line before any work
        ev = open_evidence(src)
        result = _analyse(ev, args)
        case = implicit_case(ev, result, args.examiner, c2pa_trust=trust)
        if case_file is not None:
            case_file = save_case(case, case_file, signer=signer)
        verify_case(case, case_file)  # the file was just read: its status is printed as verified
    out = write_report(case, args.out, pdfa=not args.no_pdfa, sign_p12=args.sign, sign_password=password,
                       case_file=case_file)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    _say(f"{out}: report for case {case.case_id} ({len(case.evidence)} evidence, {len(case.analyses)} analyses"
         f"{', signed' if args.sign else ''}), sha256 {digest}")
    if case_file is not None and not is_case_file(src):
        _say(f"{case_file}: case saved{' and signed' if args.sign else ''} (open it with `trufor-desk gui` or "
             "`trufor-desk case show`)")
    for a in case.analyses:
        _say(f"{a.id} {a.engine}: {_verdict_line(case, a)}")
    for e in case.evidence:
        _say(f"{e.id} Content Credentials: {_c2pa_headline(e)}")
    return 0


def _verdict(a):
    """The one verdict of a case's analysis, at the thresholds recorded with it."""
    from trufor_desk.render.verdict import verdict_for_result

    return verdict_for_result(a.result, float(a.thresholds.get("localization", 0.5)),
                              float(a.thresholds.get("reliability", 0.5)))


def _verdict_line(case, a) -> str:
    v = _verdict(a)
    return f"{v.headline} [{v.score_text}]"


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


def _c2pa_record(ref):
    from trufor_desk.evidence.provenance import C2paRecord

    return C2paRecord.from_dict(ref.c2pa) if ref.c2pa else None


def _c2pa_headline(ref) -> str:
    """The Content Credentials read at intake, in one line (the same record the report prints)."""
    from trufor_desk.evidence.provenance import headline

    rec = _c2pa_record(ref)
    return headline(rec) if rec is not None else "not read (evidence added before Content Credentials were read)"


def _c2pa_findings(ref) -> list[str]:
    from trufor_desk.evidence.provenance import findings

    rec = _c2pa_record(ref)
    return findings(rec) if rec is not None else []


def _c2pa_object(ref) -> dict | None:
    from trufor_desk.evidence.provenance import c2pa_json

    rec = _c2pa_record(ref)
    return c2pa_json(rec) if rec is not None else None


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
