"""``trufor-desk batch INPUT... --out OUT_DIR``: triage a collection into a results folder.

``entry.py`` wires it in: ``add_batch_parser(sub).set_defaults(run=run_batch)``.

Output: ``OUT_DIR/results.csv`` and ``results.jsonl`` (one row per input file), one
``.npz`` per analysed image.  stdout gets one summary line at the end; stderr gets one
``error: ...`` line per file that could not be analysed (the batch goes on) and, only
when it is a terminal, a progress bar with an ETA.  Exit status: 0 when every file was
analysed, 1 when some were recorded as errors (or the run could not start), 130 after
Ctrl-C; a rerun of the same command resumes and skips what is done.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trufor_desk.cli.messages import error
from trufor_desk.cli.progress import StderrBar
from trufor_desk.errors import UserError

__all__ = ["add_batch_parser", "run_batch"]


def add_batch_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    from trufor_desk.cli.args import add_c2pa_trust_argument, add_engine_arguments

    p = subparsers.add_parser(
        "batch", help="analyse a whole collection into a results folder (resumable)",
        description="Analyse every image in folders (recursively) and glob patterns. Writes OUT_DIR/results.csv "
                    "and results.jsonl (one row per file: path, sha256, width, height, engine, params, score, "
                    "status, error, seconds, versions, verdict, c2pa_state, c2pa_trust_sha256) and one .npz per "
                    "image. Rerunning resumes: files whose "
                    "result exists for the same content, engine and parameters are skipped.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="folder, image file or quoted glob pattern "
                                                               "(e.g. 'photos/**/*.jpg')")
    p.add_argument("--out", required=True, metavar="OUT_DIR", help="results folder (created if needed)")
    add_engine_arguments(p)
    p.add_argument("--backend", default="local", choices=("local", "ray"),
                   help="local (default): this machine; ray: Ray Data actors, local or on a cluster "
                        "(needs trufor-desk[cluster])")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="parallel workers, each holding one engine/model (default 1)")
    p.add_argument("--ray-address", metavar="ADDR", default=None,
                   help="Ray cluster to join (default: $RAY_ADDRESS; none: start a private local Ray)")
    p.add_argument("--cpus-per-worker", type=float, default=None, metavar="C",
                   help="ray: CPUs reserved by each worker, also its thread count (default 1)")
    p.add_argument("--gpus-per-worker", type=float, default=0, metavar="G",
                   help="ray: GPUs reserved by each worker (e.g. 1 with --device cuda)")
    add_c2pa_trust_argument(p)
    return p


class _Progress(StderrBar):
    """tqdm bar with ETA on stderr, only when stderr is a terminal; error lines either way."""

    def __init__(self) -> None:
        self.bar = None
        self._total = None

    def __call__(self, p) -> None:
        if self.bar is None and sys.stderr.isatty():
            from tqdm import tqdm

            # our own ETA: it counts only images still to analyse, not the quick skips of a resume
            self.bar = tqdm(total=p.total, unit="img", file=sys.stderr, dynamic_ncols=True, desc="batch",
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                       "[{elapsed}{postfix}]")
        if p.row is not None and p.row["status"] == "error":
            self.write(f"error: {p.row['error']}")
        if self.bar is not None:
            from tqdm import tqdm

            eta = "?" if p.eta is None else tqdm.format_interval(p.eta)
            self.bar.set_postfix_str(f"<{eta}, {p.errors} errors, {p.skipped} skipped", refresh=False)
            self.bar.update(p.done - self.bar.n)



def run_batch(args: argparse.Namespace) -> int:
    """Run a parsed ``batch`` command; return the exit status."""
    from trufor_desk.batch.runner import run_batch as run
    from trufor_desk.cli.args import c2pa_trust_from

    bar = _Progress()
    try:
        summary = run(args.inputs, args.out, engine=args.engine, weights=args.weights, device=args.device,
                      precision=args.precision, engine_options={"band_tokens": args.band_tokens},
                      backend=args.backend, workers=args.workers,
                      ray_address=args.ray_address, cpus_per_worker=args.cpus_per_worker,
                      gpus_per_worker=args.gpus_per_worker, progress=bar, c2pa_trust=c2pa_trust_from(args))
    except UserError as exc:
        bar.close()
        error(exc)
        return 1
    except KeyboardInterrupt:
        bar.close()
        print(f"error: interrupted; finished results are in {args.out} (rerun the same command to resume)",
              file=sys.stderr, flush=True)
        return 130
    bar.close()
    print(summary.line(), flush=True)
    if summary.errors:
        print(f"error: {summary.errors} of {summary.total} files could not be analysed "
              f"(status 'error' in {summary.out_dir / 'results.csv'})", file=sys.stderr, flush=True)
        return 1
    return 0
