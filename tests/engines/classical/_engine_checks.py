"""Checks shared by the tests of the noise-residual engines (not collected by pytest)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from trufor_desk import __version__
from trufor_desk.errors import Cancelled
from trufor_desk.evaluation.metrics import localization_f1


def evidence(rgb: np.ndarray, sha: str = "0" * 64) -> SimpleNamespace:
    return SimpleNamespace(rgb=rgb, sha256=sha, path=None, format="PNG", raw=b"")


def f1_table(engine, cases) -> list[float]:
    return [localization_f1(engine.analyze(evidence(c.rgb)).localization, c.mask)["f1_best"] for c in cases]


def pristine_fp(engine, cases) -> list[float]:
    return [float((engine.analyze(evidence(c.rgb)).localization > 0.5).mean()) for c in cases]


def check_result(res, shape, name):
    loc = res.localization
    assert loc.shape == shape and loc.dtype == np.float32
    assert np.isfinite(loc).all() and loc.min() >= 0.0 and loc.max() <= 1.0
    assert res.reliability is not None and res.reliability.shape == shape
    assert res.reliability.dtype == np.float32
    assert res.reliability.min() >= 0.0 and res.reliability.max() <= 1.0
    assert res.engine == name
    assert res.provenance["app_version"] == __version__
    assert res.provenance["image_sha256"] == "0" * 64
    assert res.score is None or 0.0 <= res.score <= 1.0
    for key, arr in res.to_npz_dict().items():  # savable without pickle
        assert arr.dtype != object, key


def check_progress_and_cancel(engine, rgb):
    seen: list[tuple[float, str]] = []
    engine.analyze(evidence(rgb), progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert len(seen) >= 4 and fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0

    polls = []

    def cancel():
        polls.append(1)
        return len(polls) > 1  # let the first step through, then stop

    with pytest.raises(Cancelled):
        engine.analyze(evidence(rgb), cancel=cancel)
