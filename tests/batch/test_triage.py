"""``batch --triage``: the fast pass on every image, the full analysis exactly where selected, resume."""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.batch.test_batch import read_csv
from tests.conftest import natural_image
from trufor_desk.batch import read_results, run_batch
from trufor_desk.batch.results import FULL_ANALYSIS, TRIAGE_ANALYSIS
from trufor_desk.batch.triage import FAST_PARAMS, HIGH_POINT, select_for_full
from trufor_desk.engines.classical.calibration import PRIOR_FAKE

H, W = 192, 256


def _jpeg_pixels(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.array(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """splice.jpg: saved at 60, a region pasted from another photo, saved at 90 (the fast pass
    says "indicated"); twice.jpg: saved at 60 then 90, nothing pasted (fast: a high score but no
    region, inconclusive); single1-3.jpg: saved once (fast: inconclusive, lower scores);
    flat.png: never compressed (no fast score)."""
    return make_triage_images(tmp_path_factory.mktemp("triage") / "in")


def make_triage_images(src: Path, singles: tuple[int, ...] = (1, 2, 3)) -> Path:
    src.mkdir(parents=True)
    spliced = _jpeg_pixels(natural_image(H, W, 2), 60)
    spliced[48:144, 64:192] = natural_image(H, W, 52)[48:144, 64:192]
    Image.fromarray(spliced).save(src / "splice.jpg", "JPEG", quality=90)
    Image.fromarray(_jpeg_pixels(natural_image(H, W, 1), 60)).save(src / "twice.jpg", "JPEG", quality=90)
    for seed in singles:
        Image.fromarray(natural_image(H, W, 10 + seed)).save(src / f"single{seed}.jpg", "JPEG", quality=90)
    Image.fromarray(natural_image(H, W, 7)).save(src / "flat.png")
    return src


@pytest.fixture
def calls(monkeypatch):
    """Every FusionEngine.analyze call: (file name, "fast" or "full")."""
    from trufor_desk.engines.classical.fusion import FusionEngine

    seen: list[tuple[str, str]] = []
    real = FusionEngine.analyze

    def counting(self, evidence, params=None, *a, **k):
        seen.append((Path(evidence.path).name, "fast" if params == FAST_PARAMS else "full"))
        assert params in (None, FAST_PARAMS)
        return real(self, evidence, params, *a, **k)

    monkeypatch.setattr(FusionEngine, "analyze", counting)
    return seen


def _by_name(out: Path) -> dict[str, dict]:
    return {Path(r["path"]).name: r for r in read_csv(out)[1]}


def _expected_full(rows: dict[str, dict], top: float, promote: tuple[str, ...]) -> set[str]:
    """The selection rule written out from the CSV alone."""
    scored = sorted(((float(r["triage_score"]), n) for n, r in rows.items() if r["triage_score"]),
                    key=lambda t: -t[0])
    k = math.ceil(top * len(scored))
    return ({n for n, r in rows.items() if not r["triage_score"] or r["triage_verdict"] in promote}
            | {n for _, n in scored[:k]})


def test_full_analysis_runs_exactly_for_the_selected_images(images, tmp_path, calls):
    out = tmp_path / "out"
    summary = run_batch([images], out, triage=True, triage_top=0.4, triage_promote=("indicated",))
    assert (summary.total, summary.ok, summary.errors, summary.skipped) == (6, 6, 0, 0)
    header, _ = read_csv(out)
    assert header[-3:] == ["analysis", "triage_score", "triage_verdict"]
    rows = _by_name(out)
    # the fast readings the selection rests on
    assert rows["splice.jpg"]["triage_verdict"] == "indicated"
    assert rows["flat.png"]["triage_score"] == ""  # nothing cheap applies: full analysis
    assert {r["triage_verdict"] for n, r in rows.items() if n.startswith("single")} == {"inconclusive"}
    expected = _expected_full(rows, 0.4, ("indicated",))
    assert expected == {"splice.jpg", "flat.png", "twice.jpg"}  # twice.jpg by its rank only (2 of 5 scored)
    assert (summary.triage.by_verdict, summary.triage.by_rank, summary.triage.top) == (2, 1, 2)
    # every image had the fast pass once; the full analysis ran exactly for the selected ones
    assert sorted(n for n, kind in calls if kind == "fast") == sorted(rows)
    assert sorted(n for n, kind in calls if kind == "full") == sorted(expected)
    for name, r in rows.items():
        full = name in expected
        assert r["analysis"] == (FULL_ANALYSIS if full else TRIAGE_ANALYSIS)
        assert r["engine"] == "fusion" and r["status"] == "ok"
        params = json.loads(r["params"])
        assert (params["copymove"], params["noise_cap"]) == ((True, 0.5) if full else (False, 0.0))
        if full and r["triage_score"]:  # both scores where both ran
            assert r["score"] and r["score"] != r["triage_score"]
        elif not full:
            assert r["score"] == r["triage_score"] and r["verdict"] == r["triage_verdict"]
    # one result file per image: the full one where full ran
    stored = {Path(r["path"]).name: r for r in read_results(out)}
    assert len(list(out.glob("*.npz"))) == 6
    for name, r in stored.items():
        with np.load(r["npz"], allow_pickle=False) as z:
            p = json.loads(str(z["params_json"]))
            assert p["copymove"] is (name in expected)
            assert ("copymove" in z.files) is (name in expected)


def test_default_rule_and_a_wider_rule_on_resume_analyse_only_what_is_new(images, tmp_path, calls):
    out = tmp_path / "out"
    run_batch([images], out, triage=True, triage_top=0.2)
    first = _by_name(out)
    # indicated, not applicable, and the photo saved twice whose fast probability is high without a region
    assert {n for n, r in first.items() if r["analysis"] == FULL_ANALYSIS} == {"splice.jpg", "flat.png", "twice.jpg"}
    assert float(first["twice.jpg"]["triage_score"]) >= 0.5 and first["twice.jpg"]["triage_verdict"] == "inconclusive"
    calls.clear()

    again = run_batch([images], out, triage=True, triage_top=0.2)
    assert calls == [] and again.skipped == 6 and again.ok == 6
    assert _by_name(out) == first

    # a wider rule (inconclusive goes on too): no fast pass again, full only for the newly selected
    promoted = run_batch([images], out, triage=True, triage_promote=("indicated", "inconclusive", "not_applicable"))
    rows = _by_name(out)
    assert [kind for _, kind in calls] == ["full"] * 3
    assert sorted(n for n, _ in calls) == ["single1.jpg", "single2.jpg", "single3.jpg"]
    assert all(r["analysis"] == FULL_ANALYSIS for r in rows.values())
    assert promoted.skipped == 3 and promoted.triage.full_analysed == 3 and promoted.triage.fast_analysed == 0
    for name in ("single1.jpg", "twice.jpg"):  # the promoted rows keep their fast reading
        assert rows[name]["triage_score"] == first[name]["triage_score"]
        assert rows[name]["triage_verdict"] == first[name]["triage_verdict"]
    # a plain batch of fusion's defaults finds everything done
    calls.clear()
    plain = run_batch([images], out, engine="fusion")
    assert calls == [] and plain.skipped == 6


def test_interrupted_full_pass_resumes(images, tmp_path, calls):
    out = tmp_path / "out"
    seen = []

    def stop_in_full_pass(p):
        if p.stage == "full" and p.row is not None:
            seen.append(p.path)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch([images], out, triage=True, triage_top=0.4, triage_promote=("indicated",),
                  progress=stop_in_full_pass)
    assert len(seen) == 1 and len(read_csv(out)[1]) == 6  # every fast row, one full row, stored
    calls.clear()
    summary = run_batch([images], out, triage=True, triage_top=0.4, triage_promote=("indicated",))
    assert [kind for _, kind in calls] == ["full", "full"]  # the two still to do, no fast pass again
    assert Path(seen[0]).name not in {n for n, _ in calls}
    rows = _by_name(out)
    assert {n for n, r in rows.items() if r["analysis"] == FULL_ANALYSIS} == {"splice.jpg", "flat.png", "twice.jpg"}
    assert summary.skipped == 4


def test_changed_file_gets_the_fast_pass_again(images, tmp_path, calls):
    src = tmp_path / "in"
    shutil.copytree(images, src)
    out = tmp_path / "out"
    run_batch([src], out, triage=True, triage_top=0.2, triage_promote=("indicated",))
    Image.fromarray(natural_image(H, W, 99)).save(src / "single1.jpg", "JPEG", quality=90)
    calls.clear()
    run_batch([src], out, triage=True, triage_top=0.2, triage_promote=("indicated",))
    assert calls == [("single1.jpg", "fast")]


def test_selection_rule():
    cands = [(0, 0.9, "no_indication"), (1, 0.1, "indicated"), (2, None, "inconclusive"), (3, 0.5, "no_indication"),
             (4, 0.5, "inconclusive"), (5, 0.2, "no_indication")]
    chosen, scored, top = select_for_full(cands, 0.4, ("indicated",))
    assert (scored, top) == (5, 2)
    assert chosen == {1: "verdict", 2: "verdict", 0: "rank", 3: "rank"}  # the tie at 0.5: input order
    assert select_for_full(cands, 0.0, ())[0] == {2: "verdict"}
    assert set(select_for_full(cands, 1.0, ())[0]) == set(range(6))
    # the default rule: an inconclusive reading goes on when its probability is at or above the verdict's
    # decision point, the calibration set's share of manipulated images (a likelihood ratio of at least 1)
    assert HIGH_POINT == max(0.5, PRIOR_FAKE) == 0.6
    chosen, _, _ = select_for_full(cands + [(6, 0.599, "inconclusive"), (7, 0.6, "inconclusive")], 0.0)
    assert chosen == {1: "verdict", 2: "verdict", 7: "verdict"}


def test_cli_triage_and_its_errors(images, tmp_path, capsys):
    from trufor_desk.cli import main

    rc = main(["batch", str(images / "splice.jpg"), str(images / "single1.jpg"), "--out", str(tmp_path / "o"),
               "--triage", "--triage-verdicts", "indicated", "--triage-top", "0"])
    cap = capsys.readouterr()
    assert rc == 0 and cap.err == ""
    assert "triage: 1 of 2 sent to full analysis (1 by fast verdict or no fast score, 0 more" in cap.out
    assert [r["analysis"] for r in read_csv(tmp_path / "o")[1]] == [FULL_ANALYSIS, TRIAGE_ANALYSIS]
    for argv, words in ((["--triage-top", "0.3"], "--triage-top only applies with --triage"),
                        (["--triage", "--triage-top", "1.5"], "--triage-top must be a fraction between 0 and 1"),
                        (["--triage", "--triage-verdicts", "indicated,maybe"], "unknown verdict(s) maybe")):
        rc = main(["batch", str(images / "splice.jpg"), "--out", str(tmp_path / "e"), *argv])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 1 and len(err) == 1 and err[0].startswith("error: ") and words in err[0], err
