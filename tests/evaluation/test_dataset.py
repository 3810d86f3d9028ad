"""The ``evaluate`` command end to end on tiny crafted datasets.

A test engine, ``bright``, is registered for these tests: its map is "red channel >
127" and its score 0.9 when anything is bright, else 0.1.  The fake images are dark
with a bright square exactly where their mask is white (one of them the other way
round, so its map is inverted), the real images are dark: every number in the table
is known in advance.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trufor_desk.cli import main
from trufor_desk.engines.base import AnalysisResult
from trufor_desk.engines.registry import ENGINES, EngineInfo
from trufor_desk.evaluation.dataset import CSV_COLUMNS, discover, evaluate_dataset, load_mask


class BrightEngine:
    """Map = bright pixels; score 0.9 if there are any, 0.1 otherwise."""

    name = "bright"
    version = "test"
    requires_weights = False
    OPTIONS = ()

    def analyze(self, evidence, params=None, progress=None, cancel=None):
        loc = (evidence.rgb[..., 0] > 127).astype(np.float32)
        return AnalysisResult("bright", "test", loc, score=0.9 if loc.any() else 0.1)


class BrokenEngine(BrightEngine):
    """Raises on images wider than 50 px: an engine bug must become an error row."""

    name = "broken"

    def analyze(self, evidence, params=None, progress=None, cancel=None):
        if evidence.width > 50:
            raise RuntimeError("boom")
        return super().analyze(evidence, params, progress, cancel)


@pytest.fixture
def engines(monkeypatch):
    for name, cls in (("bright", "BrightEngine"), ("broken", "BrokenEngine")):
        monkeypatch.setitem(ENGINES, name, EngineInfo(name, __name__, cls, f"test engine {name}"))


def _square(h=48, w=48, inverted=False):
    mask = np.zeros((h, w), bool)
    mask[12:36, 12:36] = True
    rng = np.random.default_rng(h * w)
    img = rng.integers(10, 60, (h, w, 3)).astype(np.uint8)
    bright = ~mask if inverted else mask
    img[bright] = rng.integers(200, 250, (int(bright.sum()), 3))
    return img, mask


def _save(path: Path, arr: np.ndarray, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, **kw)
    return path


def _mask_img(mask: np.ndarray) -> np.ndarray:
    return (mask * 255).astype(np.uint8)


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = tmp_path / "tiny"
    img, mask = _square()
    _save(root / "fake" / "a.png", img)
    _save(root / "mask" / "a.png", _mask_img(mask))                           # same stem
    img, mask = _square(inverted=True)
    _save(root / "fake" / "b.jpg", img, quality=95)
    _save(root / "mask" / "b_gt.png", _mask_img(mask))                        # _gt suffix
    img, mask = _square(40, 56)
    _save(root / "fake" / "c.tif", img)
    _save(root / "mask" / "c_mask.bmp", np.repeat(_mask_img(mask)[..., None], 3, 2))  # _mask, RGB
    img, _ = _square()
    _save(root / "fake" / "d.png", img)                                       # no mask at all
    _save(root / "fake" / "e.png", img)
    _save(root / "mask" / "e.png", np.zeros((20, 20), np.uint8))              # wrong size
    (root / "fake" / "f.png").write_bytes(b"this is not a PNG")               # undecodable
    _save(root / "mask" / "f.png", _mask_img(_square()[1]))
    for i in range(2):
        _save(root / "real" / f"r{i}.png", np.full((32, 32, 3), 30 + i, np.uint8))
    (root / "fake" / "notes.txt").write_text("not an image extension: skipped")
    return root


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        return {r["path"]: r for r in reader}


def test_evaluate_end_to_end(engines, dataset, tmp_path, capsys):
    out = tmp_path / "res" / "rows.csv"
    rc = main(["evaluate", "--engine", "bright", str(dataset), "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 1  # some rows are errors
    rows = _rows(out)
    assert list(rows) == ["fake/a.png", "fake/b.jpg", "fake/c.tif", "fake/d.png", "fake/e.png",
                          "fake/f.png", "real/r0.png", "real/r1.png"]
    a, b, c = rows["fake/a.png"], rows["fake/b.jpg"], rows["fake/c.tif"]
    for r in (a, b, c):
        assert r["status"] == "ok" and r["kind"] == "fake" and r["error"] == ""
        assert float(r["f1_best"]) == 1.0 and float(r["f1_fixed"]) == 1.0
        assert float(r["f1_best_strict"]) == 1.0 and float(r["f1_fixed_strict"]) == 1.0
        assert float(r["seconds"]) >= 0
    assert a["inverted"] == "0" and b["inverted"] == "1" and c["inverted"] == "0"
    assert float(a["score"]) == pytest.approx(0.9) and float(b["score"]) == pytest.approx(0.9)
    assert rows["fake/d.png"]["status"] == "error" and "no mask" in rows["fake/d.png"]["error"]
    assert rows["fake/e.png"]["status"] == "error" and "20x20" in rows["fake/e.png"]["error"] \
        and "48x48" in rows["fake/e.png"]["error"]
    assert rows["fake/f.png"]["status"] == "error" and "not an image" in rows["fake/f.png"]["error"]
    for r in ("fake/d.png", "fake/e.png", "fake/f.png"):
        assert rows[r]["f1_best"] == "" and rows[r]["score"] == ""
    for r in ("real/r0.png", "real/r1.png"):
        assert rows[r]["status"] == "ok" and rows[r]["kind"] == "real"
        assert rows[r]["f1_best"] == "" and float(rows[r]["score"]) == pytest.approx(0.1)

    table = captured.out
    lines = {ln.split("  ")[0].strip(): ln.split("  ")[-1].strip() for ln in table.splitlines() if "  " in ln}
    assert lines["mean F1-best (official rule)"] == "1.0000" and lines["mean F1@0.5 (official rule)"] == "1.0000"
    assert lines["mean F1-best (strict, ours)"] == "1.0000" and lines["mean F1@0.5 (strict, ours)"] == "1.0000"
    assert lines["AUC"] == "1.0000" and lines["bAcc (score > 0.5)"] == "1.0000"
    assert lines["images"].startswith("8 (6 fake, 2 real)")
    assert lines["errors"] == "3"
    assert f"rows: {out}" in table
    err = captured.err.strip().splitlines()
    assert len(err) == 3 and all(e.startswith("error: fake/") for e in err)
    assert not [p for p in out.parent.iterdir() if p.name != "rows.csv"]  # no temporary file left


def test_clean_dataset_exits_zero_and_defaults_the_csv_name(engines, tmp_path, monkeypatch, capsys):
    root = tmp_path / "clean"
    img, mask = _square()
    _save(root / "fake" / "x.png", img)
    _save(root / "mask" / "x_gt.png", _mask_img(mask))
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "--engine", "bright", str(root)]) == 0
    rows = _rows(tmp_path / "evaluate_bright_clean.csv")
    assert rows["fake/x.png"]["status"] == "ok"
    out = capsys.readouterr().out
    assert "AUC" in out and "n/a" in out  # one class only: AUC undefined, shown as n/a


def test_engine_exception_becomes_an_error_row(engines, tmp_path, capsys):
    root = tmp_path / "ds"
    img, mask = _square(48, 64)
    _save(root / "fake" / "wide.png", img)
    _save(root / "mask" / "wide.png", _mask_img(mask))
    img, mask = _square()
    _save(root / "fake" / "narrow.png", img)
    _save(root / "mask" / "narrow.png", _mask_img(mask))
    out = tmp_path / "r.csv"
    assert main(["evaluate", "--engine", "broken", str(root), "--out", str(out)]) == 1
    rows = _rows(out)
    assert rows["fake/wide.png"]["status"] == "error" and "RuntimeError: boom" in rows["fake/wide.png"]["error"]
    assert rows["fake/narrow.png"]["status"] == "ok"


@pytest.mark.parametrize("layout, message", [
    (None, "dataset folder not found"),
    ("empty", "no fake/ folder"),
])
def test_unusable_dataset_is_one_error_line(engines, tmp_path, capsys, layout, message):
    root = tmp_path / "ds"
    if layout == "empty":
        root.mkdir()
    assert main(["evaluate", "--engine", "bright", str(root), "--out", str(tmp_path / "o.csv")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (tmp_path / "o.csv").exists()


def test_unknown_engine_is_rejected_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--engine", "nonesuch", str(tmp_path)])
    assert exc.value.code == 2


def test_mask_lookup_prefers_the_exact_stem_and_reports_ambiguity(tmp_path):
    root = tmp_path / "ds"
    img, mask = _square()
    for name in ("p.png", "q.png"):
        _save(root / "fake" / name, img)
    _save(root / "mask" / "p.png", _mask_img(mask))
    _save(root / "mask" / "p_gt.png", _mask_img(~mask))
    _save(root / "mask" / "q_gt.png", _mask_img(mask))
    _save(root / "mask" / "q_gt.tif", _mask_img(mask))
    items = {i.path.name: i for i in discover(root)}
    assert items["p.png"].mask.name == "p.png" and items["p.png"].problem is None
    assert items["q.png"].mask is None and "ambiguous" in items["q.png"].problem


def test_load_mask_formats(tmp_path):
    m = np.zeros((6, 5), bool)
    m[1:4, 2:4] = True
    _save(tmp_path / "grey.png", _mask_img(m))
    _save(tmp_path / "rgb.jpg", np.repeat(_mask_img(m)[..., None], 3, 2), quality=100)
    Image.fromarray((m * 65535).astype(np.uint16)).save(tmp_path / "deep.png")
    Image.fromarray(m).save(tmp_path / "bits.png")  # mode "1"
    for name in ("grey.png", "rgb.jpg", "deep.png", "bits.png"):
        assert np.array_equal(load_mask(tmp_path / name), m), name


def test_library_api_and_copymove_engine(tmp_path):
    """The real copy-move engine through the library entry point: one forgery, one
    pristine image."""
    from tests.engines.classical.synth_copymove import make_copymove, make_pristine
    from trufor_desk.engines.registry import create_engine

    root = tmp_path / "cm"
    img, mask, _ = make_copymove(256, 256, "translation", seed=1)
    _save(root / "fake" / "cm.png", img)
    _save(root / "mask" / "cm_mask.png", _mask_img(mask))
    _save(root / "real" / "clean.png", make_pristine(256, 256, seed=21))
    seen = []
    report = evaluate_dataset(root, create_engine("copymove"), "copymove",
                              on_row=lambda i, n, row: seen.append((i, n, row.path)))
    assert seen == [(0, 2, "fake/cm.png"), (1, 2, "real/clean.png")]
    s = report.summary()
    assert s["n_images"] == 2 and s["n_errors"] == 0
    assert s["mean_f1_best"] >= 0.5
    assert s["auc"] == 1.0 and s["balanced_accuracy"] == 1.0
    assert s["engine"] == "copymove"
