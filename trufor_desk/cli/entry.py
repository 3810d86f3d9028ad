"""``trufor-desk`` command line: the parser and the dispatch to each subcommand's module.

Subcommands: ``analyze`` (run a detector on images, write ``.npz`` results; cli/analyze.py),
``weights`` (install / check / download the TruFor checkpoint; cli/weights.py), ``report`` and
``case`` (cli/report.py, cli/case.py), ``evaluate`` (cli/evaluate.py), ``batch`` (cli/batch.py) and ``gui``;
without a subcommand the investigator window opens.  A new subcommand group is a module with
``add_<name>_parser(sub)`` (returning its parser) and ``run_<name>(args)``, wired in below: the
parser's ``run`` default is the function that ``main`` calls.

Error policy: every problem the user can fix is one ``error: ...`` line on stderr (no
traceback, no warnings) and a non-zero exit; other images of the same call still run.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from trufor_desk import __version__
from trufor_desk.cli.analyze import add_analyze_parser, run_analyze
from trufor_desk.cli.messages import error
from trufor_desk.errors import UserError


def _build_parser() -> argparse.ArgumentParser:
    from trufor_desk.cli.batch import add_batch_parser, run_batch
    from trufor_desk.cli.case import add_case_parser, run_case
    from trufor_desk.cli.evaluate import add_evaluate_parser, run_evaluate
    from trufor_desk.cli.report import add_report_parser, run_report
    from trufor_desk.cli.weights import add_weights_parser, run_weights

    p = argparse.ArgumentParser(prog="trufor-desk",
                                description="Image forgery analysis for forensic examiners (TruFor and more).")
    p.add_argument("--version", action="version", version=f"trufor-desk {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    # each command's parser names the function that runs it (``args.run``); ``gui`` has none
    add_analyze_parser(sub).set_defaults(run=run_analyze)
    g = sub.add_parser("gui", help="open the investigator window (the default without a command)")
    g.add_argument("images", nargs="*", metavar="IMAGE")
    g.add_argument("--engine", default=None, help="engine selected in the toolbar")
    g.add_argument("--analyze", action="store_true", help="analyse the last opened image right away")
    for add_parser, run in ((add_weights_parser, run_weights), (add_report_parser, run_report),
                            (add_case_parser, run_case), (add_evaluate_parser, run_evaluate),
                            (add_batch_parser, run_batch)):
        add_parser(sub).set_defaults(run=run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():  # the CLI speaks through its own error lines only (this call)
        warnings.simplefilter("ignore")
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    try:
        run = getattr(args, "run", None)
        if run is not None:
            return run(args)
        from trufor_desk.gui.app import run_gui

        if args.command == "gui":
            return run_gui(args.images, args.engine, args.analyze)
        return run_gui([])
    except UserError as exc:
        error(exc)
        return 1
    except KeyboardInterrupt:
        error("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
