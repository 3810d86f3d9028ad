"""How a batch stores an analysis (batch/stored.py): rounded maps, same verdict, smaller files."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest

from trufor_desk.batch.stored import MAP_LEVELS, rounded, rounded_arrays, stored_npz
from trufor_desk.engines.base import AnalysisResult
from trufor_desk.verdict.decision import verdict_for_result


def _load(data: bytes) -> AnalysisResult:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return AnalysisResult.from_npz_dict({k: z[k] for k in z.files})


def _smooth(h: int, w: int, seed: int) -> np.ndarray:
    cells = np.random.default_rng(seed).random((h // 16, w // 16)).astype(np.float32)
    return cv2.resize(cells, (w, h), interpolation=cv2.INTER_LINEAR)


def test_rounding_keeps_every_value_within_one_step_and_the_half_threshold_exact():
    half = np.float32(0.5)
    edge = np.array([0.0, 1.0, half, np.nextafter(half, np.float32(1)), np.nextafter(half, np.float32(0)),
                     0.3, 1e-9, 1 - 1e-7], np.float32)
    values = np.concatenate([edge, np.random.default_rng(1).random(100_000).astype(np.float32)]).reshape(1, -1)
    out = rounded(values)
    assert out.dtype == np.float32
    assert np.all(out >= values) and float(np.max(out - values)) <= 1 / MAP_LEVELS
    np.testing.assert_array_equal(out > 0.5, values > 0.5)
    assert out[0, 0] == 0.0 and out[0, 1] == 1.0 and out[0, 2] == 0.5
    np.testing.assert_array_equal(out * MAP_LEVELS, np.round(out * MAP_LEVELS))   # on the levels
    assert len(np.unique(out)) <= MAP_LEVELS + 1


def test_only_unit_maps_are_rounded():
    unit = _smooth(64, 64, 2)
    signed = unit - 0.5                                    # e.g. Noiseprint++: not a [0, 1] map
    with_nan = unit.copy()
    with_nan[0, 0] = np.nan
    arrays = {"map": unit, "np++": signed, "odd": with_nan, "score": np.asarray(0.123456789, np.float32),
              "imgsize": np.asarray([64, 64])}
    out = rounded_arrays(arrays)
    assert not np.array_equal(out["map"], unit)
    for key in ("np++", "odd", "score", "imgsize"):
        assert out[key] is arrays[key]


def _result(loc: np.ndarray, rel: np.ndarray, score: float | None = None) -> AnalysisResult:
    return AnalysisResult(engine="test", engine_version="1", localization=loc, reliability=rel, score=score,
                          extras={"layer": _smooth(*loc.shape, 9)})


def test_stored_analysis_reads_back_to_the_same_verdict_and_is_smaller():
    loc = _smooth(512, 768, 3) * 0.8
    loc[100:200, 300:420] = 0.9                            # a marked region
    result = _result(loc, _smooth(512, 768, 4))
    verdict = verdict_for_result(result)
    data, was_rounded = stored_npz(result, verdict)
    assert was_rounded
    back = _load(data)
    assert verdict_for_result(back) == verdict_for_result(back)  # deterministic
    got = verdict_for_result(back)
    assert (got.category, got.headline, got.explanation) == (verdict.category, verdict.headline,
                                                              verdict.explanation)
    assert float(np.max(np.abs(back.localization - loc))) <= 1 / MAP_LEVELS
    plain = io.BytesIO()
    np.savez(plain, **result.to_npz_dict())
    assert len(data) < 0.85 * len(plain.getvalue())   # 12 MP fusion maps: about 0.17 (the README)
    assert stored_npz(result, verdict)[0] == data           # same analysis, same bytes


def test_maps_are_stored_as_computed_where_rounding_would_move_the_verdict():
    # mean reliability just under the 0.3 below which nothing negative can be said: rounding
    # up would lift it to 0.3 and change the verdict, so the maps are kept as computed
    loc = np.zeros((64, 64), np.float32)
    rel = np.full((64, 64), 0.299999, np.float32)     # rounded up: 19661 / 65536 = 0.300003
    result = _result(loc, rel)
    verdict = verdict_for_result(result)
    assert "reliability" in verdict.headline.lower()
    rounded_verdict = verdict_for_result(_result(loc, rounded(rel)))
    assert rounded_verdict.headline != verdict.headline    # the case the check exists for
    data, was_rounded = stored_npz(result, verdict)
    assert not was_rounded
    back = _load(data)
    np.testing.assert_array_equal(back.reliability, rel)
    assert verdict_for_result(back).headline == verdict.headline


@pytest.mark.parametrize("score", [None, 0.7315])
def test_scalars_are_stored_exactly(score):
    result = _result(_smooth(64, 64, 5), _smooth(64, 64, 6), score)
    back = _load(stored_npz(result, verdict_for_result(result))[0])
    assert back.score == (None if score is None else float(np.float32(score)))
