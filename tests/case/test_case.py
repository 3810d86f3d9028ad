"""Case files as an examiner relies on them: they round-trip, they notice when evidence or
the log changed, a failed save never costs the previous file, and evidence is never written."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import natural_image
from trufor_desk.case import Case, case_bytes, fixed_clock, load_case, save_case, store, verify_case
from trufor_desk.engines.base import AnalysisResult
from trufor_desk.engines.registry import create_engine
from trufor_desk.errors import UserError
from trufor_desk.evidence import open_evidence

WEIGHTS_SHA = "5e1f" * 16
WHEN = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def fake_trufor(ev, seed=0) -> AnalysisResult:
    """A TruFor-shaped result built by hand (no weights needed)."""
    rng = np.random.default_rng(seed)
    h, w = ev.height, ev.width
    loc = np.zeros((h, w), np.float32)
    loc[h // 4:h // 2, w // 4:w // 2] = 0.9
    rel = np.full((h, w), 0.8, np.float32)
    return AnalysisResult(
        engine="trufor", engine_version="trufor-net1 (trufor-desk test)", localization=loc, reliability=rel,
        score=0.8123456789, extras={"np++": rng.normal(size=(h, w)).astype(np.float32)},
        params={"precision": "fp32", "band_tokens": 4096, "tile": (64, 64)},
        provenance={"image_sha256": ev.sha256, "weights_sha256": WEIGHTS_SHA, "device": "cpu",
                    "torch_version": "2.x", "app_version": "0.1.0", "precision": "fp32", "empty": None},
        timings={"inference_s": 1.25})


@pytest.fixture
def evidence_file(tmp_path) -> Path:
    p = tmp_path / "evidence" / "photo.jpg"
    p.parent.mkdir()
    Image.fromarray(natural_image(72, 96)).save(p, quality=90)
    return p


@pytest.fixture
def case(evidence_file) -> Case:
    ev = open_evidence(evidence_file)
    c = Case("2024-017", "Dana Scully", "Harbour photo", clock=fixed_clock(WHEN))
    ref = c.add_evidence(ev)
    c.add_analysis(ref.id, create_engine("ela").analyze(ev))
    c.add_analysis(ref.id, fake_trufor(ev), thresholds={"localization": 0.4})
    c.add_note("Shadows on the crane look inconsistent.", evidence_id=ref.id)
    c.add_note("Received on USB stick, sealed bag 17.")
    c.add_annotation(ref.id, "crane", "check shadow direction", rect=(10, 5, 30, 20))
    c.add_annotation(ref.id, "boat", polygon=[(50, 40), (80, 42), (70, 60)])
    return c


def test_round_trip_keeps_everything(case, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase")
    back = load_case(path)
    assert back.verification.ok, back.verification.lines()
    assert back.to_json() == case.to_json()
    assert back.head_hash == case.head_hash
    for a, b in zip(case.analyses, back.analyses):
        np.testing.assert_array_equal(a.result.localization, b.result.localization)
        assert a.result.params == b.result.params and a.result.provenance == b.result.provenance
        assert set(a.result.extras) == set(b.result.extras)
    t = back.get_analysis("A2")
    assert t.weights_sha256 == WEIGHTS_SHA and t.device == "cpu" and t.precision == "fp32"
    assert t.thresholds == {"localization": 0.4, "reliability": 0.5}
    assert t.result.timings == {"inference_s": 1.25}
    assert back.annotations[0].rect == (10, 5, 30, 20) and back.annotations[1].polygon[0] == (50.0, 40.0)
    assert back.evidence[0].preview_png == case.evidence[0].preview_png
    # the same case saves to the same bytes (fixed zip timestamps, canonical JSON)
    assert case_bytes(back, path) == path.read_bytes()


def test_analyses_are_plain_npz_with_the_official_keys(case, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        raw = zf.read("analyses/A2.npz")
    assert "case.json" in names and "previews/E1.png" in names
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        assert {"map", "conf", "score", "np++", "imgsize", "prov_weights_sha256"} <= set(npz.files)
        assert str(npz["prov_weights_sha256"]) == WEIGHTS_SHA


def test_modified_evidence_is_flagged(case, evidence_file, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase")
    data = bytearray(evidence_file.read_bytes())
    data[-3] ^= 0xFF
    evidence_file.write_bytes(bytes(data))
    v = load_case(path).verification
    assert v.status_of("E1") == "modified" and not v.ok
    assert v.chain_ok and not v.content_problems


def test_missing_evidence_is_flagged_and_a_moved_file_is_found_beside_the_case(case, evidence_file, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase")
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    evidence_file.rename(moved / evidence_file.name)
    assert load_case(path).verification.status_of("E1") == "missing"
    (moved / evidence_file.name).rename(tmp_path / evidence_file.name)  # now next to the case file
    v = load_case(path).verification
    assert v.status_of("E1") == "ok" and v.evidence[0].found_at == str(tmp_path / evidence_file.name)


def test_interrupted_save_leaves_the_previous_file_intact(case, tmp_path, monkeypatch):
    path = save_case(case, tmp_path / "c.tfcase")
    before = path.read_bytes()
    case.add_note("A later note that will not be saved.")
    real = store._write_member
    calls = {"n": 0}

    def failing(zf, name, data, compress):
        calls["n"] += 1
        if calls["n"] == 3:  # after case.json and a preview, in the middle of the analyses
            raise OSError(28, "No space left on device")
        real(zf, name, data, compress)

    monkeypatch.setattr(store, "_write_member", failing)
    with pytest.raises(UserError, match="previous file"):
        save_case(case, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.tfcase", "evidence"]  # no temp file left

    def crash(zf, name, data, compress):
        raise RuntimeError("power cut")

    monkeypatch.setattr(store, "_write_member", crash)
    with pytest.raises(RuntimeError):
        save_case(case, path)
    assert path.read_bytes() == before
    monkeypatch.setattr(store, "_write_member", real)
    save_case(case, path)
    assert len(load_case(path).notes) == 3


def _rewrite_case_json(path: Path, edit) -> None:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    doc = json.loads(members["case.json"])
    edit(doc)
    members["case.json"] = json.dumps(doc).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)


def test_audit_chain_tampering_is_detected(case, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase")
    assert load_case(path).verify_chain() == []

    _rewrite_case_json(path, lambda d: d["audit"][2].update(actor="Someone Else"))
    v = load_case(path).verification
    assert not v.chain_ok and any("entry 3" in p and "edited" in p for p in v.chain_problems)

    save_case(case, path)
    _rewrite_case_json(path, lambda d: d["audit"].pop(3))
    v = load_case(path).verification
    assert not v.chain_ok and any("removed" in p for p in v.chain_problems)


def test_edited_items_are_detected_against_the_log(case, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase")
    _rewrite_case_json(path, lambda d: d["notes"][0].update(text="Nothing odd here."))
    v = load_case(path).verification
    assert v.chain_ok and any("note N1" in p for p in v.content_problems) and not v.ok

    save_case(case, path)
    _rewrite_case_json(path, lambda d: d["analyses"][1].update(score=0.01))
    v = load_case(path).verification
    assert any("analysis A2" in p for p in v.content_problems)

    save_case(case, path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    with np.load(io.BytesIO(members["analyses/A1.npz"]), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["map"] = np.zeros_like(arrays["map"])
    members["analyses/A1.npz"] = store.npz_bytes(arrays)
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    v = load_case(path).verification
    assert any("analysis A1" in p and "arrays" in p for p in v.content_problems)

    save_case(case, path)
    _rewrite_case_json(path, lambda d: d["annotations"].pop())
    v = load_case(path).verification
    assert any("annotation R2" in p and "no longer" in p for p in v.content_problems)


def test_evidence_bytes_are_identical_before_and_after_every_operation(evidence_file, tmp_path):
    from trufor_desk.report import render_report

    before = evidence_file.read_bytes()
    mtime = evidence_file.stat().st_mtime_ns
    ev = open_evidence(evidence_file)
    c = Case("X", "Examiner")
    ref = c.add_evidence(ev)
    c.add_analysis(ref.id, create_engine("ela").analyze(ev))
    path = save_case(c, tmp_path / "c.tfcase")
    back = load_case(path)
    verify_case(back, path)
    render_report(back)
    assert evidence_file.read_bytes() == before and evidence_file.stat().st_mtime_ns == mtime
    with pytest.raises(UserError, match="evidence"):
        save_case(c, evidence_file)  # never over the evidence
    assert evidence_file.read_bytes() == before


def test_changes_are_validated(case, tmp_path):
    ref = case.evidence[0]
    other = tmp_path / "other.png"
    Image.fromarray(natural_image(72, 96, seed=5)).save(other)
    wrong = create_engine("ela").analyze(open_evidence(other))
    with pytest.raises(UserError, match="another file"):
        case.add_analysis(ref.id, wrong)
    with pytest.raises(UserError, match="outside"):
        case.add_annotation(ref.id, "x", rect=(90, 70, 20, 20))
    with pytest.raises(UserError):
        case.add_annotation(ref.id, "x")
    with pytest.raises(UserError, match="no evidence"):
        case.add_note("about nothing", evidence_id="E9")
    n = len(case.audit)
    assert case.add_evidence(open_evidence(case.evidence[0].path)) is ref  # same bytes: same item
    assert len(case.audit) == n and case.verify_chain() == []


def test_damaged_or_foreign_files_give_one_line(tmp_path):
    p = tmp_path / "x.tfcase"
    p.write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a TruFor Desk case"):
        load_case(p)
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("case.json", "{broken")
    with pytest.raises(UserError, match="damaged"):
        load_case(p)
    with pytest.raises(UserError, match="not found"):
        load_case(tmp_path / "nope.tfcase")
