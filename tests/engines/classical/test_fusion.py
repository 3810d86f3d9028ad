"""The fused weight-free default (``fusion``): ADQ + Splicebuster + copy-move.

Synthetic (``synth_jpeg_splices``): F1-best >= 0.9 on every JPEG splice case, the
uncompressed-host case included (Splicebuster takes over where there is no JPEG history:
measured 0.99); 0 % of pixels above 0.5 on the single-compressed pristine JPEGs.
Real photographs (``../shared/casia-dev``, skipped when absent): on a fixed subset of 20
manipulated and 16 authentic photos, mean F1-best (official rule) >= 0.5 and score AUC
>= 0.8, with at most 1 % of authentic pixels above 0.5.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tests.engines.classical.synth_jpeg_splices import evidence_from_bytes, jpeg_bytes, jpeg_set, pristine_set
from trufor_desk.engines.classical.fusion import FusionEngine
from trufor_desk.engines.registry import DEFAULT_WEIGHT_FREE
from trufor_desk.evaluation.metrics import localization_f1, roc_auc

CASIA = Path(__file__).resolve().parents[4] / "shared" / "casia-dev"


@pytest.fixture(scope="module")
def engine():
    return FusionEngine()


def test_is_the_weight_free_default():
    assert DEFAULT_WEIGHT_FREE == "fusion"


def _readable(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """Pixels outside 8x8 blocks with a clipped pixel (which the history leaves out)."""
    from tests.engines.classical.synth_jpeg_splices import decode
    from trufor_desk.engines.classical.jpeg_history import clipped_blocks

    h, w = shape
    blocks = clipped_blocks(decode(data), 0, 0, (h // 8, w // 8))
    out = np.ones(shape, bool)
    out[:h // 8 * 8, :w // 8 * 8] = np.kron(blocks, np.ones((8, 8))) == 0
    return out


def test_synthetic_splices_and_pristine(engine, tmp_path):
    for case in jpeg_set():
        res = engine.analyze(evidence_from_bytes(case.data, tmp_path, case.name + ".jpg"))
        f1 = localization_f1(res.localization, case.mask)["f1_best_strict"]
        readable = _readable(case.data, case.mask.shape)
        if readable[case.mask].mean() > 0.9:
            assert f1 >= 0.9, (case.name, f1)
        else:  # a region partly in clipped (saturated) blocks, which the history leaves out
            assert f1 >= 0.6, (case.name, f1)  # measured 0.66 and 0.88
            import cv2

            far = cv2.distanceTransform((~case.mask).astype(np.uint8), cv2.DIST_L2, 3) > 8  # beyond one block
            assert (res.localization[far] > 0.5).mean() < 0.03, case.name  # measured 2.0 % (s7)
        assert res.reliability is not None and res.reliability.shape == case.mask.shape
        assert {"splicebuster", "adq_single", "copymove"} <= set(res.extras)
    for name, data in pristine_set():
        res = engine.analyze(evidence_from_bytes(data, tmp_path, name + ".jpg"))
        assert (res.localization > 0.5).mean() == 0.0, name
        assert res.score is not None and res.score < 0.5 and res.score_is_probability


def test_provenance_records_each_detectors_share(engine, tmp_path):
    import json

    case = jpeg_set()[0]
    res = engine.analyze(evidence_from_bytes(case.data, tmp_path, "a.jpg"))
    details = json.loads(res.provenance["engine_details_json"])
    shares = details["shares"]
    assert set(shares) == {"adq", "splicebuster", "copymove", "duplicates"}
    assert shares["duplicates"] == 0.0 and details["retouch"] is None  # a JPEG: the retouching traces do not run
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)
    assert shares["adq"] > 0.5  # a double-compressed host: ADQ leads
    assert res.score_calibration["set"].startswith("casia-dev") and res.score_calibration["auc"] >= 0.7


def test_never_compressed_png_gets_the_never_compressed_score(engine, tmp_path):
    """A PNG with no JPEG history: the map rests on noise and copy-move (no copied patch here), and the
    score is the never-compressed model of its recorded statistics, with that model's calibration."""
    import json

    from PIL import Image

    from tests.engines.classical.synth_jpeg_splices import natural_content
    from trufor_desk.engines.classical.calibration import MODELS, calibrated_score
    from trufor_desk.evidence import open_evidence

    path = tmp_path / "x.png"
    Image.fromarray(natural_content(192, 256, 3)).save(path)
    res = engine.analyze(open_evidence(path))
    details = json.loads(res.provenance["engine_details_json"])
    feats = details["score_features"]
    assert set(feats) == {"copymove_raw", "log_smooth_share", "log_dup_pairs"}
    assert res.score == pytest.approx(calibrated_score("fusion_uncompressed", feats)[0], abs=1e-4)
    assert res.score_calibration["set"] == MODELS["fusion_uncompressed"]["set"]
    assert res.score_calibration["prior_fake"] == 0.5
    assert details["retouch"]["applies"] and details["retouch"]["duplicate_pairs"] == 0
    assert not res.extras["duplicates"].any()
    expected = np.minimum(1.0, res.extras["splicebuster"] + 0.2 * res.extras["copymove"])
    assert np.allclose(res.localization, expected, atol=1e-6)


