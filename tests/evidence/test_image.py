"""Opening evidence: formats, conversions recorded, clear refusals, bytes untouched."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from tests.conftest import natural_image
from trufor_desk.errors import EvidenceError
from trufor_desk.evidence import open_evidence


def save(tmp_path, name, img: Image.Image, **kw):
    p = tmp_path / name
    img.save(p, **kw)
    return p


def digest(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("fmt,ext", [("PNG", "png"), ("JPEG", "jpg"), ("BMP", "bmp"), ("TIFF", "tif"),
                                     ("WEBP", "webp")])
def test_rgb_formats_decode_and_hash(tmp_path, fmt, ext):
    arr = natural_image(40, 50)
    p = save(tmp_path, f"a.{ext}", Image.fromarray(arr), format=fmt)
    before = digest(p)
    ev = open_evidence(p)
    assert ev.format == fmt and (ev.height, ev.width) == (40, 50) and ev.rgb.dtype == np.uint8
    assert ev.sha256 == before and ev.md5 == hashlib.md5(p.read_bytes()).hexdigest()
    assert digest(p) == before
    if fmt in ("PNG", "BMP", "TIFF"):
        np.testing.assert_array_equal(ev.rgb, arr)


def test_format_comes_from_content_not_extension(tmp_path):
    p = save(tmp_path, "really_png.jpg", Image.fromarray(natural_image(30, 30)), format="PNG")
    assert open_evidence(p).format == "PNG"


def test_rgba_alpha_is_dropped_not_composited(tmp_path):
    arr = natural_image(30, 30)
    rgba = np.dstack([arr, np.full((30, 30), 7, np.uint8)])
    ev = open_evidence(save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA")))
    np.testing.assert_array_equal(ev.rgb, arr)
    assert any("alpha" in c for c in ev.conversions)


def test_palette_and_grey_are_expanded_and_recorded(tmp_path):
    pal = Image.fromarray(natural_image(30, 30)).convert("P")
    ev = open_evidence(save(tmp_path, "p.png", pal))
    assert ev.mode == "P" and any("palette" in c for c in ev.conversions)
    grey = Image.fromarray(natural_image(30, 30)[:, :, 0])
    ev = open_evidence(save(tmp_path, "g.png", grey))
    np.testing.assert_array_equal(ev.rgb[:, :, 2], natural_image(30, 30)[:, :, 0])


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 255, 256, 4096], [30000, 65280, 65535, 1000]], dtype=np.uint16)
    ev = open_evidence(save(tmp_path, "d.png", Image.fromarray(values)))
    np.testing.assert_array_equal(ev.rgb[:, :, 0], values >> 8)
    assert ev.rgb[1, 2, 0] == 255 and ev.rgb[0, 3, 0] == 16
    assert any(">> 8" in c for c in ev.conversions)


def test_gif_first_frame_is_noted(tmp_path):
    frames = [Image.fromarray(natural_image(30, 30, seed=s)).convert("P") for s in range(3)]
    p = tmp_path / "a.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:])
    ev = open_evidence(p)
    assert any("first of 3 frames" in c for c in ev.conversions)


def test_truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(natural_image(200, 200)).save(buf, "JPEG")
    p = tmp_path / "t.jpg"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(EvidenceError, match="truncated"):
        open_evidence(p)


@pytest.mark.parametrize("content,needle", [(b"hello, not an image\n", "not an image"), (b"", "empty")])
def test_not_an_image(tmp_path, content, needle):
    p = tmp_path / "x.png"
    p.write_bytes(content)
    with pytest.raises(EvidenceError, match=needle):
        open_evidence(p)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(EvidenceError, match="not found"):
        open_evidence(tmp_path / "nope.png")
    with pytest.raises(EvidenceError, match="directory"):
        open_evidence(tmp_path)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    p = save(tmp_path, "big.png", Image.new("RGB", (3000, 2000)))
    with pytest.raises(EvidenceError, match="decompression bomb"):
        open_evidence(p, max_pixels=1_000_000)
    assert open_evidence(p).width == 3000  # the default limit admits real photos


def test_exif_orientation_is_reported_not_applied(tmp_path):
    arr = natural_image(20, 40)
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6
    p = save(tmp_path, "o.jpg", img, exif=exif, quality=100)
    ev = open_evidence(p)
    assert ev.exif_orientation == 6 and ev.rgb.shape == (20, 40, 3)


def test_sixteen_bit_colour_is_scaled_and_recorded(tmp_path):
    import cv2

    values = (np.random.default_rng(0).random((12, 16, 3)) * 65535).astype(np.uint16)
    for ext in ("png", "tif"):
        p = tmp_path / f"deep.{ext}"
        cv2.imwrite(str(p), values[:, :, ::-1])  # OpenCV writes BGR
        ev = open_evidence(p)
        np.testing.assert_array_equal(ev.rgb, (values >> 8).astype(np.uint8))
        assert any("16-bit per channel" in c for c in ev.conversions)


def test_heic_decodes_when_pillow_heif_is_present(tmp_path):
    pytest.importorskip("pillow_heif", reason="pillow-heif not installed (trufor-desk[formats])")
    from pillow_heif import register_heif_opener

    register_heif_opener()
    p = save(tmp_path, "a.heic", Image.fromarray(natural_image(40, 48)), quality=95)
    ev = open_evidence(p)
    assert ev.format == "HEIF" and (ev.height, ev.width) == (40, 48)
    assert np.abs(ev.rgb.astype(int) - natural_image(40, 48).astype(int)).mean() < 12


def test_raw_named_file_that_libraw_cannot_read_is_refused_not_previewed(tmp_path):
    """A RAW container is never silently analysed through its embedded preview.  (No
    camera RAW or DNG writer is available here, so a real RAW decode is not tested.)"""
    p = tmp_path / "camera.nef"
    Image.fromarray(natural_image(30, 30)).save(p, format="TIFF")
    with pytest.raises(EvidenceError, match="RAW"):
        open_evidence(p)
