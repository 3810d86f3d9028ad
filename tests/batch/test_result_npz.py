"""One reader of stored results: :meth:`AnalysisResult.from_npz_dict`, used by batch
folders (:func:`load_result_npz`) and case files (:func:`result_from_npz`), so the two
cannot drift apart.  A stored result is evidence: anything inconsistent is refused."""

from __future__ import annotations

import numpy as np
import pytest

from trufor_desk.batch import load_result_npz
from trufor_desk.case import result_from_npz
from trufor_desk.engines.base import AnalysisResult, standard_provenance
from trufor_desk.errors import UserError


def sample_result() -> AnalysisResult:
    rng = np.random.default_rng(0)
    return AnalysisResult(
        engine="demo", engine_version="demo-1", localization=rng.random((6, 5), dtype=np.float32),
        reliability=rng.random((6, 5), dtype=np.float32), score=0.25,
        extras={"np++": rng.random((6, 5), dtype=np.float32)}, params={"quality": 90, "sizes": [1, 2]},
        provenance=standard_provenance(None, details={"k": 1}), timings={"total_s": 0.5},
        notes=["a note"], applicable=True,
        score_calibration={"method": "logistic", "set": "demo", "auc": 0.9, "a": 1.0, "b": -2.0})


def save(tmp_path, arrays, name="r.npz"):
    p = tmp_path / name
    np.savez(p, **arrays)
    return p


def assert_same(a: AnalysisResult, b: AnalysisResult) -> None:
    assert (a.engine, a.engine_version, a.params, a.provenance, a.timings, a.notes, a.applicable,
            a.score_calibration) == (b.engine, b.engine_version, b.params, b.provenance, b.timings, b.notes,
                                     b.applicable, b.score_calibration)
    np.testing.assert_array_equal(a.localization, b.localization)
    np.testing.assert_array_equal(a.reliability, b.reliability)
    assert a.score == pytest.approx(b.score) and a.extras.keys() == b.extras.keys()


def test_batch_and_case_readers_give_the_same_result(tmp_path):
    original = sample_result()
    p = save(tmp_path, original.to_npz_dict())
    from_batch = load_result_npz(p)
    with np.load(p, allow_pickle=False) as z:
        from_case = result_from_npz({k: z[k] for k in z.files})
    assert_same(from_batch, from_case)
    assert_same(from_batch, original)
    assert from_batch.score_calibration == original.score_calibration and from_batch.score_is_probability


def test_uncalibrated_score_stays_uncalibrated(tmp_path):
    r = sample_result()
    r.score_calibration = None
    back = load_result_npz(save(tmp_path, r.to_npz_dict()))
    assert back.score_calibration is None and not back.score_is_probability


def damaged(**changes):
    arrays = sample_result().to_npz_dict()
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    return arrays


@pytest.mark.parametrize("changes, words", [
    ({"map": None}, "no 'map'"),
    ({"map": np.zeros((2, 3, 4), np.float32)}, "not a 2-D float map"),
    ({"imgsize": np.asarray([7, 7])}, "'imgsize'"),
    ({"conf": np.zeros((3, 3), np.float32)}, "'conf'"),
    ({"np++": np.zeros((6, 5), np.int32)}, "'np++'"),
    ({"params_json": np.asarray("{not json")}, "'params_json' is not valid JSON"),
    ({"notes_json": np.asarray("{}")}, "'notes_json' holds dict"),
    ({"score_calibration_json": np.asarray("[1]")}, "'score_calibration_json'"),
    ({"score": np.asarray([0.1, 0.2], np.float32)}, "'score' holds 2 values"),
    ({"mystery": np.asarray("text")}, "'mystery'"),
])
def test_inconsistent_files_are_refused_by_both_readers(tmp_path, changes, words):
    arrays = damaged(**changes)
    with pytest.raises(UserError, match="not a valid analysis file") as info:
        load_result_npz(save(tmp_path, arrays))
    assert words in str(info.value)
    with pytest.raises(ValueError, match=words.replace("+", r"\+")):
        result_from_npz(arrays)


def test_unreadable_files_are_one_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_result_npz(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("not an npz")
    with pytest.raises(UserError, match="not a readable analysis file"):
        load_result_npz(tmp_path / "text.npz")
    (tmp_path / "torn.npz").write_bytes(save(tmp_path, sample_result().to_npz_dict()).read_bytes()[:200])
    with pytest.raises(UserError):
        load_result_npz(tmp_path / "torn.npz")


def test_results_written_before_standard_provenance_still_load(tmp_path):
    """Older files carried engine-specific provenance keys and no md5; they are still read."""
    arrays = sample_result().to_npz_dict()
    arrays = {k: v for k, v in arrays.items() if not k.startswith("prov_")}
    arrays.update(prov_image_sha256=np.asarray("ab" * 32), prov_regions_json=np.asarray("[]"),
                  prov_keypoints=np.asarray(12))
    back = load_result_npz(save(tmp_path, arrays))
    assert back.provenance == {"image_sha256": "ab" * 32, "regions_json": "[]", "keypoints": 12}