def test_a_fill_from_copied_patches_is_marked_and_named(engine, tmp_path):
    """Exemplar-style removal in a never-compressed photo: 8x8 tiles copied from nearby into a hole.
    The copies are marked in the map, the verdict's basis names them, and the score rises above the
    same photo's untouched score."""
    import json

    from PIL import Image

    from tests.engines.classical.synth_jpeg_splices import natural_content
    from trufor_desk.evidence import open_evidence
    from trufor_desk.verdict.decision import verdict_for_result

    rgb = natural_content(192, 256, 5)
    filled = rgb.copy()
    rng = np.random.default_rng(1)
    for y in range(64, 128, 8):       # a 64x64 hole, each tile from a random place left of it, same rows
        for x in range(128, 192, 8):
            sx = int(rng.integers(40, 121))
            filled[y:y + 8, x:x + 8] = rgb[y:y + 8, sx:sx + 8]
    for name, img in (("orig.png", rgb), ("filled.png", filled)):
        Image.fromarray(img).save(tmp_path / name)
    orig = engine.analyze(open_evidence(tmp_path / "orig.png"))
    res = engine.analyze(open_evidence(tmp_path / "filled.png"))
    details = json.loads(res.provenance["engine_details_json"])
    assert details["retouch"]["duplicate_pairs"] >= 30
    hole = np.zeros(rgb.shape[:2], bool)
    hole[64:128, 128:192] = True
    assert (res.localization[hole] > 0.5).mean() > 0.9
    assert "patches repeated exactly" in details["finding_basis"]
    assert res.score > 0.9 > orig.score
    # 200 calibration images cannot support more than 200/201 (the model alone says above 0.999 here)
    assert res.score == pytest.approx(200 / 201) and "cannot support a stronger statement" in \
        res.score_calibration["caveat"]
    v = verdict_for_result(res)
    assert v.category == "indicated" and "repeated exactly" in v.explanation


def test_a_screenshot_is_not_read_as_a_retouched_photo(engine, tmp_path):
    """Text on a flat background repeats exactly everywhere: the retouching tests say they do not apply,
    nothing is marked for it, and no never-compressed score is given."""
    from PIL import Image, ImageDraw

    from trufor_desk.evidence import open_evidence

    im = Image.new("RGB", (480, 320), (250, 250, 250))
    draw = ImageDraw.Draw(im)
    for i in range(14):
        draw.text((8, 6 + 22 * i), f"Inbox  (3)  Meeting notes, draft {i}: see attached file", fill=(30, 30, 30))
    im.save(tmp_path / "shot.png")
    res = engine.analyze(open_evidence(tmp_path / "shot.png"))
    assert res.score is None
    assert any("screenshot or a graphic" in n for n in res.notes)
    assert "duplicates" not in res.extras and (res.localization > 0.5).mean() < 0.05


def test_lossy_non_jpeg_formats_get_no_never_compressed_score(engine, tmp_path):
    """WebP (lossy) smooths the detail the retouching traces read: no score, and the note says why."""
    from PIL import Image

    from tests.engines.classical.synth_jpeg_splices import natural_content
    from trufor_desk.evidence import open_evidence

    Image.fromarray(natural_content(192, 256, 3)).save(tmp_path / "x.webp", quality=80)
    res = engine.analyze(open_evidence(tmp_path / "x.webp"))
    assert res.score is None and "duplicates" not in res.extras
    assert any("not for this file (a lossy format" in n for n in res.notes)
    # a TIFF holding JPEG-compressed pixels is not stored losslessly either (at a high quality no JPEG
    # lattice shows in the pixels, so only the container says so); an uncompressed or LZW one is
    from trufor_desk.engines.classical.fusion import stored_losslessly

    for compression, lossless in (("jpeg", False), ("tiff_lzw", True), (None, True)):
        path = tmp_path / f"x_{compression}.tif"
        extra = {"quality": 97} if compression == "jpeg" else {}
        Image.fromarray(natural_content(64, 64, 3)).save(path, compression=compression, **extra)
        ev = open_evidence(path)
        assert ev.compression == (compression or "raw")  # recorded once, at intake
        assert stored_losslessly(ev) is lossless, compression
        # evidence made without the record (an older caller) is read from the file's header
        assert stored_losslessly(dataclasses.replace(ev, compression="")) is lossless, compression


