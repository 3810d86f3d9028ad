"""Refit the image-level score calibration of the weight-free engines.

    python scripts/calibrate_scores.py [--workers N] [--save F.npz | --load F.npz] [--pool all|four]
                                       [DATASET_DIR ...]   # default ../shared/casia-dev and its
                                                           # re-shared copies, if built
    python scripts/calibrate_scores.py --load F.npz [SET_NAME ...]  # refit from saved statistics
                                                                     # (those sets only, if named)
    python scripts/calibrate_scores.py --uncompressed DIR [--workers N]  # the never-compressed model

``--uncompressed DIR`` (``scripts/make_uncompressed.py``'s output, by default
``~/.cache/trufor-desk/uncompressed``) fits the fusion's model for never-compressed images
alone: copy-move's match strength, the share of the image too smooth for its structure and
the number of exactly repeated patches (``engines/classical/retouch.py``).

Runs the fusion over ``fake/`` and ``real/`` of datasets in the ``evaluate`` layout and takes
the statistics it records (``score_features``: the strength of the double-compression
history, the share of the image its compression-history map marks, and copy-move's match
strength before calibration), measures each statistic's ROC AUC, fits logistic models
(one statistic each for ``adq`` and ``copymove``; the fusion's jointly) and prints the
``MODELS`` entries of ``trufor_desk/engines/classical/calibration.py`` with their in-sample
and 5-fold cross-validated AUC and balanced accuracy, next to the recorded constants'
figures on the same statistics (so a stale calibration shows).

The single-statistic engines stay calibrated on the first set (casia-dev as stored); the
fusion's models are pooled over every set given.  By default that is casia-dev as stored and
every fourth image, from the third on, of each re-shared copy ``scripts/make_reshared.py``
builds in ``~/.cache/trufor-desk/reshared`` (``--pool all``, the default: all eight copies;
``--pool four``: re-saved at 95 and 85, cropped and re-saved at 90, downscaled to 0.75 and
re-saved at 75, the pool of the fusion 1.2 fit), so that the copies' rows of
``benchmarks/bench_quality.py --conditions --every 4`` (the first of every four) are not
images the fit saw, and so that an authentic photo re-saved by a messaging app is part of what the probability was
calibrated on.  ``--save`` keeps the statistics (one row per image, with its set) so that a
refit, or another pool drawn from them, takes seconds (``--load``).  Nothing is written to the
project: the constants are pasted by hand so that every change of calibration is a reviewed
commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FEATURES = ("log_dq_gain", "log_once_share", "copymove_raw")
UNCOMPRESSED_FEATURES = ("copymove_raw", "log_smooth_share", "log_dup_pairs")
FOUR = ("resave95", "resave85", "crop_resave90", "down75_resave75")
FOLDS = 5


def _image_statistics(path: Path, names: tuple[str, ...] = FEATURES) -> tuple[float, ...]:
    """The fusion's score features of one image (NaN where not applicable)."""
    from trufor_desk.engines.classical.fusion import FusionEngine
    from trufor_desk.evidence import open_evidence

    details = json.loads(FusionEngine().analyze(open_evidence(path)).provenance["engine_details_json"] or "{}")
    feats = details.get("score_features") or {}
    return tuple(float(feats.get(name, np.nan)) for name in names)


