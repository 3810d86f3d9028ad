"""Speed, peak memory and false alarms of the weight-free default (``fusion``) on large photos.

    python benchmarks/bench_fusion_speed.py [--sizes 1,3,12,24] [--engine fusion] [--against DIR]

For each size (megapixels, 3:2) an authentic-looking photograph is generated (natural
content with sensor-like noise, saved once as JPEG at quality 92, in a temporary
folder) and a spliced version of it (host saved at 75, a region of other content
pasted, saved at 90).  Each is analysed in a fresh process by ``trufor-desk analyze``;
the wall time, the child's peak RSS and the fraction of map pixels above 0.5 are
printed.  Targets (issue #10, 2-core machine): <= 3 s per megapixel, <= 2 GB at 24 MP,
and no flood of false alarms on the authentic photo.

``--against DIR`` (another checkout of the project, e.g. ``git worktree add /tmp/ref main``)
analyses the same images with that code in the same run, and prints its time, the ratio and
the largest difference over every map both store (localization, reliability, each
detector's layer) and of the scores (issue #22: same maps within 1e-3, same scores).
"engine s" is the engine's own time (its ``timings["total_s"]``); "seconds" is the whole
``analyze`` process (start, decoding, hashing, writing the result).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_S_PER_MP = 3.0
TARGET_RSS_24MP_GB = 2.0


def make_photos(mp: float, folder: Path) -> tuple[Path, Path, float]:
    """(authentic.jpg, spliced.jpg, spliced area fraction) of about ``mp`` megapixels."""
    import cv2
    from PIL import Image

    from tests.engines.classical.synth_jpeg_splices import natural_content

    w = int(round(np.sqrt(mp * 1e6 * 1.5)))
    h = int(round(w / 1.5))
    rng = np.random.default_rng(int(mp * 10))
    small = natural_content(max(64, h // 4), max(64, w // 4), 3)
    scene = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    scene += rng.normal(0, 3.0, scene.shape).astype(np.float32)  # sensor-like noise at full resolution
    scene = np.clip(scene, 0, 255).astype(np.uint8)
    auth = folder / f"authentic_{mp:g}mp.jpg"
    Image.fromarray(scene).save(auth, quality=92)
    host_path = folder / "host.jpg"
    Image.fromarray(scene).save(host_path, quality=75)
    host = np.asarray(Image.open(host_path).convert("RGB")).copy()
    donor_small = natural_content(max(64, h // 8), max(64, w // 8), 11)
    donor = cv2.resize(donor_small, (w, h), interpolation=cv2.INTER_LINEAR)
    y0, x0, hh, ww = h // 4 + 3, w // 3 + 5, h // 4, w // 5
    host[y0:y0 + hh, x0:x0 + ww] = donor[y0:y0 + hh, x0:x0 + ww]
    spliced = folder / f"spliced_{mp:g}mp.jpg"
    Image.fromarray(host).save(spliced, quality=90)
    return auth, spliced, hh * ww / (h * w)


def analyse(path: Path, engine: str, out: Path, tree: Path = ROOT) -> tuple[float, float, float, float, float]:
    """(seconds, peak RSS in GB, fraction of the map above 0.5, score, the engine's own seconds)
    in a fresh process running the code of the checkout ``tree``."""
    import json
    import os

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "trufor_desk", "analyze", str(path), "--engine", engine,
                    "--out", str(out)], check=True, stdout=subprocess.DEVNULL, cwd=tree, env=env)
    seconds = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    d = np.load(out, allow_pickle=False)
    frac = float((d["map"] > 0.5).mean())
    score = float(d["score"]) if "score" in d else float("nan")
    engine_s = float(json.loads(str(d["timings_json"])).get("total_s", float("nan")))
    return seconds, max(rss, before) / 1024 ** 2, frac, score, engine_s


def max_map_difference(ours: Path, theirs: Path) -> float:
    """The largest difference over every map both results store (map, reliability, layers)."""
    a, b = np.load(ours), np.load(theirs)
    names = [k for k in a.files if k in b.files and a[k].dtype == np.float32 and a[k].ndim == 2]
    if set(names) != {k for k in b.files if b[k].dtype == np.float32 and b[k].ndim == 2}:
        return float("inf")  # a map one of them lacks
    return max(float(np.abs(a[k].astype(np.float64) - b[k]).max()) for k in names)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,3,12,24", help="megapixels, comma separated")
    ap.add_argument("--engine", default="fusion")
    ap.add_argument("--against", type=Path, default=None, metavar="DIR",
                    help="another checkout: the same images analysed with its code, with the ratio and differences")
    args = ap.parse_args(argv)
    ref = args.against.resolve() if args.against else None
    extra = " reference s (engine) | ratio (engine) | max map diff | score diff |" if ref else ""
    print("| image | MP | seconds | engine s | s / MP | peak RSS (GB, max so far) | map > 0.5 | score |" + extra)
    print("| --- | --- | --- | --- | --- | --- | --- | --- |" + " --- | --- | --- | --- |" * bool(ref))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for mp in [float(s) for s in args.sizes.split(",") if s]:
            auth, spliced, area = make_photos(mp, folder)
            for label, path in (("authentic (q92 once)", auth), (f"spliced ({100 * area:.1f} % region)", spliced)):
                from PIL import Image

                with Image.open(path) as im:
                    real_mp = im.width * im.height / 1e6
                sec, rss, frac, score, eng = analyse(path, args.engine, folder / "r.npz")
                row = (f"| {label} | {real_mp:.1f} | {sec:.1f} | {eng:.1f} | {sec / real_mp:.2f} | {rss:.2f} | "
                       f"{100 * frac:.2f} % | {score:.3f} |")
                if ref:
                    rsec, _, _, rscore, reng = analyse(path, args.engine, folder / "ref.npz", ref)
                    dmap = max_map_difference(folder / "r.npz", folder / "ref.npz")
                    row += (f" {rsec:.1f} ({reng:.1f}) | {sec / rsec:.2f}x ({eng / reng:.2f}x) | {dmap:.2g} "
                            f"| {abs(score - rscore):.2g} |")
                print(row, flush=True)
    print(f"targets: <= {TARGET_S_PER_MP} s/MP; <= {TARGET_RSS_24MP_GB} GB at 24 MP; RSS is the largest child "
          "process so far (ru_maxrss), so read it per row in increasing sizes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
