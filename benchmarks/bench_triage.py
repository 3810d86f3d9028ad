"""``batch --triage`` against the full batch on a labelled set (issue #22, fast triage mode).

Runs, on the same files (``fake/`` manipulated, ``real/`` authentic; casia-dev by default),
the full batch (fusion with its defaults) and ``batch --triage`` (the fast pass on every
image, the full analysis on those it selects), each timed as a whole run with ``--workers``
local workers, and prints:

* how many manipulated images rank in the top 20 % and 30 % of all images by the fast
  score, against the full analysis's ranking (and the most that could: min(k, manipulated));
* how many manipulated (and authentic) images the triage sends on to the full analysis, and
  by which rule (fast verdict or no fast score; rank);
* the same selection with other verdict rules (``--triage-verdicts``), computed from the
  stored fast rows, their full pass time estimated from the full batch's per-image seconds;
* the total time of each run.

    python benchmarks/bench_triage.py [DATASET_DIR] [--every K] [--workers 2]

On a shared machine check the load first: the times scale with the CPU time the runs get.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from trufor_desk.batch import read_results, run_batch  # noqa: E402
from trufor_desk.batch.results import FULL_ANALYSIS  # noqa: E402
from trufor_desk.batch.triage import PROMOTE_VERDICTS, select_for_full  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "casia-dev"
TOPS = (0.2, 0.3)
VARIANTS = (("indicated,inconclusive,not_applicable", ("indicated", "inconclusive", "not_applicable")),
            ("indicated,inconclusive_high,not_applicable (default)", PROMOTE_VERDICTS),
            ("indicated,not_applicable", ("indicated", "not_applicable")),
            ("none (rank alone)", ()))


def files_of(data: Path, every: int) -> tuple[list[Path], dict[str, bool]]:
    files, fake = [], {}
    for kind in ("fake", "real"):
        found = sorted(p for p in (data / kind).iterdir() if p.is_file() and not p.name.startswith("."))[::every]
        files += found
        fake.update({os.path.abspath(p): kind == "fake" for p in found})
    return files, fake


def auc(scores: list[float], labels: list[bool]) -> float:
    """ROC AUC (Mann-Whitney, ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def ranked(rows: list[dict], key: str) -> list[dict]:
    """Rows by score, highest first (no score last), ties in input order."""
    return sorted(rows, key=lambda r: -r[key] if r[key] is not None else math.inf)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", default=str(DEFAULT_DATA), help=f"dataset folder (default {DEFAULT_DATA})")
    ap.add_argument("--every", type=int, default=1, metavar="K", help="every K-th file of each folder (default 1)")
    ap.add_argument("--workers", type=int, default=2, help="local workers for both runs (default 2)")
    ap.add_argument("--keep", metavar="DIR", default=None, help="write the two result folders here (kept)")
    args = ap.parse_args(argv)
    files, is_fake = files_of(Path(args.data), max(1, args.every))
    n, n_fake = len(files), sum(is_fake.values())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.data}: {n} images ({n_fake} manipulated, {n - n_fake} authentic), every {args.every}; "
          f"{args.workers} local workers, {cores} cores, load {load:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_triage_") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        t = time.perf_counter()
        full = run_batch(files, root / "full", engine="fusion", workers=args.workers)
        full_s = time.perf_counter() - t
        print(f"full batch: {full.line()}", flush=True)
        t = time.perf_counter()
        tri = run_batch(files, root / "triage", triage=True, workers=args.workers)
        tri_s = time.perf_counter() - t
        print(f"triage batch: {tri.line()}", flush=True)
        full_rows = {r["path"]: r for r in read_results(root / "full")}
        tri_rows = {r["path"]: r for r in read_results(root / "triage")}
    assert full.errors == tri.errors == 0, (full.error_rows, tri.error_rows)
    paths = list(tri_rows)
    for p in paths:
        tri_rows[p]["fake"] = full_rows[p]["fake"] = is_fake[p]

    print("\n| ranking of all images | AUC | " + " | ".join(f"manipulated in top {100 * f:g} %" for f in TOPS) + " |")
    print("| --- | --- |" + " --- |" * len(TOPS))
    best = [min(math.ceil(f * n), n_fake) for f in TOPS]
    for label, rows, key in (("fast pass (compression history only)", list(tri_rows.values()), "triage_score"),
                             ("full analysis (fusion defaults)", list(full_rows.values()), "score")):
        order = ranked(rows, key)
        cells = []
        for f, most in zip(TOPS, best, strict=True):
            k = math.ceil(f * n)
            hit = sum(r["fake"] for r in order[:k])
            cells.append(f"{hit} of {k} ({hit / n_fake:.0%} of the {n_fake}; at most {most})")
        scored = [r for r in rows if r[key] is not None]
        print(f"| {label} | {auc([r[key] for r in scored], [r['fake'] for r in scored]):.3f} | "
              + " | ".join(cells) + " |")

    full_secs = {p: r["seconds"] or 0.0 for p, r in full_rows.items()}
    fast_s = tri.triage.fast_seconds
    print("\n| fast verdicts sent to full | manipulated sent to full | authentic sent to full | "
          "manipulated 'indicated' at the end | total time |")
    print("| --- | --- | --- | --- | --- |")
    fast = [(i, tri_rows[p]["triage_score"], tri_rows[p]["triage_verdict"]) for i, p in enumerate(paths)]
    for label, promote in VARIANTS:
        chosen, _, _ = select_for_full(fast, tri.triage.top_fraction, promote)
        sel = {paths[i] for i in chosen}
        fk = sum(is_fake[p] for p in sel)
        ind = sum(is_fake[p] and (full_rows[p] if p in sel else tri_rows[p])["verdict"] == "indicated" for p in paths)
        if promote == PROMOTE_VERDICTS:  # the run itself
            assert sel == {p for p, r in tri_rows.items() if r["analysis"] == FULL_ANALYSIS}
            when = f"{tri_s:.0f} s measured (fast {fast_s:.0f} s + full {tri.triage.full_seconds:.0f} s)"
        else:
            est = fast_s + full_s * sum(full_secs[p] for p in sel) / max(sum(full_secs.values()), 1e-9)
            when = f"~{est:.0f} s estimated"
        print(f"| {label} | {fk} of {n_fake} | {len(sel) - fk} of {n - n_fake} | {ind} | {when} |")
    ind_full = sum(r["fake"] and r["verdict"] == "indicated" for r in full_rows.values())
    print(f"| (full batch, every image) | {n_fake} of {n_fake} | {n - n_fake} of {n - n_fake} | {ind_full} | "
          f"{full_s:.0f} s measured |")
    print(f"\ntriage {tri_s:.0f} s vs full batch {full_s:.0f} s ({tri_s / full_s:.2f}x); fast pass alone "
          f"{fast_s:.0f} s = {n / max(fast_s, 1e-9):.2f} images/s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
