"""`trufor-desk case compare CASE ITEM_A ITEM_B [--layer NAME] [--register]`."""

from __future__ import annotations

import json

from tests.compare.scenes import jpeg_bytes, second_version, textured_scene
from trufor_desk.case import load_case
from trufor_desk.cli import main


def _case(tmp_path, capsys, second=None):
    first = textured_scene(600, 800, seed=11)
    (tmp_path / "original.jpg").write_bytes(jpeg_bytes(first, 90))
    sv = second_version(first, quality=75)
    (tmp_path / "copy.jpg").write_bytes(sv.data if second is None else second)
    (tmp_path / "other.jpg").write_bytes(jpeg_bytes(textured_scene(500, 700, seed=99), 90))
    c = tmp_path / "c.tfcase"
    assert main(["case", "new", str(c), "--examiner", "Ada Examiner"]) == 0
    assert main(["case", "add", str(c), str(tmp_path / "original.jpg"), str(tmp_path / "copy.jpg"),
                 str(tmp_path / "other.jpg"), "--engine", "ela"]) == 0
    capsys.readouterr()
    return c, sv


def test_case_compare_registers_records_and_reports(tmp_path, capsys):
    c, sv = _case(tmp_path, capsys)
    assert main(["case", "compare", str(c), "E1", "E2", "--register"]) == 0
    out = capsys.readouterr().out
    assert "comparison C1 added" in out and "affine: scale 1.25" in out and "region 1:" in out
    assert "JPEG quantisation tables: different" in out
    case = load_case(c)
    assert case.verification.ok
    rec = case.get_comparison("C1")
    assert rec.registered and case.audit[-1].action == "comparison_added"
    # an image against one of its layers: same evidence, no registration needed
    assert main(["case", "compare", str(c), "E1", "A1", "--layer", "localization"]) == 0
    case = load_case(c)
    assert case.get_comparison("C2").sources[1] == {"label": "A1 ela localization of E1", "evidence_id": "E1",
                                                    "analysis_id": "A1", "layer": "localization"}
    # `case show` lists both, in text and in JSON
    capsys.readouterr()
    assert main(["case", "show", str(c)]) == 0
    shown = capsys.readouterr().out
    assert "C1 " in shown and "C2 " in shown and "B aligned onto A" in shown and "% of the overlap" in shown
    assert main(["case", "show", str(c), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in doc["comparisons"]] == ["C1", "C2"]
    assert doc["comparisons"][0]["registered"] is True and doc["comparisons"][0]["evidence_ids"] == ["E1", "E2"]


def test_case_compare_refusals_are_one_line(tmp_path, capsys):
    c, _ = _case(tmp_path, capsys)
    before = c.read_bytes()
    for argv, expected in ((["E1", "E3", "--register"], "do not match"), (["E1", "E2"], "differ in size"),
                           (["E1", "E7"], "no item")):
        assert main(["case", "compare", str(c), *argv]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and expected in err, err
    assert c.read_bytes() == before          # a refused comparison leaves the case untouched
