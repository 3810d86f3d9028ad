"""Copy-move engine (issues #3, #10): SIFT + g2NN + RANSAC affine + dense verification,
the dense shift search and the pasted-copy judge of ``copymove_dense``.

Measured on the synthetic set of ``synth_copymove.standard_set()`` (8 forgeries:
translation, rotation 15-30 deg, scaling 0.8-1.2; 256x256 to 384x512; 4 pristine):
mean F1-best 0.98 (every forgery >= 0.91), pristine pixels above 0.5: 0.0 %, every
forgery scored > 0.5 and every pristine image < 0.5.  On 30 further random forgeries
(320x384, seeds 500-529) mean F1-best was 0.988 (0.755 after JPEG quality 90; 0.88
before the exact shift check, which some re-saved synthetic copies fail), with no
pristine false positive in 15 images.  The thresholds below leave a wide margin.

On casia-dev's 100 copy-move photographs (``Sp_S``, read from ../shared, never copied
here) the engine went from mean F1-best 0.455 to 0.758 and from 2.1 % to 0.7 % of
authentic pixels above 0.5 with the exact shift check, the shift search and the
pasted-copy judge; those figures come from ``trufor-desk evaluate``, not from a test.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.engines.classical.synth_copymove import make_copymove, make_pristine, make_small_clone, standard_set
from trufor_desk.engines.classical.calibration import calibrated_score
from trufor_desk.engines.classical.copymove import DEFAULTS, CopyMoveEngine
from trufor_desk.engines.classical.copymove_dense import pasted_side, translation_candidates, translation_regions
from trufor_desk.engines.classical.copymove_match import _exact_knn, g2nn_accept, g2nn_pairs
from trufor_desk.errors import Cancelled, UserError
from trufor_desk.evaluation.metrics import localization_f1


@pytest.fixture(scope="module")
def results():
    engine = CopyMoveEngine()
    return [(case, engine.analyze(case.image)) for case in standard_set()]


def test_localizes_translated_rotated_and_scaled_copies(results):
    f1 = {case.name: localization_f1(r.localization, case.mask)["f1_best"]
          for case, r in results if case.mask is not None}
    assert len(f1) == 8
    assert np.mean(list(f1.values())) >= 0.5, f1
    for kind in ("translation", "rotation", "scale"):
        assert max(v for k, v in f1.items() if k.startswith(kind)) >= 0.5, (kind, f1)


def test_pristine_images_stay_clean(results):
    for case, r in results:
        if case.mask is None:
            assert (r.localization > 0.5).mean() <= 0.05, case.name
            assert r.score < 0.5, case.name


def test_scores_separate_forgeries_from_pristine(results):
    forged = [r.score for case, r in results if case.mask is not None]
    pristine = [r.score for case, r in results if case.mask is None]
    assert np.mean(forged) > 0.5 > max(pristine)


def test_map_contract(results):
    for case, r in results:
        loc = r.localization
        assert loc.shape == case.image.shape[:2] and loc.dtype == np.float32
        assert 0.0 <= loc.min() and loc.max() <= 1.0
        assert 0.0 <= r.score <= 1.0
        assert r.engine == "copymove" and r.applicable


def test_marks_both_source_and_destination(results):
    from scipy.ndimage import label

    for case, r in results:
        if case.mask is None:
            continue
        parts, n = label(case.mask)
        assert n == 2, case.name
        marked = r.localization > 0.5
        if marked.any():
            for k in (1, 2):
                assert marked[parts == k].mean() > 0.5, (case.name, k)


def test_recovers_the_transformation():
    img, mask, affine = make_copymove(384, 512, "rotation", seed=5)
    r = CopyMoveEngine().analyze(img)
    regions = json.loads(str(r.provenance["engine_details_json"]))["regions"]
    assert regions
    found = np.array(regions[0]["affine"])
    # the hypothesis may be stated in either direction
    inv = np.linalg.inv(np.vstack([affine, [0, 0, 1]]))[:2]
    err = min(np.abs(found[:, :2] - a[:, :2]).max() for a in (affine, inv))
    assert err < 0.03


@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 9, 3), (16, 16, 3), (40, 60, 3)])
def test_tiny_and_flat_images_give_an_empty_map(shape):
    for img in (np.zeros(shape, np.uint8), np.full(shape, 200, np.uint8)):
        r = CopyMoveEngine().analyze(img)
        assert r.localization.shape == shape[:2]
        assert not r.localization.any()
        # nothing found: the calibrated probability of a raw score of 0, below even odds
        assert r.score == pytest.approx(calibrated_score("copymove", {"raw_score": 0.0})[0]) and r.score < 0.5
        assert r.score_calibration["set"].startswith("casia-dev")


def test_noise_without_repetition_gives_no_detection():
    rng = np.random.default_rng(1)
    r = CopyMoveEngine().analyze(rng.integers(0, 256, (200, 240, 3), dtype=np.uint8))
    assert (r.localization > 0.5).mean() == 0.0 and r.score < 0.5


def test_progress_and_cancel():
    img = make_pristine(128, 128, seed=2)
    seen = []
    CopyMoveEngine().analyze(img, progress=lambda f, m: seen.append(f))
    assert seen and seen == sorted(seen) and seen[-1] == 1.0
    with pytest.raises(Cancelled):
        CopyMoveEngine().analyze(img, cancel=lambda: True)


def test_unknown_parameter_is_a_user_error():
    with pytest.raises(UserError):
        CopyMoveEngine().analyze(np.zeros((8, 8, 3), np.uint8), params={"ratio": 0.5})


def test_registry_creates_it_without_weights():
    from trufor_desk.engines.registry import create_engine

    e = create_engine("copymove", weights="ignored", device="cpu")
    assert isinstance(e, CopyMoveEngine) and e.requires_weights is False and e.OPTIONS == ()


def test_g2nn_iterates_the_ratio_test():
    d = np.array([[1.0, 1.2, 5.0, 6.0],    # 1/1.2 fails: nothing
                  [1.0, 4.0, 5.0, 6.0],    # first passes, 4/5 fails: one match
                  [1.0, 1.5, 4.0, 5.0],    # 1/1.5 fails at once although 1.5/4 would pass
                  [0.0, 0.0, 0.0, 9.0]])   # three exact copies, all accepted
    acc = g2nn_accept(d, 0.5)
    assert acc.tolist() == [[False, False, False], [True, False, False],
                            [False, False, False], [True, True, True]]


def test_g2nn_pairs_find_duplicated_descriptors_and_skip_self():
    rng = np.random.default_rng(0)
    desc = rng.uniform(0, 100, (50, 128)).astype(np.float32)
    desc[40] = desc[3] + 0.2          # a near copy of descriptor 3 (distance ~2)
    desc[41] = desc[3] - 3.0          # a rougher one (distance ~34, random ones ~460):
    # 2/34 and 34/460 both pass, so g2NN reports both copies where 2NN would report one
    pairs = {tuple(p) for p in g2nn_pairs(desc, 0.5, 8)}
    assert {(3, 40), (3, 41), (40, 41)} <= pairs
    assert all(i < j for i, j in pairs)


@pytest.mark.parametrize("k", [3, 10])
def test_exact_neighbours_rank_as_opencvs_brute_force_matcher(k):
    # integer-valued descriptors as SIFT gives them, with runs of exact duplicates longer
    # than k (ties: the matcher keeps the lowest indices) and a few non-integer ones
    import cv2

    rng = np.random.default_rng(1)
    base = rng.integers(0, 60, (300, 128)).astype(np.float32)
    desc = np.concatenate([base, base[:100], base[:30], np.repeat(base[:3], 12, 0),
                           base[200:210] + rng.uniform(-0.3, 0.3, (10, 128)).astype(np.float32)])
    desc = desc[rng.permutation(len(desc))]
    rows = cv2.BFMatcher(cv2.NORM_L2).knnMatch(desc, desc, k=k)
    want_idx = np.array([[m.trainIdx for m in r] for r in rows])
    want_dist = np.array([[m.distance for m in r] for r in rows], np.float32)
    idx, dist = _exact_knn(desc, k)
    assert (idx == want_idx).all()
    np.testing.assert_allclose(dist, want_dist, rtol=1e-6, atol=1e-4)


def test_dense_shift_search_finds_a_small_translated_clone_that_sift_misses():
    # a disc of 24 px radius (1.5 % of the image per copy) moved by a plain shift in a
    # weakly textured photo, JPEG 95 after the edit; SIFT is held to keypoints of
    # contrast >= 0.2, as few as it finds on the small clones of casia-dev
    img, mask, (dx, dy) = make_small_clone(256, 384, radius=24, seed=0, grain=3.0, jpeg_quality=95)
    starved = {"contrast_threshold": 0.2}
    sift_only = CopyMoveEngine().analyze(img, params={**starved, "shift_candidates": 0})
    assert not (sift_only.localization > 0.5).any()
    r = CopyMoveEngine().analyze(img, params=starved)
    assert localization_f1(r.localization, mask)["f1_best"] >= 0.9
    from scipy.ndimage import label

    parts, n = label(mask)
    assert n == 2
    for k in (1, 2):  # both copies marked
        assert (r.localization[parts == k] > 0.5).mean() > 0.8
    regions = json.loads(str(r.provenance["engine_details_json"]))["regions"]
    assert [g["found_by"] for g in regions] == ["dense shift search"]
    shift = (round(regions[0]["affine"][0][2]), round(regions[0]["affine"][1][2]))
    assert shift in ((dx, dy), (-dx, -dy))
    assert r.score > sift_only.score


def test_shift_candidates_and_exact_check():
    img, mask, (dx, dy) = make_small_clone(256, 384, radius=24, seed=0, grain=3.0, jpeg_quality=95)
    import cv2

    lum = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    cands = [(x, y) for x, y, _ in translation_candidates(lum, DEFAULTS)]
    gray = cv2.GaussianBlur(lum, (0, 0), 1.0)
    assert (dx, dy) in cands or (-dx, -dy) in cands
    src, dst, diff = translation_regions(gray, dx, dy, DEFAULTS)
    assert diff < 1.0
    assert (src | dst)[mask].mean() > 0.7 and (src | dst)[~mask].mean() < 0.01  # a few px of border
    # a shift under which nothing was copied: natural texture does not pass the exact check
    src, dst, _ = translation_regions(gray, 37, 11, DEFAULTS)
    assert not src.any() and not dst.any()


def test_pasted_side_cues():
    src = np.zeros((40, 40), bool)
    src[5:15, 5:15] = True
    dst = np.roll(src, 20, axis=1)
    flat = np.zeros((40, 40), np.float32)
    once = flat.copy()
    once[dst] = 0.8          # the right-hand copy looks compressed once: it was pasted
    assert pasted_side(src, dst, once, flat, 0.01, resampled=False) == (True, "double quantisation")
    assert pasted_side(dst, src, once, flat, 0.01, resampled=True)[0] is False
    detail = flat.copy()
    detail[dst] = 5.0        # no JPEG history: fine detail decides, by the kind of copy
    shifted, cue = pasted_side(src, dst, None, detail, 0.01, resampled=False)
    assert shifted and cue.startswith("fine detail")
    assert pasted_side(src, dst, None, detail, 0.01, resampled=True)[0] is False


def test_a_callers_once_compressed_map_decides_the_pasted_copy(monkeypatch):
    """The fusion hands copy-move the single-compression map it has already read, so the DQ
    analysis runs once; copy-move then uses it to tell the pasted copy from its source."""
    from scipy.ndimage import label

    from trufor_desk.engines.classical import copymove as cm_module

    img, mask, _ = make_small_clone(256, 384, radius=24, seed=0, grain=3.0, jpeg_quality=95)
    parts, n = label(mask)
    assert n == 2

    def never(_evidence):
        raise AssertionError("copy-move recomputed the DQ analysis it was given")

    monkeypatch.setattr(cm_module, "once_compressed_map", never)
    for pasted in (1, 2):
        once = (parts == pasted).astype(np.float32)   # this copy reads as compressed once
        r = CopyMoveEngine().analyze(img, params={"contrast_threshold": 0.2}, once_map=once)
        other = 3 - pasted
        assert (r.localization[parts == pasted] > 0.9).mean() > 0.8
        assert (r.localization[parts == other] < 0.9).mean() > 0.8   # the source: marked lower
