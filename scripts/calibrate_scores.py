"""Refit the image-level score calibration of the weight-free engines.

    python scripts/calibrate_scores.py [--workers N] [DATASET_DIR ...]   # default ../shared/casia-dev
                                                                         # and its re-shared copies, if built

Runs each engine's whole-image statistic over ``fake/`` and ``real/`` of datasets in the
``evaluate`` layout, measures its ROC AUC, fits a logistic model of one statistic (two
parameters) and prints the ``MODELS`` / ``NO_SCORE`` entries of
``trufor_desk/engines/classical/calibration.py``.  The fusion's models take the
statistics it records (``score_features``: the share of the image its compression-history
map marks, and copy-move's match strength) jointly, pooled over every dataset given: by
default casia-dev as stored and the re-shared copies ``scripts/make_reshared.py`` builds
in ``~/.cache/trufor-desk/reshared`` (every second image of each), so that an authentic
photo re-saved by a messaging app is part of what the probability was calibrated on.
Nothing is written: the constants are pasted by hand so that every change of calibration
is a reviewed commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _image_statistics(path: Path) -> tuple[float, float, float]:
    """(log_dq_gain, copymove_raw, log_once_share) of one image (NaN where not applicable)."""
    from trufor_desk.engines.classical import adq
    from trufor_desk.engines.classical.fusion import FusionEngine
    from trufor_desk.evidence import open_evidence

    ev = open_evidence(path)
    r = adq.run_adq(ev, adq.AdqEngine.DEFAULTS)
    feats = json.loads(FusionEngine().analyze(ev).provenance["engine_details_json"] or "{}")["score_features"]
    return (adq.log_dq_gain(r["gain"]) if r["applicable"] else np.nan,
            float(feats.get("copymove_raw", np.nan)),  # before calibration
            float(feats.get("log_once_share", np.nan)))


def statistics(dataset: Path, every: int = 1, workers: int = 1) -> tuple[dict[str, list[float]], np.ndarray]:
    from concurrent.futures import ProcessPoolExecutor

    from trufor_desk.evaluation.dataset import discover

    items = [i for n, i in enumerate(discover(dataset)) if (i.problem is None or i.kind == "real") and n % every == 0]
    paths = [i.path for i in items]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            rows = list(pool.map(_image_statistics, paths, chunksize=4))
    else:
        rows = []
        for n, path in enumerate(paths):
            rows.append(_image_statistics(path))
            if n % 50 == 0:
                print(f"{dataset.name}: {n}/{len(paths)}", file=sys.stderr, flush=True)
    stats = {name: [row[k] for row in rows] for k, name in enumerate(("log_dq_gain", "copymove_raw", "log_once_share"))}
    return stats, np.asarray([i.kind == "fake" for i in items])


def main(argv: list[str]) -> int:
    from trufor_desk.engines.classical.calibration import MIN_AUC, MODELS, fit_logistic
    from trufor_desk.evaluation.metrics import roc_auc

    workers = 1
    if "--workers" in argv:
        k = argv.index("--workers")
        workers = int(argv[k + 1])
        argv = argv[:k] + argv[k + 2:]
    if argv:
        sets = [(Path(a), 1) for a in argv]
    else:
        reshared = Path.home() / ".cache" / "trufor-desk" / "reshared"
        sets = [(ROOT.parent / "shared" / "casia-dev", 1)]
        sets += [(reshared / c, 2) for c in ("resave95", "resave85", "crop_resave90", "down75_resave75")
                 if (reshared / c / "fake").is_dir()]
    for dataset, _ in sets:
        if not (dataset / "fake").is_dir():
            print(f"error: {dataset}: no fake/ folder (dataset layout of `trufor-desk evaluate`)", file=sys.stderr)
            return 1
    stats: dict[str, list[float]] = {}
    label_parts = []
    for i, (dataset, every) in enumerate(sets):
        s_i, l_i = statistics(dataset, every, workers)
        label_parts.append(l_i)
        for k, v in s_i.items():
            stats.setdefault(k, []).extend(v)
        print(f"# {dataset}: {int(l_i.sum())} manipulated, {int((~l_i).sum())} authentic")
        if i == 0:  # the single-statistic engines stay calibrated on the set as stored
            first = {k: list(v) for k, v in s_i.items()}, l_i
    labels = np.concatenate(label_parts)
    print(f"# pooled: prior_fake = {labels.mean():.3f}")
    single, single_labels = first
    for name, values in single.items():
        if name == "log_once_share":
            continue
        x = np.asarray(values)
        ok = np.isfinite(x)
        auc = roc_auc(x[ok], single_labels[ok])
        if auc < MIN_AUC:
            print(f"{name}: AUC {auc:.3f} < {MIN_AUC}: no score")
            continue
        b0, b = fit_logistic(x[ok], single_labels[ok])
        print(f'{name}: {{"intercept": {b0:.4f}, "coef": {{"{name}": {b[0]:.4f}}}, "auc": {auc:.3f}}}')
    # the fusion's models, pooled over every set: both statistics jointly, and the history alone
    for model, names in (("fusion", ("log_dq_gain", "log_once_share", "copymove_raw")),
                         ("fusion_history", ("log_dq_gain", "log_once_share"))):
        x = np.column_stack([stats[n] for n in names])  # (log_dq_gain: the fusion's first layer, the same analysis)
        ok = np.isfinite(x).all(axis=1)
        b0, b = fit_logistic(x[ok], labels[ok])
        p = 1.0 / (1.0 + np.exp(-(b0 + x[ok] @ b)))
        coef = ", ".join(f'"{n}": {c:.4f}' for n, c in zip(names, b))
        print(f'{model}: {{"intercept": {b0:.4f}, "coef": {{{coef}}}, "auc": {roc_auc(p, labels[ok]):.3f}}}')
        rec = MODELS[model]  # the constants in use, on the same statistics of the current engine
        p_rec = 1.0 / (1.0 + np.exp(-(rec["intercept"] + x[ok] @ np.array([rec["coef"][n] for n in names]))))
        y = labels[ok]
        bacc = 0.5 * (float((p_rec[y] >= 0.5).mean()) + float((p_rec[~y] < 0.5).mean()))
        print(f"#   recorded {model} model on these statistics: AUC {roc_auc(p_rec, y):.3f} (recorded "
              f"{rec['auc']:.3f}), bAcc {bacc:.3f}, mean probability {p_rec.mean():.3f} vs share manipulated "
              f"{y.mean():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
