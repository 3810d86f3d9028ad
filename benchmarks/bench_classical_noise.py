"""Seconds per megapixel of the weight-free noise-residual engines (issue #3).

A natural-looking 2 MP image (1632x1224) with sensor-like noise is analysed by
``splicebuster`` and ``noise`` in this process; each engine runs ``--repeat`` times and
the best time is reported.  Target: <= 2 s/MP on the 2-core development machine.

    python benchmarks/bench_classical_noise.py [--size 1224x1632] [--repeat 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import natural_image  # noqa: E402
from trufor_desk.engines.registry import create_engine  # noqa: E402

TARGET_S_PER_MP = 2.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1224x1632", help="HxW (default 1224x1632 = 2.0 MP)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--engines", default="splicebuster,noise")
    args = ap.parse_args(argv)
    h, w = (int(v) for v in args.size.lower().split("x"))
    ev = SimpleNamespace(rgb=natural_image(h, w, seed=3), sha256="bench")
    mp = h * w / 1e6
    worst = 0.0
    for name in args.engines.split(","):
        eng = create_engine(name)
        best = min(_timed(eng, ev) for _ in range(max(1, args.repeat)))
        worst = max(worst, best / mp)
        print(f"{name:13s} {w}x{h} ({mp:.2f} MP): {best:.2f} s = {best / mp:.2f} s/MP "
              f"(target <= {TARGET_S_PER_MP} s/MP)")
    return 0 if worst <= TARGET_S_PER_MP else 1


def _timed(eng, ev) -> float:
    t = time.perf_counter()
    eng.analyze(ev)
    return time.perf_counter() - t


if __name__ == "__main__":
    raise SystemExit(main())
