"""The engine contract (engines/base.py ``Engine``), held by every registered engine: the
attributes the protocol declares, one version format, options and defaults that say what
the engine is created with and what it runs with."""

from __future__ import annotations

import importlib
import inspect
import json
import re

import pytest

from trufor_desk.batch.jobs import engine_params
from trufor_desk.engines.base import VERSION_FORMAT, VERSION_PATTERN, Engine
from trufor_desk.engines.registry import ENGINES, create_engine

NAMES = list(ENGINES)


def engine_class(name: str):
    info = ENGINES[name]
    return getattr(importlib.import_module(info.module), info.cls)


@pytest.mark.parametrize("name", NAMES)
def test_every_engine_declares_what_the_protocol_declares(name):
    cls = engine_class(name)
    missing = [attr for attr in (*Engine.__annotations__, "analyze") if not hasattr(cls, attr)]
    assert not missing, f"{name}: {cls.__name__} lacks {missing}"
    assert cls.name == name and cls.requires_weights is ENGINES[name].requires_weights
    assert isinstance(cls.OPTIONS, tuple) and all(isinstance(o, str) for o in cls.OPTIONS)
    assert isinstance(cls.DEFAULTS, dict) and all(isinstance(k, str) for k in cls.DEFAULTS)


@pytest.mark.parametrize("name", NAMES)
def test_every_engine_version_has_one_format(name):
    version = engine_class(name).version
    assert re.fullmatch(VERSION_PATTERN, version), f"{name}: version {version!r} is not {VERSION_FORMAT}"


@pytest.mark.parametrize("name", NAMES)
def test_the_options_are_the_constructors_keywords_and_parameters_except_where_it_runs(name):
    cls = engine_class(name)
    keywords = {p.name for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    assert set(cls.OPTIONS) == keywords, name
    assert set(cls.OPTIONS) - set(cls.DEFAULTS) <= {"weights", "device"}, name


@pytest.mark.parametrize("name", [n for n, e in ENGINES.items() if not e.requires_weights])
def test_a_default_engine_runs_with_its_defaults(name):
    normalised = json.loads(json.dumps(engine_class(name).DEFAULTS))  # tuples -> lists, as a row holds them
    assert engine_params(create_engine(name)) == normalised


def test_trufor_defaults_are_the_network_runners_defaults():
    pytest.importorskip("torch")
    from trufor_desk.engines.trufor.chunking import DEFAULT_BAND_TOKENS
    from trufor_desk.engines.trufor.engine import TruForEngine
    from trufor_desk.engines.trufor.noiseprint import DEFAULT_TILE

    assert TruForEngine.DEFAULTS == {"precision": "fp32", "band_tokens": DEFAULT_BAND_TOKENS,
                                     "dncnn_tile": DEFAULT_TILE}
    assert set(TruForEngine.DEFAULTS) <= set(TruForEngine.OPTIONS)
