"""JPEG quantisation tables: the zigzag order, the IJG (libjpeg) tables and the quality estimate.

No metadata library exposes these, and they are evidence: a camera writes its own tables,
libjpeg writes the Annex K tables scaled by a quality, so a file whose tables are the
standard ones at quality Q was most likely last written by software.

Tables are kept in natural (row-major 8x8) order.  The file stores them in zigzag order;
current Pillow (verified on 13.0; older releases returned zigzag order) already returns
``img.quantization`` in natural order, since its DQT handler maps through
``zigzag_index``.  We parse the DQT segments ourselves (:mod:`.jpeg_structure`) and undo the
zigzag with :data:`ZIGZAG`, so the result does not depend on the Pillow version; a mismatch
with Pillow's tables is recorded as a note, and a test checks both agree.
"""

from __future__ import annotations

import numpy as np

# JPEG standard (ITU-T T.81) Annex K, tables K.1 and K.2, natural (row-major) order.
IJG_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)
IJG_CHROMINANCE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
) + (99,) * 32


def _zigzag() -> tuple[int, ...]:
    """ZIGZAG[k] = natural (row-major) index of the k-th coefficient in zigzag order."""
    out = []
    for s in range(15):
        cells = [(r, s - r) for r in range(8) if 0 <= s - r < 8]
        cells.sort(key=lambda rc: rc[0], reverse=(s % 2 == 0))
        out.extend(r * 8 + c for r, c in cells)
    return tuple(out)


ZIGZAG = _zigzag()


def ijg_table(base: tuple[int, ...] | list[int], quality: int) -> list[int]:
    """The table libjpeg's ``jpeg_set_quality(quality, force_baseline=TRUE)`` writes."""
    q = min(max(int(quality), 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return [min(max((b * scale + 50) // 100, 1), 255) for b in base]


def estimate_ijg_quality(values: list[int], base: tuple[int, ...] | list[int]) -> dict:
    """Closest IJG quality for one natural-order table; ``standard`` if it is exactly that table."""
    t = np.asarray(values, np.int64)
    best = None
    for q in range(100, 0, -1):
        ref = np.asarray(ijg_table(base, q), np.int64)
        diff = np.abs(t - ref)
        key = (int(diff.sum()), -q)
        if best is None or key < best[0]:
            best = (key, q, int(diff.max()), float(diff.mean()))
    (total, _), q, dmax, dmean = best
    standard = total == 0
    text = (f"standard IJG table at quality {q}" if standard
            else f"non-standard (closest Q\u2248{q}, max deviation {dmax})")
    return {"quality": q, "standard": standard, "max_deviation": dmax, "mean_deviation": round(dmean, 3),
            "text": text}
