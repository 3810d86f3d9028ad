"""The ``adq`` engine: aligned double quantisation over all 63 DCT frequencies.

Measured on ``synth_jpeg_splices.JPEG_CASES`` (engine 1.0.0): F1-best 1.00 on the seven
q2 > q1 cases, 0.93 and 0.96 on the two q2 < q1 cases, 0 under the strict rule on the
uncompressed host (no double-compression history to find); 0 % of pixels above 0.5 on
the six single-compressed pristine JPEGs.  The primary quality of s1 (q1 = 60) is
recovered as the first AC step of the IJG q60 table.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.engines.classical.synth_jpeg_splices import (
    evidence_from_bytes,
    jpeg_bytes,
    jpeg_set,
    make_splice,
    natural_content,
    pristine_set,
)
from trufor_desk.engines.classical._jpeg_common import jpeg_tables, luminance
from trufor_desk.engines.classical.adq import AdqEngine, adq_analysis, dq_presence
from trufor_desk.engines.classical.dq_model import fit_frequency
from trufor_desk.errors import Cancelled
from trufor_desk.evaluation.metrics import localization_f1


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adq")
    eng = AdqEngine()
    return [(c, eng.analyze(evidence_from_bytes(c.data, tmp, c.name + ".jpg"))) for c in jpeg_set()]


def test_localises_double_compressed_splices(results):
    for case, res in results:
        f1 = localization_f1(res.localization, case.mask)
        if case.q1 is not None:  # the host has a first compression to find
            assert f1["f1_best_strict"] >= 0.9, (case.name, f1)
            assert res.score > 0.5 and res.score_is_probability, case.name
        else:  # uncompressed host: no history, an (almost) empty map, a low probability
            assert (res.localization > 0.5).mean() < 0.01 and res.score < 0.5, case.name


def test_single_compressed_photos_stay_quiet(tmp_path):
    for name, data in pristine_set():
        res = AdqEngine().analyze(evidence_from_bytes(data, tmp_path, name + ".jpg"))
        assert (res.localization > 0.5).mean() == 0.0, name
        assert res.score < 0.5, name


def test_primary_step_is_estimated():
    """Host at q60 then q90: the estimated primary step of the (0, 1) frequency is the
    IJG q60 table's, 9 (standard 11 scaled by 80 %: floor((11 * 80 + 50) / 100))."""
    case = make_splice(256, 320, 41, 60, None, 90)
    import io

    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(case.data)).convert("RGB"))
    q = jpeg_tables(case.data)["luma_q"]
    out = adq_analysis(luminance(rgb), q)
    steps = {(f["u"], f["v"]): f["q1"] for f in out["freqs"]}
    assert steps[(0, 1)] == 9 and out["primary_table"][0, 1] == 9
    assert len(out["freqs"]) >= 20 and out["dq_gain"] > 2.0


def test_fit_frequency_rejects_single_quantisation():
    """Laplacian coefficients quantised once at step 8: the best primary step gains
    nothing (< 0.005 nats per value, under the 0.02 gate); quantised at 5 then 8: q1 = 5
    is found with a gain above the gate (measured 0.034)."""
    rng = np.random.default_rng(0)
    c = rng.laplace(0, 12, 20000)
    calib = rng.laplace(0, 12, 20000)
    once = np.rint(c / 8)
    twice = np.rint(np.rint(c / 5) * 5 / 8)
    assert fit_frequency(once, calib, 8.0, 0.4, 24)["gain"] < 0.005
    fit = fit_frequency(twice, calib, 8.0, 0.4, 24)
    assert fit["q1"] == 5 and fit["gain"] > AdqEngine.DEFAULTS["min_gain"]


def test_presence_is_monotone_and_centred():
    g = [0.01, 0.1, 0.7, 3.0, 30.0]
    p = [dq_presence(x) for x in g]
    assert p == sorted(p) and p[2] == pytest.approx(0.5) and p[0] < 0.01 and p[-1] > 0.99


