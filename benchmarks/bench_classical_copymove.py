"""Speed and peak memory of the copy-move engine, in seconds per megapixel.

A synthetic forgery (default 1200x1700, about 2 MP, a rotated copy; see
tests/engines/classical/synth_copymove.py) is analysed ``--repeat`` times in this
process after one warm-up run; the median total, the per-phase timings and the
process's peak resident memory are printed.  With ``--jpeg Q`` the forgery is saved as
a JPEG of quality Q and opened as evidence, so the pasted-copy judge (aligned double
quantisation over the whole image) runs as it does on photographs.

    python benchmarks/bench_classical_copymove.py                 # 1200x1700, 3 runs
    python benchmarks/bench_classical_copymove.py --size 3000x4000 --kind translation --jpeg 90

Targets: <= 3 s/MP on 2 cores, <= 1 s for a 384x256 image.  Measured on the shared
2-core development machine (busy): 12 MP JPEG 90, translated copy 3.8 s (0.32 s/MP),
rotated copy 4.3 s (0.36 s/MP), F1-best 1.0 for both; the dense shift search works on
a copy reduced to 0.4 MP, so its cost does not grow with the photograph.  Images
smaller than 512 px on the short side are upscaled for SIFT, so they cost more per
megapixel (a 384x256 casia-dev photo takes about 0.6 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.engines.classical.synth_copymove import make_copymove  # noqa: E402
from trufor_desk.engines.classical.copymove import CopyMoveEngine  # noqa: E402
from trufor_desk.evaluation.metrics import localization_f1  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1200x1700", help="HxW (default 1200x1700, about 2 MP)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="OpenCV threads (default: OpenCV's choice)")
    ap.add_argument("--kind", default="rotation", choices=("translation", "rotation", "scale"))
    ap.add_argument("--jpeg", type=int, default=0, help="save as JPEG of this quality and open it as evidence")
    args = ap.parse_args(argv)
    h, w = (int(v) for v in args.size.lower().split("x"))
    if args.threads:
        import cv2

        cv2.setNumThreads(args.threads)
    img, mask, _ = make_copymove(h, w, args.kind, seed=3)
    if args.jpeg:
        import tempfile

        import cv2

        from trufor_desk.evidence import open_evidence

        path = Path(tempfile.mkdtemp()) / "copymove.jpg"
        cv2.imwrite(str(path), np.ascontiguousarray(img[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, args.jpeg])
        img = open_evidence(path)
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
          f"= {med / mp:.2f} s/MP (target <= 3.00); F1-best {f1:.3f}, score {last.score:.3f}")
    print("phases: " + ", ".join(f"{k} {v:.2f}" for k, v in last.timings.items()))
    print("provenance: " + ", ".join(f"{k}={v}" for k, v in last.provenance.items() if k != "regions_json"))
    import resource

    print(f"peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
