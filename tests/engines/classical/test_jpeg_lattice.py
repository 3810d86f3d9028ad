"""A JPEG saved again as PNG: its last compression's table and grid are found in the
pixels (``jpeg_lattice``), and the double-quantisation analysis runs as on the JPEG.

Measured (engine adq 1.1.0): the IJG quality of every synthetic pristine JPEG is recovered,
the grid of a crop too; the converted splices of ``synth_jpeg_splices.JPEG_CASES`` are
localised like the JPEGs; never-compressed and resampled images carry no lattice.
"""

from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.engines.classical.synth_jpeg_splices import (
    PRISTINE_CASES,
    decode,
    evidence_from_bytes,
    jpeg_set,
    natural_content,
    pristine_jpeg,
)
from trufor_desk.engines.classical._jpeg_common import jpeg_tables, luminance
from trufor_desk.engines.classical.adq import AdqEngine
from trufor_desk.engines.classical.jpeg_lattice import find_lattice, fit_step
from trufor_desk.evaluation.metrics import localization_f1


def png_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


# at quality 95 the low-frequency steps are 1 and 2, which rounded pixels cannot show
@pytest.mark.parametrize("h,w,seed,quality", [c for c in PRISTINE_CASES if c[3] <= 90])
def test_table_and_quality_of_a_converted_jpeg(h, w, seed, quality):
    data = pristine_jpeg(h, w, seed, quality)
    lat = find_lattice(luminance(decode(data)))
    assert lat is not None and lat["offset"] == (0, 0)
    assert lat["ijg_quality"] == quality
    file_q = jpeg_tables(data)["luma_q"]
    known = lat["known"]
    assert known.sum() >= 20
    assert (lat["luma_q"][known] == file_q[known]).mean() >= 0.95


def test_grid_of_a_cropped_conversion():
    rgb = decode(pristine_jpeg(256, 320, 22, 75))
    lat = find_lattice(luminance(rgb[3:, 5:]))
    assert lat is not None and lat["offset"] == (5, 3)


def test_never_compressed_or_resampled_pixels_carry_no_lattice():
    scene = natural_content(256, 320, 3)
    assert find_lattice(luminance(scene)) is None
    resized = cv2.resize(decode(pristine_jpeg(320, 400, 4, 70)), (320, 256), interpolation=cv2.INTER_AREA)
    assert find_lattice(luminance(resized)) is None


def test_a_doubled_primary_step_is_not_taken_for_the_step():
    """Coefficients quantised by 20 and then by 10 sit mostly on multiples of 20; the odd
    multiples of 10 that remain show that the last step was 10."""
    rng = np.random.default_rng(0)
    first = np.rint(rng.laplace(0, 30, 5000) / 20) * 20
    single = np.rint(rng.laplace(0, 30, 400) / 10) * 10       # a pasted region, quantised once
    values = np.concatenate([first, single]) + rng.normal(0, 0.3, 5400)
    assert fit_step(values)[0] == 10
    only_twenty = np.rint(rng.laplace(0, 30, 5000) / 20) * 20 + rng.normal(0, 0.3, 5000)
    assert fit_step(only_twenty)[0] == 20


def test_converted_splices_are_localised_like_the_jpegs(tmp_path):
    eng = AdqEngine()
    for case in jpeg_set():
        if case.q1 is None:
            continue
        res = eng.analyze(evidence_from_bytes(png_bytes(decode(case.data)), tmp_path, case.name + ".png"))
        details = json.loads(res.provenance["engine_details_json"])
        assert res.applicable and details["table_source"] == "pixels", case.name
        assert any("estimated from the pixels" in n for n in res.notes), case.name
        assert localization_f1(res.localization, case.mask)["f1_best_strict"] >= 0.9, case.name


def test_converted_pristine_photos_stay_quiet(tmp_path):
    for h, w, seed, quality in PRISTINE_CASES:
        rgb = decode(pristine_jpeg(h, w, seed, quality))
        res = AdqEngine().analyze(evidence_from_bytes(png_bytes(rgb), tmp_path, f"p{seed}.png"))
        assert (res.localization > 0.5).mean() == 0.0, seed
        assert res.score is None or res.score < 0.5, seed
