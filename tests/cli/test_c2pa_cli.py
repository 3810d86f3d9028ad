"""--c2pa-trust and the Content Credentials of evidence on the command line: analyze --json
(``c2pa`` object), case add/show, report, and the batch CSV's ``c2pa_state`` column."""

from __future__ import annotations

import csv
import hashlib
import json

import pytest

pytest.importorskip("cryptography")
pytest.importorskip("c2pa")

from tests.c2pa_fixtures import GENERATOR  # noqa: E402
from trufor_desk.cli import main  # noqa: E402


def run(capsys, *args) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_analyze_json_has_a_c2pa_object_with_its_parameters(c2pa_files, tmp_path, capsys):
    rc, out, err = run(capsys, "analyze", c2pa_files.valid_jpg, c2pa_files.tampered_pixels, "--engine", "ela",
                       "--out", tmp_path, "--json", "--c2pa-trust", c2pa_files.trust)
    assert rc == 0, err
    valid, tampered = (json.loads(line) for line in out.splitlines())
    assert valid["c2pa"]["state"] == "valid" and valid["c2pa"]["findings"] == []
    assert valid["c2pa"]["trust"]["sha256"] == hashlib.sha256(c2pa_files.trust.read_bytes()).hexdigest()
    assert valid["c2pa"]["sdk"]["c2pa_python"] and valid["c2pa"]["sdk"]["c2pa_rs"]
    assert tampered["c2pa"]["state"] == "invalid"
    assert "assertion.dataHash.mismatch" in {s["code"] for s in tampered["c2pa"]["status"]}
    assert tampered["verdict"]["headline"]  # the detectors' verdict is still its own
    assert "the pixels changed after signing" in tampered["c2pa"]["findings"][0]


def test_analyze_text_says_it_in_lines_of_their_own(c2pa_files, tmp_path, capsys):
    rc, out, err = run(capsys, "analyze", c2pa_files.ai_png, c2pa_files.none_jpg, "--engine", "ela",
                       "--out", tmp_path)
    assert rc == 0, err
    lines = out.splitlines()
    assert len(lines) == 5  # verdict, credentials, finding, note for the AI picture; the plain file is one line
    assert "Content Credentials: valid signature, signer not trusted" in lines[1]
    assert "finding: AI generation declared" in lines[2] and GENERATOR in lines[2]
    assert "does not show the content is true" in lines[3]


def test_a_bad_trust_list_is_one_line_before_any_work(c2pa_files, tmp_path, capsys):
    bad = tmp_path / "bad.pem"
    bad.write_text("hello")
    rc, out, err = run(capsys, "analyze", c2pa_files.valid_jpg, "--engine", "ela", "--out", tmp_path / "o",
                       "--c2pa-trust", bad)
    assert rc == 1 and out == "" and len(err.strip().splitlines()) == 1 and "no PEM certificates" in err
    assert not (tmp_path / "o").exists()


def test_case_add_and_show_print_the_stored_record(c2pa_files, tmp_path, capsys):
    case = tmp_path / "c.tfcase"
    assert run(capsys, "case", "new", case, "--examiner", "Dana")[0] == 0
    rc, out, err = run(capsys, "case", "add", case, c2pa_files.truncated, c2pa_files.valid_jpg, "--no-analyze",
                       "--c2pa-trust", c2pa_files.trust)
    assert rc == 0, err
    assert "Content Credentials: unreadable manifest" in out and "valid, signer trusted" in out
    rc, out, err = run(capsys, "case", "show", case)
    assert "finding: Content Credentials present but unreadable" in out
    assert "Traceback" not in out + err
    rc, out, err = run(capsys, "case", "show", case, "--json")
    doc = json.loads(out)
    states = [e["c2pa"]["state"] for e in doc["evidence"]]
    assert states == ["unreadable", "valid"]
    assert doc["evidence"][1]["c2pa"]["trust"]["configured"]


def test_report_of_a_case_refuses_a_new_trust_list(c2pa_files, tmp_path, capsys):
    case = tmp_path / "c.tfcase"
    run(capsys, "case", "new", case, "--examiner", "Dana")
    rc, out, err = run(capsys, "report", case, "--out", tmp_path / "r.pdf", "--c2pa-trust", c2pa_files.trust)
    assert rc == 1 and "--c2pa-trust applies to an image only" in err


def test_batch_csv_has_the_c2pa_state_and_a_new_trust_list_rejudges(c2pa_files, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for p in (c2pa_files.valid_jpg, c2pa_files.ai_png, c2pa_files.tampered_manifest, c2pa_files.none_jpg):
        (folder / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "out"

    def states():
        with open(out / "results.csv", newline="") as fh:
            return {r["path"].rsplit("/", 1)[-1]: (r["c2pa_state"], r["c2pa_trust_sha256"]) for r in csv.DictReader(fh)}

    assert run(capsys, "batch", folder, "--out", out, "--engine", "ela")[0] == 0
    assert states() == {"camera.jpg": ("untrusted", ""), "dream.png": ("untrusted+ai", ""),
                        "manifest-edited.jpg": ("invalid", ""), "plain.jpg": ("none", "")}
    rc, text, _ = run(capsys, "batch", folder, "--out", out, "--engine", "ela", "--c2pa-trust", c2pa_files.trust)
    assert rc == 0 and "0 skipped" in text  # judged again against the new trust list
    sha = hashlib.sha256(c2pa_files.trust.read_bytes()).hexdigest()
    assert states()["camera.jpg"] == ("valid", sha) and states()["dream.png"] == ("valid+ai", sha)
