"""The report tells the verdict's story and nothing else: its headline, findings table and
analysis pages agree with :func:`verdict_for_result`; a score is called a probability only
when it is calibrated; a case file is mentioned only when there is one."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, requires_kit
from trufor_desk.case import load_case
from trufor_desk.cli.report import implicit_case
from trufor_desk.engines.base import AnalysisResult
from trufor_desk.engines.registry import create_engine
from trufor_desk.evidence import open_evidence
from trufor_desk.report import render_report
from trufor_desk.verdict.decision import STRONG_FRACTION, verdict_for_result

pypdf = pytest.importorskip("pypdf")
WHEN = datetime(2024, 3, 1, tzinfo=timezone.utc)
CAL = {"method": "logistic", "set": "test calibration set", "auc": 0.9, "prior_fake": 0.5}
NEGATIVE = ("no manipulation detected", "no indication")
# the only ways an uncalibrated report may use the word: to say the score is not one
NOT_A_PROBABILITY = ("(not a probability)", "not a probability of manipulation",
                     "called a probability only where", "summary of the map, not a probability")


def pages(data: bytes) -> list[str]:
    import io

    return [" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(data)).pages]


def sample_image() -> Path:
    found = sorted(p for p in (REPO / "resources" / "samples").glob("sample_splice.*")
                   if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not found:
        pytest.skip("no sample image in resources/samples")
    return found[0]


def check_story(texts: list[str], verdict) -> None:
    """Every page agrees with the verdict; probability only where calibrated."""
    whole = " ".join(texts)
    assert whole.count(verdict.headline) >= 2  # page 1 and the analysis page
    assert verdict.headline in texts[0]
    assert verdict.score_text in whole
    for t in texts:
        low = t.lower()
        assert "no manipulation detected" not in low
        if verdict.flagged_reliable_fraction >= STRONG_FRACTION:
            assert not any(n in low for n in NEGATIVE), t
    if verdict.score_is_probability:
        assert re.search(r"probability 0\.\d\d\d? ", whole)
    else:
        rest = whole
        for allowed in NOT_A_PROBABILITY:
            rest = rest.replace(allowed, "")
        assert "probability" not in rest.lower(), rest[max(0, rest.lower().find("probability") - 200):][:400]
    if verdict.verbal_scale:
        assert verdict.verbal_scale in whole and "The evaluative scale" in whole
    else:
        assert "evaluative" not in whole.lower() and "likelihood ratio" not in whole.lower()


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "trufor_desk", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


@pytest.mark.parametrize("engine", ["splicebuster", "noise"])
def test_report_on_the_sample_tells_the_verdicts_story(engine, tmp_path):
    img = sample_image()
    out = tmp_path / "r.pdf"
    r = cli("report", img, "--out", out, "--engine", engine)
    assert r.returncode == 0, r.stderr
    verdict = verdict_for_result(create_engine(engine).analyze(open_evidence(img)))
    texts = pages(out.read_bytes())
    check_story(texts, verdict)
    assert f"A1 {engine}: {verdict.headline}" in r.stdout
    whole = " ".join(texts)
    assert "case file" not in whole  # `report IMAGE` writes none, so the report names none


def flagging_result(ev, score, calibration, rel_value=0.9, engine="splicebuster") -> AnalysisResult:
    """A map marking 6 % of the image where reliability is good."""
    loc = np.zeros((ev.height, ev.width), np.float32)
    loc[: ev.height // 4, : ev.width // 4] = 0.9
    rel = np.full((ev.height, ev.width), rel_value, np.float32)
    return AnalysisResult(engine=engine, engine_version="test", localization=loc, reliability=rel, score=score,
                          score_calibration=calibration, provenance={"image_sha256": ev.sha256})


@pytest.mark.parametrize("score,calibration,category", [
    (0.2, CAL, "inconclusive"),      # low calibrated score, reliable region: never negative
    (0.34, None, "inconclusive"),    # the bug of issue 11: heuristic 0.34 with 4 % flagged
    (None, None, "inconclusive"),
    (0.93, CAL, "indicated"),
])
def test_report_with_a_flagged_reliable_region_is_never_negative(tmp_path, score, calibration, category):
    from PIL import Image

    from tests.conftest import natural_image

    p = tmp_path / "photo.png"
    Image.fromarray(natural_image(96, 128, seed=5)).save(p)
    ev = open_evidence(p)
    result = flagging_result(ev, score, calibration)
    case = implicit_case(ev, result, "Dana Scully", when=WHEN)
    verdict = verdict_for_result(case.analyses[0].result)
    assert verdict.category == category and verdict.flagged_reliable_fraction >= STRONG_FRACTION
    texts = pages(render_report(case))
    check_story(texts, verdict)
    if calibration:
        assert "ENFSI" in " ".join(texts)


def test_report_uses_the_thresholds_recorded_in_the_case(tmp_path):
    from PIL import Image

    from tests.conftest import natural_image

    p = tmp_path / "photo.png"
    Image.fromarray(natural_image(96, 128, seed=5)).save(p)
    ev = open_evidence(p)
    case = implicit_case(ev, flagging_result(ev, 0.2, CAL), "Dana Scully", when=WHEN)
    case.set_thresholds("A1", localization=0.95)  # nothing is above 0.95 any more
    verdict = verdict_for_result(case.analyses[0].result, 0.95)
    assert verdict.category == "no_indication"
    check_story(pages(render_report(case)), verdict)


def test_report_image_with_case_writes_the_case_and_names_it(tmp_path):
    img = sample_image()
    out, case_file = tmp_path / "r.pdf", tmp_path / "c.tfcase"
    r = cli("report", img, "--out", out, "--engine", "noise", "--case", case_file, "--examiner", "Fox Mulder")
    assert r.returncode == 0, r.stderr
    case = load_case(case_file)
    assert case.verification.ok and case.examiner == "Fox Mulder"
    assert [a.engine for a in case.analyses] == ["noise"]
    verdict = verdict_for_result(case.analyses[0].result)
    assert f"A1 noise: {verdict.headline}" in r.stdout
    import json

    shown = cli("case", "show", case_file, "--json")
    assert json.loads(shown.stdout)["analyses"][0]["verdict"] == verdict.to_dict()
    whole = " ".join(pages(out.read_bytes()))
    assert "The case file c.tfcase holds the full-resolution maps" in whole
    assert "full log with times is in the case file c.tfcase" in whole
    # the case reported as it stands gives the same document
    again = tmp_path / "again.pdf"
    assert cli("report", case_file, "--out", again).returncode == 0
    assert again.read_bytes() == out.read_bytes()
    # never overwrite a case; --case is for images only
    before = case_file.read_bytes()
    r = cli("report", img, "--out", tmp_path / "r2.pdf", "--engine", "noise", "--case", case_file)
    assert r.returncode == 1 and "already exists" in r.stderr and len(r.stderr.splitlines()) == 1
    assert case_file.read_bytes() == before and not (tmp_path / "r2.pdf").exists()
    r = cli("report", case_file, "--out", tmp_path / "r3.pdf", "--case", tmp_path / "d.tfcase")
    assert r.returncode == 1 and "--case" in r.stderr and not (tmp_path / "d.tfcase").exists()


def test_parameter_table_repeats_its_header_and_provenance_lists_every_version(tmp_path):
    from PIL import Image

    from tests.conftest import natural_image

    p = tmp_path / "photo.png"
    Image.fromarray(natural_image(64, 64, seed=2)).save(p)
    ev = open_evidence(p)
    result = replace(flagging_result(ev, None, None),
                     params={f"param_{i:03d}": i * 1.5 for i in range(150)},
                     provenance={"image_sha256": ev.sha256, "numpy_version": "9.1", "scipy_version": "8.2",
                                 "opencv_version": "7.3", "pillow_version": "6.4", "torch_version": "",
                                 "exoticlib_version": "0.0.7"})
    texts = pages(render_report(implicit_case(ev, result, "Dana Scully", when=WHEN)))
    with_params = [t for t in texts if "param_" in t]
    assert len(with_params) >= 2  # the table spans pages...
    for t in with_params:         # ...and every page it is on starts it with its header
        assert t.index("Parameter Value") < t.index("param_")
    whole = " ".join(texts)
    for label in ("numpy 9.1", "SciPy 8.2", "OpenCV 7.3", "Pillow 6.4", "exoticlib 0.0.7"):
        assert label in whole, label
    assert "torch" not in whole.split("Versions and provenance")[1].split("Method")[0]  # empty: not listed


@requires_kit
def test_trufor_report_calls_its_score_a_probability_with_the_verbal_scale(synth_weights, tmp_path):
    from PIL import Image

    from tests.conftest import natural_image

    p = tmp_path / "small.png"
    Image.fromarray(natural_image(64, 64, seed=1)).save(p)
    ev = open_evidence(p)
    result = create_engine("trufor", weights=str(synth_weights), device="cpu").analyze(ev)
    assert result.score_is_probability
    case = implicit_case(ev, result, "Dana Scully", when=WHEN)
    verdict = verdict_for_result(case.analyses[0].result)
    texts = pages(render_report(case))
    check_story(texts, verdict)
    assert verdict.verbal_scale and "likelihood ratio" in " ".join(texts).lower()
