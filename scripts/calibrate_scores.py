"""Refit the image-level score calibration of the weight-free engines.

    python scripts/calibrate_scores.py [DATASET_DIR]     # default ../shared/casia-dev

Runs each engine's whole-image statistic over ``fake/`` and ``real/`` of a dataset in
the ``evaluate`` layout, measures its ROC AUC, fits a logistic model of one statistic
(two parameters; the fusion's model takes the two statistics jointly, three parameters)
and prints the ``MODELS`` / ``NO_SCORE`` entries of
``trufor_desk/engines/classical/calibration.py``.  Nothing is written: the constants
are pasted by hand so that every change of calibration is a reviewed commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def statistics(dataset: Path) -> tuple[dict[str, list[float]], np.ndarray]:
    from trufor_desk.engines.classical import adq
    from trufor_desk.engines.classical.copymove import CopyMoveEngine
    from trufor_desk.evaluation.dataset import discover
    from trufor_desk.evidence import open_evidence

    stats: dict[str, list[float]] = {"log_dq_gain": [], "copymove_raw": []}
    labels = []
    cm = CopyMoveEngine()
    items = [i for i in discover(dataset) if i.problem is None or i.kind == "real"]
    for n, item in enumerate(items):
        ev = open_evidence(item.path)
        r = adq.run_adq(ev, adq.AdqEngine.DEFAULTS)
        stats["log_dq_gain"].append(adq.log_dq_gain(r["gain"]) if r["applicable"] else np.nan)
        details = json.loads(cm.analyze(ev).provenance["engine_details_json"] or "{}")
        stats["copymove_raw"].append(float(details["raw_score"]))  # before calibration
        labels.append(item.kind == "fake")
        if n % 50 == 0:
            print(f"{n}/{len(items)}", file=sys.stderr, flush=True)
    return stats, np.asarray(labels)


def main(argv: list[str]) -> int:
    from trufor_desk.engines.classical.calibration import MIN_AUC, fit_logistic
    from trufor_desk.evaluation.metrics import roc_auc

    dataset = Path(argv[0]) if argv else ROOT.parent / "shared" / "casia-dev"
    if not (dataset / "fake").is_dir():
        print(f"error: {dataset}: no fake/ folder (dataset layout of `trufor-desk evaluate`)", file=sys.stderr)
        return 1
    stats, labels = statistics(dataset)
    print(f"# {dataset}: {int(labels.sum())} manipulated, {int((~labels).sum())} authentic; "
          f"prior_fake = {labels.mean():.3f}")
    for name, values in stats.items():
        x = np.asarray(values)
        ok = np.isfinite(x)
        auc = roc_auc(x[ok], labels[ok])
        if auc < MIN_AUC:
            print(f"{name}: AUC {auc:.3f} < {MIN_AUC}: no score")
            continue
        b0, b = fit_logistic(x[ok], labels[ok])
        print(f'{name}: {{"intercept": {b0:.4f}, "coef": {{"{name}": {b[0]:.4f}}}, "auc": {auc:.3f}}}')
    # the fusion's model: both statistics, fitted jointly
    x = np.c_[stats["log_dq_gain"], stats["copymove_raw"]]
    ok = np.isfinite(x).all(axis=1)
    b0, b = fit_logistic(x[ok], labels[ok])
    p = 1.0 / (1.0 + np.exp(-(b0 + x[ok] @ b)))
    print(f'fusion: {{"intercept": {b0:.4f}, "coef": {{"log_dq_gain": {b[0]:.4f}, "copymove_raw": {b[1]:.4f}}}, '
          f'"auc": {roc_auc(p, labels[ok]):.3f}}}')
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