def test_large_single_compressed_photo_stays_quiet(engine, tmp_path):
    """A 3 MP single-compressed photo (camera-like content at q92): no false alarm."""
    from tests.engines.classical.synth_jpeg_splices import natural_content

    rgb = natural_content(1536, 2048, 7)
    res = engine.analyze(evidence_from_bytes(jpeg_bytes(rgb, 92), tmp_path, "big.jpg"))
    assert (res.localization > 0.5).mean() < 0.01
    assert res.score < 0.5


def _subset(kind: str, prefix: str, n: int) -> list[Path]:
    return sorted(p for p in (CASIA / kind).iterdir() if p.name.startswith(prefix))[:n]


@pytest.mark.skipif(not (CASIA / "fake").is_dir(), reason=f"casia-dev not found at {CASIA} (real-photo check)")
def test_real_photographs_subset(engine):
    from PIL import Image

    from trufor_desk.evidence import open_evidence

    fakes = _subset("fake", "Sp_D", 12) + _subset("fake", "Sp_S", 8)
    reals = _subset("real", "Au", 16)
    f1, scores, labels, false_alarm = [], [], [], []
    for p in fakes:
        res = engine.analyze(open_evidence(p))
        mask = np.asarray(Image.open(CASIA / "mask" / (p.stem + ".png")).convert("L")) > 127
        f1.append(localization_f1(res.localization, mask)["f1_best"])
        scores.append(res.score)
        labels.append(True)
    for p in reals:
        res = engine.analyze(open_evidence(p))
        false_alarm.append(float((res.localization > 0.5).mean()))
        scores.append(res.score)
        labels.append(False)
    assert np.mean(f1) >= 0.5, np.mean(f1)   # the whole set: 0.78 (benchmarks/bench_quality.py)
    assert roc_auc(np.array(scores), np.array(labels)) >= 0.8
    assert np.mean(false_alarm) <= 0.01, np.mean(false_alarm)


def test_tiny_jpeg_gets_no_score(engine, tmp_path):
    ev = evidence_from_bytes(jpeg_bytes(np.full((40, 48, 3), 128, np.uint8), 80), tmp_path, "tiny.jpg")
    res = engine.analyze(ev)
    assert res.score is None and res.localization.shape == (40, 48)


def test_score_is_the_joint_model_of_its_recorded_features(engine, tmp_path):
    """The score is the fusion's calibrated model of its recorded statistics (the strength of
    the compression history, the share of the image compressed fewer times than the rest,
    copy-move); with copy-move off, the compression-history model alone."""
    import json

    from trufor_desk.engines.classical.calibration import MODELS, calibrated_score
    from trufor_desk.engines.classical.fusion import FusionEngine

    ev = evidence_from_bytes(jpeg_set()[0].data, tmp_path, "j.jpg")
    res = engine.analyze(ev)
    feats = json.loads(res.provenance["engine_details_json"])["score_features"]
    assert set(feats) == {"log_dq_gain", "log_once_share", "copymove_raw"}
    assert res.score == pytest.approx(calibrated_score("fusion", feats)[0], abs=1e-4)
    assert res.score_calibration["coef"] == MODELS["fusion"]["coef"]
    alone = FusionEngine().analyze(ev, params={"copymove": False})
    feats = json.loads(alone.provenance["engine_details_json"])["score_features"]
    assert set(feats) == {"log_dq_gain", "log_once_share"}
    assert alone.score == pytest.approx(calibrated_score("fusion_history", feats)[0], abs=1e-4)


def test_a_heic_photo_says_what_does_not_apply(engine, tmp_path):
    """A HEIC photo has no JPEG history: the result says so, names what does apply, and gives no
    score rather than one calibrated on JPEGs."""
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    from tests.engines.classical.synth_jpeg_splices import natural_content
    from trufor_desk.evidence import open_evidence

    pillow_heif.register_heif_opener()
    path = tmp_path / "phone.heic"
    Image.fromarray(natural_content(192, 256, 3)).save(path, quality=80)
    res = engine.analyze(open_evidence(path))
    assert res.score is None and res.score_calibration is None
    text = " ".join(res.notes)
    assert "HEIF/HEIC/AVIF photo" in text and "noise statistics and copy-move" in text
    assert "no image-level score" in text
    assert "adq_single" not in res.extras


