"""A comparison is a case item: it is saved and loaded with the case (no pickle), logged in
the hash-chained audit log, and an edit of it is noticed."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from tests.compare.scenes import jpeg_bytes, second_version, textured_scene
from trufor_desk.case import Case, case_bytes, load_case, save_case
from trufor_desk.cli.case_compare import compare_items
from trufor_desk.errors import UserError
from trufor_desk.evidence import open_evidence


@pytest.fixture
def two_versions(tmp_path):
    first = textured_scene(600, 800, seed=5)
    (tmp_path / "original.jpg").write_bytes(jpeg_bytes(first, 92))
    sv = second_version(first, quality=75)
    (tmp_path / "circulated.jpg").write_bytes(sv.data)
    return tmp_path / "original.jpg", tmp_path / "circulated.jpg", sv


@pytest.fixture
def case(two_versions):
    a, b, _ = two_versions
    c = Case("CMP-1", "Examiner Test")
    c.add_evidence(open_evidence(a))
    c.add_evidence(open_evidence(b))
    return c


def test_comparison_round_trips_with_its_audit_entry(case, tmp_path, two_versions):
    rec, comparison = compare_items(case, "E1", "E2", register=True)
    assert rec.id == "C1" and rec.registered and rec.evidence_ids == ["E1", "E2"]
    entry = case.audit[-1]
    assert entry.action == "comparison_added" and entry.details["comparison_id"] == "C1"
    assert entry.details["digest"] == rec.digest()
    path = save_case(case, tmp_path / "c.tfcase")
    with zipfile.ZipFile(path) as zf:
        assert "comparisons/C1.npz" in zf.namelist()
        doc = json.loads(zf.read("case.json"))
    assert doc["comparisons"][0]["numbers"]["jpeg_tables"] == "different"
    again = load_case(path)
    assert again.verification.ok, again.verification.lines()
    got = again.get_comparison("C1")
    assert got.record() == rec.record()
    for k in ("a", "b", "diff", "valid"):
        assert np.array_equal(got.figures[k], rec.figures[k])
    assert case_bytes(again, path) == path.read_bytes()          # same case, same bytes
    reg = got.registration
    assert reg["model"] == "affine" and reg["inliers"] >= 25 and "residual_px" in reg
    top = got.numbers["regions"][0]
    px, py, pw, ph = two_versions[2].pasted_box
    assert abs(top["x"] - px) < 15 and abs(top["y"] - py) < 15


def test_edited_comparison_is_detected(case, tmp_path):
    compare_items(case, "E1", "E2", register=True)
    path = save_case(case, tmp_path / "c.tfcase")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    doc = json.loads(members["case.json"])
    doc["comparisons"][0]["numbers"]["psnr_db"] = 99.0
    members["case.json"] = json.dumps(doc).encode()
    bad = tmp_path / "edited.tfcase"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    v = load_case(bad).verification
    assert not v.ok and any("comparison C1" in p for p in v.content_problems)


def test_layer_against_its_image_and_refusals(case):
    from trufor_desk.engines.registry import create_engine

    ev = open_evidence(case.evidence[0].path)
    case.add_analysis("E1", create_engine("ela").analyze(ev))
    rec, _ = compare_items(case, "E1", "A1", layer="localization")
    assert rec.sources[1]["layer"] == "localization" and rec.sources[1]["analysis_id"] == "A1"
    assert not rec.registered
    with pytest.raises(UserError, match="differ in size"):
        compare_items(case, "E1", "E2")
    with pytest.raises(UserError, match="no item"):
        compare_items(case, "E1", "X9")
    with pytest.raises(UserError, match="no layer"):
        compare_items(case, "E1", "A1", layer="nonsense")
