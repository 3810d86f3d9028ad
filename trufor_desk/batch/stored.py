"""How a batch stores each analysis: compact, and read back to the same verdict.

A 12 MP ``fusion`` analysis holds six full-resolution float32 maps (map, reliability and
four detector layers): 288 MB as ``np.savez`` writes them, so a seized phone of 10,000
photos would fill almost 3 TB.  A batch stores them like this instead:

* every map whose values all lie in [0, 1] is rounded **up** to a multiple of
  ``1 / MAP_LEVELS`` (2^-16, 1.5e-5; exact float32 arithmetic, a power of two) and kept as
  float32: ``np.load`` gives the same keys, shapes and dtypes as before, every value is at
  most 1.5e-5 above the computed one, and since 0.5 is a multiple of the step, a value
  above 0.5 stays above it and one at or below stays at or below.  Maps with other values
  (Noiseprint++) are stored as computed;
* the members are deflated at level 1 (the rounded maps have few distinct values): about
  48 MB instead of 288 MB for a 12 MP photo, for about 3 s of one core
  (``benchmarks/bench_batch.py --large``);
* the verdict is checked: the worker reads the stored arrays back and computes their
  verdict at the default thresholds.  Where its category, headline, explanation or score
  wording would differ from the analysis's own (a mean reliability within 1.5e-5 of a
  boundary), the maps are stored as computed, so the window, which rebuilds the verdict
  from the ``.npz``, always shows what the CSV says.

Scores, provenance and every scalar are stored exactly.  ``analyze --out`` and case files
keep their full-precision maps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trufor_desk.npz import npz_bytes

MAP_LEVELS = 65536      # a power of two: v * 65536 is exact in float32, and 0.5 is a level
DEFLATE_LEVEL = 1


def rounded(arr: np.ndarray) -> np.ndarray:
    """``arr`` rounded up to the next multiple of 1 / MAP_LEVELS, as float32."""
    out = np.multiply(arr, np.float32(MAP_LEVELS), dtype=np.float32)   # exact: a power of two
    np.ceil(out, out=out)
    out *= np.float32(1.0 / MAP_LEVELS)                                    # exact again
    return out


def _unit_map(arr: np.ndarray) -> bool:
    if arr.ndim != 2 or arr.dtype != np.float32 or arr.size == 0:
        return False
    lo, hi = float(arr.min()), float(arr.max())   # NaN compares False: stored as computed
    return 0.0 <= lo and hi <= 1.0


def rounded_arrays(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` with every [0, 1] map rounded (:func:`rounded`); everything else as it is."""
    return {k: (rounded(v) if _unit_map(np.asarray(v)) else v) for k, v in arrays.items()}


def _wording(verdict: Any) -> tuple:
    return (verdict.category, verdict.headline, verdict.explanation, verdict.score_text, verdict.verbal_scale)


def stored_npz(result: Any, verdict: Any) -> tuple[bytes, bool]:
    """(the ``.npz`` bytes a batch stores for ``result``, whether its maps were rounded).

    ``verdict``: ``verdict_for_result(result)``, the verdict the row records."""
    from trufor_desk.engines.base import AnalysisResult
    from trufor_desk.verdict.decision import verdict_for_result

    arrays = result.to_npz_dict()
    small = rounded_arrays(arrays)
    if _wording(verdict_for_result(AnalysisResult.from_npz_dict(small))) == _wording(verdict):
        return npz_bytes(small, DEFLATE_LEVEL), True
    return npz_bytes(arrays, DEFLATE_LEVEL), False
