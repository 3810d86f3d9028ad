"""Batch triage, local backend: complete CSV with error rows, resume, Ctrl-C, collisions."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import natural_image
from trufor_desk.batch import COLUMNS, collect_inputs, load_result_npz, read_results, run_batch
from trufor_desk.batch.results import npz_name
from trufor_desk.errors import UserError

GOOD = ["a.png", "b.jpg", "nested/deeper/c.PNG", "nested/a.png"]  # two different files named a.png
BAD = ["broken.jpg", "empty.png"]


def make_collection(root: Path, size: tuple[int, int] = (64, 80)) -> Path:
    """Four good images (two share the stem 'a'), two bad ones, one non-image file."""
    src = root / "in"
    for i, name in enumerate(GOOD):
        p = src / name
        p.parent.mkdir(parents=True, exist_ok=True)
        fmt = "JPEG" if name.lower().endswith(".jpg") else "PNG"
        Image.fromarray(natural_image(*size, seed=i)).save(p, fmt)
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    (src / "empty.png").write_bytes(b"")
    (src / "notes.txt").write_text("not an image, not collected from a folder")
    return src


def read_csv(out: Path) -> tuple[list[str], list[dict]]:
    with open(out / "results.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def journal(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture
def collection(tmp_path):
    return make_collection(tmp_path)


@pytest.fixture
def count_calls(monkeypatch):
    """Count ElaEngine.analyze calls (the engine is what a resume must not repeat)."""
    from trufor_desk.engines.classical.ela import ElaEngine

    calls: list[str] = []
    real = ElaEngine.analyze

    def counting(self, evidence, *a, **k):
        calls.append(str(evidence.path))
        return real(self, evidence, *a, **k)

    monkeypatch.setattr(ElaEngine, "analyze", counting)
    return calls


def test_folder_with_good_and_bad_files_gives_complete_csv(collection, tmp_path):
    out = tmp_path / "out"
    summary = run_batch([collection], out, engine="ela")
    assert (summary.total, summary.ok, summary.errors, summary.skipped) == (6, 4, 2, 0)

    header, rows = read_csv(out)
    assert header == list(COLUMNS)
    assert len(rows) == 6 and len({r["path"] for r in rows}) == 6
    by_name = {os.path.relpath(r["path"], collection): r for r in rows}
    assert set(by_name) == {str(Path(n)) for n in GOOD + BAD}  # notes.txt is not an image
    for name in GOOD:
        r = by_name[str(Path(name))]
        assert r["status"] == "ok" and r["error"] == ""
        assert r["sha256"] == hashlib.sha256(Path(r["path"]).read_bytes()).hexdigest()
        assert (int(r["width"]), int(r["height"])) == (80, 64)
        assert r["engine"] == "ela" and float(r["seconds"]) >= 0
        params, versions = json.loads(r["params"]), json.loads(r["versions"])
        assert params["quality"] == 90
        assert r["params"] == json.dumps(params, sort_keys=True, separators=(",", ":"))  # compact JSON
        assert versions["engine"] == "1.0.0" and "trufor_desk" in versions
        with np.load(out / npz_name(r["path"], r["sha256"]), allow_pickle=False) as z:
            assert z["map"].shape == (64, 80) and tuple(z["imgsize"]) == (64, 80)
            assert str(z["prov_image_sha256"]) == r["sha256"]
    for name in BAD:
        r = by_name[name]
        assert r["status"] == "error" and r["score"] == "" and r["width"] == ""
        assert r["path"] in r["error"] and "\n" not in r["error"]
    assert "empty file" in by_name["empty.png"]["error"]
    # the journal holds the same rows, as JSON values
    assert [j["path"] for j in journal(out)] == [r["path"] for r in rows]
    assert all(set(j) == set(COLUMNS) for j in journal(out))


def test_same_stem_in_different_folders_both_get_results(collection, tmp_path):
    out = tmp_path / "out"
    run_batch([collection], out, engine="ela")
    rows = [r for r in read_results(out) if Path(r["path"]).name == "a.png"]
    assert len(rows) == 2 and rows[0]["npz"] != rows[1]["npz"]
    for r in rows:
        assert load_result_npz(r["npz"]).provenance["image_path"] == r["path"]


def test_rerun_skips_everything_done(collection, tmp_path, count_calls):
    out = tmp_path / "out"
    run_batch([collection], out, engine="ela")
    assert len(count_calls) == 4
    npz = sorted(out.glob("*.npz"))
    stamps = [p.stat().st_mtime_ns for p in npz]
    first = read_csv(out)[1]

    summary = run_batch([collection], out, engine="ela")
    assert len(count_calls) == 4  # no engine call the second time
    assert (summary.skipped, summary.ok, summary.errors) == (4, 4, 2)  # error rows are retried
    assert [p.stat().st_mtime_ns for p in sorted(out.glob("*.npz"))] == stamps
    second = read_csv(out)[1]
    assert [r["path"] for r in second] == [r["path"] for r in first]
    assert [r for r in second if r["status"] == "ok"] == [r for r in first if r["status"] == "ok"]


def test_changed_parameters_or_content_are_analysed_again(collection, tmp_path, count_calls):
    out = tmp_path / "out"
    run_batch([collection], out, engine="ela")
    run_batch([collection], out, engine="ela", engine_options={"quality": 75})
    assert len(count_calls) == 8
    Image.fromarray(natural_image(64, 80, seed=42)).save(collection / "a.png")
    run_batch([collection], out, engine="ela", engine_options={"quality": 75})
    assert count_calls[8:] == [str(collection / "a.png")]
    rows = read_csv(out)[1]
    assert len(rows) == 6 and all(json.loads(r["params"])["quality"] == 75 for r in rows)


def test_interrupted_run_resumes_and_completes(collection, tmp_path, count_calls):
    out = tmp_path / "out"
    seen = []

    def stop_after_two(p):
        seen.append((p.done, p.total))
        if p.done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch([collection], out, engine="ela", progress=stop_after_two)
    assert seen == [(0, 6), (1, 6), (2, 6)]
    # consistent after the interrupt: two rows, CSV rewritten, no partial or hidden files
    assert len(journal(out)) == 2
    header, rows = read_csv(out)
    assert header == list(COLUMNS) and [r["path"] for r in rows] == [j["path"] for j in journal(out)]
    assert not list(out.glob(".*.tmp"))
    assert len(list(out.glob("*.npz"))) == sum(r["status"] == "ok" for r in rows)

    calls_before = len(count_calls)
    summary = run_batch([collection], out, engine="ela")
    assert summary.total == 6 and summary.ok == 4 and summary.errors == 2
    rows = read_csv(out)[1]
    assert len(rows) == 6 and len({r["path"] for r in rows}) == 6
    done_ok = sum(1 for j in journal(out)[:2] if j["status"] == "ok")
    assert len(count_calls) - calls_before == 4 - done_ok


def test_torn_journal_line_is_tolerated(collection, tmp_path):
    out = tmp_path / "out"
    run_batch([collection], out, engine="ela")
    with open(out / "results.jsonl", "a") as fh:
        fh.write('{"path": "/somewhere/x.png", "sha256": "ab')  # a write cut by a crash
    summary = run_batch([collection], out, engine="ela")
    assert summary.skipped == 4
    assert len(read_csv(out)[1]) == 6
    assert all(line.startswith("{") and line.endswith("}") for line in (out / "results.jsonl").read_text().splitlines())


def test_collect_inputs_globs_extensions_and_explicit_files(collection, tmp_path):
    (collection / "UPPER.JPEG").write_bytes((collection / "b.jpg").read_bytes())
    got = collect_inputs([collection])
    assert [p.relative_to(collection).as_posix() for p in got] == [
        "UPPER.JPEG", "a.png", "b.jpg", "broken.jpg", "empty.png", "nested/a.png", "nested/deeper/c.PNG"]
    assert collect_inputs([str(collection / "*.png")]) == [collection / "a.png", collection / "empty.png"]
    assert collect_inputs([str(collection / "**" / "a.png")]) == [collection / "a.png", collection / "nested/a.png"]
    notes = collection / "notes.txt"
    assert collect_inputs([notes, collection / "a.png", notes]) == [notes, collection / "a.png"]
    assert collect_inputs([collection / "gone.png"]) == [collection / "gone.png"]  # becomes an error row
    with pytest.raises(UserError, match="no files match"):
        collect_inputs([str(collection / "*.tiff")])
    # the output folder inside the input folder is never read as input
    out = collection / "triage"
    out.mkdir()
    Image.fromarray(natural_image(8, 8)).save(out / "thumb.png")
    assert all("triage" not in p.parts for p in collect_inputs([collection], exclude=out))


def test_missing_file_and_non_image_given_explicitly_are_error_rows(collection, tmp_path):
    out = tmp_path / "out"
    summary = run_batch([collection / "a.png", collection / "gone.png", collection / "notes.txt"], out,
                        engine="noise")
    assert (summary.ok, summary.errors) == (1, 2)
    errors = {Path(r["path"]).name: r["error"] for r in read_results(out) if r["status"] == "error"}
    assert "not found" in errors["gone.png"] and "not an image" in errors["notes.txt"]


def test_broken_engine_stops_the_batch_with_one_error(collection, tmp_path):
    bogus = tmp_path / "bogus.pth.tar"
    bogus.write_bytes(b"definitely not a checkpoint" * 100)
    with pytest.raises(UserError):
        run_batch([collection], tmp_path / "out", engine="trufor", weights=str(bogus), device="cpu")
    # nothing was recorded as the images' fault
    assert not any(r["status"] == "ok" for r in read_results(tmp_path / "out"))
    assert len(journal(tmp_path / "out")) == 0


def test_folder_is_locked_while_a_batch_writes(collection, tmp_path):
    from trufor_desk.batch.store import OutputStore

    store = OutputStore(tmp_path / "out")
    try:
        with pytest.raises(UserError, match="another batch"):
            run_batch([collection], tmp_path / "out", engine="ela")
    finally:
        store.close([])
    assert run_batch([collection], tmp_path / "out", engine="ela").ok == 4


def test_load_result_npz_rebuilds_the_analysis(collection, tmp_path):
    from trufor_desk.engines.classical.noise import NoiseLevelEngine
    from trufor_desk.evidence import open_evidence

    out = tmp_path / "out"
    run_batch([collection / "b.jpg"], out, engine="noise")
    row = read_results(out)[0]
    stored = load_result_npz(row["npz"])
    fresh = NoiseLevelEngine().analyze(open_evidence(collection / "b.jpg"))
    assert stored.engine == "noise" and stored.engine_version == fresh.engine_version
    # maps in [0, 1] are stored rounded up to a multiple of 2^-16 (batch/stored.py)
    for got, want in ((stored.localization, fresh.localization), (stored.reliability, fresh.reliability)):
        assert got.dtype == np.float32 and got.shape == want.shape
        assert np.all(got >= want) and float(np.max(got - want)) <= 1 / 65536
        np.testing.assert_array_equal(got > 0.5, want > 0.5)
    assert stored.score == pytest.approx(fresh.score) and row["score"] == pytest.approx(fresh.score, abs=1e-6)
    assert stored.params == json.loads(json.dumps(fresh.params))
    assert stored.provenance["image_sha256"] == row["sha256"]
    assert stored.notes == fresh.notes and stored.applicable == fresh.applicable
    with pytest.raises(UserError):
        load_result_npz(out / "results.csv")


def test_pool_of_workers_gives_the_same_rows(collection, tmp_path):
    run_batch([collection], tmp_path / "one", engine="noise")
    run_batch([collection], tmp_path / "two", engine="noise", workers=2)
    key = ("path", "sha256", "status", "score", "width", "height", "params")
    one = [{k: r[k] for k in key} for r in read_results(tmp_path / "one")]
    two = [{k: r[k] for k in key} for r in read_results(tmp_path / "two")]
    assert sorted(one, key=lambda r: r["path"]) == sorted(two, key=lambda r: r["path"])
    assert [r["path"] for r in read_csv(tmp_path / "two")[1]] == [r["path"] for r in read_csv(tmp_path / "one")[1]]


def test_cli_batch_exit_codes_and_messages(collection, tmp_path, capsys):
    from trufor_desk.cli import main

    rc = main(["batch", str(collection), "--out", str(tmp_path / "out"), "--engine", "ela"])
    cap = capsys.readouterr()
    assert rc == 1
    assert "6 files: 4 ok, 2 errors" in cap.out
    err = cap.err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert "2 of 6 files could not be analysed" in err[-1]

    rc = main(["batch", str(collection / "*.jpg"), "--out", str(tmp_path / "out2"), "--engine", "ela"])
    cap = capsys.readouterr()
    assert rc == 1 and "broken.jpg" in cap.err  # the glob picked broken.jpg too
    rc = main(["batch", str(collection / "a.png"), str(collection / "b.jpg"), "--out", str(tmp_path / "out3"),
               "--engine", "ela"])
    cap = capsys.readouterr()
    assert rc == 0 and cap.err == "" and "2 files: 2 ok, 0 errors" in cap.out
    rc = main(["batch", str(collection / "*.bmp"), "--out", str(tmp_path / "out4")])
    assert rc == 1 and capsys.readouterr().err.startswith("error: ")


def test_batch_core_imports_neither_qt_nor_torch_nor_ray():
    import subprocess
    import sys

    code = ("import sys, trufor_desk.batch, trufor_desk.batch.ray_backend, trufor_desk.cli.batch as c, argparse\n"
            "c.add_batch_parser(argparse.ArgumentParser().add_subparsers())\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'pyqtgraph', 'torch', 'ray'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.strip() == "[]"


def test_a_worker_caps_malloc_arenas_on_linux():
    """Each batch worker caps glibc's malloc arenas (a worker analysing image after image in threads
    fragments them); where there is no glibc nothing is changed and the call says so."""
    import platform
    import sys

    from trufor_desk.batch.jobs import limit_malloc_arenas

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert limit_malloc_arenas() is glibc
