"""Whole-process speed and memory of `trufor-desk analyze --engine trufor` on the CPU,
against the official code's figures on this machine, with per-stage FLOP rates.

For each size a natural-looking PNG is made, then
``/usr/bin/time -v trufor-desk analyze IMG.png --weights W --device cpu`` runs in a fresh
process; wall time and peak RSS come from /usr/bin/time, each stage's seconds from the
result's timings, its GFLOP from benchmarks/flops.py.  The kit's synthetic checkpoint is
used (same shapes and cost as the real one).  The machine's own limits are measured
first (matmul fp32/bf16, 3x3 64->64 convolution NCHW / channels-last fp32 / bf16), so
every stage's rate is also printed as a fraction of what this machine can do.

    python benchmarks/bench_trufor.py                        # 512x512, 1 MP, 3 MP; fp32 and bf16
    python benchmarks/bench_trufor.py --precisions fp32 --sizes 6000x4000   # the 24 MP run

Targets (issue #12), whole process against the official inference script measured on
this machine (issue #12 table): fp32 >= 2x at 1 MP and 3 MP, bf16 >= 3x at 1 MP; peak RSS
<= 1.1 GB at 1 MP and <= 4 GB at 24 MP.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.flops import trufor_macs  # noqa: E402
from tests.conftest import natural_image, synthetic_checkpoint  # noqa: E402

# The official inference script on this machine, whole process (/usr/bin/time), synthetic
# weights, fp32 (issue #12): wall seconds and peak RSS in MiB.  Its forward pass alone:
# kit README section 8 (5.4 s, 31.6-33.2 s, 152-173 s).
OFFICIAL = {(512, 512): (11.2, 1434), (1024, 1024): (31.3, 3246), (1536, 2048): (131.9, 7731)}

STAGES = (("noiseprint_s", "Noiseprint++", ("noiseprint",)),
          ("encoder_s", "encoder+fusion", ("encoders", "fusion")),
          ("decoders_s", "decoders", ("decoders",)))


def machine_limits() -> dict[str, float]:
    """GFLOP/s of this machine's best kernels, measured now (about 10 s)."""
    import torch
    import torch.nn.functional as F

    def rate(fn, flop: float) -> float:
        fn()
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return round(flop / best / 1e9, 1)

    out = {}
    with torch.no_grad():
        for name, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            a = torch.randn(2048, 2048).to(dt)
            out[f"matmul_{name}"] = rate(lambda a=a: a @ a, 2 * 2048 ** 3)
        x = torch.randn(1, 64, 384, 384)
        w = torch.randn(64, 64, 3, 3)
        flop = 2 * 384 * 384 * 64 * 64 * 9
        out["conv3x3_nchw_fp32"] = rate(lambda: F.conv2d(x, w, padding=1), flop)
        xc, wc = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
        out["conv3x3_cl_fp32"] = rate(lambda: F.conv2d(xc, wc, padding=1), flop)
        xb, wb = xc.bfloat16(), wc.bfloat16()
        out["conv3x3_cl_bf16"] = rate(lambda: F.conv2d(xb, wb, padding=1), flop)
    return out


def run_one(h: int, w: int, weights: Path, precision: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        img = Path(tmp) / f"bench_{w}x{h}.png"
        Image.fromarray(natural_image(h, w, seed=7)).save(img)
        out = Path(tmp) / "res.npz"
        cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "trufor_desk", "analyze", str(img), "--weights",
               str(weights), "--device", "cpu", "--out", str(out), "--precision", precision]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(p.stderr)
        wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
        hours, mins, secs = (float(g) if g else 0.0 for g in wall.groups())
        rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
        timings = json.loads(str(np.load(out)["timings_json"]))
    macs = trufor_macs(h, w)
    row = {"size": f"{w}x{h}", "precision": precision, "megapixels": round(h * w / 1e6, 2),
           "wall_s": round(hours * 3600 + mins * 60 + secs, 1), "inference_s": timings["inference_s"],
           "max_rss_mib": round(rss_kb / 1024), "gflop": round(2 * macs["total"] / 1e9)}
    for key, _, parts in STAGES:
        gflop = 2 * sum(macs[k] for k in parts) / 1e9
        row[key] = timings.get(key)
        row[key.replace("_s", "_gflop_per_s")] = round(gflop / timings[key], 1) if timings.get(key) else None
    row["gflop_per_s"] = round(row["gflop"] / timings["inference_s"], 1)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="512x512,1024x1024,2048x1536", help="comma list of WxH")
    ap.add_argument("--weights", type=Path, help="checkpoint (default: the kit's synthetic one)")
    ap.add_argument("--precisions", default="fp32,bf16")
    args = ap.parse_args()
    weights = args.weights or synthetic_checkpoint("synthetic")
    limits = machine_limits()
    print("machine limits, GFLOP/s:", json.dumps(limits), flush=True)
    print(f"{'size':>10} {'prec':>5} {'wall s':>7} {'official':>8} {'speed':>6} {'RSS MiB':>8} {'RSS/off':>7}"
          f" {'net s':>6} {'NP++ s':>7} {'enc s':>6} {'dec s':>6} {'NP++ GF/s':>9} {'enc GF/s':>8} {'dec GF/s':>8}"
          f" {'all GF/s':>8}")
    for spec in args.sizes.split(","):
        w, h = (int(v) for v in spec.lower().split("x"))
        for precision in args.precisions.split(","):
            r = run_one(h, w, weights, precision)
            ref = OFFICIAL.get((h, w)) or OFFICIAL.get((w, h))
            speed = f"{ref[0] / r['wall_s']:.2f}x" if ref else "-"
            mem = f"{r['max_rss_mib'] / ref[1]:.2f}" if ref else "-"
            print(f"{r['size']:>10} {precision:>5} {r['wall_s']:>7} {ref[0] if ref else '-':>8} {speed:>6}"
                  f" {r['max_rss_mib']:>8} {mem:>7} {r['inference_s']:>6} {r['noiseprint_s']:>7} {r['encoder_s']:>6}"
                  f" {r['decoders_s']:>6} {r['noiseprint_gflop_per_s']:>9} {r['encoder_gflop_per_s']:>8}"
                  f" {r['decoders_gflop_per_s']:>8} {r['gflop_per_s']:>8}", flush=True)
            print(json.dumps(r), flush=True)
    conv = limits["conv3x3_cl_fp32"]
    print(f"Noiseprint++ runs 3x3 64->64 convolutions: compare its rate with {conv} (fp32 channels-last) and "
          f"{limits['conv3x3_cl_bf16']} (bf16); the encoder is mostly matmul ({limits['matmul_fp32']} fp32).")


if __name__ == "__main__":
    main()
