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

``--large N`` (issue #22) instead runs the weight-free default, ``fusion``, on ``N`` generated
12 MP camera-like JPEGs (4243x2829; half authentic, saved once at 92; half spliced: host at
75, a region of other content pasted, saved at 90; each file a different shift of a few
base scenes, so every file is distinct and the spliced ones keep their 8x8 grid), with two
local workers and then, on the first ``--large-ray M`` of them, with Ray (a private local
cluster of two single-CPU workers).  Printed per backend: images per hour (wall clock,
start-up included), the median seconds per image and worker, the peak resident memory of
the largest worker process (polled from ``/proc``), the six largest processes by name with
their peak RSS and the largest private memory (RssAnon) seen in them (RSS also counts the
pages of Ray's shared object store that a worker's results pass through; the names tell
Ray's own daemons from its workers), and the stored ``.npz`` sizes against their
uncompressed size (``batch/stored.py``).  Each output folder is removed after it is
measured (a run of 1,000 stores about 40-50 GB).

    python benchmarks/bench_batch.py --large 1000 [--large-ray 200]
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
import numpy as np  # noqa: E402
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


LARGE_W, LARGE_H = 4243, 2829
BASES = 4


def _large_bases() -> list[tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]]:
    """(authentic scene, host decoded after a save at 75, splice box) per base scene."""
    import io

    import cv2

    from tests.engines.classical.synth_jpeg_splices import natural_content

    out = []
    for b in range(BASES):
        rng = np.random.default_rng(500 + b)
        small = natural_content(LARGE_H // 4, LARGE_W // 4, 20 + b)
        scene = cv2.resize(small, (LARGE_W, LARGE_H), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        scene += rng.normal(0, 3.0, scene.shape).astype(np.float32)
        scene = np.clip(scene, 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(scene).save(buf, "JPEG", quality=75)
        host = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        box = (LARGE_H // 4 + 3 + 40 * b, LARGE_W // 3 + 5, LARGE_H // 5, LARGE_W // 6)
        out.append((scene, host, box))
    return out


def _write_large(args: tuple[int, str]) -> str:
    i, folder = args
    scene, host, (y0, x0, hh, ww) = _BASES[i % BASES]
    donor = _BASES[(i + 1) % BASES][0]
    dy, dx = 8 * ((i * 7) % 97), 8 * ((i * 13) % 131)     # multiples of 8: the host's grid stays aligned
    if i % 2 == 0:
        img, q, kind = np.roll(scene, (dy + i % 8, dx + i % 5), axis=(0, 1)), 92, "authentic"
    else:
        img = np.roll(host, (dy, dx), axis=(0, 1)).copy()
        img[y0:y0 + hh, x0:x0 + ww] = donor[y0:y0 + hh, x0:x0 + ww]
        q, kind = 90, "spliced"
    path = Path(folder) / f"{kind}_{i:04d}.jpg"
    Image.fromarray(img).save(path, "JPEG", quality=q)
    return str(path)


_BASES: list = []


def _init_large() -> None:
    _BASES[:] = _large_bases()


def make_large(folder: Path, n: int) -> list[Path]:
    """``n`` distinct 12 MP JPEGs in ``folder``, written by two processes."""
    import multiprocessing

    folder.mkdir(parents=True, exist_ok=True)
    with multiprocessing.get_context("fork").Pool(CORES, initializer=_init_large) as pool:
        return [Path(p) for p in pool.map(_write_large, [(i, str(folder)) for i in range(n)], chunksize=4)]


def _process_name(pid: int) -> str:
    """A short name for a process: Ray's own (raylet, gcs_server, ray::IDLE, ...) or its command."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return "?"
    if not argv:
        return "?"
    if argv[0].startswith("ray::"):
        return argv[0]
    for a in argv[:3]:
        base = os.path.basename(a)
        if base in ("raylet", "gcs_server", "plasma_store") or base.endswith((".py", "_worker")):
            return base
    return " ".join(os.path.basename(a) for a in argv[:2])[:40]


def _descendants_hwm(root: int) -> dict[int, tuple[int, int]]:
    """{pid: (peak RSS (VmHWM), current private RSS (RssAnon)) in bytes} of every living descendant
    of ``root``.  RSS counts the shared-memory pages a process has touched (Ray's object store, where
    a worker writes its results); RssAnon is the process's own memory."""
    children: dict[int, list[int]] = {}
    hwm: dict[int, tuple[int, int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        children.setdefault(int(fields.get("PPid", "0").strip() or 0), []).append(int(d))
        if "VmHWM" in fields:
            anon = int(fields["RssAnon"].split()[0]) * 1024 if "RssAnon" in fields else 0
            hwm[int(d)] = (int(fields["VmHWM"].split()[0]) * 1024, anon)
    out, todo = {}, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out[pid] = hwm.get(pid, (0, 0))
        todo.extend(children.get(pid, []))
    return out


def bench_large(label: str, inputs: list[Path], out: Path, **kw) -> dict:
    import shutil
    import threading

    peaks: dict[int, int] = {}
    private: dict[int, int] = {}  # the largest private RSS seen (polled every 0.5 s)
    names: dict[int, str] = {}
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.5):
            for pid, (b, anon) in _descendants_hwm(os.getpid()).items():
                peaks[pid] = max(peaks.get(pid, 0), b)
                private[pid] = max(private.get(pid, 0), anon)
                if b >= 50e6 or pid not in names:  # a worker's name changes while it runs (ray::IDLE -> a task)
                    name = _process_name(pid)
                    if name != "?" and (pid not in names or not name.startswith("ray::IDLE")):
                        names[pid] = name

    sampler = threading.Thread(target=poll, daemon=True)
    sampler.start()
    t = time.perf_counter()
    summary = run_batch(inputs, out, engine="fusion", **kw)
    wall = time.perf_counter() - t
    done.set()
    sampler.join()
    rows = read_results(out)
    assert summary.errors == 0, [r["error"] for r in rows if r["status"] == "error"]
    sizes = [os.path.getsize(r["npz"]) for r in rows]
    with np.load(rows[0]["npz"], allow_pickle=False) as z:
        raw = sum(z[k].nbytes for k in z.files)
    verdicts = {v: sum(r["verdict"] == v for r in rows) for v in sorted({r["verdict"] for r in rows})}
    # the largest process, and the largest few by name (which are workers, which are Ray's own daemons)
    peak = max(peaks.values(), default=0)
    top = sorted(peaks.items(), key=lambda kv: -kv[1])[:6]
    res = {"label": label, "n": len(rows), "wall": wall, "per_hour": 3600 * len(rows) / wall,
           "median_s": statistics.median(r["seconds"] for r in rows), "peak_gb": peak / 1e9,
           "npz_mb": statistics.mean(sizes) / 1e6, "raw_mb": raw / 1e6}
    print(f"{label:34s} {res['n']:5d} img {wall:8.1f} s = {res['per_hour']:6.0f} img/h | median "
          f"{res['median_s']:5.2f} s/img/worker | largest worker peak RSS {res['peak_gb']:4.2f} GB | .npz "
          f"{res['npz_mb']:5.1f} MB/img (uncompressed {res['raw_mb']:5.0f} MB) | verdicts {verdicts}", flush=True)
    print("    largest processes (peak RSS / largest private RSS seen): " + ", ".join(
        f"{names.get(pid, '?')} {b / 1e9:.2f} / {private.get(pid, 0) / 1e9:.2f} GB" for pid, b in top), flush=True)
    shutil.rmtree(out)
    return res


def main_large(n: int, n_ray: int) -> int:
    with tempfile.TemporaryDirectory(prefix="bench_batch_large_", dir=os.environ.get("BENCH_TMP")) as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        imgs = make_large(root / "in", n)
        print(f"fusion batch, {n} generated {LARGE_W}x{LARGE_H} JPEGs ({LARGE_W * LARGE_H / 1e6:.1f} MP; "
              f"made in {time.perf_counter() - t:.0f} s), {CORES} cores", flush=True)
        bench_large("fusion, local, 2 workers", imgs, root / "local", workers=2)
        if n_ray:
            bench_large("fusion, Ray (local cluster), 2 workers", imgs[:n_ray], root / "ray", workers=2,
                        backend="ray", cpus_per_worker=1)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8, help="images for the weight-free engine (default 8)")
    ap.add_argument("--n-trufor", type=int, default=3, help="images for TruFor (default 3)")
    ap.add_argument("--skip-trufor", action="store_true")
    ap.add_argument("--large", type=int, default=0, metavar="N",
                    help="instead: fusion on N generated 12 MP JPEGs, local and Ray (issue #22)")
    ap.add_argument("--large-ray", type=int, default=None, metavar="M",
                    help="with --large: the Ray run on the first M images (default N; 0: no Ray run)")
    args = ap.parse_args(argv)
    if args.large:
        return main_large(args.large, args.large if args.large_ray is None else min(args.large_ray, args.large))
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
