"""``trufor-desk`` command line.

Subcommands: ``analyze`` (run a detector on images, write ``.npz`` results), ``weights``
(install / check / download the TruFor checkpoint) and ``gui``; without a subcommand the
investigator window opens.

Error policy: every problem the user can fix is one ``error: ...`` line on stderr (no
traceback, no warnings) and a non-zero exit; other images of the same call still run.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Sequence

from trufor_desk import __version__
from trufor_desk.atomic import output_target, save_npz_atomic
from trufor_desk.cli_args import StderrBar, add_engine_arguments
from trufor_desk.engines.registry import create_engine, default_engine
from trufor_desk.errors import UserError



def _build_parser() -> argparse.ArgumentParser:
    from trufor_desk.cli_weights import add_weights_parser

    p = argparse.ArgumentParser(prog="trufor-desk",
                                description="Image forgery analysis for forensic examiners (TruFor and more).")
    p.add_argument("--version", action="version", version=f"trufor-desk {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser("analyze", help="analyse images and write .npz results",
                       description="Analyse images. Each result is an .npz with the official TruFor keys "
                                   "(map, conf, score, np++, imgsize) plus provenance.")
    a.add_argument("images", nargs="+", metavar="IMAGE")
    add_engine_arguments(a)
    a.add_argument("--out", metavar="FILE.npz|DIR",
                   help="output file (one image) or folder; default: the current directory")
    a.add_argument("--json", action="store_true", help="print one JSON object per image on stdout")
    a.add_argument("--band-tokens", type=int, default=None, metavar="N",
                   help="advanced: tokens per band in full-resolution stages (memory/speed trade-off)")

    g = sub.add_parser("gui", help="open the investigator window (the default without a command)")
    g.add_argument("images", nargs="*", metavar="IMAGE")
    g.add_argument("--engine", default=None, help="engine selected in the toolbar")
    g.add_argument("--analyze", action="store_true", help="analyse the last opened image right away")

    add_weights_parser(sub)
    from trufor_desk.cli_report import add_case_parser, add_report_parser

    add_report_parser(sub)
    add_case_parser(sub)
    from trufor_desk.cli_evaluate import add_evaluate_parser

    add_evaluate_parser(sub)
    from trufor_desk.cli_batch import add_batch_parser

    add_batch_parser(sub)
    return p


def _error(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr, flush=True)


def _outputs_for(images: list[str], out: str | None) -> list[Path]:
    """Where each image's .npz goes; refuses stem collisions and evidence overwrites."""
    if out is not None and out.lower().endswith(".npz") and not Path(out).is_dir():
        if len(images) > 1:
            raise UserError(f"--out {out} names one file but {len(images)} images were given; use a folder")
        targets = [Path(out)]
    else:
        folder = Path(out) if out is not None else Path.cwd()
        if folder.exists() and not folder.is_dir():
            raise UserError(f"--out {out}: exists and is not a folder")
        seen: dict[str, str] = {}
        for img in images:
            stem = Path(img).stem
            if stem in seen:
                raise UserError(f"two inputs would write {stem}.npz: {seen[stem]} and {img}; "
                                "rename one or analyse them separately")
            seen[stem] = img
        targets = [folder / f"{Path(img).stem}.npz" for img in images]
    return [output_target(t, images, ".npz") for t in targets]


class _Bar(StderrBar):
    """Progress on stderr, only when stderr is a terminal."""

    def __init__(self, label: str):
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=100, desc=label, unit="%", file=sys.stderr, leave=False,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix} [{elapsed}<{remaining}]")

    def __call__(self, fraction: float, message: str) -> None:
        if self.bar is not None:
            self.bar.n = round(100 * fraction, 1)
            self.bar.set_postfix_str(message, refresh=False)
            self.bar.refresh()


def _make_engine(args):
    name = args.engine or default_engine(args.weights)
    return create_engine(name, weights=args.weights, device=args.device, precision=args.precision,
                         band_tokens=args.band_tokens)


def run_analyze(args) -> int:
    from trufor_desk.errors import WeightsError
    from trufor_desk.evidence import open_evidence

    targets = _outputs_for(args.images, args.out)
    engine = _make_engine(args)
    failures = 0
    for img, target in zip(args.images, targets):
        bar = _Bar(Path(img).name)
        try:
            ev = open_evidence(img)
            result = engine.analyze(ev, progress=bar)
            bar.close()
            save_npz_atomic(target, result.to_npz_dict())
        except WeightsError as exc:
            bar.close()
            _error(str(exc))
            return 1  # every further image would fail the same way
        except UserError as exc:
            bar.close()
            _error(str(exc))
            failures += 1
            continue
        except OSError as exc:
            bar.close()
            _error(f"{target}: cannot write result ({exc.strerror or exc})")
            failures += 1
            continue
        from trufor_desk.render.verdict import verdict_for_result

        verdict = verdict_for_result(result)  # the verdict of the saved .npz, at the default thresholds
        summary = result.summary()
        summary["output"] = str(target)
        summary["verdict"] = verdict.to_dict()
        if args.json:
            print(json.dumps(summary, sort_keys=True), flush=True)
        else:
            conf = f", reliability mean {summary['conf_mean']:.3f}" if "conf_mean" in summary else ""
            print(f"{img}: {verdict.headline} [{verdict.score_text}; map mean {summary['map_mean']:.3f}{conf}] "
                  f"-> {target}", flush=True)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    warnings.simplefilter("ignore")  # the CLI speaks through its own error lines only
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "analyze":
            return run_analyze(args)
        if args.command == "weights":
            from trufor_desk.cli_weights import run_weights

            return run_weights(args)
        if args.command == "batch":
            from trufor_desk.cli_batch import run_batch

            return run_batch(args)
        if args.command == "evaluate":
            from trufor_desk.cli_evaluate import run_evaluate

            return run_evaluate(args)
        if args.command == "report":
            from trufor_desk.cli_report import run_report

            return run_report(args)
        if args.command == "case":
            from trufor_desk.cli_report import run_case

            return run_case(args)
        from trufor_desk.gui.app import run_gui

        if args.command == "gui":
            return run_gui(args.images, args.engine, args.analyze)
        return run_gui([])
    except UserError as exc:
        _error(str(exc))
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