def test_png_is_not_applicable(tmp_path):
    from PIL import Image

    from trufor_desk.evidence import open_evidence

    path = tmp_path / "x.png"
    Image.fromarray(natural_content(64, 80, 1)).save(path)
    res = AdqEngine().analyze(open_evidence(path))
    assert res.applicable is False and res.score is None and not res.localization.any()
    assert "not a JPEG" in res.notes[0]


def test_cancel(tmp_path):
    ev = evidence_from_bytes(jpeg_bytes(natural_content(128, 128, 2), 80), tmp_path, "c.jpg")
    with pytest.raises(Cancelled):
        AdqEngine().analyze(ev, cancel=lambda: True)


def test_tiny_jpeg_is_not_judged(tmp_path):
    """A 40x48 JPEG has 30 blocks: too few for a compression history, so no map, no score
    (never a confident "probability 0" from no data)."""
    ev = evidence_from_bytes(jpeg_bytes(natural_content(40, 48, 4), 80), tmp_path, "tiny.jpg")
    res = AdqEngine().analyze(ev)
    assert res.applicable is False and res.score is None and "too small" in res.notes[0]


def test_selection_off_the_grid_keeps_the_files_grid(tmp_path):
    """A selection starting at (13, 21) keeps the file's bytes: the analysis finds the
    file's 8x8 grid through ``Evidence.origin`` and localises the splice as on the whole
    image."""
    from trufor_desk.evidence import open_evidence

    case = jpeg_set()[0]
    path = tmp_path / "s.jpg"
    path.write_bytes(case.data)
    ev = open_evidence(path)
    whole = AdqEngine().analyze(ev)
    y, x = 13, 21
    sel = ev.crop(x, y, ev.width - x - 5, ev.height - y - 7)
    assert sel.origin == (13, 21)
    part = AdqEngine().analyze(sel)
    mask = case.mask[y:y + sel.height, x:x + sel.width]
    assert localization_f1(part.localization, mask)["f1_best_strict"] >= 0.9
    assert part.score > 0.5
    inner = (slice(16, -16), slice(16, -16))
    a = whole.localization[y:y + sel.height, x:x + sel.width][inner]
    assert np.abs(part.localization[inner] - a).mean() < 0.05


def test_weighted_smoothing_is_a_weighted_mean_and_knows_its_noise():
    """Blocks of weight 0 (clipped) neither reach their neighbours nor keep their value, and
    ``spread`` is the measured standard deviation of that mean over a full neighbourhood's."""
    import cv2

    from trufor_desk.engines.classical.adq import weighted_smooth

    w = np.ones((40, 40), np.float32)
    w[:, :20] = 0.0
    values = np.where(w > 0, 3.0, 1000.0).astype(np.float32)   # what a weight-0 block holds is never read
    (mean,), support, spread = weighted_smooth((values,), w, 2.0)
    assert np.allclose(mean[support > 0.01], 3.0, atol=1e-3)
    assert np.allclose(support[:, 30:], 1.0, atol=1e-3) and support[20, 19] < 0.5 and support[20, 0] < 1e-3
    assert np.allclose(spread[:, 30:], 1.0, atol=1e-3)
    rng = np.random.default_rng(0)
    draws = np.stack([weighted_smooth((rng.normal(size=(40, 40)).astype(np.float32),), w, 2.0)[0][0][20, 16:28]
                      for _ in range(600)])
    full = np.stack([cv2.GaussianBlur(rng.normal(size=(40, 40)).astype(np.float32), (0, 0), 2.0)[10:30, 10:30]
                     for _ in range(100)])
    measured = draws.std(axis=0) / full.std()
    assert np.allclose(measured, spread[20, 16:28], rtol=0.1), (measured.round(2), spread[20, 16:28].round(2))
    assert spread[20, 18] > 1.4                                 # on the edge of the clipped half: 1.5x noisier
