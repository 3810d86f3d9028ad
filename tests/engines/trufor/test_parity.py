"""The network reproduces every golden output of the parity kit (official code run on
the kit's weights) within the kit README's suggested float32 tolerances (section 7)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import KIT, kit_available, synthetic_checkpoint
from trufor_desk.engines.trufor.engine import TruForEngine, logits_to_outputs
from trufor_desk.engines.trufor.model import RunOptions, TruForNet, image_to_tensor
from trufor_desk.engines.trufor.weights import load_checkpoint
from trufor_desk.evidence import open_evidence

pytestmark = pytest.mark.skipif(not kit_available(), reason="parity kit not found")

GOLDENS = sorted(p.name for p in KIT.glob("golden_*.npz")) if kit_available() else []


def tolerances(profile: str) -> dict[str, float]:
    """Kit README section 7 (also measurements.json -> recommended_atol)."""
    if profile == "realnp":
        return {"map": 1e-3, "conf": 1e-3, "score": 2e-4, "npp": 5e-4, "logits": 4e-3, "int": 1e-3}
    return {"map": 2e-5, "conf": 2e-5, "score": 1e-5, "npp": 1e-5, "logits": 5e-5, "int": 2e-5}


def profile_of(golden: str) -> str:
    return golden.split("_")[1]


_NETS: dict[str, TruForNet] = {}


def net_for(profile: str) -> TruForNet:
    if profile not in _NETS:
        _NETS.clear()
        net = TruForNet().eval()
        ckpt = synthetic_checkpoint(profile)
        net.load_checkpoint_state(load_checkpoint(ckpt, net.expected_checkpoint_shapes()))
        _NETS[profile] = net
    return _NETS[profile]


def assert_outputs_match(out: dict, ref, tol: dict) -> None:
    got = logits_to_outputs(out)
    for k in ("map", "conf", "npp"):
        ref_k = ref["npp" if k == "npp" else k]
        np.testing.assert_allclose(got[k], ref_k, rtol=0, atol=tol[k], err_msg=k)
    assert abs(float(got["score"]) - float(ref["score"])) <= tol["score"]
    np.testing.assert_allclose(out["logits"].numpy(), ref["logits"], rtol=0, atol=tol["logits"])
    np.testing.assert_allclose(out["conf_logits"].numpy(), ref["conf_logits"], rtol=0, atol=tol["logits"])
    assert abs(out["det_logit"].item() - float(ref["det_logit"])) <= tol["logits"]


@pytest.mark.parametrize("golden", GOLDENS)
def test_golden_through_network(golden):
    ref = np.load(KIT / golden)
    tol = tolerances(profile_of(golden))
    ev = open_evidence(KIT / str(ref["input"]))
    # the decoder must give the pixels the official loader gave
    np.testing.assert_array_equal(ev.rgb, ref["input_rgb_u8"])
    net = net_for(profile_of(golden))
    keep = "int_det_features" in ref.files
    out = net.run(image_to_tensor(ev.rgb), RunOptions(keep_intermediates=keep))
    assert_outputs_match(out, ref, tol)
    if keep:
        names = [k for k in ref.files if k.startswith("int_")]
        assert len(names) == 25
        for k in names:
            r = ref[k]
            mine = out[k].numpy().reshape(r.shape)
            err = np.abs(mine - r).max() / np.abs(r).max()
            assert err <= tol["int"], f"{k}: relative error {err:.2e}"


@pytest.mark.parametrize("golden", ["golden_realnp_tampered2.npz", "golden_synthetic_pristine1.npz"])
def test_banded_and_tiled_run_matches_golden(golden):
    """Tiny bands and tiles force every banded code path on a kit image."""
    ref = np.load(KIT / golden)
    net = net_for(profile_of(golden))
    out = net.run(image_to_tensor(ref["input_rgb_u8"]), RunOptions(band_tokens=300, dncnn_tile=48))
    assert_outputs_match(out, ref, tolerances(profile_of(golden)))


@pytest.mark.parametrize("profile", ["synthetic", "realnp", "lnprobe"])
def test_goldens_through_cli(profile, tmp_path):
    goldens = [g for g in GOLDENS if profile_of(g) == ("synthetic" if profile == "synthetic" else profile)]
    refs = {g: np.load(KIT / g) for g in goldens}
    images = sorted({str(KIT / str(r["input"])) for r in refs.values()})
    proc = subprocess.run([sys.executable, "-m", "trufor_desk", "analyze", *images, "--weights",
                           str(synthetic_checkpoint(profile)), "--device", "cpu", "--out", str(tmp_path),
                           "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == len(images)
    tol = tolerances(profile)
    for g, ref in refs.items():
        stem = str(ref["input"]).rsplit(".", 1)[0]
        got = np.load(tmp_path / f"{stem}.npz", allow_pickle=False)
        for k in ("map", "conf"):
            np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=tol[k], err_msg=f"{g} {k}")
        np.testing.assert_allclose(got["np++"], ref["npp"], rtol=0, atol=tol["npp"])
        assert abs(float(got["score"]) - float(ref["score"])) <= tol["score"]
        np.testing.assert_array_equal(got["imgsize"], ref["imgsize"])


def test_engine_api_matches_golden():
    ref = np.load(KIT / "golden_synthetic_tampered1_crop_h257_w193_rgba.npz")
    eng = TruForEngine(weights=synthetic_checkpoint("synthetic"), device="cpu")
    res = eng.analyze(open_evidence(KIT / str(ref["input"])))
    tol = tolerances("synthetic")
    np.testing.assert_allclose(res.localization, ref["map"], rtol=0, atol=tol["map"])
    np.testing.assert_allclose(res.reliability, ref["conf"], rtol=0, atol=tol["conf"])
    np.testing.assert_allclose(res.extras["np++"], ref["npp"], rtol=0, atol=tol["npp"])
    assert abs(res.score - float(ref["score"])) <= tol["score"]
    assert "alpha channel dropped" in res.provenance["image_conversions"]
