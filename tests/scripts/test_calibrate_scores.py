"""scripts/calibrate_scores.py: the refit from saved statistics (``--load``), its
cross-validation and its errors, on statistics generated here from a known logistic model;
nothing is read from ../shared and no engine runs."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "calibrate_scores.py"
TRUE = (0.5, np.array([0.8, 1.2, 2.0]))  # intercept and coefficients of the generating model


@pytest.fixture(scope="module")
def cal():
    spec = importlib.util.spec_from_file_location("calibrate_scores", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["calibrate_scores"] = mod
    spec.loader.exec_module(mod)
    return mod


def _statistics(path: Path, n_per_set: int = 1500) -> Path:
    """Two sets of statistics drawn from TRUE; the second has no copy-move statistic on a tenth."""
    rng = np.random.default_rng(7)
    xs, ys, sets = [], [], []
    for name in ("casia-dev", "resave85"):
        x = rng.normal(0.0, 1.0, (n_per_set, 3))
        p = 1.0 / (1.0 + np.exp(-(TRUE[0] + x @ TRUE[1])))
        y = rng.random(n_per_set) < p
        if name == "resave85":
            x[::10, 2] = np.nan
        xs.append(x)
        ys.append(y)
        sets += [name] * n_per_set
    np.savez(path, x=np.concatenate(xs), labels=np.concatenate(ys), set=np.asarray(sets),
             files=np.asarray([f"{i}.jpg" for i in range(len(sets))]), features=np.asarray(("a", "b", "c")))
    return path


def test_cross_validated_probabilities_are_out_of_fold(cal):
    """On labels unrelated to the statistics an in-sample fit still ranks its own images
    better than chance; out-of-fold probabilities do not."""
    from trufor_desk.engines.classical.calibration import fit_logistic, logistic
    from trufor_desk.evaluation.metrics import roc_auc

    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 6))
    y = np.arange(60) % 2 == 0
    b0, b = fit_logistic(x, y)
    in_sample = roc_auc(logistic(b0 + x @ b), y)
    p = cal.cross_validated(x, y)
    assert p.shape == (60,) and np.all((p > 0) & (p < 1))
    assert in_sample > 0.6
    assert roc_auc(p, y) < in_sample - 0.15


def test_refit_from_saved_statistics_recovers_the_generating_model(cal, tmp_path, capsys):
    path = _statistics(tmp_path / "stats.npz")
    assert cal.main(["--load", str(path)]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("fusion: "))
    model = json.loads(line[len("fusion: "):])
    assert abs(model["intercept"] - TRUE[0]) < 0.25
    assert np.allclose(list(model["coef"].values()), TRUE[1], atol=0.3)
    assert model["n"] == 2850  # what bounds the entry's probabilities (calibration.probability_range)
    assert "5-fold cross-validated AUC" in out and "recorded fusion model on these statistics" in out
    # the pooled fit is read per set; rows without a statistic are left out of the joint fit, not filled in
    assert "#     casia-dev: AUC" in out and "#     resave85: AUC" in out
    assert "2850 images" in out


def test_a_subset_of_saved_sets_and_unknown_names(cal, tmp_path, capsys):
    path = _statistics(tmp_path / "stats.npz")
    assert cal.main(["--load", str(path), "resave85"]) == 0
    out = capsys.readouterr().out
    assert "pooled over resave85: 1500 images" in out and "casia-dev" not in out
    assert cal.main(["--load", str(path), "nosuchset"]) == 1
    assert "nosuchset: not in" in capsys.readouterr().err


def test_bad_options_fail_with_one_line(cal, capsys):
    assert cal.main(["--pool", "some"]) == 1
    assert "--pool some" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--workers needs a value"):
        cal.main(["--workers"])
