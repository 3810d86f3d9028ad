"""Quality of every weight-free engine on real photographs (issues #10, #19).

    python benchmarks/bench_quality.py [DATASET_DIR] [--engines a,b] [--no-ablation] [--limit N]
    python benchmarks/bench_quality.py [DATASET_DIR] --conditions [--reshared DIR] [--uncompressed DIR]
                                       [--engines fusion] [--every K]

DATASET_DIR (default ``../shared/casia-dev``) has the layout of ``trufor-desk evaluate``:
``fake/``, ``mask/`` and ``real/``.  For each engine, and for ablations of the fused
default (each detector removed in turn, the noise cap lifted), it prints:

* mean F1-best and F1@0.5 under TruFor's official rule (the headline) and under our
  strict rule (constant maps score 0);
* ROC AUC and balanced accuracy of the image-level score ("none" where the engine
  gives no score);
* F1-best split by manipulation type from the file name: ``Sp_D`` (splicing) and
  ``Sp_S`` (copy-move, same image);
* the mean fraction of authentic pixels above 0.5 on ``real/`` (false alarms);
* seconds per image.

* the share of authentic photographs whose verdict is "Manipulation indicated" (the
  verdict every output prints, ``verdict/decision.py``).

``--conditions`` prints one table per engine with a row per condition of evidence as it
arrives: as stored, the re-shared copies that ``scripts/make_reshared.py`` builds
(re-saved at 95, 85 and 75, twice at 85 then 75, cropped and re-saved at 90 and at 75,
downscaled to 0.75 and re-saved at 75, halved and re-saved at 80;
default folder ``~/.cache/trufor-desk/reshared``) and the never-compressed forgeries that
``scripts/make_uncompressed.py`` builds (default ``~/.cache/trufor-desk/uncompressed``).
A condition whose folder is missing is reported as such, not skipped silently.  ``--every
K`` takes every K-th image of each variant (the stored set is always used whole); ``--only
stored,resave85,...`` runs those conditions only.

Nothing is tuned here: the engines run with their defaults.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trufor_desk.engines.registry import ENGINES, create_engine  # noqa: E402
from trufor_desk.evaluation.dataset import discover, load_mask  # noqa: E402
from trufor_desk.evaluation.metrics import balanced_accuracy, localization_f1, roc_auc  # noqa: E402
from trufor_desk.evidence import open_evidence  # noqa: E402
from trufor_desk.verdict.decision import verdict_for_result  # noqa: E402

CACHE = Path.home() / ".cache" / "trufor-desk"
RESHARED = ("resave95", "resave85", "crop_resave90", "down75_resave75", "resave75", "twice85_75", "crop_resave75",
            "down50_resave80")

ABLATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "fusion - copymove": ("fusion", {"copymove": False}),
    "fusion - splicebuster": ("fusion", {"noise_cap": 0.0}),
    "fusion, noise uncapped": ("fusion", {"noise_cap": 1.0}),
    "fusion, 27 lowest frequencies": ("fusion", {"frequencies": 27}),
}


def kind_of(name: str) -> str:
    return "Sp_D" if name.startswith("Sp_D") else "Sp_S" if name.startswith("Sp_S") else "other"


def run(engine_name: str, params: dict[str, Any], items, limit: int | None, every: int = 1) -> dict[str, Any]:
    engine = create_engine(engine_name)
    f1, f1_fixed, f1_strict, f1_fixed_strict, by_type = [], [], [], [], {"Sp_D": [], "Sp_S": []}
    scores, labels, false_alarm, seconds, indicated = [], [], [], [], []
    n_fake = n_real = 0
    for i, item in enumerate(items):
        if i % every:
            continue
        if item.kind == "fake":
            if item.mask is None or (limit and n_fake >= limit):
                continue
            n_fake += 1
        else:
            if limit and n_real >= limit:
                continue
            n_real += 1
        ev = open_evidence(item.path)
        t = time.perf_counter()
        res = engine.analyze(ev, params=params or None)
        seconds.append(time.perf_counter() - t)
        if res.score is not None:
            scores.append(res.score)
            labels.append(item.kind == "fake")
        if item.kind == "fake":
            m = localization_f1(res.localization, load_mask(item.mask))
            f1.append(m["f1_best"])
            f1_fixed.append(m["f1_fixed"])
            f1_strict.append(m["f1_best_strict"])
            f1_fixed_strict.append(m["f1_fixed_strict"])
            k = kind_of(item.path.name)
            if k in by_type:
                by_type[k].append(m["f1_best"])
        else:
            false_alarm.append(float((res.localization > 0.5).mean()))
            indicated.append(verdict_for_result(res).category == "indicated")
    s, lab = np.asarray(scores), np.asarray(labels, bool)
    scored = len(scores) == n_fake + n_real and lab.any() and (~lab).any()
    return {
        "f1": np.mean(f1), "f1_fixed": np.mean(f1_fixed), "f1_strict": np.mean(f1_strict),
        "f1_fixed_strict": np.mean(f1_fixed_strict),
        "auc": roc_auc(s, lab) if scored else None, "bacc": balanced_accuracy(s, lab) if scored else None,
        "sp_d": np.mean(by_type["Sp_D"]) if by_type["Sp_D"] else float("nan"),
        "sp_s": np.mean(by_type["Sp_S"]) if by_type["Sp_S"] else float("nan"),
        "false_alarm": np.mean(false_alarm) if false_alarm else float("nan"),
        "indicated": np.mean(indicated) if indicated else float("nan"),
        "s_per_image": float(np.mean(seconds)), "n_fake": n_fake, "n_real": n_real,
        "n_scored": len(scores),
    }


def fmt(v) -> str:
    return "none" if v is None else f"{v:.3f}"


def conditions(args) -> int:
    """One row per condition of evidence as it arrives (see the module docstring)."""
    rows = [("as stored", Path(args.dataset), 1)]
    rows += [(name, Path(args.reshared) / name, args.every) for name in RESHARED]
    rows.append(("never compressed (PNG-made)", Path(args.uncompressed), 1))
    if args.only:
        keep = {c.strip() for c in args.only.split(",") if c.strip()}
        names = {"stored": "as stored", "uncompressed": "never compressed (PNG-made)"}
        unknown = keep - set(RESHARED) - set(names)
        if unknown:
            print(f"error: unknown condition(s) {', '.join(sorted(unknown))}; known: stored, "
                  f"{', '.join(RESHARED)}, uncompressed", file=sys.stderr)
            return 1
        rows = [r for r in rows if r[0] in keep or r[0] in {names[k] for k in keep if k in names}]
    for engine in [e for e in args.engines.split(",") if e]:
        print(f"\nengine: {engine}")
        print("| condition | images (fake / real) | F1-best | F1@0.5 | AUC | bAcc | authentic px > 0.5 "
              "| authentic 'indicated' | s / image |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for label, folder, every in rows:
            if not (folder / "fake").is_dir():
                print(f"| {label} | missing: {folder} (build it with the scripts/ named above) | | | | | | | |")
                continue
            r = run(engine, {}, discover(folder), args.limit, every)
            print(f"| {label} | {r['n_fake']} / {r['n_real']} | {r['f1']:.3f} | {r['f1_fixed']:.3f} "
                  f"| {fmt(r['auc'])} | {fmt(r['bacc'])} | {100 * r['false_alarm']:.2f} % "
                  f"| {100 * r['indicated']:.1f} % | {r['s_per_image']:.2f} |", flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", default=str(ROOT.parent / "shared" / "casia-dev"))
    ap.add_argument("--engines", default=",".join(n for n, e in ENGINES.items() if not e.requires_weights))
    ap.add_argument("--no-ablation", action="store_true", help="skip the fusion ablation rows")
    ap.add_argument("--limit", type=int, default=None, help="at most N fake and N real images")
    ap.add_argument("--conditions", action="store_true", help="a table per engine, one row per condition")
    ap.add_argument("--reshared", default=str(CACHE / "reshared"), help="scripts/make_reshared.py's output")
    ap.add_argument("--uncompressed", default=str(CACHE / "uncompressed"), help="scripts/make_uncompressed.py's output")
    ap.add_argument("--every", type=int, default=1, help="every K-th image of each re-shared variant")
    ap.add_argument("--only", default="", help="with --conditions: these conditions only (stored, a re-shared "
                                               "variant's name, uncompressed; comma-separated)")
    args = ap.parse_args(argv)
    if not (Path(args.dataset) / "fake").is_dir():
        print(f"error: {args.dataset}: no fake/ folder (layout of `trufor-desk evaluate`)", file=sys.stderr)
        return 1
    if args.conditions:
        if args.engines == ",".join(n for n, e in ENGINES.items() if not e.requires_weights):
            args.engines = "fusion"
        return conditions(args)
    items = discover(args.dataset)
    rows = [(name, name, {}) for name in args.engines.split(",") if name]
    if not args.no_ablation:
        rows += [(label, eng, p) for label, (eng, p) in ABLATIONS.items()]
    print(f"dataset: {args.dataset}")
    print("| engine | F1-best (official) | F1@0.5 (official) | F1-best (strict) | F1@0.5 (strict) | AUC | bAcc "
          "| F1 Sp_D (splicing) | F1 Sp_S (copy-move) | authentic px > 0.5 | authentic 'indicated' | s / image |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, eng, params in rows:
        r = run(eng, params, items, args.limit)
        print(f"| {label} | {r['f1']:.3f} | {r['f1_fixed']:.3f} | {r['f1_strict']:.3f} | {r['f1_fixed_strict']:.3f} "
              f"| {fmt(r['auc'])} | {fmt(r['bacc'])} | {r['sp_d']:.3f} | {r['sp_s']:.3f} "
              f"| {100 * r['false_alarm']:.2f} % | {100 * r['indicated']:.1f} % | {r['s_per_image']:.2f} |", flush=True)
    print(f"({r['n_fake']} manipulated, {r['n_real']} authentic images; AUC/bAcc 'none': the engine gives no "
          "image-level score)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
