"""Registration of two versions of one photo, and the numbers of their comparison, on images
made here: the second version is the first cropped, rescaled by 0.8, rotated by 2 degrees,
with an object pasted in and re-saved as JPEG q75."""

from __future__ import annotations

import numpy as np
import pytest

from tests.compare.scenes import jpeg_bytes, second_version, textured_scene
from tests.conftest import natural_image
from trufor_desk.compare.comparison import build_comparison
from trufor_desk.compare.metrics import compare_jpeg_tables, psnr, ssim
from trufor_desk.compare.registration import Registration, register, resample
from trufor_desk.compare.sources import Source
from trufor_desk.errors import UserError


@pytest.fixture(scope="module")
def pair():
    first = textured_scene(900, 1200, seed=3)
    return first, jpeg_bytes(first, 92), second_version(first, scale=0.8, angle_deg=2.0, quality=75)


def _corners(h: np.ndarray, w: int, hgt: int) -> np.ndarray:
    c = np.array([[0, 0, 1], [w - 1, 0, 1], [0, hgt - 1, 1], [w - 1, hgt - 1, 1]], np.float64)
    p = c @ h.T
    return p[:, :2] / p[:, 2:]


def test_transform_recovered_within_one_pixel_at_the_corners(pair):
    first, _, sv = pair
    reg = register(first, sv.rgb)
    truth = np.linalg.inv(sv.a_to_b)          # B pixel -> A pixel
    hb, wb = sv.rgb.shape[:2]
    err_in_a = np.linalg.norm(_corners(reg.H, wb, hb) - _corners(truth, wb, hb), axis=1)
    assert err_in_a.max() < 1.0, err_in_a
    ha, wa = first.shape[:2]                  # and the other way round, in B's pixels
    err_in_b = np.linalg.norm(_corners(np.linalg.inv(reg.H), wa, ha) - _corners(sv.a_to_b, wa, ha), axis=1)
    assert err_in_b.max() < 1.0, err_in_b
    assert reg.scale == pytest.approx(1 / 0.8, abs=2e-3)
    assert reg.rotation_deg == pytest.approx(2.0, abs=0.05)
    assert reg.inliers >= 100 and reg.ecc is not None and reg.ecc > 0.9
    assert 0.7 < reg.overlap < 0.8                    # 0.86 * 0.88 of A
    assert reg.residual_px < 2.0


def test_pasted_object_is_the_largest_differing_region(pair):
    first, raw_a, sv = pair
    c = build_comparison(Source("A", "E1", first, first, raw_a), Source("B", "E2", sv.rgb, sv.rgb, sv.data),
                         register_images=True)
    regions = c.numbers.regions
    assert regions, "no differing region found"
    top = regions[0]
    px, py, pw, ph = sv.pasted_box
    ix = max(0, min(top.x + top.w, px + pw) - max(top.x, px))
    iy = max(0, min(top.y + top.h, py + ph) - max(top.y, py))
    union = top.w * top.h + pw * ph - ix * iy
    assert ix * iy / union > 0.8, (top, sv.pasted_box)
    assert all(r.area_px < top.area_px for r in regions[1:])
    n = c.numbers
    assert n.jpeg_tables == "different"              # q92 against q75: a re-save
    assert 15 < n.psnr_db < 40 and 0.8 < n.ssim < 0.99
    assert 0.01 < n.fraction_over < 0.2              # the pasted patch is about 1/36 of the frame
    assert c.registered and c.registration.model == "affine"
    assert c.figures["a"].shape == c.figures["b"].shape and c.figures["diff"].shape == c.figures["a"].shape[:2]
    # the view defaults to the overlap's bounding box, so both panels show the same pixels of A
    x, y, w, h = c.view
    assert c.valid[y:y + h, x:x + w].mean() > 0.9


def test_resampled_second_version_matches_the_first_away_from_the_paste(pair):
    first, _, sv = pair
    reg = register(first, sv.rgb)
    aligned, valid = resample(sv.rgb, reg)
    px, py, pw, ph = sv.pasted_box
    keep = valid.copy()
    keep[py - 10:py + ph + 10, px - 10:px + pw + 10] = False
    assert psnr(first, aligned, keep) > 28
    assert ssim(first, aligned, keep) > 0.9


@pytest.mark.parametrize("other", ["scene", "smooth"])
def test_unrelated_images_are_refused_in_one_line(other):
    a = textured_scene(600, 800, seed=1)
    b = textured_scene(700, 700, seed=9) if other == "scene" else natural_image(600, 800, seed=4)
    with pytest.raises(UserError) as exc:
        register(a, b)
    msg = str(exc.value)
    assert "\n" not in msg and "do not match" in msg


def test_different_sizes_without_registration_are_refused(pair):
    first, _, sv = pair
    with pytest.raises(UserError, match="differ in size"):
        build_comparison(Source("A", "E1", first, first), Source("B", "E2", sv.rgb, sv.rgb))


def test_identical_images_compare_as_identical():
    a = textured_scene(200, 300, seed=2)
    c = build_comparison(Source("A", "E1", a, a), Source("B", "E2", a.copy(), a.copy()))
    n = c.numbers
    assert not c.registered and n.psnr_db is None and n.ssim == pytest.approx(1.0)
    assert n.fraction_over == 0 and n.regions == [] and n.max_diff == 0


def test_registration_round_trips_through_plain_data(pair):
    first, _, sv = pair
    reg = register(first, sv.rgb)
    again = Registration.from_dict(reg.to_dict())
    assert again.to_dict() == reg.to_dict() and np.allclose(again.H, reg.H)


def test_jpeg_tables_identical_for_the_same_quality():
    a, b = textured_scene(64, 64, 1), textured_scene(64, 64, 2)
    assert compare_jpeg_tables(jpeg_bytes(a, 80), jpeg_bytes(b, 80))[0] == "identical"
    assert compare_jpeg_tables(jpeg_bytes(a, 80), jpeg_bytes(b, 95))[0] == "different"
    assert compare_jpeg_tables(b"\x89PNG", jpeg_bytes(b, 95))[0] == "not both JPEG"
