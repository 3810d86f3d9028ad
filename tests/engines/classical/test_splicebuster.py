"""Splicebuster (Cozzolino, Poggi & Verdoliva, WIFS 2015) on synthetic noise splices.

Measured on this machine (2 cores) with the default parameters, on the 9 forgeries and 5
pristine images of ``synth_noise_splices``:

* F1-best per forgery 1.00 1.00 0.97 0.68 0.95 1.00 0.46 0.94 0.48, mean 0.83 (>= 0.5 asserted)
* pristine pixels above 0.5: 3.9 %, 0.0 %, 0.2 %, 4.2 %, 4.6 %; mean 2.6 % (<= 5 % asserted)
* speed: ~0.9 s/MP (benchmarks/bench_classical_noise.py)
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.engines.classical import synth_noise_splices as synth
from tests.engines.classical._engine_checks import (
    check_progress_and_cancel,
    check_result,
    evidence,
    f1_table,
    pristine_fp,
)
from trufor_desk.engines.classical.splicebuster import N_CLASSES, SplicebusterEngine, symmetry_classes
from trufor_desk.engines.registry import create_engine


@pytest.fixture(scope="module")
def engine():
    return SplicebusterEngine()


def test_symmetry_pooling_gives_169_classes():
    lut = symmetry_classes(2)
    assert lut.shape == (625,) and lut.max() + 1 == N_CLASSES == 169
    digits = np.array(np.meshgrid(*[np.arange(5)] * 4, indexing="ij")).reshape(4, -1).T - 2

    def code(d):
        return (((d[:, 0] + 2) * 5 + d[:, 1] + 2) * 5 + d[:, 2] + 2) * 5 + d[:, 3] + 2

    assert (lut[code(-digits)] == lut).all()            # sign symmetry
    assert (lut[code(digits[:, ::-1])] == lut).all()    # direction reversal


def test_localises_noise_splices(engine):
    f1 = f1_table(engine, synth.forgeries())
    print("splicebuster F1-best", np.round(f1, 3), "mean", round(float(np.mean(f1)), 3))
    assert np.mean(f1) >= 0.5


def test_few_false_alarms_on_pristine(engine):
    fp = pristine_fp(engine, synth.pristines())
    print("splicebuster pristine fraction > 0.5", np.round(fp, 4), "mean", round(float(np.mean(fp)), 4))
    assert np.mean(fp) <= 0.05


def test_output_contract_and_determinism(engine):
    case = synth.forgery(*synth.FORGERY_SPECS[0])
    a = engine.analyze(evidence(case.rgb))
    b = engine.analyze(evidence(case.rgb))
    check_result(a, case.rgb.shape[:2], "splicebuster")
    assert a.engine_version == engine.version
    assert np.array_equal(a.localization, b.localization)
    for key in ("q", "T", "window", "stride", "dims", "dims_used"):
        assert key in a.params


def test_progress_and_cancel(engine):
    check_progress_and_cancel(engine, synth.pristine(96, 96, 3).rgb)


@pytest.mark.parametrize("shape", [(20, 20), (5, 7), (1, 1), (40, 300)])
def test_tiny_images_give_a_valid_map(engine, shape):
    rgb = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    check_result(engine.analyze(evidence(rgb)), shape, "splicebuster")


def test_flat_image_is_unreliable_not_an_error(engine):
    res = engine.analyze(evidence(np.full((128, 128, 3), 255, np.uint8)))
    assert res.localization.max() <= 0.5 and res.reliability.max() < 0.5


def test_registry_options():
    eng = create_engine("splicebuster", window=64, weights=None, device="cpu")
    res = eng.analyze(evidence(synth.pristine(200, 200, 4).rgb))
    assert res.params["window"] == 64