def statistics(dataset: Path, every: int = 1, workers: int = 1, offset: int = 0,
               names: tuple[str, ...] = FEATURES) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features (n, 3), labels (n,) True for manipulated, file names) of the images of one
    dataset whose index n in its listing has n % every == offset."""
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    from trufor_desk.evaluation.dataset import discover

    items = [i for n, i in enumerate(discover(dataset))
             if (i.problem is None or i.kind == "real") and n % every == offset]
    paths = [i.path for i in items]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            rows = list(pool.map(partial(_image_statistics, names=names), paths, chunksize=4))
    else:
        rows = []
        for n, path in enumerate(paths):
            rows.append(_image_statistics(path, names))
            if n % 50 == 0:
                print(f"{dataset.name}: {n}/{len(paths)}", file=sys.stderr, flush=True)
    x = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(names))
    return x, np.asarray([i.kind == "fake" for i in items]), [p.name for p in paths]


def _bacc(p: np.ndarray, y: np.ndarray) -> float:
    return 0.5 * (float((p[y] >= 0.5).mean()) + float((p[~y] < 0.5).mean()))


def cross_validated(x: np.ndarray, y: np.ndarray, folds: int = FOLDS) -> np.ndarray:
    """Out-of-fold probabilities of the logistic model (folds stratified by label, fixed order)."""
    from trufor_desk.engines.classical.calibration import fit_logistic, logistic

    fold = np.empty(len(y), dtype=int)
    for label in (False, True):
        idx = np.flatnonzero(y == label)
        fold[idx] = np.arange(len(idx)) % folds
    p = np.empty(len(y))
    for k in range(folds):
        test = fold == k
        b0, b = fit_logistic(x[~test], y[~test])
        p[test] = logistic(b0 + x[test] @ b)
    return p


def report_model(model: str, names: tuple[str, ...], x: np.ndarray, y: np.ndarray,
                 recorded: dict | None) -> tuple[float, np.ndarray]:
    """Print the fitted entry, its in-sample and cross-validated figures, and the recorded one's;
    return the fit (intercept, coefficients)."""
    from trufor_desk.engines.classical.calibration import fit_logistic, logistic
    from trufor_desk.evaluation.metrics import roc_auc

    b0, b = fit_logistic(x, y)
    p = logistic(b0 + x @ b)
    p_cv = cross_validated(x, y)
    coef = ", ".join(f'"{n}": {c:.4f}' for n, c in zip(names, b))
    # ``n``: the fit's number of images, which bounds its probabilities (calibration.probability_range)
    print(f'{model}: {{"intercept": {b0:.4f}, "coef": {{{coef}}}, "auc": {roc_auc(p, y):.3f}, "n": {len(y)}}}')
    print(f"#   {len(y)} images ({int(y.sum())} manipulated); in-sample bAcc {_bacc(p, y):.3f}; "
          f"{FOLDS}-fold cross-validated AUC {roc_auc(p_cv, y):.3f}, bAcc {_bacc(p_cv, y):.3f}")
    if recorded is not None:
        rec_coef = list(recorded["coef"].values())  # in the order of ``names`` (copymove calls its one raw_score)
        p_rec = logistic(recorded["intercept"] + x @ np.array(rec_coef))
        print(f"#   recorded {model} model on these statistics: AUC {roc_auc(p_rec, y):.3f} (recorded "
              f"{recorded['auc']:.3f}), bAcc {_bacc(p_rec, y):.3f}, mean probability {p_rec.mean():.3f} "
              f"vs share manipulated {y.mean():.3f}")
    return b0, b


def fit_uncompressed(dataset: Path, workers: int) -> int:
    """The fusion's never-compressed model, fitted on ``scripts/make_uncompressed.py``'s forgeries."""
    from trufor_desk.engines.classical.calibration import MODELS

    if not (dataset / "fake").is_dir():
        print(f"error: {dataset}: no fake/ folder (run scripts/make_uncompressed.py)", file=sys.stderr)
        return 1
    x, y, _ = statistics(dataset, workers=workers, names=UNCOMPRESSED_FEATURES)
    ok = np.isfinite(x).all(axis=1)  # images the model does not apply to (a graphic) have no statistics
    print(f"# {dataset}: {int(y.sum())} manipulated, {int((~y).sum())} authentic; {int((~ok).sum())} without "
          f"statistics; prior_fake = {y[ok].mean():.3f}")
    report_model("fusion_uncompressed", UNCOMPRESSED_FEATURES, x[ok], y[ok], MODELS.get("fusion_uncompressed"))
    return 0


def _take(argv: list[str], option: str) -> tuple[list[str], str | None]:
    if option not in argv:
        return argv, None
    k = argv.index(option)
    if k + 1 >= len(argv):
        raise SystemExit(f"error: {option} needs a value")
    return argv[:k] + argv[k + 2:], argv[k + 1]


def main(argv: list[str]) -> int:
    from trufor_desk.engines.classical.calibration import MIN_AUC, MODELS, logistic
    from trufor_desk.evaluation.metrics import roc_auc

    argv, workers = _take(argv, "--workers")
    argv, save = _take(argv, "--save")
    argv, load = _take(argv, "--load")
    argv, pool = _take(argv, "--pool")
    argv, uncompressed = _take(argv, "--uncompressed")
    if uncompressed:
        return fit_uncompressed(Path(uncompressed), int(workers or 1))
    if pool not in (None, "all", "four"):
        print(f"error: --pool {pool}: use 'all' or 'four'", file=sys.stderr)
        return 1
    if load:
        data = np.load(load, allow_pickle=False)
        x, labels, set_of = data["x"], data["labels"], data["set"]
        sets = list(dict.fromkeys(set_of.tolist()))
        if argv:  # a subset of the saved sets, by name, in this order (the first is the single engines' set)
            missing = [a for a in argv if a not in sets]
            if missing:
                print(f"error: {', '.join(missing)}: not in {load} (it holds {', '.join(sets)})", file=sys.stderr)
                return 1
            sets = argv
        keep = np.isin(set_of, sets)
        x, labels, set_of = x[keep], labels[keep], set_of[keep]
    else:
        if argv:
            plan = [(Path(a), 1, 0) for a in argv]
        else:
            reshared = Path.home() / ".cache" / "trufor-desk" / "reshared"
            names = (sorted(p.name for p in reshared.iterdir() if (p / "fake").is_dir())
                     if pool != "four" and reshared.is_dir() else FOUR)
            plan = [(ROOT.parent / "shared" / "casia-dev", 1, 0)]
            # every fourth image of each copy, from the third on: not the ones bench_quality.py --every 4 scores
            plan += [(reshared / c, 4, 2) for c in names if (reshared / c / "fake").is_dir()]
        for dataset, _, _ in plan:
            if not (dataset / "fake").is_dir():
                print(f"error: {dataset}: no fake/ folder (dataset layout of `trufor-desk evaluate`)", file=sys.stderr)
                return 1
        parts = []
        for dataset, every, offset in plan:
            x_i, l_i, files = statistics(dataset, every, int(workers or 1), offset=offset)
            parts.append((x_i, l_i, [dataset.name] * len(l_i), files))
            print(f"# {dataset}: {int(l_i.sum())} manipulated, {int((~l_i).sum())} authentic", flush=True)
        x = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        set_of = np.asarray(sum((p[2] for p in parts), []))
        sets = [p[2][0] for p in parts if p[2]]
        if save:
            np.savez(save, x=x, labels=labels, set=set_of, files=np.asarray(sum((p[3] for p in parts), [])),
                     features=np.asarray(FEATURES))
            print(f"# statistics saved to {save}")
    print(f"# pooled over {', '.join(sets)}: {len(labels)} images, prior_fake = {labels.mean():.3f}")
    first = set_of == sets[0]
    for name, model in (("log_dq_gain", "adq"), ("copymove_raw", "copymove")):
        col = x[first, FEATURES.index(name)]
        ok = np.isfinite(col)
        auc = roc_auc(col[ok], labels[first][ok])
        if auc < MIN_AUC:
            print(f"{model} ({name}): AUC {auc:.3f} < {MIN_AUC}: no score")
            continue
        report_model(model, (name,), col[ok, None], labels[first][ok], MODELS.get(model))
    # the fusion's models, pooled over every set: the three statistics jointly, and the history alone
    for model, names in (("fusion", FEATURES), ("fusion_history", FEATURES[:2])):
        cols = x[:, [FEATURES.index(n) for n in names]]
        ok = np.isfinite(cols).all(axis=1)
        b0, b = report_model(model, names, cols[ok], labels[ok], MODELS.get(model))
        for s in sets:  # how the pooled fit reads on each set
            m = ok & (set_of == s)
            if labels[m].any() and (~labels[m]).any():
                p = logistic(b0 + cols[m] @ b)
                print(f"#     {s}: AUC {roc_auc(p, labels[m]):.3f}, bAcc {_bacc(p, labels[m]):.3f}, "
                      f"authentic p >= 0.5: {100 * float((p[~labels[m]] >= 0.5).mean()):.0f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
