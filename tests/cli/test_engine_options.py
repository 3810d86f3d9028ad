"""Every command that analyses builds its engine from the same options, through one function."""

from __future__ import annotations

import pytest

from trufor_desk.cli.args import engine_from_args, engine_options
from trufor_desk.cli.entry import _build_parser


@pytest.mark.parametrize("argv", [
    ["analyze", "a.jpg"],
    ["report", "a.jpg", "--out", "r.pdf"],
    ["case", "add", "c.tfcase", "a.jpg"],
    ["batch", "folder", "--out", "out"],
])
def test_the_engine_options_are_the_same_for_every_command(argv):
    args = _build_parser().parse_args(argv + ["--engine", "fusion", "--device", "cpu", "--precision", "bf16",
                                              "--band-tokens", "7"])
    assert engine_options(args) == {"weights": None, "device": "cpu", "precision": "bf16", "band_tokens": 7}
    assert engine_from_args(args).name == "fusion"
