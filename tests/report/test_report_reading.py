"""What a newcomer reads in the report: one score format in the table, the verdict and the
analysis page (the window's and ``analyze``'s too); the calibration in words, not a JSON
dict; the limitations of each trace; the report date without doubled brackets."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import numpy as np
import pytest
from PIL import Image

from tests.conftest import natural_image
from trufor_desk.cli.report import implicit_case
from trufor_desk.engines.base import AnalysisResult
from trufor_desk.engines.classical.calibration import FEATURE_WORDS, calibration_record
from trufor_desk.evidence import open_evidence
from trufor_desk.report import render_report
from trufor_desk.report.score_calibration import calibration_rows
from trufor_desk.verdict.decision import format_score, verdict_for_result

pypdf = pytest.importorskip("pypdf")
WHEN = datetime(2024, 3, 1, tzinfo=timezone.utc)


def report_text(tmp_path, score: float) -> tuple[str, object]:
    p = tmp_path / "photo.png"
    Image.fromarray(natural_image(96, 128, seed=5)).save(p)
    ev = open_evidence(p)
    loc = np.zeros((ev.height, ev.width), np.float32)
    loc[: ev.height // 4, : ev.width // 4] = 0.9
    result = AnalysisResult(engine="fusion", engine_version="test", localization=loc,
                            reliability=np.full(loc.shape, 0.9, np.float32), score=score,
                            score_calibration=calibration_record("fusion"), provenance={"image_sha256": ev.sha256})
    case = implicit_case(ev, result, "Dana Scully", when=WHEN)
    import io

    reader = pypdf.PdfReader(io.BytesIO(render_report(case)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text), verdict_for_result(case.analyses[0].result)


@pytest.mark.parametrize("score", [0.9996, 0.9924])
def test_one_score_format_in_the_table_the_verdict_and_the_analysis_page(tmp_path, score):
    text, verdict = report_text(tmp_path, score)
    shown = format_score(score)
    assert f"probability {shown}" in text                       # findings table and score lines
    assert f"calibrated probability ({shown})" in text           # the verdict cell and the analysis page
    assert f"{score:.2f}" not in text.replace(shown, "") or shown.startswith(f"{score:.2f}")
    assert f"{score:.4f}" not in text                           # no second, longer format
    assert verdict.score_text in text                           # the same words as the window and --json
    assert json.loads(json.dumps(verdict.to_dict()))["score_text"].startswith(f"probability {shown} ")


def test_the_calibration_is_printed_in_words_not_as_a_dict(tmp_path):
    text, _ = report_text(tmp_path, 0.9)
    assert '"coef"' not in text and "{" not in text.split("Score calibration", 1)[1].split("Parameters", 1)[0]
    for raw in FEATURE_WORDS:
        assert raw not in text, raw                              # no statistic by its code name
    for needle in ("Calibration set", "AUC on that set", "Manipulated share of the set", "Applies to",
                   "images with a JPEG history", "strength of the double-compression history", "Caveat"):
        assert needle in text, needle


def test_calibration_rows_keep_unknown_entries_and_name_the_model():
    rows = dict(calibration_rows({"method": "logistic", "set": "S", "auc": 0.8, "prior_fake": 0.6,
                                  "intercept": 1.0, "coef": {"log_dq_gain": 2.0, "odd_stat": -0.5},
                                  "folds": 5}))
    assert rows["Calibration set"] == "S" and rows["Manipulated share of the set"].startswith("60 %")
    assert "+ 2 × (log of the strength of the double-compression history)" in rows["Formula"]
    assert "- 0.5 × (odd stat)" in rows["Formula"]
    assert rows["Folds"] == "5"
    assert rows["Decision point"].startswith("0.6 (")                # the prior, above 0.5
    assert calibration_rows(None) == [] and calibration_rows({}) == []
    trufor = dict(calibration_rows({"method": "trained detection head", "set": "TruFor data", "auc": None}))
    assert "AUC on that set" not in trufor and "Formula" not in trufor
    assert trufor["Decision point"].startswith("0.5 (")              # no prior stated: even odds


def test_limitations_name_each_trace_and_the_method_says_which_images_get_a_score(tmp_path):
    text, _ = report_text(tmp_path, 0.9)
    limits = text.split("Limitations", 2)[-1]
    for needle in ("Compression history", "resizing", "never compressed as JPEG", "Copy-move",
                   "natural repetitions", "small images", "flat", "calibrated on CASIA v1.0"):
        assert needle in limits, needle
    assert "converted to PNG, for example) is analysed as that JPEG" in text
    assert "Lossy formats with no JPEG history (HEIC, WebP) get no score" in text
    assert "non-JPEG images get no score" not in text


def test_the_report_date_has_no_doubled_brackets(tmp_path):
    text, _ = report_text(tmp_path, 0.9)
    assert "(day of the latest analysis, UTC)" in text and "(UTC))" not in text
