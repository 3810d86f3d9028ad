"""How much double-compression gain a single-compressed image reaches by chance, by size
(the measurement behind ``adq.chance_gain``).

    python benchmarks/bench_chance_gain.py [DATASET_DIR] [--every K] [--qualities 70,80,92]

Authentic photos of DATASET_DIR (default ``../shared/casia-dev``, ``real/``) are downscaled
(Lanczos) by factors 0.25-0.9, which erases their JPEG history, and saved once at each
quality, in memory; the aligned double-quantisation analysis (``jpeg_history.read_history``,
layer 1) then reads a "history" that is not there.  For each factor the table prints the
number of 8x8 blocks, the median and 95th percentile of that raw total gain, what
``adq.chance_gain`` takes off, the 95th percentile left, and the share of copies whose
double-compression presence stays at 0.5 or above (before -> after).  For comparison, the
same photos cropped on the 8x8 grid to the same size and saved at the same quality
(a real double compression: the camera's, then this one) give the gain a real history
keeps at that size.  Each copy lives in a temporary file only while it is read.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trufor_desk.engines.classical import adq, jpeg_history  # noqa: E402
from trufor_desk.engines.classical.fusion import FusionEngine  # noqa: E402
from trufor_desk.evidence import open_evidence  # noqa: E402

FACTORS = (0.25, 0.33, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def first_layer(img: Image.Image, quality: int, params: dict) -> tuple[float, float, int]:
    """(raw gain, gain taken off, blocks) of layer 1 after one save at ``quality``."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as tmp:  # open_evidence reads a file
        img.save(tmp, "JPEG", quality=quality)
        tmp.flush()
        hist = jpeg_history.read_history(open_evidence(tmp.name), params)
    if not hist.layers:
        return 0.0, 0.0, 0
    lay = hist.layers[0]
    return lay.gain + lay.chance_gain, lay.chance_gain, int(lay.llr.size)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", default=str(ROOT.parent / "shared" / "casia-dev"))
    ap.add_argument("--every", type=int, default=4, help="every K-th authentic photo")
    ap.add_argument("--qualities", default="70,80,92")
    args = ap.parse_args(argv)
    real = Path(args.dataset) / "real"
    if not real.is_dir():
        print(f"error: {real}: no such folder (needs the authentic photos of an evaluation set)", file=sys.stderr)
        return 1
    files = sorted(p for p in real.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[1::args.every]
    params = dict(FusionEngine.DEFAULTS)
    print(f"{len(files)} authentic photos of {real}; chance_gain = {adq.CHANCE_GAIN_SCALE:g} * "
          f"(blocks^-{adq.CHANCE_GAIN_POWER} - {adq.CHANCE_REFERENCE_BLOCKS}^-{adq.CHANCE_GAIN_POWER})")
    print("| quality | factor | blocks | raw gain median | raw p95 | taken off | p95 left | presence >= 0.5 "
          "(before -> after) | real DQ crop: gain median, presence >= 0.5 after |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for q in (int(v) for v in args.qualities.split(",")):
        for fac in FACTORS:
            raw, off, dq_raw, dq_off, blocks = [], [], [], [], 0
            for f in files:
                with Image.open(f) as im:
                    img = im.convert("RGB")
                w, h = round(img.width * fac), round(img.height * fac)
                g, c, blocks = first_layer(img.resize((w, h), Image.Resampling.LANCZOS), q, params)
                raw.append(g)
                off.append(c)
                g2, c2, _ = first_layer(img.crop((0, 0, (w // 8) * 8, (h // 8) * 8)), q, params)
                dq_raw.append(g2)
                dq_off.append(c2)
            raw_a, left = np.array(raw), np.array(raw) - np.array(off)
            dq_left = np.array(dq_raw) - np.array(dq_off)
            pres = [adq.dq_presence(g) >= 0.5 for g in raw_a]
            pres2 = [adq.dq_presence(g) >= 0.5 for g in left]
            print(f"| {q} | {fac:.2f} | {blocks} | {np.median(raw_a):.2f} | {np.percentile(raw_a, 95):.2f} | "
                  f"{np.median(off):.2f} | {np.percentile(left, 95):.2f} | {100 * np.mean(pres):.0f} % -> "
                  f"{100 * np.mean(pres2):.0f} % | {np.median(dq_left):.2f}, "
                  f"{100 * np.mean([adq.dq_presence(g) >= 0.5 for g in dq_left]):.0f} % |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
