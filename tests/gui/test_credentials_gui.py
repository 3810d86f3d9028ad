"""Content Credentials in the window: a section of the metadata panel, a line of its own beside
the verdict, a trust list chosen in the settings, and the same record kept by a saved case."""

from __future__ import annotations

import pytest

pytest.importorskip("cryptography")
pytest.importorskip("c2pa")

from tests.c2pa_fixtures import GENERATOR  # noqa: E402
from trufor_desk.gui import credentials  # noqa: E402
from trufor_desk.gui import settings as st


def section(win) -> dict[str, str]:
    panel = win.metadata_panel
    for i in range(panel.topLevelItemCount()):
        top = panel.topLevelItem(i)
        if top.text(0) == "Content Credentials":
            assert top.isExpanded()
            return {top.child(j).text(0): top.child(j).text(1) for j in range(top.childCount())}
    raise AssertionError("no Content Credentials section")


def test_ai_declaration_shows_in_the_panel_and_beside_the_verdict(window, c2pa_files):
    doc = window.open_path(c2pa_files.ai_png)
    rows = section(window)
    assert rows["State"].startswith("valid signature, signer not trusted") and "AI GENERATION DECLARED" in rows["State"]
    assert rows["Trust list"] == "none configured"
    assert GENERATOR in rows["Active manifest: action 1"] and "generative AI" in rows["Active manifest: action 1"]
    label = window.score_panel.credentials
    assert label.isVisible() and "Finding: AI generation declared" in label.text()
    assert "No analysis yet" in window.score_panel.verdict.text()  # beside the verdict, not in its place
    assert doc.c2pa.ai_declared


def test_the_trust_list_setting_rereads_open_images(window, c2pa_files, tmp_path):
    window.open_path(c2pa_files.valid_jpg)
    assert section(window)["State"].startswith("valid signature, signer not trusted")
    assert credentials.set_trust_file(window, str(c2pa_files.trust))
    assert st.c2pa_trust_file(window.settings) == str(c2pa_files.trust)
    rows = section(window)
    assert rows["State"].startswith("valid, signer trusted")
    assert "does not show the content is true" in window.score_panel.credentials.toolTip()
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    assert not credentials.set_trust_file(window, str(bad))
    assert "no PEM certificates" in window.last_error.text()
    assert st.c2pa_trust_file(window.settings) == str(c2pa_files.trust)  # unchanged


def test_a_saved_case_keeps_the_record_the_window_shows(window, c2pa_files, monkeypatch):
    monkeypatch.setattr(window.cases, "ask_text", lambda *a, **k: "Dana")
    doc = window.open_path(c2pa_files.tampered_pixels)
    assert "Finding: Content Credentials INVALID: the pixels changed after signing" in \
        window.score_panel.credentials.text()
    assert window.cases.sync()
    ref = window.cases.case.find_evidence(doc.evidence.sha256)
    assert ref.c2pa == doc.c2pa.to_dict() and ref.c2pa["state"] == "invalid"
