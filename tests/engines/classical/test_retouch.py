"""Retouching traces in never-compressed images: exactly repeated patches and too-smooth areas."""

from __future__ import annotations

import cv2
import numpy as np

from trufor_desk.engines.classical import retouch


def _photo(h: int = 160, w: int = 224, seed: int = 0) -> np.ndarray:
    """Camera-like pixels: smooth content plus sensor noise (no two windows alike)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 110 + 50 * np.sin(xx / 17.0) * np.cos(yy / 23.0) + 30 * np.sin((xx + 2 * yy) / 9.0)
    rgb = base[..., None] + np.array([0, 8, -8]) + rng.normal(0, 4, (h, w, 3))
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def test_a_photograph_repeats_no_textured_patch():
    d = retouch.duplicate_patches(_photo())
    assert d.applies and d.pairs == 0 and not d.mask.any() and d.textured > 1000
    assert d.log_pairs == 0.0


def test_copied_tiles_are_found_exactly_with_both_copies_marked():
    rgb = _photo(seed=1)
    out = rgb.copy()
    sources = [(8, 8), (100, 20), (40, 180), (130, 150)]   # four tiles copied into one row, anywhere in the image
    for k, (sy, sx) in enumerate(sources):
        out[60:68, 100 + 8 * k:108 + 8 * k] = rgb[sy:sy + 8, sx:sx + 8]
    d = retouch.duplicate_patches(out)
    assert d.applies and d.pairs == len(sources)
    assert d.mask[60:68, 100:132].all()
    for sy, sx in sources:
        assert d.mask[sy:sy + 8, sx:sx + 8].all()
    assert d.mask.sum() == 2 * len(sources) * 64
    assert d.log_pairs == np.log1p(len(sources))


def test_a_tile_differing_in_one_channel_is_not_a_copy():
    rgb = _photo(seed=2)
    out = rgb.copy()
    out[60:68, 100:108] = rgb[8:16, 8:16]
    out[63, 103, 2] ^= 1               # same luminance projection is unlikely, and the RGB check is exact
    assert retouch.duplicate_patches(out).pairs == 0


def test_a_clone_moved_by_one_shift_is_not_taken_for_a_screenshot():
    """A copy-moved region repeats every one of its windows at one shift: not a graphic's scattered repeats."""
    rgb = _photo(seed=3)
    out = rgb.copy()
    out[90:150, 120:200] = rgb[10:70, 20:100]
    d = retouch.duplicate_patches(out)
    assert d.applies and d.pairs > 500 and d.mask[90:150, 120:200].mean() > 0.95


def test_a_graphic_is_recognised_and_the_tests_do_not_apply():
    img = np.full((200, 300, 3), 245, np.uint8)
    for i in range(8):                 # the same icon again and again on a flat background
        cv2.circle(img, (20 + 35 * i, 100), 12, (200, 40, 40), -1)
        cv2.putText(img, "OK", (10 + 35 * i, 150), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    assert retouch.flat_share(img) > retouch.MAX_FLAT_SHARE
    r = retouch.find(img)
    assert not r.applies and "screenshot or a graphic" in r.note
    assert not r.duplicates.applies and not r.smoothness.applies and r.notes() == [r.note]
    assert retouch.find(_photo()).applies and retouch.graphic_note(_photo()) == ""


def test_a_diffusion_filled_hole_is_the_largest_too_smooth_area():
    rgb = _photo(224, 288, seed=4)
    hole = np.zeros(rgb.shape[:2], np.uint8)
    hole[80:144, 96:176] = 255
    filled = cv2.inpaint(rgb, hole, 3, cv2.INPAINT_TELEA)
    s = retouch.smooth_regions(filled)
    assert s.applies
    inside = s.map[88:136, 104:168]
    assert inside.mean() > 0.8                    # the hole's interior is the group found
    assert s.map[hole == 0].mean() < 0.02          # and little else
    assert 0.04 < s.share < 0.12                   # the hole is 8 % of the image
    assert s.log_share > retouch.smooth_regions(rgb).log_share


def test_clipped_areas_are_not_read_as_too_smooth():
    rgb = _photo(224, 288, seed=5)
    rgb[80:144, 96:176] = 255                      # blown-out highlight: no detail, but not a retouch
    s = retouch.smooth_regions(rgb)
    assert s.applies and s.map[88:136, 104:168].mean() < 0.1


def test_small_images_say_why_the_tests_do_not_apply():
    tiny = _photo(24, 24)
    assert not retouch.smooth_regions(tiny).applies and "too small" in retouch.smooth_regions(tiny).note
    d = retouch.duplicate_patches(_photo(6, 40))
    assert not d.applies and "too small" in d.note


def test_rendered_text_on_a_photo_is_not_a_copied_patch():
    """A date stamp drawn on a plain box repeats its glyphs exactly; those windows are rendered content
    (one colour covers much of each), not a photograph's texture, so no pair is counted."""
    from PIL import Image, ImageDraw

    im = Image.fromarray(_photo(480, 640, seed=6))
    draw = ImageDraw.Draw(im)
    draw.rectangle((500, 450, 636, 474), fill=(0, 0, 0))
    draw.text((504, 456), "2024/05/01 10:00", fill=(255, 160, 0))
    d = retouch.duplicate_patches(np.asarray(im))
    assert d.applies and d.pairs == 0 and not d.mask.any()
    # the same stamp over much of a small image: it carries too much rendered content to judge
    small = Image.fromarray(_photo(96, 160, seed=6))
    ImageDraw.Draw(small).rectangle((0, 40, 159, 70), fill=(0, 0, 0))
    ImageDraw.Draw(small).text((4, 48), "2024/05/01 10:00 0000", fill=(255, 160, 0))
    d = retouch.duplicate_patches(np.asarray(small))
    assert not d.applies and "rendered content" in d.note
    # the same glyph windows with the photo's noise under them would be copies: the rule is about rendering
    rgb = np.asarray(im).copy()
    rgb[20:28, 20:28] = rgb[100:108, 200:208]    # (photo texture copied: counted)
    assert retouch.duplicate_patches(rgb).pairs == 1
