"""Signed cases from the window: a setting names the certificate, each save asks its password
(never stored), opening says who signed and when, and every certificate problem is a dialog."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

pytest.importorskip("cryptography")

from tests.case.test_case_signing import forge  # noqa: E402
from tests.certificates import make_p12  # noqa: E402

SUBJECT = "CN=Dana Scully,O=Test Forensics Lab"


@pytest.fixture
def prompts(window, monkeypatch):
    """Scripted replies: examiner names (ask_text) and passwords (ask_password), in order."""
    texts: list[str] = []
    passwords: list[str | None] = []
    asked: list[str] = []
    monkeypatch.setattr(window.cases, "ask_text", lambda *a, **k: texts.pop(0) if texts else None)

    def password(title, label):
        asked.append(label)
        return passwords.pop(0) if passwords else None

    monkeypatch.setattr(window.cases, "ask_password", password)
    return texts, passwords, asked


@pytest.fixture
def examiner(tmp_path):
    return make_p12(tmp_path)


def second_window(qtbot):
    from trufor_desk.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    return w


def test_signing_setting_save_and_reopen(qtbot, window, image_file, prompts, examiner, tmp_path, isolated):
    texts, passwords, asked = prompts
    window.open_path(image_file("evidence.png", h=48, w=64))
    assert window.cases.set_signing(True, str(examiner.p12))
    assert window.act_sign_cases.isChecked() and str(examiner.p12) in window.act_sign_cases.toolTip()
    texts.append("Dana Scully")
    passwords.append(examiner.password)
    path = tmp_path / "signed.tfcase"
    assert window.cases.save(str(path))
    assert asked and "examiner.p12" in asked[0] and "not stored" in asked[0]
    assert window.stage.text().startswith(f"Case saved and signed by {SUBJECT}")
    window.save_settings()
    stored = (isolated / "settings.ini").read_text()
    assert str(examiner.p12) in stored and examiner.password not in stored  # the path, never the password

    w2 = second_window(qtbot)
    assert w2.act_sign_cases.isChecked()  # the setting persists
    assert w2.cases.open(str(path))
    assert w2.last_error is None
    text = w2.stage.text()
    assert f"signature: signed by {SUBJECT} at " in text
    assert "signature valid; signer's certificate not checked against a trust list" in text

    window.cases.set_signing(False)
    assert not window.act_sign_cases.isChecked()
    window.cases.case.add_note("after signing")
    assert window.cases.save(str(path))
    assert len(asked) == 1  # no password asked when signing is off


def test_an_unsigned_case_opens_and_says_unsigned(qtbot, window, image_file, prompts, tmp_path):
    texts, _, _ = prompts
    window.open_path(image_file("evidence.png", h=48, w=64))
    texts.append("Dana Scully")
    path = tmp_path / "plain.tfcase"
    assert window.cases.save(str(path))
    w2 = second_window(qtbot)
    assert w2.cases.open(str(path)) and w2.last_error is None
    assert w2.stage.text().endswith("signature: unsigned")


def test_a_truncated_signed_case_is_reported_in_a_dialog(qtbot, window, image_file, prompts, examiner, tmp_path):
    texts, passwords, _ = prompts
    window.open_path(image_file("evidence.png", h=48, w=64))
    window.cases.set_signing(True, str(examiner.p12))
    texts.append("Dana Scully")
    passwords.append(examiner.password)
    path = tmp_path / "signed.tfcase"
    assert window.cases.save(str(path))
    forged = forge(path, lambda c: (c.evidence.pop(), c.audit.pop()))  # the evidence and its entry removed
    w2 = second_window(qtbot)
    w2.cases.open(str(forged))
    box = w2.last_error
    assert box is not None and box.windowTitle() == "Case opened with problems"
    assert "The case was changed after it was signed." in box.text()
    assert "the audit log was truncated" in box.detailedText()
    box.close()


def test_a_wrong_password_is_a_dialog_and_saves_nothing(qtbot, window, image_file, prompts, examiner, tmp_path):
    texts, passwords, _ = prompts
    window.open_path(image_file("evidence.png", h=48, w=64))
    window.cases.set_signing(True, str(examiner.p12))
    texts.append("Dana Scully")
    passwords.append("not it")
    path = tmp_path / "c.tfcase"
    assert not window.cases.save(str(path))
    box = window.last_error
    assert box.windowTitle() == "Cannot sign the case"
    assert box.text().startswith("The case was not saved: ") and "wrong password" in box.text()
    assert "\n" not in box.text() and not path.exists()
    box.close()
    window.last_error = None
    assert not window.cases.save(str(path))  # password dialog cancelled
    assert window.last_error is None and "signing was cancelled" in window.stage.text() and not path.exists()


def test_an_expired_certificate_is_a_dialog(qtbot, window, image_file, prompts, tmp_path):
    texts, passwords, _ = prompts
    now = datetime.now(timezone.utc)
    old = make_p12(tmp_path, valid_from=now - timedelta(days=90), valid_to=now - timedelta(days=1), name="old.p12")
    window.open_path(image_file("evidence.png", h=48, w=64))
    window.cases.set_signing(True, str(old.p12))
    texts.append("Dana Scully")
    passwords.append(old.password)
    assert not window.cases.save(str(tmp_path / "c.tfcase"))
    assert window.last_error.windowTitle() == "Cannot sign the case" and "expired on" in window.last_error.text()
    window.last_error.close()


def test_choosing_no_certificate_leaves_signing_off(window, monkeypatch):
    monkeypatch.setattr(window.cases, "ask_path", lambda *a, **k: None)
    window.act_sign_cases.trigger()  # the menu action: asks for the file, cancelled
    assert not window.act_sign_cases.isChecked()


def test_export_view_with_content_credentials(qtbot, window, image_file, prompts, examiner, tmp_path):
    pytest.importorskip("c2pa")
    from trufor_desk.report.view_credentials import EVIDENCE_ASSERTION, read_manifest

    _, passwords, _ = prompts
    doc = window.open_path(image_file("evidence.png", h=48, w=64))
    plain = tmp_path / "plain.png"
    assert window.export_view(str(plain))  # off by default: a plain PNG
    window.cases.set_signing(True, str(examiner.p12))
    window.act_view_credentials.trigger()
    assert window.act_view_credentials.isChecked()
    passwords.append(examiner.password)
    out = tmp_path / "view.png"
    assert window.export_view(str(out)), window.last_error and window.last_error.text()
    store = read_manifest(out.read_bytes())
    m = store["manifests"][store["active_manifest"]]
    labels = {a["label"]: a["data"] for a in m["assertions"]}
    assert [a["action"] for a in labels["c2pa.actions.v2"]["actions"]] == ["c2pa.opened", "c2pa.edited"]
    assert labels[EVIDENCE_ASSERTION]["sha256"] == doc.evidence.sha256
    assert f"with Content Credentials signed by {SUBJECT}" in window.status_message.toolTip()
    passwords.append("wrong")
    assert not window.export_view(str(tmp_path / "v2.png"))
    assert window.last_error.windowTitle() == "Cannot sign the exported view"
    assert window.last_error.text().startswith("The view was not exported: ")
    assert not (tmp_path / "v2.png").exists()
    window.last_error.close()
