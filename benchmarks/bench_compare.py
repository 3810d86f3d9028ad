"""Seconds to register two 12 MP photos, and to produce a report with one comparison of them.

The second photo is made from the first (crop, rescale back to 12 MP, 2 degree rotation, a
pasted object, JPEG q75); both are written as JPEG files.  Timed, best of ``--repeat``:

* registration: :func:`register` and :func:`resample` on decoded pixels (target <= 3 s);
* report: open both files as evidence, add them to a case, ``case compare --register``
  (registration, numbers, figures), render the PDF (target <= 10 s for all of it).

    nice python benchmarks/bench_compare.py [--size 4000x3000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.compare.scenes import jpeg_bytes, second_version, textured_scene  # noqa: E402
from trufor_desk.compare.registration import register, resample  # noqa: E402

TARGET_REGISTER_S = 3.0
TARGET_REPORT_S = 10.0


def _corner_error(reg, a_to_b: np.ndarray, wb: int, hb: int) -> float:
    c = np.array([[0, 0, 1], [wb - 1, 0, 1], [0, hb - 1, 1], [wb - 1, hb - 1, 1]], np.float64)

    def ap(h):
        p = c @ h.T
        return p[:, :2] / p[:, 2:]

    return float(np.linalg.norm(ap(reg.H) - ap(np.linalg.inv(a_to_b)), axis=1).max())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="4000x3000", help="WIDTHxHEIGHT of the photos (default 12 MP)")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    first = textured_scene(h, w, seed=7)
    sv = second_version(first, crop=(0.05, 0.05, 0.9, 0.9), scale=1 / 0.9, angle_deg=2.0, quality=75)
    hb, wb = sv.rgb.shape[:2]
    print(f"A {w}x{h} = {w * h / 1e6:.1f} MP, B {wb}x{hb} = {wb * hb / 1e6:.1f} MP (crop, x1.11, 2 deg, "
          "pasted object, JPEG q75)")
    best = np.inf
    for _ in range(args.repeat):
        t = time.perf_counter()
        reg = register(first, sv.rgb)
        resample(sv.rgb, reg)
        best = min(best, time.perf_counter() - t)
    print(f"registration + resampling: {best:.2f} s (target <= {TARGET_REGISTER_S:.0f} s, "
          f"{best / TARGET_REGISTER_S:.2f} of it); corner error {_corner_error(reg, sv.a_to_b, wb, hb):.2f} px; "
          f"{reg.describe()}")

    from trufor_desk.case import Case
    from trufor_desk.cli.case_compare import compare_items
    from trufor_desk.evidence import open_evidence
    from trufor_desk.report import render_report

    best_total, parts = np.inf, ""
    with tempfile.TemporaryDirectory() as tmp:
        pa, pb = Path(tmp) / "camera.jpg", Path(tmp) / "circulated.jpg"
        pa.write_bytes(jpeg_bytes(first, 92))
        pb.write_bytes(sv.data)
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            case = Case("BENCH", "Bench Examiner")
            case.add_evidence(open_evidence(pa))
            case.add_evidence(open_evidence(pb))
            t1 = time.perf_counter()
            rec, _ = compare_items(case, "E1", "E2", register=True)
            t2 = time.perf_counter()
            pdf = render_report(case)
            t3 = time.perf_counter()
            if t3 - t0 < best_total:
                best_total = t3 - t0
                parts = (f"open + add evidence {t1 - t0:.2f} s, compare {t2 - t1:.2f} s, render {t3 - t2:.2f} s; "
                         f"{len(pdf) / 1e6:.2f} MB PDF")
    print(f"report with one comparison: {best_total:.2f} s (target <= {TARGET_REPORT_S:.0f} s, "
          f"{best_total / TARGET_REPORT_S:.2f} of it): {parts}")
    top = rec.numbers["regions"][0] if rec.numbers["regions"] else None
    print(f"largest differing region {top}; pasted object at {sv.pasted_box}")
    return 0 if best <= TARGET_REGISTER_S and best_total <= TARGET_REPORT_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