def test_cancel_stops_every_detector_and_progress_only_rises(engine, tmp_path):
    """The detectors run side by side: a cancel wherever it lands raises Cancelled, leaves no
    detector thread behind, and the progress the caller sees never goes back."""
    import threading

    from trufor_desk.errors import Cancelled

    case = jpeg_set()[0]
    ev = evidence_from_bytes(case.data, tmp_path, "case.jpg")
    seen: list[float] = []
    full = engine.analyze(ev, progress=lambda f, _m: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0
    polls = []

    def counting():
        polls.append(1)
        return False

    engine.analyze(ev, cancel=counting)
    total = len(polls)  # polls of a whole analysis, over all threads
    assert total > 5
    for stop_at in (1, total // 3, total // 2, total - 1):
        def cancel(calls=[], stop_at=stop_at):  # noqa: B006 -- one list per analysis, on purpose
            calls.append(1)
            return len(calls) > stop_at

        with pytest.raises(Cancelled):
            engine.analyze(ev, cancel=cancel)
        assert not [t for t in threading.enumerate() if t.name.startswith("fusion")]
    again = engine.analyze(ev)
    assert np.array_equal(again.localization, full.localization) and again.score == full.score
    assert np.array_equal(again.reliability, full.reliability)


def test_copymove_off_switches_the_copied_patch_test_off_too(engine, tmp_path):
    """The fast triage pass (noise_cap 0, copymove off) spends nothing on a never-compressed image:
    no retouching traces, no score, and the note says why."""
    import json

    from PIL import Image

    from tests.engines.classical.synth_jpeg_splices import natural_content
    from trufor_desk.engines.classical.fusion import FusionEngine
    from trufor_desk.evidence import open_evidence

    Image.fromarray(natural_content(128, 160, 2)).save(tmp_path / "x.png")
    res = FusionEngine().analyze(open_evidence(tmp_path / "x.png"), params={"copymove": False, "noise_cap": 0})
    details = json.loads(res.provenance["engine_details_json"])
    assert res.score is None and details["retouch"] is None and "retouch_s" not in res.timings
    assert any("copymove off" in n for n in res.notes)


def test_a_clone_both_detectors_find_keeps_copy_moves_judgement(engine, tmp_path):
    """A region moved by a plain shift in a PNG: the copied-patch test and copy-move both find it.
    Both copies end above 0.5, the copy copy-move judged pasted at least as high as its source."""
    import json

    from PIL import Image

    from tests.engines.classical.synth_jpeg_splices import natural_content
    from trufor_desk.evidence import open_evidence

    rgb = natural_content(192, 256, 9)
    rgb[100:150, 160:230] = rgb[20:70, 20:90]
    Image.fromarray(rgb).save(tmp_path / "clone.png")
    res = engine.analyze(open_evidence(tmp_path / "clone.png"))
    details = json.loads(res.provenance["engine_details_json"])
    assert details["retouch"]["duplicate_pairs"] > 500
    src, dst = res.localization[25:65, 25:85], res.localization[105:145, 165:225]
    assert (src > 0.5).mean() > 0.9 and (dst > 0.5).mean() > 0.9
    cm = res.extras["copymove"]
    assert cm.max() > 0.5                              # copy-move verified the clone too
    # its judgement of the pasted side stands: the map is at copy-move's levels on both copies
    assert np.allclose(dst, np.maximum(cm[105:145, 165:225], dst), atol=1e-6)
    assert abs(float(dst.mean() - src.mean()) - float(cm[105:145, 165:225].mean() - cm[25:65, 25:85].mean())) < 0.05


def test_every_calibrated_model_stays_within_what_its_set_supports():
    """No weight-free probability is more extreme than its calibration set's size can support."""
    from trufor_desk.engines.classical.calibration import MODELS, calibrated_score, probability_range

    for name, model in MODELS.items():
        n = model["n"]
        assert probability_range(name) == (1 / (n + 1), n / (n + 1))
        big = {k: (1e6 if c > 0 else -1e6) for k, c in model["coef"].items()}
        small = {k: -v for k, v in big.items()}
        assert calibrated_score(name, big)[0] == pytest.approx(n / (n + 1))
        assert calibrated_score(name, small)[0] == pytest.approx(1 / (n + 1))
        assert f"1/{n + 1}" in calibrated_score(name, big)[1]["caveat"]
