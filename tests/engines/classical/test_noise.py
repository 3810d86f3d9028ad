"""Local noise level inconsistency (Pan, Zhang & Lyu, ICCP 2012) on synthetic noise splices.

Measured on this machine (2 cores) with the default parameters, on the 9 forgeries and 5
pristine images of ``synth_noise_splices``:

* F1-best per forgery 0.99 1.00 1.00 0.28 0.44 1.00 0.42 0.42 1.00, mean 0.73 (>= 0.5 asserted);
  the noisier donors are found, the resampled/denoised ones (noise only ~10-30 % lower
  than the host's) are weak
* pristine pixels above 0.5: 0 % on every image (<= 5 % asserted)
* speed: ~0.35 s/MP (benchmarks/bench_classical_noise.py)
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
from trufor_desk.engines.classical.noise import NoiseLevelEngine, dct_basis


@pytest.fixture(scope="module")
def engine():
    return NoiseLevelEngine()


def test_dct_bands_are_orthonormal_ac_filters():
    bands = np.stack([b.ravel() for b in dct_basis(4)])
    assert bands.shape == (15, 16)
    assert np.allclose(bands @ bands.T, np.eye(15), atol=1e-5)
    assert np.allclose(bands.sum(axis=1), 0.0, atol=1e-5)  # no DC: band-pass


def test_estimates_white_noise_level(engine):
    """On a smooth scene plus white noise, sigma is recovered (grey-level units)."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:256, 0:256]
    for sigma in (2.0, 5.0):
        base = 100 + 0.2 * x + 20 * np.sin(y / 40.0)
        grey = np.clip(base + rng.normal(0, sigma, base.shape), 0, 255)
        rgb = np.repeat(np.rint(grey).astype(np.uint8)[..., None], 3, axis=2)
        est = float(np.median(engine.analyze(evidence(rgb)).extras["noise_sigma"]))
        assert abs(est - sigma) / sigma < 0.2, (sigma, est)


def test_localises_noise_splices(engine):
    f1 = f1_table(engine, synth.forgeries())
    print("noise F1-best", np.round(f1, 3), "mean", round(float(np.mean(f1)), 3))
    assert np.mean(f1) >= 0.5


def test_few_false_alarms_on_pristine(engine):
    fp = pristine_fp(engine, synth.pristines())
    print("noise pristine fraction > 0.5", np.round(fp, 4), "mean", round(float(np.mean(fp)), 4))
    assert np.mean(fp) <= 0.05


def test_output_contract_and_determinism(engine):
    case = synth.forgery(*synth.FORGERY_SPECS[1])
    a = engine.analyze(evidence(case.rgb))
    b = engine.analyze(evidence(case.rgb))
    check_result(a, case.rgb.shape[:2], "noise")
    assert np.array_equal(a.localization, b.localization)
    assert a.extras["noise_sigma"].shape == case.rgb.shape[:2]
    for key in ("dct_size", "window", "stride", "z_centre"):
        assert key in a.params


def test_progress_and_cancel(engine):
    check_progress_and_cancel(engine, synth.pristine(96, 96, 3).rgb)


@pytest.mark.parametrize("shape", [(20, 20), (5, 7), (1, 1), (40, 300)])
def test_tiny_images_give_a_valid_map(engine, shape):
    rgb = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    check_result(engine.analyze(evidence(rgb)), shape, "noise")


def test_saturated_image_is_unreliable_not_an_error(engine):
    res = engine.analyze(evidence(np.full((128, 128, 3), 255, np.uint8)))
    assert res.localization.max() <= 0.5 and res.reliability.max() < 0.5
