"""``trufor-desk batch INPUT... --out OUT_DIR``: triage a collection into a results folder.

``entry.py`` wires it in: ``add_batch_parser(sub).set_defaults(run=run_batch)``.

Output: ``OUT_DIR/results.csv`` and ``results.jsonl`` (one row per input file), one
``.npz`` per analysed image.  stdout gets one summary line at the end; stderr gets one
``error: ...`` line per file that could not be analysed (the batch goes on) and, only
when it is a terminal, a progress bar with an ETA.  Exit status: 0 when every file was
analysed, 1 when some were recorded as errors (or the run could not start), 130 after
Ctrl-C; a rerun of the same command resumes and skips what is done.

``--triage`` (:mod:`trufor_desk.batch.triage`): a fast pass (the JPEG compression history
alone) on every file, then the full analysis only on the files it selects; the CSV's
``analysis`` column says which pass wrote each row.
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
    from trufor_desk.batch.triage import DEFAULT_TOP, PROMOTE_VERDICTS
    from trufor_desk.cli.args import add_c2pa_trust_argument, add_engine_arguments

    p = subparsers.add_parser(
        "batch", help="analyse a whole collection into a results folder (resumable)",
        description="Analyse every image in folders (recursively) and glob patterns. Writes OUT_DIR/results.csv "
                    "and results.jsonl (one row per file: path, sha256, width, height, engine, params, score, "
                    "status, error, seconds, versions, verdict, c2pa_state, c2pa_trust_sha256, and with --triage "
                    "analysis, triage_score, triage_verdict) and one .npz per "
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
    p.add_argument("--triage", action="store_true",
                   help="fast triage: first the JPEG compression history alone (fusion without noise statistics "
                        "and copy-move) on every image, then the full analysis (--engine, default fusion) only for "
                        "images whose fast verdict is manipulation indicated, inconclusive with a probability "
                        "at or above the decision point (likelihood ratio >= 1) or not applicable, that have no "
                        "fast score (e.g. PNG), or whose fast score is in "
                        "the top --triage-top fraction; "
                        "the CSV's 'analysis' column says which pass wrote each row, 'triage_score' the fast score")
    p.add_argument("--triage-top", type=float, default=None, metavar="F",
                   help=f"with --triage: the fraction of images, by fast score, that always get the full analysis "
                        f"(default {DEFAULT_TOP:g})")
    p.add_argument("--triage-verdicts", default=None, metavar="LIST",
                   help="with --triage: the fast verdicts that send an image to the full analysis, comma-separated "
                        f"(default {','.join(PROMOTE_VERDICTS)}; 'none' for the rank alone)")
    add_c2pa_trust_argument(p)
    return p


def _triage_options(args: argparse.Namespace) -> dict[str, Any]:
    """run_batch's triage keywords from --triage/--triage-top/--triage-verdicts (UserError if misused)."""
    if not args.triage:
        for given, flag in ((args.triage_top, "--triage-top"), (args.triage_verdicts, "--triage-verdicts")):
            if given is not None:
                raise UserError(f"{flag} only applies with --triage")
        return {}
    from trufor_desk.batch.triage import PROMOTE_NAMES

    opts: dict[str, Any] = {"triage": True}
    if args.triage_top is not None:
        opts["triage_top"] = args.triage_top
    if args.triage_verdicts is not None:
        names = [v.strip().replace(" ", "_") for v in args.triage_verdicts.split(",") if v.strip()]
        names = [] if names == ["none"] else names
        unknown = sorted(set(names) - set(PROMOTE_NAMES))
        if unknown:
            raise UserError(f"--triage-verdicts: unknown verdict(s) {', '.join(unknown)} "
                            f"(choose from {', '.join(PROMOTE_NAMES)}, or none)")
        opts["triage_promote"] = tuple(names)
    return opts


class _Progress(StderrBar):
    """tqdm bar with ETA on stderr, only when stderr is a terminal; error lines either way."""

    def __init__(self) -> None:
        self.bar = None
        self._stage = None

    def __call__(self, p) -> None:
        if self.bar is not None and p.stage != self._stage:  # --triage: a bar per pass
            self.close()
        self._stage = p.stage
        if self.bar is None and sys.stderr.isatty():
            from tqdm import tqdm

            # our own ETA: it counts only images still to analyse, not the quick skips of a resume
            desc = {"triage": "fast pass", "full": "full analysis"}.get(p.stage, "batch")
            self.bar = tqdm(total=p.total, unit="img", file=sys.stderr, dynamic_ncols=True, desc=desc,
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
                      gpus_per_worker=args.gpus_per_worker, progress=bar, c2pa_trust=c2pa_trust_from(args),
                      **_triage_options(args))
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
