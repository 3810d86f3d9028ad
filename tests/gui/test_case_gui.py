"""Case work from the window: notes, annotations, save, reopen with verification, report."""

from __future__ import annotations

import pytest

from tests.gui.conftest import wait_done


@pytest.fixture
def answers(window, monkeypatch):
    """Scripted replies to the window's text prompts, in order."""
    replies: list[str] = []
    monkeypatch.setattr(window.cases, "ask_text", lambda *a, **k: replies.pop(0) if replies else None)
    return replies


def analysed(qtbot, window, image_file, engine="ela"):
    doc = window.open_path(image_file("evidence.png", h=96, w=128))
    window.engine_combo.setCurrentText(engine)
    window.jobs.analyze()
    wait_done(qtbot, window)
    return doc


def test_save_and_reopen_a_case_shows_stored_analyses(qtbot, window, image_file, answers, tmp_path):
    doc = analysed(qtbot, window, image_file)
    answers += ["A. Examiner", "Compression looks uneven near the left edge."]
    assert window.cases.add_note()
    window.viewer.set_selection(10, 12, 40, 30)
    answers += ["suspicious patch", "edges too sharp"]
    assert window.cases.annotate_selection()
    assert len(window.viewer.annotation_items) == 2
    path = tmp_path / "my.tfcase"
    assert window.cases.save(str(path))
    case = window.cases.case
    assert case.examiner == "A. Examiner" and case.verify_chain() == []
    assert [a.engine for a in case.analyses] == ["ela"]
    assert case.notes[0].text.startswith("Compression") and case.annotations[0].rect == (10, 12, 40, 30)

    from trufor_desk.gui.main_window import MainWindow

    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert w2.cases.open(str(path))
    assert w2.last_error is None  # verified without problems
    assert "verified" in w2.stage.text()
    reopened = w2.documents[0]
    assert reopened.evidence.sha256 == doc.evidence.sha256
    assert "ela:map" in reopened.layers and "ela:map" in w2.viewer.layers  # shown without recomputing
    assert set(w2.layers_panel.rows) == set(reopened.layers) and w2.score_panel.verdict.text().startswith("ela")
    assert len(w2.viewer.annotation_items) == 2


def test_changed_evidence_is_reported_when_the_case_is_opened(qtbot, window, image_file, answers, tmp_path):
    analysed(qtbot, window, image_file)
    answers += ["Examiner"]
    path = tmp_path / "c.tfcase"
    assert window.cases.save(str(path))
    evidence = window.documents[0].evidence.path
    evidence.write_bytes(evidence.read_bytes() + b"tampered")

    from trufor_desk.gui.main_window import MainWindow

    w2 = MainWindow()
    qtbot.addWidget(w2)
    w2.cases.open(str(path))
    assert w2.last_error is not None and "modified" in w2.last_error.detailedText()
    assert w2.documents == []  # a changed file is not silently shown as the evidence
    w2.last_error.close()


def test_export_report_from_the_window(qtbot, window, image_file, answers, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    doc = analysed(qtbot, window, image_file)
    answers += ["R. Reporter"]
    out = tmp_path / "report.pdf"
    assert window.cases.export_report(str(out))
    text = "".join(page.extract_text() for page in pypdf.PdfReader(str(out)).pages)
    compact = text.replace("\n", "").replace(" ", "")
    assert doc.evidence.sha256 in compact and "R.Reporter" in compact and "ela" in text
