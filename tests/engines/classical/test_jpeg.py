"""The ``jpeg`` engine: ZERO grid votes + Bianchi-Piva aligned double quantisation.

Measured on the synthetic set of ``synth_jpeg_splices.JPEG_CASES`` (10 images,
256x256..384x512, engine 1.0.0): F1-best 0.97-1.00 on the eight cases the engine is
built for (q2 > q1 double compression with an uncompressed, differently compressed or
grid-shifted region; an uncompressed host with a grid-shifted JPEG region saved at
q97), 0.0 on the two q2 < q1 cases (no detectable trace: the map is empty); mean 0.79.
Pristine single-compressed JPEGs (q60..q95): 0.0% of pixels above 0.5, no score (the
engine's whole-image statistic was uninformative on real photographs).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import natural_image
from tests.engines.classical.synth_jpeg_splices import (
    JPEG_CASES,
    evidence_from_bytes,
    jpeg_bytes,
    jpeg_set,
    make_splice,
    natural_content,
    pristine_set,
)
from trufor_desk import __version__
from trufor_desk.engines.classical.jpeg import NOT_JPEG_NOTE, JpegEngine, zero_votes
from trufor_desk.engines.registry import create_engine
from trufor_desk.errors import Cancelled
from trufor_desk.evaluation.metrics import localization_f1


@pytest.fixture(scope="module")
def engine():
    return JpegEngine()


@pytest.fixture(scope="module")
def splice_results(engine, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jpeg_splices")
    out = []
    for case in jpeg_set():
        ev = evidence_from_bytes(case.data, tmp, case.name + ".jpg")
        out.append((case, engine.analyze(ev)))
    return out


def test_localises_synthetic_splices(splice_results):
    """Mean F1-best >= 0.5 (measured 0.79); each case with q2 > q1 or a grid-shifted region
    at high final quality >= 0.8 (measured >= 0.97)."""
    f1 = {}
    for case, res in splice_results:
        f1[case.name] = localization_f1(res.localization, case.mask)["f1_best"]
        designed = case.q2 > (case.q1 or 0)
        if designed:
            assert f1[case.name] >= 0.8, (case.name, f1[case.name])
    assert np.mean(list(f1.values())) >= 0.5, f1


def test_pristine_jpegs_stay_quiet(engine, tmp_path):
    """At most 5% of pixels above 0.5 on single-compressed JPEGs (measured 0%)."""
    for name, data in pristine_set():
        res = engine.analyze(evidence_from_bytes(data, tmp_path, name + ".jpg"))
        assert res.applicable
        assert (res.localization > 0.5).mean() <= 0.05, name
        assert res.score is None, name   # uninformative on real photographs: no score


def test_png_is_not_applicable_not_an_error(engine, make_png):
    from trufor_desk.evidence.image import open_evidence

    ev = open_evidence(make_png("x.png", 40, 50))
    res = engine.analyze(ev)
    assert res.applicable is False
    assert NOT_JPEG_NOTE in res.notes
    assert res.localization.shape == (40, 50) and res.localization.dtype == np.float32
    assert not res.localization.any()
    buf = io.BytesIO()
    np.savez(buf, **res.to_npz_dict())
    buf.seek(0)
    loaded = np.load(buf, allow_pickle=False)
    assert bool(loaded["applicable"]) is False
    assert NOT_JPEG_NOTE in json.loads(str(loaded["notes_json"]))


def test_result_contract(engine, splice_results):
    case, res = splice_results[0]
    h, w = case.mask.shape
    assert res.engine == "jpeg" and isinstance(res.engine_version, str) and res.engine_version
    assert engine.requires_weights is False and engine.OPTIONS == ()
    assert res.localization.shape == (h, w) and res.localization.dtype == np.float32
    assert 0.0 <= res.localization.min() and res.localization.max() <= 1.0
    assert res.provenance["app_version"] == __version__
    assert len(res.provenance["image_sha256"]) == 64
    assert isinstance(res.params, dict) and res.params
    # its whole-image statistic could not separate fakes from real photos (casia-dev AUC 0.51)
    assert res.score is None and res.score_calibration is None
    assert any("no image-level score" in n for n in res.notes)


def test_progress_and_cancel(engine, tmp_path):
    ev = evidence_from_bytes(jpeg_bytes(natural_content(64, 96, 3), 80), tmp_path, "p.jpg")
    seen = []
    engine.analyze(ev, progress=lambda f, m: seen.append((f, m)))
    assert len(seen) >= 4
    fr = [f for f, _ in seen]
    assert fr == sorted(fr) and fr[-1] == 1.0 and all(isinstance(m, str) and m for _, m in seen)
    calls = []

    def cancel_after_two():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        engine.analyze(ev, cancel=cancel_after_two)
    with pytest.raises(Cancelled):
        engine.analyze(ev, cancel=lambda: True)


@pytest.mark.parametrize("h,w", [(20, 20), (13, 29), (7, 7), (1, 1), (8, 100), (33, 41)])
def test_tiny_and_odd_sizes(engine, tmp_path, h, w):
    ev = evidence_from_bytes(jpeg_bytes(natural_image(h, w, seed=1), 75), tmp_path, f"t{h}x{w}.jpg")
    res = engine.analyze(ev)
    assert res.localization.shape == (h, w) and res.localization.dtype == np.float32
    assert np.isfinite(res.localization).all()
    assert 0.0 <= res.localization.min() and res.localization.max() <= 1.0


def test_greyscale_and_progressive_jpegs(engine, tmp_path):
    grey = natural_content(96, 104, 5)[..., 0]
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, "JPEG", quality=70)
    res = engine.analyze(evidence_from_bytes(buf.getvalue(), tmp_path, "grey.jpg"))
    assert res.applicable and res.localization.shape == (96, 104)
    buf = io.BytesIO()
    Image.fromarray(natural_content(96, 104, 6)).save(buf, "JPEG", quality=70, progressive=True)
    res = engine.analyze(evidence_from_bytes(buf.getvalue(), tmp_path, "prog.jpg"))
    assert res.applicable and res.localization.shape == (96, 104)


def test_cmyk_jpeg_is_not_applicable(engine, tmp_path):
    buf = io.BytesIO()
    Image.fromarray(natural_content(64, 72, 7)).convert("CMYK").save(buf, "JPEG", quality=80)
    res = engine.analyze(evidence_from_bytes(buf.getvalue(), tmp_path, "cmyk.jpg"))
    assert res.applicable is False and "CMYK" in res.notes[0]
    assert res.localization.shape == (64, 72) and not res.localization.any()


def test_deterministic(engine, tmp_path):
    case_data = make_splice(*JPEG_CASES[0]).data
    ev = evidence_from_bytes(case_data, tmp_path, "d.jpg")
    a, b = engine.analyze(ev), engine.analyze(ev)
    assert np.array_equal(a.localization, b.localization) and a.score == b.score


def test_zero_votes_match_a_direct_count():
    """The dilation-based vote equals the definition: per pixel, the grid of the block
    (among the 64 containing it) with the most zeros; ties and zero counts give no vote."""
    rng = np.random.default_rng(0)
    h, w = 29, 35
    counts = rng.integers(0, 5, (h - 7, w - 7)).astype(np.uint8)
    votes = zero_votes(counts, h, w)
    ref = np.full((h, w), -1)
    for y in range(h):
        for x in range(w):
            cand = [(int(counts[y - i, x - j]), ((y - i) % 8) * 8 + (x - j) % 8)
                    for i in range(8) for j in range(8) if 0 <= y - i < h - 7 and 0 <= x - j < w - 7]
            best = max(c for c, _ in cand)
            winners = [g for c, g in cand if c == best]
            ref[y, x] = winners[0] if len(winners) == 1 and best > 0 else -1
    assert np.array_equal(votes, ref)


def test_registry_and_cli(tmp_path):
    assert isinstance(create_engine("jpeg"), JpegEngine)
    img = tmp_path / "some.jpg"
    img.write_bytes(make_splice(*JPEG_CASES[1]).data)
    out = tmp_path / "x.npz"
    proc = subprocess.run([sys.executable, "-m", "trufor_desk", "analyze", str(img), "--engine", "jpeg",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with np.load(out, allow_pickle=False) as z:
        assert z["map"].shape == (256, 320)
        assert str(z["engine"]) == "jpeg"
        assert bool(z["applicable"])
        assert len(str(z["prov_image_sha256"])) == 64
