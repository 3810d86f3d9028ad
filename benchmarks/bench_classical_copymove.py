"""Speed of the copy-move engine in seconds per megapixel.

A synthetic 2 MP forgery (1200x1700, a rotated copy; see
tests/engines/classical/synth_copymove.py) is analysed ``--repeat`` times in this
process after one warm-up run; the median total and the per-phase timings are printed.

    python benchmarks/bench_classical_copymove.py                 # 1200x1700, 3 runs
    python benchmarks/bench_classical_copymove.py --size 2000x3000 --threads 2

Target (issue #3): <= 2 s/MP on 2 cores.  Measured on the 2-core development machine:
about 0.75 s/MP (1.5 s for 2 MP; SIFT ~0.85 s, matching ~0.35 s, verification ~0.3 s).
Images smaller than 512 px on the short side are upscaled for SIFT, so they cost more
per megapixel (a 256x256 image takes ~0.3 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.engines.classical.synth_copymove import make_copymove  # noqa: E402
from trufor_desk.engines.classical.copymove import CopyMoveEngine  # noqa: E402
from trufor_desk.evaluation.metrics import localization_f1  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1200x1700", help="HxW (default 1200x1700, about 2 MP)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="OpenCV threads (default: OpenCV's choice)")
    args = ap.parse_args(argv)
    h, w = (int(v) for v in args.size.lower().split("x"))
    if args.threads:
        import cv2

        cv2.setNumThreads(args.threads)
    img, mask, _ = make_copymove(h, w, "rotation", seed=3)
    engine = CopyMoveEngine()
    engine.analyze(img)  # warm-up: imports, OpenCV kernels
    totals, last = [], None
    for _ in range(args.repeat):
        t = time.perf_counter()
        last = engine.analyze(img)
        totals.append(time.perf_counter() - t)
    mp = h * w / 1e6
    med = statistics.median(totals)
    f1 = localization_f1(last.localization, mask)["f1_best"]
    print(f"copymove {w}x{h} ({mp:.2f} MP): median {med:.2f} s over {args.repeat} runs "
          f"= {med / mp:.2f} s/MP (target <= 2.00); F1-best {f1:.3f}, score {last.score:.3f}")
    print("phases: " + ", ".join(f"{k} {v:.2f}" for k, v in last.timings.items()))
    print("provenance: " + ", ".join(f"{k}={v}" for k, v in last.provenance.items() if k != "regions_json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
