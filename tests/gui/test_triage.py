"""The triage view of a batch folder, driven offscreen with pytest-qt."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from tests.batch.test_batch import make_collection  # noqa: E402
from trufor_desk.batch import read_results, run_batch  # noqa: E402
from trufor_desk.errors import UserError  # noqa: E402

SCORES = {"a.png": 0.9, "b.jpg": 0.2, "c.PNG": 0.6, "nested/a.png": 0.4}
FLAGGED = {"a.png": True, "b.jpg": True, "c.PNG": False, "nested/a.png": False}
# with a calibrated score: a.png indicated; b.jpg inconclusive (region, low score); c.PNG
# inconclusive (high score, no region); nested/a.png no indication
VERDICTS = {"a.png": "indicated", "b.jpg": "inconclusive", "c.PNG": "inconclusive",
            "nested/a.png": "no_indication"}
ORDER = [0.9, 0.6, 0.2, 0.4]  # by verdict, then by score: not the score order
CAL = {"method": "logistic", "set": "test set", "auc": 0.9}


def _name(path) -> str:
    return path.name if path.parent.name != "nested" else f"nested/{path.name}"


@pytest.fixture
def batch_folder(tmp_path, monkeypatch):
    """A real batch folder; the engine's scores and maps are pinned so the verdicts and the
    order are known."""
    import numpy as np

    from trufor_desk.engines.classical.noise import NoiseLevelEngine

    real = NoiseLevelEngine.analyze

    def pinned(self, evidence, *a, **k):
        result = real(self, evidence, *a, **k)
        name = _name(evidence.path)
        result.score = SCORES[name]
        result.score_calibration = CAL
        loc = np.zeros_like(result.localization)
        if FLAGGED[name]:
            loc[:16, :16] = 0.9
        result.localization = loc
        result.reliability = np.ones_like(loc)
        return result

    monkeypatch.setattr(NoiseLevelEngine, "analyze", pinned)
    src = make_collection(tmp_path)
    out = tmp_path / "out"
    run_batch([src], out, engine="noise")
    return out


@pytest.fixture
def view(qtbot):
    from trufor_desk.gui.triage import TriageView

    v = TriageView()
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    yield v
    v.stop_loading(10000)


def test_items_sorted_by_verdict_then_score_with_errors_last(view, batch_folder):
    assert view.open_folder(batch_folder) == 6
    rows = view.visible_rows()
    assert [r["score"] for r in rows[:4]] == ORDER
    assert [r["status"] for r in rows] == ["ok"] * 4 + ["error"] * 2
    assert view.count_label.text() == "6 of 6 shown (2 errors)"


def test_verdicts_are_the_one_verdict_of_each_stored_analysis(view, batch_folder):
    from pathlib import Path

    from PySide6.QtCore import Qt

    from trufor_desk.batch import load_result_npz
    from trufor_desk.render.verdict_colours import COLOUR_HEX
    from trufor_desk.verdict.decision import CATEGORY_LABELS, COLOURS, verdict_for_result

    view.open_folder(batch_folder)
    for i, row in enumerate(view.visible_rows()):
        index = view.proxy.index(i, 0)
        if row["status"] != "ok":
            assert row["verdict"] is None and "error" in index.data(Qt.ItemDataRole.DisplayRole)
            continue
        name = _name(Path(row["path"]))
        assert row["verdict"] == VERDICTS[name] == verdict_for_result(load_result_npz(row["npz"])).category
        assert CATEGORY_LABELS[row["verdict"]] in index.data(Qt.ItemDataRole.DisplayRole)
        assert index.data(Qt.ItemDataRole.ForegroundRole).name() == COLOUR_HEX[COLOURS[row["verdict"]]]


def test_verdict_filter(view, batch_folder):
    view.open_folder(batch_folder)
    view.set_verdict_filter("inconclusive")
    assert [r["score"] for r in view.visible_rows()] == [0.6, 0.2]
    view.set_verdict_filter("indicated")
    assert [r["score"] for r in view.visible_rows()] == [0.9]
    view.set_verdict_filter("all")
    assert len(view.visible_rows()) == 6
    with pytest.raises(ValueError):
        view.set_verdict_filter("guilty")


def test_folder_from_before_the_verdict_column_gets_verdicts_off_the_gui_thread(view, batch_folder, qtbot):
    import csv
    import json

    for name in ("results.jsonl", "results.csv"):  # strip the column, as an older version wrote them
        p = batch_folder / name
        if name.endswith(".jsonl"):
            rows = [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
            p.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "verdict"}) + "\n" for r in rows))
        else:
            with open(p, newline="") as fh:
                rows = list(csv.DictReader(fh))
            with open(p, "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=[k for k in rows[0] if k != "verdict"], extrasaction="ignore")
                w.writeheader()
                w.writerows(rows)
    view.open_folder(batch_folder)
    qtbot.waitUntil(lambda: all(r["verdict"] for r in view.visible_rows() if r["status"] == "ok"), timeout=10000)
    from pathlib import Path

    assert {_name(Path(r["path"])): r["verdict"] for r in view.visible_rows() if r["status"] == "ok"} == VERDICTS


def test_thumbnails_are_made_lazily_off_the_gui_thread_and_cached(view, batch_folder, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPixmap

    view.open_folder(batch_folder)
    assert not view.loader._cache  # nothing decoded before the list asks for it
    first = view.proxy.index(0, 0)
    qtbot.waitUntil(lambda: view.loader.get(first.data(Qt.ItemDataRole.UserRole + 1))[0], timeout=10000)
    pm = first.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(pm, QPixmap) and (pm.width(), pm.height()) == (80, 64)  # small images: not enlarged
    assert first.data(Qt.ItemDataRole.DecorationRole).cacheKey() == pm.cacheKey()  # from the cache
    broken = [view.proxy.index(i, 0) for i in range(view.proxy.rowCount())
              if view.proxy.index(i, 0).data(Qt.ItemDataRole.UserRole + 4) == "error"]
    path = broken[0].data(Qt.ItemDataRole.UserRole + 1)
    qtbot.waitUntil(lambda: view.loader.get(path)[0], timeout=10000)
    assert view.loader.get(path) == (True, None)  # undecodable file: placeholder, not a crash


def test_filters_hide_items(view, batch_folder):
    view.open_folder(batch_folder)
    view.set_score_range(0.5, 1.0)
    assert [r["score"] for r in view.visible_rows()] == [0.9, 0.6]  # rows without a score hide too
    assert view.count_label.text().startswith("2 of 6")
    view.set_score_range(0.3, 0.65)
    assert [r["score"] for r in view.visible_rows()] == [0.6, 0.4]
    view.set_score_range(0.0, 1.0)
    view.set_status_filter("error")
    assert [r["status"] for r in view.visible_rows()] == ["error", "error"]
    view.set_status_filter("ok")
    assert len(view.visible_rows()) == 4
    view.set_status_filter("all")
    assert len(view.visible_rows()) == 6


def test_open_emits_image_and_stored_analysis(view, batch_folder, qtbot):
    from trufor_desk.batch import load_result_npz

    view.open_folder(batch_folder)
    top = view.visible_rows()[0]
    view.select_row(0)
    with qtbot.waitSignal(view.openRequested, timeout=2000) as sig:
        view.open_item_button.click()
    image, npz = sig.args
    assert image == top["path"] and npz == top["npz"]
    assert load_result_npz(npz).score == pytest.approx(top["score"], abs=1e-6)

    view.set_status_filter("error")
    view.select_row(0)
    with qtbot.waitSignal(view.openRequested, timeout=2000) as sig:
        view.open_index(view.list.currentIndex())
    assert sig.args[0] == view.visible_rows()[0]["path"] and sig.args[1] == ""


def test_folder_without_results_is_refused(view, tmp_path):
    with pytest.raises(UserError, match="not a batch output folder"):
        view.open_folder(tmp_path)


def test_csv_only_folder_opens(view, batch_folder):
    (batch_folder / "results.jsonl").unlink()
    assert view.open_folder(batch_folder) == 6
    assert [r["score"] for r in view.visible_rows()[:4]] == ORDER
    assert sorted(r["npz"] or "" for r in view.visible_rows()) == sorted(r["npz"] or ""
                                                                         for r in read_results(batch_folder))


def test_main_window_opens_a_batch_item_with_its_stored_analysis(qtbot, tmp_path, monkeypatch):
    """From the triage view to the window: the stored map is shown, nothing is rerun."""
    from PIL import Image

    from tests.conftest import natural_image
    from trufor_desk.batch.runner import run_batch
    from trufor_desk.engines.classical.ela import ElaEngine
    from trufor_desk.gui.main_window import MainWindow

    monkeypatch.setenv("TRUFOR_DESK_SETTINGS", str(tmp_path / "s.ini"))
    src = tmp_path / "photos"
    src.mkdir()
    Image.fromarray(natural_image(64, 64, seed=3)).save(src / "one.jpg", quality=80)
    run_batch([str(src)], tmp_path / "out", "ela")
    win = MainWindow()
    qtbot.addWidget(win)
    tri = win.open_triage(tmp_path / "out")
    qtbot.addWidget(tri)
    calls = []
    monkeypatch.setattr(ElaEngine, "analyze", lambda *a, **k: calls.append(1))
    from trufor_desk.batch.results import read_results

    row = read_results(tmp_path / "out")[0]
    with qtbot.waitSignal(tri.openRequested, timeout=5000):
        tri.openRequested.emit(row["path"], row["npz"])
    doc = win.documents[-1]
    assert "ela:map" in doc.layers and calls == []
    assert "Stored ela analysis" in win.stage.text()
