"""Batch throughput, images per second at 1 MP on 2 cores, local backend (issue #5).

Makes ``--n`` natural-looking 1 MP JPEGs (1152x864), pins this process to 2 cores (when
the machine has more) and runs ``run_batch`` into a fresh folder for each configuration:

* ``splicebuster`` (weight-free) with one worker using both cores, and with two
  single-threaded workers;
* ``trufor`` with the parity kit's synthetic checkpoint (same network and cost as the
  real weights), one worker, ``--n-trufor`` images (about 15 s each at 1 MP on 2 cores).

Reported: wall-clock images/s for the whole run (engine creation, model loading and
worker start-up included), the steady-state rate from the per-image ``seconds`` column
(open + hash + analyse), the batch machinery's own cost per image (wall time not spent in
those seconds: start-up, npz and CSV writing) and the rate of a rerun that skips
everything (hashing only).  On a shared machine, check the load first: the figures
scale with the CPU time the process actually gets.

    python benchmarks/bench_batch.py [--n 8] [--n-trufor 3] [--skip-trufor]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

CORES = 2
if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > CORES:
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:CORES])
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, str(CORES))

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from PIL import Image  # noqa: E402

from tests.conftest import natural_image  # noqa: E402
from trufor_desk.batch import read_results, run_batch  # noqa: E402

H, W = 864, 1152


def make_images(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"photo_{i:03d}.jpg"
        Image.fromarray(natural_image(H, W, seed=100 + i)).save(p, "JPEG", quality=92)
        paths.append(p)
    return paths


def bench(label: str, inputs: list[Path], out: Path, **kw) -> dict:
    t = time.perf_counter()
    summary = run_batch(inputs, out, **kw)
    wall = time.perf_counter() - t
    rows = read_results(out)
    assert summary.errors == 0, [r["error"] for r in rows if r["status"] == "error"]
    per_image = [r["seconds"] for r in rows]
    steady = statistics.median(per_image)
    workers = kw.get("workers", 1)
    t = time.perf_counter()
    again = run_batch(inputs, out, **kw)
    skip_wall = time.perf_counter() - t
    assert again.skipped == len(inputs)
    overhead = (wall - sum(per_image) / workers) / len(inputs)  # writing, CSV, start-up, per image
    res = {"label": label, "n": len(inputs), "wall": wall, "ips": len(inputs) / wall,
           "steady_ips": workers / steady, "median_s": steady, "skip_ips": len(inputs) / skip_wall,
           "overhead_s": overhead}
    print(f"{label:36s} {res['n']:3d} img {wall:7.1f} s = {res['ips']:6.3f} img/s | steady "
          f"{res['steady_ips']:6.3f} img/s (median {steady:5.2f} s/img/worker) | batch overhead "
          f"{overhead:5.2f} s/img | resume pass {res['skip_ips']:5.0f} img/s", flush=True)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8, help="images for the weight-free engine (default 8)")
    ap.add_argument("--n-trufor", type=int, default=3, help="images for TruFor (default 3)")
    ap.add_argument("--skip-trufor", action="store_true")
    args = ap.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"batch throughput, {W}x{H} JPEG ({H * W / 1e6:.2f} MP), {cores} cores, local backend", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        root = Path(tmp)
        imgs = make_images(root / "in", max(args.n, args.n_trufor))
        bench("splicebuster, 1 worker x 2 threads", imgs[:args.n], root / "sb1", engine="splicebuster")
        bench("splicebuster, 2 workers x 1 thread", imgs[:args.n], root / "sb2", engine="splicebuster",
              workers=2)
        if not args.skip_trufor:
            from tests.conftest import synthetic_checkpoint

            weights = synthetic_checkpoint("synthetic")
            bench("trufor (synthetic weights), 1 worker", imgs[:args.n_trufor], root / "tf1", engine="trufor",
                  weights=str(weights), device="cpu")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
