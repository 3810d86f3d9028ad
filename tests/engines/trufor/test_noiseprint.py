"""Noiseprint++ in its centred, folded arrangement is the same function as the plain
DnCNN, and closer to exact arithmetic than the plain arrangement (kit README section 7:
the trained BatchNorms cancel values in the thousands)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from tests.conftest import KIT, natural_image, requires_kit, synthetic_checkpoint
from trufor_desk.engines.trufor.model import TruForNet, image_to_tensor
from trufor_desk.engines.trufor.noiseprint import CentredDnCNN, noiseprint_tiled
from trufor_desk.engines.trufor.weights import load_checkpoint
from trufor_desk.evidence import open_evidence

pytestmark = requires_kit


@pytest.fixture(scope="module")
def real_dncnn():
    net = TruForNet().eval()
    ckpt = synthetic_checkpoint("realnp")
    net.load_checkpoint_state(load_checkpoint(ckpt, net.expected_checkpoint_shapes()))
    return net.dncnn


@torch.no_grad()
def test_centred_float64_is_the_plain_network_exactly(real_dncnn):
    """Odd sizes and a tile smaller than the receptive field: every border class of the
    padding correction (edges, corners) is exercised on every layer."""
    x = image_to_tensor(natural_image(23, 30, seed=4)).double()
    plain = copy.deepcopy(real_dncnn).double()(x)
    centred = CentredDnCNN(real_dncnn, torch.float64)(x.float()).double()
    # the float64 centred network is only cast to float32 at its output
    assert (centred - plain).abs().max().item() < 1e-6 * max(1.0, plain.abs().max().item())


@torch.no_grad()
def test_centred_float32_is_closest_to_exact(real_dncnn):
    """Measured: centred float32 2.5e-6 from a float64 run, the plain NCHW order 1.6e-4."""
    x = image_to_tensor(open_evidence(KIT / "tampered2.png").rgb)
    exact = copy.deepcopy(real_dncnn).double()(x.double()).float()
    plain = real_dncnn(x)
    centred = CentredDnCNN(real_dncnn)(x)
    err_centred = (centred - exact).abs().max().item()
    err_plain = (plain - exact).abs().max().item()
    assert err_centred < 2e-5
    assert err_centred < err_plain / 10


@torch.no_grad()
def test_tiles_match_the_whole_image(real_dncnn):
    x = image_to_tensor(natural_image(150, 131, seed=2))
    dn = CentredDnCNN(real_dncnn)
    whole = noiseprint_tiled(dn, x, None)
    tiled = noiseprint_tiled(dn, x, 40)
    assert (whole - tiled).abs().max().item() < 1e-5


@torch.no_grad()
def test_bfloat16_noiseprint_is_usable_once_centred(real_dncnn):
    """Plain bf16 destroyed the output (error 0.59 on a map of std 0.14); centred bf16
    stays within a few percent of the map's spread (measured 0.018-0.026)."""
    x = image_to_tensor(open_evidence(KIT / "tampered2.png").rgb)
    ref = CentredDnCNN(real_dncnn)(x)
    low = CentredDnCNN(real_dncnn, torch.bfloat16)(x)
    assert low.dtype == torch.float32
    err = (low - ref).abs().max().item()
    assert 0 < err < 0.05
    assert err < 0.35 * ref.std().item()
    np.testing.assert_array_equal(np.isfinite(low.numpy()), True)


@torch.no_grad()
def test_whole_network_fp32_is_closer_to_exact_than_the_official_code():
    """Our float32 network against a float64 run of itself (precision "fp64", a checking
    mode), on a kit image with the real Noiseprint++ weights.  Measured: ours map 2.2e-6,
    score 2e-7; the official float32 golden 1.1e-4 and 7.7e-6 from the same reference."""
    from trufor_desk.engines.trufor.engine import logits_to_outputs
    from trufor_desk.engines.trufor.model import RunOptions

    ref = np.load(KIT / "golden_realnp_tampered2.npz")
    net = TruForNet().eval()
    net.load_checkpoint_state(load_checkpoint(synthetic_checkpoint("realnp"), net.expected_checkpoint_shapes()))
    x = image_to_tensor(ref["input_rgb_u8"])
    ours = logits_to_outputs(net.run(x))
    exact = logits_to_outputs(net.double().run(x.double(), RunOptions(precision="fp64")))
    err_ours = np.abs(ours["map"] - exact["map"]).max()
    err_official = np.abs(ref["map"] - exact["map"]).max()
    assert err_ours < 2e-5 < err_official
    assert abs(float(ours["score"]) - float(exact["score"])) < 1e-5
    assert np.abs(ours["npp"] - exact["npp"]).max() < 2e-5 < np.abs(ref["npp"] - exact["npp"]).max()
