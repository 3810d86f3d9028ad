"""``trufor-desk evaluate``: score a detector on a dataset folder with ground truth.

``entry.py`` wires it in: ``add_evaluate_parser(sub).set_defaults(run=run_evaluate)``.

``DATASET_DIR`` holds ``fake/``, ``mask/`` (same stem as the image, optionally with
``_gt`` or ``_mask``; white = manipulated) and optionally ``real/``.  Per-image rows go
to a CSV (written atomically), a summary table to stdout; each image that fails is one
``error: ...`` line on stderr and an error row, never the end of the run.  Exit status:
0 when every image was scored, 1 when some rows are errors or the run could not start.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from trufor_desk.cli.messages import error
from trufor_desk.cli.progress import StderrBar
from trufor_desk.errors import Cancelled, UserError

__all__ = ["add_evaluate_parser", "run_evaluate"]


def add_evaluate_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    from trufor_desk.engines.registry import engine_names

    p = subparsers.add_parser(
        "evaluate",
        help="score a detector on a dataset (F1, AUC, balanced accuracy)",
        description=(
            "Run a detector on every image of DATASET_DIR (fake/, mask/, optional real/) and score it "
            "with TruFor's protocol: F1-best and F1@0.5 per manipulated image (boundary band ignored, "
            "map or inverted map), ROC AUC and balanced accuracy (score > 0.5) over fake and real images. "
            "Masks: same stem as the image, optionally with _gt or _mask, any image format, white = "
            "manipulated, same size as the image."),
    )
    p.add_argument("dataset", metavar="DATASET_DIR", help="folder with fake/, mask/ and optionally real/")
    p.add_argument("--engine", required=True, choices=engine_names(), metavar="NAME",
                   help=f"detector to evaluate ({', '.join(engine_names())})")
    p.add_argument("--out", metavar="CSV", default=None,
                   help="per-image CSV (default: evaluate_<engine>_<dataset>.csv in the current folder)")
    # SUPPRESS: never overwrite a --weights / --device the main parser may already have set
    p.add_argument("--weights", metavar="PATH", default=argparse.SUPPRESS,
                   help="TruFor checkpoint (default: $TRUFOR_WEIGHTS, then the installed copy)")
    p.add_argument("--device", default=argparse.SUPPRESS, help="auto (default), cpu, cuda or mps")
    return p


def _default_out(engine: str, dataset: str) -> Path:
    name = Path(dataset).resolve().name or "dataset"
    return Path.cwd() / f"evaluate_{engine}_{name}.csv"


class _Bar(StderrBar):
    """Per-image progress on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.bar = None
        if sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # pragma: no cover - tqdm is a dependency
                return
            self.bar = tqdm(desc="evaluate", unit="img", file=sys.stderr, leave=False)

    def __call__(self, i: int, n: int, row) -> None:
        if self.bar is not None:
            self.bar.total = n
            self.bar.set_postfix_str(row.path, refresh=False)
            self.bar.update(1)
        if row.status == "error":
            self.write(f"error: {row.path}: {row.error}")



def run_evaluate(args: argparse.Namespace) -> int:
    """Run a parsed ``evaluate`` command; return the process exit status."""
    from trufor_desk.engines.registry import create_engine
    from trufor_desk.evaluation.dataset import discover, evaluate_dataset, format_summary, write_csv

    bar: _Bar | None = None
    try:
        discover(args.dataset)  # a wrong folder is reported before any engine is loaded
        out = Path(args.out) if args.out else _default_out(args.engine, args.dataset)
        if out.is_dir():
            raise UserError(f"--out {out}: is a folder; give a .csv file name")
        options: dict[str, Any] = {"device": getattr(args, "device", None) or "auto"}
        if getattr(args, "weights", None):
            options["weights"] = args.weights
        engine = create_engine(args.engine, **options)
        bar = _Bar()
        report = evaluate_dataset(args.dataset, engine, args.engine, on_row=bar, checkpoint_csv=out)
        bar.close()
        bar = None
        write_csv(out, report.rows)
        summary = report.summary()
        print(format_summary(summary), flush=True)
        print(f"rows: {out}", flush=True)
        return 1 if summary["n_errors"] else 0
    except UserError as exc:
        _close(bar)
        error(exc)
        return 1
    except OSError as exc:
        _close(bar)
        where = f": {exc.filename}" if exc.filename else ""
        error(f"{exc.strerror or exc}{where}")
        return 1
    except (KeyboardInterrupt, Cancelled):
        _close(bar)
        error("interrupted")
        return 130


def _close(bar: _Bar | None) -> None:
    if bar is not None:
        bar.close()
