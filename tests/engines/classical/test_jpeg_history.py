"""The compression history, layer by layer (``jpeg_history``), on evidence as it arrives.

Synthetic photographs with a known history (``synth_jpeg_splices``):

* a camera original (one save): no layer with a history, the sentence says so;
* an authentic photo re-saved at another quality: a history on the file's grid and no
  once-compressed region ("no local inconsistency"), and the fusion never says
  "Manipulation indicated";
* a splice saved, then re-shared at quality 95: the region shows in the layer below
  (peeled with the first layer's primary steps), not in the first one;
* a photo cropped by a few pixels and re-saved: the earlier, shifted grid is found.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.engines.classical.synth_jpeg_splices import (
    blob_mask,
    decode,
    evidence_from_bytes,
    jpeg_bytes,
    jpeg_roundtrip,
    natural_content,
)
from trufor_desk.engines.classical import adq, jpeg_history
from trufor_desk.engines.classical.fusion import FusionEngine
from trufor_desk.evaluation.metrics import localization_f1
from trufor_desk.verdict.decision import verdict_for_result

PARAMS = dict(adq.AdqEngine.DEFAULTS)


def _history(data: bytes, tmp_path, name: str) -> jpeg_history.History:
    return jpeg_history.read_history(evidence_from_bytes(data, tmp_path, name), PARAMS)


def test_camera_original_has_no_history(tmp_path):
    h = _history(jpeg_bytes(natural_content(256, 320, 31), 88), tmp_path, "cam.jpg")
    assert h.applicable and h.presence < 0.5 and h.once_share == 0.0
    assert h.shifted_grid is None
    assert "no earlier compression found" in h.description


def test_authentic_resaved_shares_its_history_everywhere(tmp_path):
    first = decode(jpeg_bytes(natural_content(320, 384, 32), 75))
    data = jpeg_bytes(first, 95)
    h = _history(data, tmp_path, "resaved.jpg")
    assert h.layers[0].presence > 0.9 and h.layers[0].table_source == "file"
    assert h.once_share < 0.005, h.once_share
    assert "saved at least twice" in h.description and "no local inconsistency" in h.description
    res = FusionEngine().analyze(evidence_from_bytes(data, tmp_path, "resaved2.jpg"))
    v = verdict_for_result(res)
    assert v.category != "indicated"
    assert "Compression history: the file is a JPEG" in v.explanation


def _splice_then_reshare(seed: int) -> tuple[bytes, np.ndarray]:
    rng = np.random.default_rng(seed)
    host = jpeg_roundtrip(natural_content(320, 384, seed), 70)
    donor = jpeg_roundtrip(natural_content(320, 384, seed + 1), 70, shift=(3, 5))  # off the host's grid
    mask = blob_mask(320, 384, rng)
    comp = host.copy()
    comp[mask] = donor[mask]
    saved = decode(jpeg_bytes(comp, 85))    # the forger's save: the region compressed once before it
    return jpeg_bytes(saved, 95), mask       # re-shared at quality 95


def test_reshared_splice_shows_in_the_layer_below(tmp_path):
    data, mask = _splice_then_reshare(40)
    h = _history(data, tmp_path, "reshared.jpg")
    assert [lay.name for lay in h.layers][:2] == ["file grid", "earlier save"]
    second = h.layers[1]
    assert second.presence > 0.5 and second.table_source == "peeled"
    f1 = localization_f1(h.once, mask)["f1_best"]
    assert f1 >= 0.6, f1
    assert h.once[mask].mean() > 3 * h.once[~mask].mean()
    assert "some regions were compressed fewer times" in h.description


def test_cropped_and_resaved_reveals_the_shifted_grid(tmp_path):
    first = decode(jpeg_bytes(natural_content(320, 384, 33), 70))
    cropped = np.ascontiguousarray(first[3:, 5:])    # the old grid now starts at row 5, column 3
    h = _history(jpeg_bytes(cropped, 95), tmp_path, "crop.jpg")
    assert h.shifted_grid is not None
    assert tuple(h.shifted_grid["offset"]) == (5, 3)
    assert "cropped or shifted after an earlier save" in h.description
    assert "same 8x8 grid" not in h.description


def test_not_a_jpeg_history(tmp_path):
    from PIL import Image

    from trufor_desk.evidence import open_evidence

    p = tmp_path / "raw.png"
    Image.fromarray(natural_content(200, 240, 34)).save(p)
    h = jpeg_history.read_history(open_evidence(p), PARAMS)
    assert not h.applicable and h.once is None and h.note


@pytest.mark.parametrize("deep", [False, True])
def test_once_map_is_relative_to_the_untouched_majority(deep):
    rng = np.random.default_rng(0)
    llr = rng.normal(-10.0, 1.0, (40, 40))
    llr[10:20, 10:20] = 8.0                  # stands out and favours single compression
    m = jpeg_history.once_map(llr, deep)
    assert (m[10:20, 10:20] > 0.5).all()
    assert (m[25:, 25:] > 0.5).mean() < 0.01
    flat = jpeg_history.once_map(np.full((30, 30), -2.0), deep)
    assert (flat < 0.5).all()                # no block stands out: nothing is marked


def test_smooth_blocks_of_an_authentic_history_are_compared_at_their_own_evidence():
    """Blocks with few informative coefficients lean towards 'compressed once' (the zero
    coefficients' term) in a photo saved finer then coarser; against the median they stood
    out, against the majority's line of llr over evidence they do not, while a pasted region
    that misses the lattice still does, textured or smooth."""
    rng = np.random.default_rng(1)
    evidence = rng.normal(32.0, 1.5, (40, 60))              # textured majority
    evidence[:15, 30:] = rng.uniform(6.0, 16.0, (15, 30))   # a smooth area (sky, a wall)
    llr = 9.0 - 0.3 * evidence + rng.normal(0.0, 0.4, evidence.shape)   # authentic: one trend
    by_median = jpeg_history.once_map(llr, False)
    by_line = jpeg_history.once_map(llr, False, evidence)
    smooth = evidence < 14.0
    assert (by_median[smooth] > 0.5).mean() > 0.3          # the old reference marked them
    assert (by_line > 0.5).mean() < 0.005                  # the line marks (almost) nothing
    spliced = llr.copy()
    spliced[20:30, 5:20] = 4.0 + 0.5 * evidence[20:30, 5:20]   # a textured splice: rises with evidence
    spliced[5:13, 35:50] += 5.0                             # a smooth region off the line by 5 nats
    m = jpeg_history.once_map(spliced, False, evidence)
    assert (m[20:30, 5:20] > 0.5).mean() > 0.95 and (m[5:13, 35:50] > 0.5).mean() > 0.9
    rest = np.ones(m.shape, bool)
    rest[20:30, 5:20] = rest[5:13, 35:50] = False
    assert (m[rest] > 0.5).mean() < 0.01


def test_clipped_blocks_are_not_read_as_compressed_once(tmp_path):
    """A saturated area of an authentic re-saved photo leaves the lattice (decoding clips the
    colours there) and used to read as compressed once; those blocks are left out."""
    rgb = natural_content(320, 384, 35).astype(np.int32)
    yy, xx = np.mgrid[:320, :384]
    disk = (yy - 150) ** 2 + (xx - 200) ** 2 < 70 ** 2
    rgb[disk] += 150
    data = jpeg_bytes(decode(jpeg_bytes(np.clip(rgb, 0, 255).astype(np.uint8), 80)), 85)
    h = _history(data, tmp_path, "saturated.jpg")
    assert h.presence > 0.5
    assert (h.once[disk] > 0.5).mean() < 0.15          # 0.55 with the clipped blocks read
    assert h.once_share < 0.02
    blocks = jpeg_history.clipped_blocks(decode(data), 0, 0, (40, 48))
    assert blocks.shape == (40, 48) and 0.05 < blocks.mean() < 0.5


def test_a_splice_with_scattered_highlights_is_read_through_them(tmp_path):
    """Specular highlights (a few saturated pixels) inside a pasted region: their blocks carry no
    evidence, and each takes the value of its unclipped neighbours instead of a hole in the map
    (a large saturated area, where no neighbour reads, stays out: the test above)."""
    rng = np.random.default_rng(7)
    h, w = 320, 384
    host = decode(jpeg_bytes(natural_content(h, w, 41), 70))
    donor = natural_content(h, w, 5041).astype(np.int32)
    mask = np.zeros((h, w), bool)
    mask[96:224, 128:288] = True
    for y, x in zip(rng.integers(100, 218, 60), rng.integers(132, 282, 60)):  # 60 specks of 3x3 white
        donor[y:y + 3, x:x + 3] = 400
    comp = host.copy()
    comp[mask] = np.clip(donor, 0, 255).astype(np.uint8)[mask]
    data = jpeg_bytes(comp, 90)
    hist = _history(data, tmp_path, "highlights.jpg")
    first = hist.layers[0]
    inside = np.zeros(first.llr.shape, bool)
    inside[13:27, 17:35] = True                       # the splice's blocks, one block in from its edge
    assert first.clipped[inside].mean() > 0.2         # a fifth or more of them hold a highlight
    assert (jpeg_history.readable_blocks(first)[inside] == 1).all()
    blocks = hist.once[:h // 8 * 8, :w // 8 * 8].reshape(h // 8, 8, w // 8, 8).min(axis=(1, 3))
    assert (blocks[inside] > 0.5).mean() > 0.95       # 0.71 when every clipped block was left out (1.5.0)
    assert (blocks[inside & (first.clipped > 0)] > 0.5).all()
    far = np.ones(blocks.shape, bool)
    far[10:30, 14:38] = False
    assert (blocks[far] > 0.5).mean() < 0.01
    assert localization_f1(hist.once, mask)["f1_best_strict"] > 0.9


@pytest.mark.parametrize("seed", [3, 6])
def test_islands_in_a_saturated_area_of_an_authentic_copy_stay_unmarked(tmp_path, seed):
    """An authentic photo re-saved, half of it so dark that most blocks clip to black: the few
    unclipped blocks there are means over a handful of neighbours, as noisy as those, and must
    not read as pasted (they are left out where unclipped blocks carry under FILL_SUPPORT of the
    weight, and elsewhere must stand out by their own spread)."""
    rgb = natural_content(320, 384, seed).astype(np.float32)
    rgb[:, :200] = rgb[:, :200] * 0.35 - 30
    data = jpeg_bytes(decode(jpeg_bytes(np.clip(rgb, 0, 255).astype(np.uint8), 80)), 85)
    h = _history(data, tmp_path, f"dark{seed}.jpg")
    first = h.layers[0]
    assert h.presence > 0.5 and first.clipped[:, :25].mean() > 0.8
    assert 0 < jpeg_history.readable_blocks(first)[:, :25].mean() < 0.5
    assert first.spread.max() > 1.5 and abs(float(np.median(first.spread[:, 30:])) - 1.0) < 0.05
    assert (h.once > 0.5).mean() == 0.0          # 1-2 blocks marked when every such mean was trusted


def test_chance_gain_is_off_from_the_reference_size_on_and_grows_below_it():
    assert adq.chance_gain(adq.CHANCE_REFERENCE_BLOCKS) == 0.0 and adq.chance_gain(200_000) == 0.0
    levels = [adq.chance_gain(n) for n in (96, 384, 983, 1535)]
    assert levels == sorted(levels, reverse=True) and levels[-1] > 0.0
    # at least the 95th percentiles measured at quality 92 (25 at 96 blocks, 5.0 at 384), less the level at 1536
    assert levels[0] > 24 and 4 < levels[1] < 5


@pytest.mark.parametrize("seed", [1, 2])
def test_a_small_downscaled_copy_is_not_read_as_double_compressed(tmp_path, seed):
    # a camera photo halved (which erases its history) and saved once: 384 blocks, where a
    # single save reaches a double-compression gain by chance that used to read as a history
    from PIL import Image

    cam = decode(jpeg_bytes(natural_content(256, 384, seed), 88))
    small = np.asarray(Image.fromarray(cam).resize((192, 128), Image.Resampling.LANCZOS))
    data = jpeg_bytes(small, 92)
    h = _history(data, tmp_path, f"down{seed}.jpg")
    first = h.layers[0]
    assert first.chance_gain > 0 and adq.dq_presence(first.gain + first.chance_gain) >= 0.5  # what it was
    assert h.presence < 0.5 and first.gain == 0.0
    assert "a small image (384 blocks of 8x8)" in h.description and "saved at least twice" not in h.description
    rec = h.record()["layers"][0]
    assert rec["dq_gain_by_chance"] == round(first.chance_gain, 4)
    res = FusionEngine().analyze(evidence_from_bytes(data, tmp_path, f"down{seed}b.jpg"))
    assert verdict_for_result(res).category != "indicated"


def test_a_small_image_keeps_a_real_double_compression(tmp_path):
    data = jpeg_bytes(decode(jpeg_bytes(natural_content(128, 192, 3), 60)), 92)
    h = _history(data, tmp_path, "small_dq.jpg")
    assert h.layers[0].chance_gain > 0 and h.presence > 0.99
    assert "saved at least twice on the same 8x8 grid" in h.description


def test_clipped_blocks_match_a_plain_reading_of_the_definition():
    """A block counts as clipped when any pixel of it, in any channel, is 0 or 255 (grid origin
    oy, ox), whatever the image's dtype and channels."""
    rng = np.random.default_rng(5)
    rgb = rng.integers(1, 255, (67, 90, 3), dtype=np.uint8)
    for y, x, c, v in rng.integers(0, [67, 90, 3, 2], (25, 4)):
        rgb[y, x, c] = 255 * v
    for img in (rgb, rgb.astype(np.float32), rgb[..., 0]):
        for oy, ox in ((0, 0), (3, 5)):
            nby, nbx = (67 - oy) // 8, (90 - ox) // 8
            want = np.zeros((nby, nbx), np.float32)
            for by in range(nby):
                for bx in range(nbx):
                    block = img[oy + 8 * by:oy + 8 * by + 8, ox + 8 * bx:ox + 8 * bx + 8]
                    want[by, bx] = float(((block <= 0) | (block >= 255)).any())
            got = jpeg_history.clipped_blocks(img, oy, ox, (nby, nbx))
            assert got.dtype == np.float32 and np.array_equal(got, want), (img.dtype, img.ndim, oy, ox)
            assert 0 < want.sum() < want.size
