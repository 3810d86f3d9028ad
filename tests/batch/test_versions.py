"""The batch ``versions`` column names the software that computed each row (issue 11):
the engine version and the numpy/SciPy/OpenCV/Pillow (and torch, where installed)
versions recorded in that result's provenance."""

from __future__ import annotations

import csv
import importlib.util
import json

import pytest
from PIL import Image

from tests.conftest import natural_image
from trufor_desk.batch import load_result_npz, read_results, run_batch

LIBRARIES = ("numpy", "scipy", "opencv", "pillow", "python", "trufor_desk")


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(natural_image(64, 80, seed=1)).save(src / "a.png")
    Image.fromarray(natural_image(64, 80, seed=2)).save(src / "b.jpg", quality=85)
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    return src


@pytest.mark.parametrize("engine", ["ela", "splicebuster"])
def test_versions_column_lists_the_libraries_of_each_result(folder, tmp_path, engine):
    out = tmp_path / "out"
    run_batch([folder], out, engine=engine)
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in read_results(out)}
    for name in ("a.png", "b.jpg"):
        row = rows[name]
        assert row["status"] == "ok"
        versions = json.loads(row["versions"])
        prov = load_result_npz(row["npz"]).provenance
        for lib in LIBRARIES:
            key = "app_version" if lib == "trufor_desk" else f"{lib}_version"
            assert versions.get(lib), f"{name}: no {lib} version in {versions}"
            assert versions[lib] == prov[key]  # the column and the stored result say the same
        if importlib.util.find_spec("torch") is not None:
            assert versions["torch"] == prov["torch_version"]
        assert versions["engine"] == load_result_npz(row["npz"]).engine_version
        assert versions["device"] == "cpu"
    # a file that could not be analysed still says which software tried
    failed = json.loads(rows["broken.jpg"]["versions"])
    assert rows["broken.jpg"]["status"] == "error"
    assert all(failed.get(lib) for lib in LIBRARIES)


def test_csv_and_journal_carry_the_same_versions(folder, tmp_path):
    out = tmp_path / "out"
    run_batch([folder], out, engine="ela")
    with open(out / "results.csv", newline="", encoding="utf-8") as fh:
        csv_rows = {r["path"]: json.loads(r["versions"]) for r in csv.DictReader(fh)}
    journal = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    for row in journal:
        assert json.loads(row["versions"]) == csv_rows[row["path"]]
        assert {"numpy", "scipy", "opencv", "pillow"} <= set(csv_rows[row["path"]])


def test_a_rerun_still_resumes(folder, tmp_path):
    """Richer versions do not break resuming: the engine version is still what is compared."""
    out = tmp_path / "out"
    first = run_batch([folder], out, engine="ela")
    again = run_batch([folder], out, engine="ela")
    assert first.ok == 2 and again.skipped == 2
