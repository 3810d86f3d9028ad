"""Layering rules from DESIGN.md: the core never imports Qt, heavy imports are lazy,
and the run path never pulls timm/torchvision."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import requires_kit

CORE = ["trufor_desk", "trufor_desk.cli", "trufor_desk.evidence", "trufor_desk.engines.base",
        "trufor_desk.engines.trufor.engine", "trufor_desk.engines.trufor.model",
        "trufor_desk.engines.trufor.weights", "trufor_desk.cli.weights", "trufor_desk.hashing",
        "trufor_desk.case", "trufor_desk.report", "trufor_desk.cli.report", "trufor_desk.render.layers",
        "trufor_desk.render.interpret", "trufor_desk.evidence.metadata", "trufor_desk.evaluation.metrics", "trufor_desk.batch",
        "trufor_desk.cli.batch", "trufor_desk.batch.results", "trufor_desk.cli.evaluate",
        "trufor_desk.cli.analyze", "trufor_desk.cli.args", "trufor_desk.cli.progress",
        "trufor_desk.evaluation.dataset"]


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_core_never_imports_qt():
    out = _run("import sys\n" + "\n".join(f"import {m}" for m in CORE) +
               "\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6','PyQt5','PyQt6','pyqtgraph')))")
    assert out.strip() == "[]"


def test_cli_parser_does_not_import_torch():
    out = _run("import sys, trufor_desk.cli.entry as c\nc._build_parser()\nprint('torch' in sys.modules)")
    assert out.strip() == "False"


@requires_kit
def test_analysis_does_not_import_timm_or_torchvision(synth_weights, tmp_path):
    code = ("import sys\nfrom trufor_desk.cli import main\n"
            f"rc = main(['analyze', {str(tmp_path / 'x.png')!r}, '--weights', {str(synth_weights)!r}, "
            f"'--device', 'cpu', '--out', {str(tmp_path)!r}])\n"
            "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in ('timm', 'torchvision')))")
    from PIL import Image

    from tests.conftest import natural_image

    Image.fromarray(natural_image(40, 40)).save(tmp_path / "x.png")
    assert _run(code).strip().splitlines()[-1] == "0 []"


@pytest.mark.parametrize("module", CORE)
def test_core_modules_import(module):
    __import__(module)
