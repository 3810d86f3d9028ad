"""The module tree loads the official checkpoint layout strictly: every key, every
shape, in the manifest's order, through the one explicit key map."""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import KIT, requires_kit
from trufor_desk.engines.trufor.model import KEY_MAP, TruForNet, to_checkpoint_key


def manifest_rows():
    lines = (KIT / "state_dict_manifest.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    col = {n: i for i, n in enumerate(header)}
    return [(p[col["key"]], tuple(json.loads(p[col["shape"]])), p[col["dtype"]])
            for p in (ln.split("\t") for ln in lines[1:] if ln)]


@requires_kit
def test_state_dict_equals_manifest_in_order():
    with torch.device("meta"):
        net = TruForNet()
    ours = [(to_checkpoint_key(k), tuple(v.shape), str(v.dtype).replace("torch.", ""))
            for k, v in net.state_dict().items()]
    assert ours == manifest_rows()
    assert sum(p.numel() for p in net.parameters()) == 68_697_421


@requires_kit
def test_key_map_is_explicit_and_consistent():
    keys = {k for k, _, _ in manifest_rows()}
    # every mapped target is an official key and the map is one-to-one
    assert set(KEY_MAP.values()) <= keys
    assert len(set(KEY_MAP.values())) == len(KEY_MAP)


@requires_kit
def test_strict_load_rejects_a_missing_key(synth_weights):
    from trufor_desk.engines.trufor.weights import load_checkpoint

    net = TruForNet()
    state = load_checkpoint(synth_weights)
    state.pop("detection.3.bias")
    with pytest.raises(RuntimeError, match="detection.3.bias"):
        net.load_checkpoint_state(state)


def test_normalisation_constants_are_the_official_ones():
    """The eps values the goldens cannot all see (kit README 4.9)."""
    with torch.device("meta"):
        net = TruForNet()
    bb = net.backbone
    assert net.decode_head.linear_fuse[1].eps == 1e-3
    assert net.decode_head_conf.linear_fuse[1].eps == 1e-5
    assert bb.block1[0].norm1.eps == 1e-6 and bb.extra_block3[2].norm2.eps == 1e-6
    assert bb.norm4.eps == 1e-6 and bb.extra_norm1.eps == 1e-6
    assert bb.patch_embed1.norm.eps == 1e-5 and bb.block1[0].attn.norm.eps == 1e-5
    assert bb.FFMs[0].cross.norm1.eps == 1e-5 and bb.FFMs[3].channel_emb.norm.eps == 1e-5
    assert all(m.eps == 1e-5 for m in net.dncnn if isinstance(m, torch.nn.BatchNorm2d))
