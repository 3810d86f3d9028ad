"""Whole-process speed and memory of `trufor-desk analyze` on CPU.

For each size a natural-looking PNG is made, then
``/usr/bin/time -v trufor-desk analyze IMG.png --weights W --device cpu`` runs in a fresh
process; wall time and peak RSS come from /usr/bin/time, the network's own time from the
result's timings, GFLOP/s from benchmarks/flops.py.  The kit's synthetic checkpoint is
used (same shapes and cost as the real one).

    python benchmarks/bench_trufor.py                  # 512x512, 1 MP, 3 MP
    python benchmarks/bench_trufor.py --sizes 6000x4000   # the one-off 24 MP run (tens of minutes)

Targets (issue #2): 1024x1024 <= 23 s wall and <= 1.5 GB max RSS; 24 MP <= 16 GB.
Official code on this machine: forward 5.4 s at 512x512, ~32 s at 1 MP (whole process ~35 s,
3.0 GB), ~160 s at 3 MP (7.5 GB).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.flops import trufor_gflop  # noqa: E402
from tests.conftest import natural_image, synthetic_checkpoint  # noqa: E402

# official model on this machine kind (kit README section 8): forward seconds with weights
# loaded, and peak RSS of a process that loaded a checkpoint and ran one forward pass
OFFICIAL = {(512, 512): (5.4, None), (1024, 1024): (32.4, 2962), (1536, 2048): (160.0, 7544)}


def run_one(h: int, w: int, weights: Path, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        img = Path(tmp) / f"bench_{w}x{h}.png"
        Image.fromarray(natural_image(h, w, seed=7)).save(img)
        out = Path(tmp) / "res.npz"
        cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "trufor_desk", "analyze", str(img), "--weights",
               str(weights), "--device", "cpu", "--out", str(out), *extra]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(p.stderr)
        wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
        hours, mins, secs = (float(g) if g else 0.0 for g in wall.groups())
        rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
        timings = json.loads(str(np.load(out)["timings_json"]))
    gflop = trufor_gflop(h, w)
    return {"size": f"{w}x{h}", "megapixels": round(h * w / 1e6, 2), "wall_s": round(hours * 3600 + mins * 60 + secs, 1),
            "inference_s": timings["inference_s"], "max_rss_mib": round(rss_kb / 1024),
            "gflop": round(gflop), "gflop_per_s": round(gflop / timings["inference_s"], 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="512x512,1024x1024,2048x1536", help="comma list of WxH")
    ap.add_argument("--weights", type=Path, help="checkpoint (default: the kit's synthetic one)")
    ap.add_argument("--precision", default="fp32")
    args = ap.parse_args()
    weights = args.weights or synthetic_checkpoint("synthetic")
    print(f"{'size':>10} {'MP':>6} {'wall s':>8} {'net s':>8} {'RSS MiB':>8} {'GFLOP':>7} {'GFLOP/s':>8}"
          f" {'net vs official':>16} {'RSS / official':>14}")
    for spec in args.sizes.split(","):
        w, h = (int(v) for v in spec.lower().split("x"))
        r = run_one(h, w, weights, ["--precision", args.precision])
        ref = OFFICIAL.get((h, w)) or OFFICIAL.get((w, h))
        speed = f"{ref[0] / r['inference_s']:.2f}x faster" if ref else "-"
        mem = f"{r['max_rss_mib'] / ref[1]:.2f}" if ref and ref[1] else "-"
        print(f"{r['size']:>10} {r['megapixels']:>6} {r['wall_s']:>8} {r['inference_s']:>8} {r['max_rss_mib']:>8}"
              f" {r['gflop']:>7} {r['gflop_per_s']:>8} {speed:>16} {mem:>14}", flush=True)
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
