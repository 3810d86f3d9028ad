"""One parameter resolver for every engine: an unknown parameter is refused with a clear line
(it used to be accepted silently by some), and one an engine cannot apply per analysis is
refused rather than recorded as if it had been used."""

from __future__ import annotations

import numpy as np
import pytest

from trufor_desk.engines.base import resolve_params
from trufor_desk.engines.registry import ENGINES, create_engine
from trufor_desk.errors import UserError

WEIGHT_FREE = [n for n, e in ENGINES.items() if not e.requires_weights]


@pytest.fixture(scope="module")
def evidence(tmp_path_factory):
    from PIL import Image

    from trufor_desk.evidence import open_evidence

    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("params") / "photo.jpg"
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(path, quality=90)
    return open_evidence(path)


@pytest.mark.parametrize("name", WEIGHT_FREE)
def test_every_weight_free_engine_refuses_an_unknown_parameter(name, evidence):
    with pytest.raises(UserError, match=rf"^{name}: unknown parameter\(s\) no_such_knob \(known: "):
        create_engine(name).analyze(evidence, params={"no_such_knob": 1})


def test_a_fixed_parameter_is_refused_unless_it_keeps_its_value():
    defaults = {"quality": 90, "window": 8}
    assert resolve_params("ela", defaults, {"quality": 80, "window": 8}, fixed=("window",)) == \
        {"quality": 80, "window": 8}
    with pytest.raises(UserError, match="window cannot be changed per analysis"):
        resolve_params("ela", defaults, {"window": 16}, fixed=("window",))


def test_the_jpeg_engine_does_not_record_parameters_it_never_applies(evidence):
    eng = create_engine("jpeg")
    with pytest.raises(UserError, match="dq_frequencies cannot be changed"):
        eng.analyze(evidence, params={"dq_frequencies": 63})
    assert eng.analyze(evidence).params == eng.params()
