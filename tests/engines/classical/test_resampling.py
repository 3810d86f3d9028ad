"""Local resampling traces (Popescu & Farid 2005; Kirchner 2008; Mahdian & Saic 2008).

Test images are synthetic grey "photographs" that were never resampled (gradient, 1/f
texture, soft-edged shapes with their own texture, lens blur, sensor noise, a slight
demosaicing blur), and the parity kit's ``pristine1.jpg`` downscaled 2x with INTER_AREA
(which removes its JPEG grid), when the kit is there.  Measured on this machine with the
defaults (window 64, stride 16):

* untouched, 448x320, seeds 7 / 9: pixels with map > 0.5: 0.1 % / 0.7 %, ``statistic``
  0.67 / 1.34, ``global_peak`` 0.21 / 0.23; kit image (192x128): 0.4 %, 0.32, 0.49;
* a 96x96 region upscaled 1.5x (bilinear) from elsewhere and pasted: mean map inside
  0.78 / 0.60, outside 0.063 / 0.070, ``statistic`` 10.1 / 5.3; kit image (region in
  the corner, the image is small): inside 0.71, outside 0.058, ``statistic`` 2.94;
* the whole image resized 1.3x: ``global_peak`` 6.75 / 6.70 (kit 2.42), ``statistic``
  1.35 / 1.60 (kit 2.04), map > 0.5 on 99-100 % of the pixels;
* seed 7 with a 2x-upscaled 96x96 paste: inside 0.63, ``statistic`` 11.6; with a region
  rotated by 10 degrees: inside 0.50, ``statistic`` 7.4;
* speed (not asserted): 0.78 s/MP at 3000x2000, 0.37 s/MP at 6000x4000, 2 busy cores.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from trufor_desk.engines.classical import resampling as R
from trufor_desk.engines.classical.resampling import resampling_analysis

KIT = Path(__file__).resolve().parents[3].parent / "shared" / "trufor-parity"


# -- synthetic images --------------------------------------------------------------------
def _pink(rng, h, w, exponent=1.5):
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx ** 2 + fy ** 2)
    f[0, 0] = 1.0
    amp = f ** -exponent
    amp[0, 0] = 0.0
    t = np.fft.irfft2(amp * np.exp(2j * np.pi * rng.random(amp.shape)), s=(h, w))
    return (t / (t.std() + 1e-9)).astype(np.float32)


def photo(h: int, w: int, seed: int, noise: float = 2.0) -> np.ndarray:
    """A never-resampled grey photograph, float32 0..255 (integer-valued)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = 120 + rng.uniform(-40, 40) * (xx / w - 0.5) + rng.uniform(-40, 40) * (yy / h - 0.5)
    img = img + rng.uniform(6, 12) * _pink(rng, h, w)
    for _ in range(5):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.1, 0.3) * h, rng.uniform(0.1, 0.3) * w
        obj = ((((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) <= 1).astype(np.float32)
        obj = cv2.GaussianBlur(obj, (0, 0), rng.uniform(1.0, 2.5))
        img = img * (1 - obj) + (rng.uniform(50, 200) + rng.uniform(4, 12) * _pink(rng, h, w)) * obj
    img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 1.0)           # lens
    img = img + rng.normal(0, noise, (h, w)).astype(np.float32)           # sensor
    img = cv2.GaussianBlur(img, (0, 0), 0.6)                              # demosaicing
    return np.clip(np.rint(img), 0, 255).astype(np.float32)


def paste_upscaled(y, factor=1.5, size=96, src=(24, 24), dst=None):
    """Paste a ``size x size`` region upscaled (bilinear) from ``src``; returns (image, mask)."""
    h, w = y.shape
    k = int(np.ceil(size / factor)) + 2
    patch = cv2.resize(y[src[0]:src[0] + k, src[1]:src[1] + k], None, fx=factor, fy=factor,
                       interpolation=cv2.INTER_LINEAR)[:size, :size]
    ty, tx = dst if dst is not None else ((h - size) // 2, (w - size) // 2)
    out = y.copy()
    out[ty:ty + size, tx:tx + size] = np.clip(np.rint(patch), 0, 255)
    mask = np.zeros((h, w), bool)
    mask[ty:ty + size, tx:tx + size] = True
    return out, mask


def resized(y, factor):
    return np.clip(np.rint(cv2.resize(y, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)),
                   0, 255).astype(np.float32)


def kit_grey() -> np.ndarray:
    from PIL import Image

    path = KIT / "pristine1.jpg"
    if not path.is_file():
        pytest.skip(f"parity kit image not found at {path}")
    rgb = np.asarray(Image.open(path).convert("RGB"))
    small = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return (small.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)


SEEDS = (7, 9)


@pytest.fixture(scope="module")
def photos():
    return {s: photo(320, 448, s) for s in SEEDS}


@pytest.fixture(scope="module")
def pristine(photos):
    return {s: resampling_analysis(y) for s, y in photos.items()}


@pytest.fixture(scope="module")
def pasted(photos):
    """seed -> (mask, analysis of the photo with a 1.5x upscaled 96x96 paste)."""
    out = {}
    for s, y in photos.items():
        sp, m = paste_upscaled(y)
        out[s] = (m, resampling_analysis(sp))
    return out


@pytest.fixture(scope="module")
def kit_image():
    y = kit_grey()
    return y, resampling_analysis(y)


def _check_contract(out, h, w):
    assert out["applicable"] is True
    for key in ("map", "reliability"):
        a = out[key]
        assert a.shape == (h, w) and a.dtype == np.float32
        assert np.isfinite(a).all() and a.min() >= 0.0 and a.max() <= 1.0
    assert out["peak"].dtype == np.float32 and out["peak"].ndim == 2
    assert np.isfinite(out["statistic"]) and out["statistic"] >= 0
    assert np.isfinite(out["global_peak"]) and out["global_peak"] >= 0


# -- (1) untouched images ----------------------------------------------------------------
def test_untouched_photo_is_quiet(photos, pristine):
    for s, out in pristine.items():
        _check_contract(out, *photos[s].shape)
        frac = float((out["map"] > 0.5).mean())
        print(f"seed {s}: map>0.5 {frac:.4f} statistic {out['statistic']:.2f} "
              f"global_peak {out['global_peak']:.2f}")
        assert frac < 0.02
        assert out["statistic"] < 3.0
        assert out["global_peak"] < 1.0
        assert out["reliability"].mean() > 0.9  # textured and noisy: a trace could show


def test_untouched_kit_photo_is_quiet(kit_image):
    y, out = kit_image
    _check_contract(out, *y.shape)
    frac = float((out["map"] > 0.5).mean())
    print(f"kit: map>0.5 {frac:.4f} statistic {out['statistic']:.2f} global_peak {out['global_peak']:.2f}")
    assert frac < 0.02
    assert out["statistic"] < 3.0


# -- (2) a pasted, upscaled region ------------------------------------------------------
def test_upscaled_paste_is_localised(pasted, pristine):
    for s, (m, out) in pasted.items():
        inside, outside = float(out["map"][m].mean()), float(out["map"][~m].mean())
        print(f"seed {s}: inside {inside:.2f} outside {outside:.3f} statistic {out['statistic']:.2f}")
        assert inside > 0.5
        assert inside >= 3 * outside
        assert out["statistic"] > 4.0
        assert out["statistic"] > 2 * pristine[s]["statistic"]


def test_upscaled_paste_in_kit_photo(kit_image):
    y, base = kit_image
    h, w = y.shape
    sp, m = paste_upscaled(y, src=(10, 10), dst=(h - 96, w - 96))  # the corner: 192x128 is small
    out = resampling_analysis(sp)
    inside, outside = float(out["map"][m].mean()), float(out["map"][~m].mean())
    print(f"kit: inside {inside:.2f} outside {outside:.3f} statistic {out['statistic']:.2f} "
          f"(untouched {base['statistic']:.2f})")
    assert inside > 0.5
    assert inside >= 3 * outside
    assert out["statistic"] > 2 * base["statistic"] + 1.0


def test_other_transforms_are_found(photos, pristine):
    """2x upscaling (the first-difference search) and a 10-degree rotation (the disc)."""
    y = photos[7]
    h, w = y.shape
    sp, m = paste_upscaled(y, factor=2.0, src=(30, 30))
    up2 = resampling_analysis(sp)
    rot = cv2.warpAffine(y, cv2.getRotationMatrix2D((w / 2, h / 2), 10, 1.0), (w, h),
                         flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    m2 = np.zeros_like(m)
    m2[112:208, 176:272] = True
    sp2 = y.copy()
    sp2[m2] = np.rint(rot[m2])
    r10 = resampling_analysis(sp2)
    base = pristine[7]["statistic"]
    print(f"2x: inside {up2['map'][m].mean():.2f} statistic {up2['statistic']:.2f}; "
          f"rot10: inside {r10['map'][m2].mean():.2f} statistic {r10['statistic']:.2f}; untouched {base:.2f}")
    for out, mask in ((up2, m), (r10, m2)):
        assert out["map"][mask].mean() >= 3 * out["map"][~mask].mean()
        assert out["statistic"] > 2 * base + 1.0


# -- (3) a global resize is not a local inconsistency -----------------------------------
def test_global_resize_lights_global_peak_not_statistic(photos, pristine, pasted):
    for s, y in photos.items():
        out = resampling_analysis(resized(y, 1.3))
        local = pasted[s][1]
        p = pristine[s]
        print(f"seed {s}: resized global_peak {out['global_peak']:.2f} statistic {out['statistic']:.2f} "
              f"map>0.5 {(out['map'] > 0.5).mean():.2f}")
        assert out["global_peak"] > 2.0 and out["global_peak"] > 5 * p["global_peak"]
        assert (out["map"] > 0.5).mean() > 0.8          # the trace is everywhere ...
        assert out["statistic"] < p["statistic"] + 2.5  # ... so it is not inconsistent
        assert out["statistic"] < 0.5 * local["statistic"]


def test_global_resize_of_kit_photo(kit_image):
    y, base = kit_image
    out = resampling_analysis(resized(y, 1.3))
    print(f"kit resized: global_peak {out['global_peak']:.2f} (untouched {base['global_peak']:.2f}) "
          f"statistic {out['statistic']:.2f} (untouched {base['statistic']:.2f})")
    assert out["global_peak"] > 2 * base["global_peak"]
    assert out["statistic"] < base["statistic"] + 2.5


# -- (4) too small; flat -------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(63, 200), (200, 40), (10, 10)])
def test_image_smaller_than_a_window(shape):
    y = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
    out = resampling_analysis(y)
    assert out["applicable"] is False
    assert "smaller than one 64x64" in out["note"]
    assert out["map"].shape == shape and not out["map"].any()
    assert out["reliability"].shape == shape and not out["reliability"].any()
    assert out["statistic"] == 0.0 and out["global_peak"] == 0.0


def test_smallest_supported_image():
    y = photo(64, 96, 3)
    out = resampling_analysis(y)
    _check_contract(out, 64, 96)
    assert out["peak"].shape == (1, 3)
    assert out["statistic"] == 0.0 and "reliable" in out["note"]  # 3 windows: no local statistic


def test_flat_and_staircase_areas_are_unreliable():
    """A flat image and a quantised smooth gradient (a staircase, whose rounding error is
    periodic) carry no trace: reliability and map stay low."""
    h, w = 192, 256
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(1)
    for img in (np.full((h, w), 128.0), 40 + 0.2 * xx + 0.13 * yy,
                40 + 0.2 * xx + 0.13 * yy + rng.normal(0, 0.3, (h, w)),
                128 + 80 * np.cos((xx - w / 2) / w * 2) * np.cos((yy - h / 2) / h * 2) - 60):
        out = resampling_analysis(np.clip(np.rint(img), 0, 255).astype(np.float32))
        assert out["reliability"].mean() < 0.3
        assert (out["map"] > 0.5).mean() < 0.01


# -- (5) determinism; parameters ------------------------------------------------------
def test_deterministic(photos, pasted):
    sp, _ = paste_upscaled(photos[9])
    a, b = pasted[9][1], resampling_analysis(sp)
    for key in ("map", "reliability", "peak"):
        assert np.array_equal(a[key], b[key])
    assert a["statistic"] == b["statistic"] and a["global_peak"] == b["global_peak"]


def test_rgb_input_and_other_window(photos, pristine):
    y = photos[9]
    rgb = np.repeat(y[..., None], 3, axis=2).astype(np.uint8)
    assert np.allclose(resampling_analysis(rgb)["peak"], pristine[9]["peak"], rtol=1e-3, atol=1e-4)
    sp, m = paste_upscaled(y)
    out = resampling_analysis(sp, window=48, stride=12)
    _check_contract(out, *y.shape)
    assert out["map"][m].mean() > 0.5 and out["map"][m].mean() >= 3 * out["map"][~m].mean()


def test_stride_grows_on_large_images():
    s = R.effective_stride(4000, 6000, 64, 16)
    n = len(R.window_starts(4000, 64, s)) * len(R.window_starts(6000, 64, s))
    assert s > 16 and n <= R.MAX_WINDOWS
    assert R.effective_stride(320, 448, 64, 16) == 16


def test_window_grid_helpers():
    starts = R.window_starts(300, 64, 16)
    assert starts[0] == 0 and starts[-1] == 300 - 64 and np.diff(starts).max() <= 16
    # perp_index looks up the frequency turned by 90 degrees: the power spectrum of the
    # image turned by 90 degrees
    x = np.random.default_rng(2).standard_normal((64, 64))
    p = np.abs(np.fft.rfft2(x)) ** 2
    p_rot = np.abs(np.fft.rfft2(np.rot90(x))) ** 2
    iy, ix = R.perp_index(64)
    assert np.allclose(p_rot, p[iy, ix])
