"""`trufor-desk analyze` as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import natural_image, requires_kit
from trufor_desk.hashing import sha256_file

PROVENANCE = ["prov_image_sha256", "prov_image_md5", "prov_weights_sha256", "prov_app_version",
              "prov_torch_version", "prov_device", "prov_precision", "engine", "engine_version", "params_json"]


def cli(*args, cwd=None, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "trufor_desk", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "evidence"
    folder.mkdir()
    paths = []
    for i, (h, w) in enumerate([(64, 80), (72, 56)]):
        p = folder / f"photo{i}.png"
        Image.fromarray(natural_image(h, w, seed=i)).save(p)
        paths.append(p)
    return paths


def listing(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir())}


@requires_kit
def test_one_image_to_named_file(images, tmp_path, synth_weights):
    out = tmp_path / "res" / "result.npz"
    before = listing(images[0].parent)
    r = cli("analyze", images[0], "--weights", synth_weights, "--device", "cpu", "--out", out)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    d = np.load(out, allow_pickle=False)
    assert d["map"].shape == (64, 80) and d["map"].dtype == np.float32
    assert d["conf"].shape == (64, 80) and d["np++"].shape == (64, 80)
    assert d["score"].shape == () and 0 <= float(d["score"]) <= 1
    assert d["imgsize"].tolist() == [64, 80]
    for k in PROVENANCE:
        assert k in d.files
    assert str(d["prov_image_sha256"]) == sha256_file(images[0])
    assert str(d["prov_weights_sha256"]) == sha256_file(synth_weights)
    assert str(d["prov_precision"]) == "fp32" and str(d["prov_device"]) == "cpu"
    assert listing(images[0].parent) == before  # evidence untouched, nothing written beside it


@requires_kit
def test_folder_output_and_json_lines(images, tmp_path, synth_weights):
    out = tmp_path / "out"
    r = cli("analyze", *images, "--weights", synth_weights, "--device", "cpu", "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [Path(row["output"]).name for row in rows] == ["photo0.npz", "photo1.npz"]
    assert all(0 <= row["score"] <= 1 and row["weights_sha256"] == sha256_file(synth_weights) for row in rows)
    assert sorted(p.name for p in out.iterdir()) == ["photo0.npz", "photo1.npz"]


@requires_kit
def test_default_output_is_the_current_directory(images, tmp_path, synth_weights):
    work = tmp_path / "work"
    work.mkdir()
    before = listing(images[0].parent)
    r = cli("analyze", images[1], "--weights", synth_weights, "--device", "cpu", cwd=work)
    assert r.returncode == 0, r.stderr
    assert (work / "photo1.npz").is_file()
    assert listing(images[0].parent) == before


@requires_kit
def test_same_stem_is_refused_naming_both(tmp_path, synth_weights):
    a, b = tmp_path / "a" / "x.png", tmp_path / "b" / "x.jpg"
    for p in (a, b):
        p.parent.mkdir()
        Image.fromarray(natural_image(40, 40)).save(p)
    r = cli("analyze", a, b, "--weights", synth_weights, "--out", tmp_path / "out")
    assert r.returncode != 0
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error:")
    assert str(a) in r.stderr and str(b) in r.stderr
    assert not (tmp_path / "out").exists()


@requires_kit
def test_bad_image_gives_one_error_line_and_others_still_run(images, tmp_path, synth_weights):
    bad = tmp_path / "evidence" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    tiny = tmp_path / "evidence" / "tiny.png"
    Image.fromarray(natural_image(20, 40)).save(tiny)
    out = tmp_path / "out"
    r = cli("analyze", bad, images[0], tiny, "--weights", synth_weights, "--device", "cpu", "--out", out)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 2, r.stderr
    assert lines[0].startswith("error: ") and "broken.jpg" in lines[0]
    assert lines[1].startswith("error: ") and "at least 29" in lines[1]
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["photo0.npz"]


def test_bad_weights_file_is_one_error_line(images, tmp_path):
    w = tmp_path / "junk.pth.tar"
    w.write_bytes(os.urandom(4096))
    r = cli("analyze", *images, "--weights", w, "--out", tmp_path / "o")
    assert r.returncode == 1
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("error: ")
    assert "Traceback" not in r.stderr


def test_no_weights_anywhere(images, tmp_path):
    """Without weights the weight-free default runs; asking for TruFor explains how to
    install the weights."""
    env = {"TRUFOR_DESK_DATA_DIR": str(tmp_path / "nothing"), "TRUFOR_WEIGHTS": ""}
    r = cli("analyze", images[0], "--out", tmp_path / "o", env_extra=env)
    assert r.returncode == 0, r.stderr
    assert str(np.load(tmp_path / "o" / "photo0.npz")["engine"]) == "fusion"
    r = cli("analyze", images[0], "--engine", "trufor", "--out", tmp_path / "o2", env_extra=env)
    assert r.returncode == 1
    assert r.stderr.startswith("error: ") and "weights install" in r.stderr


@requires_kit
def test_env_variable_supplies_weights(images, tmp_path, synth_weights):
    r = cli("analyze", images[0], "--device", "cpu", "--out", tmp_path / "o.npz",
            env_extra={"TRUFOR_WEIGHTS": str(synth_weights)})
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o.npz").is_file()


@requires_kit
def test_out_file_with_two_images_is_refused(images, tmp_path, synth_weights):
    r = cli("analyze", *images, "--weights", synth_weights, "--out", tmp_path / "one.npz")
    assert r.returncode != 0 and "folder" in r.stderr and len(r.stderr.splitlines()) == 1


def test_help_lists_commands():
    r = cli("--help")
    assert r.returncode == 0 and "analyze" in r.stdout and "weights" in r.stdout


# -- the verdict ----------------------------------------------------------------------------
def sample_image() -> Path:
    from tests.conftest import REPO

    found = sorted(p for p in (REPO / "resources" / "samples").glob("sample_splice.*")
                   if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not found:
        pytest.skip("no sample image in resources/samples")
    return found[0]


def spliced_image(path: Path) -> Path:
    """A photo-like image with a noisier pasted square (the weight-free engines flag it)."""
    rng = np.random.default_rng(4)
    img = natural_image(192, 192, seed=4).astype(np.float64)
    img[48:144, 48:144] += rng.normal(0, 18, size=(96, 96, 3))
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.mark.parametrize("engine", ["splicebuster", "noise", "ela"])
def test_analyze_json_carries_the_verdict_of_the_saved_result(tmp_path, engine):
    from trufor_desk.batch.results import load_result_npz
    from trufor_desk.verdict.decision import verdict_for_result

    images = [sample_image(), spliced_image(tmp_path / "pasted.png")]
    out = tmp_path / "out"
    r = cli("analyze", *images, "--engine", engine, "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 2
    for row in rows:
        expected = verdict_for_result(load_result_npz(row["output"])).to_dict()
        assert row["verdict"] == expected
        assert set(row["verdict"]) >= {"category", "headline", "explanation", "score_text", "colour",
                                       "flagged_reliable_fraction", "verbal_scale"}
    text = cli("analyze", *images, "--engine", engine, "--out", tmp_path / "again")
    assert text.returncode == 0, text.stderr
    for line, row in zip(text.stdout.splitlines(), rows):
        assert row["verdict"]["headline"] in line and row["verdict"]["score_text"] in line


@requires_kit
def test_analyze_json_verdict_for_trufor_is_calibrated(images, tmp_path, synth_weights):
    from trufor_desk.batch.results import load_result_npz
    from trufor_desk.verdict.decision import verdict_for_result

    r = cli("analyze", images[0], "--weights", synth_weights, "--device", "cpu", "--out", tmp_path / "t.npz",
            "--json")
    assert r.returncode == 0, r.stderr
    verdict = json.loads(r.stdout)["verdict"]
    assert verdict == verdict_for_result(load_result_npz(tmp_path / "t.npz")).to_dict()
    assert verdict["score_is_probability"] and verdict["score_text"].startswith("probability ")
    assert verdict["verbal_scale"].startswith("The findings give ")
