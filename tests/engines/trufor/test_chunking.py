"""Banded and tiled execution computes the same numbers as whole-map execution."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.conftest import natural_image, requires_kit
from trufor_desk.engines.trufor.chunking import BilinearPlan, bands, map_bands_with_halo
from trufor_desk.engines.trufor.engine import logits_to_outputs
from trufor_desk.engines.trufor.model import RunOptions, TruForNet, image_to_tensor
from trufor_desk.engines.trufor.weights import load_checkpoint


@pytest.mark.parametrize("in_hw,out_hw", [((8, 5), (16, 10)), ((7, 9), (25, 33)), ((32, 32), (32, 32)),
                                          ((3, 1), (11, 4)), ((13, 17), (50, 66))])
def test_bilinear_bands_equal_interpolate(in_hw, out_hw):
    torch.manual_seed(0)
    src = torch.randn(*in_hw, 6)
    ref = F.interpolate(src.permute(2, 0, 1)[None], size=out_hw, mode="bilinear", align_corners=False)[0]
    plan = BilinearPlan(*in_hw, *out_hw, torch.device("cpu"))
    got = torch.empty(*out_hw, 6)
    for o0, o1 in bands(out_hw[0], out_hw[1], 2 * out_hw[1] + 1):
        s0, s1 = plan.source_rows(o0, o1)
        got[o0:o1] = plan.resize_band(src[s0:s1], s0, o0, o1)
    np.testing.assert_allclose(got.permute(2, 0, 1).numpy(), ref.numpy(), rtol=0, atol=1e-6)


def test_bands_cover_rows_once_and_respect_alignment():
    rows = [r for b in bands(103, 10, 160, align=8) for r in range(*b)]
    assert rows == list(range(103))
    assert all((r1 - r0) % 8 == 0 for r0, r1 in list(bands(103, 10, 160, align=8))[:-1])
    assert list(bands(5, 10, None)) == [(0, 5)]


def test_halo_bands_equal_whole_map_convolution():
    torch.manual_seed(1)
    x = torch.randn(37, 11, 4)
    w = torch.randn(4, 1, 3, 3)

    def conv_rows(e0, e1):
        t = x[e0:e1].unsqueeze(0).permute(0, 3, 1, 2)
        return F.conv2d(t, w, padding=1, groups=4)[0].permute(1, 2, 0)

    whole = conv_rows(0, 37)
    banded = map_bands_with_halo(conv_rows, x, 1, 3 * 11, 4)
    np.testing.assert_allclose(banded.numpy(), whole.numpy(), rtol=0, atol=1e-6)


@requires_kit
def test_banded_run_equals_whole_run_on_a_larger_image(weights_for):
    """About 0.5 MP: many bands in every stage, many DnCNN tiles, versus one piece."""
    net = TruForNet().eval()
    net.load_checkpoint_state(load_checkpoint(weights_for("synthetic"), net.expected_checkpoint_shapes()))
    x = image_to_tensor(natural_image(600, 820, seed=3))
    whole = logits_to_outputs(net.run(x, RunOptions(band_tokens=None, dncnn_tile=None)))
    banded = logits_to_outputs(net.run(x, RunOptions(band_tokens=3000, dncnn_tile=160)))
    # the kit README's synthetic tolerances (section 7); real NP++ weights amplify float
    # noise ~10^4x and are covered at their own tolerance by test_parity's banded test
    np.testing.assert_allclose(banded["npp"], whole["npp"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(banded["map"], whole["map"], rtol=0, atol=2e-5)
    np.testing.assert_allclose(banded["conf"], whole["conf"], rtol=0, atol=2e-5)
    assert abs(float(banded["score"]) - float(whole["score"])) <= 1e-5
