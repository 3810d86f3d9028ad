"""``trufor-desk report ...``: PDF reports of an image or a case (``case ...`` is ``cli/case.py``).

``entry.py`` wires it in: ``add_report_parser(sub).set_defaults(run=run_report)``.

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
import os
import sys
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Any

from trufor_desk.cli.args import add_c2pa_trust_argument, add_engine_arguments, c2pa_trust_from
from trufor_desk.cli.messages import error, warn
from trufor_desk.errors import UserError

__all__ = ["add_report_parser", "run_report", "implicit_case", "is_case_file"]

from trufor_desk.case.implicit import NO_EXAMINER, is_case_file  # noqa: E402, F401 - re-exported

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


def _progress():
    if not sys.stderr.isatty():
        return None
    try:
        from trufor_desk.cli.progress import PercentBar

        return PercentBar("analysing")
    except Exception:  # pragma: no cover - the bar is a nicety
        return None


def _analyse(ev, args):
    from trufor_desk.cli.args import engine_from_args

    engine = engine_from_args(args)
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
    """``case.implicit.implicit_case`` dated ``when``, by default SOURCE_DATE_EPOCH or today
    00:00 UTC (:func:`_reference_time`)."""
    from trufor_desk.case.implicit import implicit_case as build

    return build(ev, result, when or _reference_time(), examiner=examiner, c2pa_trust=c2pa_trust)


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
    from trufor_desk.verdict.decision import verdict_for_result

    return verdict_for_result(a.result, float(a.thresholds.get("localization", 0.5)),
                              float(a.thresholds.get("reliability", 0.5)))


def _verdict_line(case, a) -> str:
    v = _verdict(a)
    return f"{v.headline} [{v.score_text}]"


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
