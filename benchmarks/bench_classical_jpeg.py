"""Seconds per megapixel of the JPEG-history engines (``jpeg``, ``ela``, ``ghost``).

A 2 MP (1632x1224) double-compressed splice is made with the test generator (host q70,
uncompressed region, saved at q90) and each engine analyses it in this process; the
best of ``--repeat`` runs is reported (the first run also pays imports).

    python benchmarks/bench_classical_jpeg.py [--size 1632x1224] [--repeat 3]

Target (issue #3): <= 2 s per megapixel per engine on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.engines.classical.synth_jpeg_splices import evidence_from_bytes, make_splice  # noqa: E402
from trufor_desk.engines.registry import create_engine  # noqa: E402

TARGET_S_PER_MP = 2.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1632x1224", help="WIDTHxHEIGHT (default 1632x1224, 2.0 MP)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    case = make_splice(h, w, seed=7, q1=70, q_region=None, q2=90)
    mp = w * h / 1e6
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        ev = evidence_from_bytes(case.data, Path(tmp), "bench.jpg")
        print(f"image {w}x{h} = {mp:.2f} MP, JPEG q90, {len(case.data)} bytes")
        for name in ("jpeg", "ela", "ghost"):
            eng = create_engine(name)
            times = []
            for _ in range(max(1, args.repeat)):
                t0 = time.perf_counter()
                res = eng.analyze(ev)
                times.append(time.perf_counter() - t0)
            best = min(times)
            worst = max(worst, best / mp)
            print(f"{name:6s} best {best:6.2f} s  ->  {best / mp:5.2f} s/MP   "
                  f"(first run {times[0]:.2f} s; map mean {res.localization.mean():.3f})")
    print(f"slowest engine: {worst:.2f} s/MP (target <= {TARGET_S_PER_MP} s/MP): "
          f"{'OK' if worst <= TARGET_S_PER_MP else 'OVER TARGET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
