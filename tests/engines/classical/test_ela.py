"""The ``ela`` engine: error level analysis, a visual layer without a score.

Measured on ``synth_jpeg_splices.ELA_CASES`` (an uncompressed region pasted into a
q60..q75 JPEG, saved at q85..q95; ELA at quality 90, relative error level over 16x16
windows): F1-best 0.29, 1.00, 0.99, 0.77 (mean 0.76); mean map inside / outside the region
3.7x..146x.  Pristine single-compressed JPEGs (q60..q95): 0.0% of pixels above 0.5.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import natural_image
from tests.engines.classical.synth_jpeg_splices import ela_set, evidence_from_bytes, jpeg_bytes
from trufor_desk import __version__
from trufor_desk.engines.classical.ela import ElaEngine
from trufor_desk.engines.registry import create_engine
from trufor_desk.errors import Cancelled, UserError


def test_highlights_the_less_compressed_region(tmp_path):
    from trufor_desk.evaluation.metrics import localization_f1

    eng = ElaEngine()
    f1 = []
    for case in ela_set():
        res = eng.analyze(evidence_from_bytes(case.data, tmp_path, case.name + ".jpg"))
        m = res.localization
        assert m.dtype == np.float32 and m.shape == case.mask.shape
        assert 0.0 <= m.min() and m.max() <= 1.0
        inside, outside = float(m[case.mask].mean()), float(m[~case.mask].mean())
        assert inside > 3 * outside, (case.name, inside, outside)
        assert res.score is None
        assert res.extras["ela_pixels"].shape == m.shape
        f1.append(localization_f1(m, case.mask)["f1_best"])
    assert np.mean(f1) >= 0.5, f1


def test_pristine_jpegs_stay_quiet(tmp_path):
    from tests.engines.classical.synth_jpeg_splices import pristine_set

    fractions = [float((ElaEngine().analyze(evidence_from_bytes(data, tmp_path, name + ".jpg")).localization
                        > 0.5).mean()) for name, data in pristine_set()]
    assert np.mean(fractions) <= 0.05, fractions


def test_contract_params_and_options(tmp_path, make_png):
    from trufor_desk.evidence.image import open_evidence

    assert ElaEngine.OPTIONS == ("quality",) and ElaEngine.requires_weights is False
    eng = create_engine("ela", quality=75, weights=None, device="cpu")  # foreign options ignored
    assert isinstance(eng, ElaEngine) and eng.quality == 75
    res = eng.analyze(open_evidence(make_png("a.png", 50, 60)))  # PNG works too: ELA applies
    assert res.applicable and res.params["quality"] == 75
    assert res.engine == "ela" and res.engine_version
    assert res.provenance["app_version"] == __version__ and len(res.provenance["image_sha256"]) == 64
    with pytest.raises(UserError):
        ElaEngine(quality=0)


def test_progress_cancel_determinism(tmp_path):
    ev = evidence_from_bytes(jpeg_bytes(natural_image(64, 72, 2), 80), tmp_path, "e.jpg")
    eng = ElaEngine()
    seen = []
    a = eng.analyze(ev, progress=lambda f, m: seen.append(f))
    assert len(seen) >= 3 and seen[-1] == 1.0 and seen == sorted(seen)
    assert np.array_equal(a.localization, eng.analyze(ev).localization)
    with pytest.raises(Cancelled):
        eng.analyze(ev, cancel=lambda: True)


@pytest.mark.parametrize("h,w", [(20, 20), (13, 29), (1, 1), (9, 3)])
def test_tiny_images(tmp_path, h, w):
    ev = evidence_from_bytes(jpeg_bytes(natural_image(h, w, 4), 70), tmp_path, f"t{h}x{w}.jpg")
    m = ElaEngine().analyze(ev).localization
    assert m.shape == (h, w) and m.dtype == np.float32 and np.isfinite(m).all()
    assert 0.0 <= m.min() and m.max() <= 1.0
