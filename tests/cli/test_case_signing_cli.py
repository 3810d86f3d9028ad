"""``--sign CERT.p12`` on the case commands: signed cases say who signed them, a changed one
makes ``case verify`` exit 2 with the change in words, and every certificate problem is one
``error:`` line (never a traceback)."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("cryptography")

from tests.case.test_case_signing import forge  # noqa: E402
from tests.certificates import make_p12  # noqa: E402
from tests.conftest import natural_image  # noqa: E402
from trufor_desk.case import load_case  # noqa: E402
from trufor_desk.cli import main  # noqa: E402

SUBJECT = "CN=Dana Scully,O=Test Forensics Lab"


@pytest.fixture(scope="module")
def examiner(tmp_path_factory):
    return make_p12(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def signing(examiner, monkeypatch):
    monkeypatch.setenv("EXAMINER_PW", examiner.password)
    return ["--sign", str(examiner.p12), "--sign-password-env", "EXAMINER_PW"]


@pytest.fixture
def image(tmp_path) -> Path:
    p = tmp_path / "photo.png"
    Image.fromarray(natural_image(40, 56, seed=3)).save(p)
    return p


def one_error(capsys, *words) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    for w in words:
        assert w in err[0], err[0]
    return err[0]


def test_signed_case_commands_and_verify(tmp_path, image, signing, capsys):
    c = tmp_path / "c.tfcase"
    assert main(["case", "new", str(c), "--examiner", "Dana Scully", *signing]) == 0
    assert f"signed by {SUBJECT}" in capsys.readouterr().out
    assert main(["case", "add", str(c), str(image), "--no-analyze", *signing]) == 0
    assert main(["case", "note", str(c), "seen on the USB stick", *signing]) == 0
    capsys.readouterr()
    assert main(["case", "verify", str(c)]) == 0
    out = capsys.readouterr().out
    assert f"signature: signed by {SUBJECT} at " in out
    assert "signature valid; signer's certificate not checked against a trust list" in out
    assert "verified: all checks passed" in out
    assert main(["case", "show", str(c)]) == 0
    assert f"  signature: signed by {SUBJECT}" in capsys.readouterr().out
    assert main(["case", "show", str(c), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["signature"]["state"] == "valid" and doc["signature"]["subject"] == SUBJECT
    assert doc["signature"]["trust"] == "not checked against a trust list" and doc["problems"] == []


def test_a_truncated_signed_case_fails_verify_and_cannot_be_changed(tmp_path, image, signing, capsys):
    c = tmp_path / "c.tfcase"
    assert main(["case", "new", str(c), "--examiner", "Dana Scully", *signing]) == 0
    assert main(["case", "add", str(c), str(image), "--no-analyze", *signing]) == 0
    assert main(["case", "note", str(c), "a note that will be cut off", *signing]) == 0
    forged = forge(c, lambda case: (case.audit.pop(), case.notes.pop()))
    capsys.readouterr()
    assert main(["case", "verify", str(forged)]) == 2
    out = capsys.readouterr().out
    assert "the case was changed after it was signed" in out
    assert "the audit log was truncated: 3 entries were signed, 2 remain (the last 1 removed)" in out
    assert "NOT VERIFIED" in out
    assert main(["case", "show", str(forged), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert not doc["ok"] and doc["signature"]["state"] == "invalid"
    assert any(p.startswith("signature: signed by") for p in doc["problems"])
    assert main(["case", "note", str(forged), "more", *signing]) == 1
    one_error(capsys, "fails its integrity checks", "changed after it was signed", "refusing to change it")


def test_saving_a_signed_case_without_sign_warns_and_saves_unsigned(tmp_path, signing, capsys):
    c = tmp_path / "c.tfcase"
    assert main(["case", "new", str(c), "--examiner", "Dana Scully", *signing]) == 0
    capsys.readouterr()
    assert main(["case", "note", str(c), "unsigned addition"]) == 0
    err = capsys.readouterr().err
    assert f"warning: {c}: the case was signed by {SUBJECT}; it is saved unsigned now" in err
    v = load_case(c).verification
    assert v.ok and v.signature.state == "unsigned"
    assert main(["case", "verify", str(c)]) == 0
    assert "signature: unsigned" in capsys.readouterr().out


def test_an_unsigned_case_says_unsigned(tmp_path, capsys):
    c = tmp_path / "c.tfcase"
    assert main(["case", "new", str(c), "--examiner", "Dana Scully"]) == 0
    assert main(["case", "show", str(c)]) == 0
    assert "  signature: unsigned" in capsys.readouterr().out
    with zipfile.ZipFile(c) as zf:
        assert zf.namelist() == ["case.json"]


def test_a_wrong_password_is_one_line_and_changes_nothing(tmp_path, examiner, signing, monkeypatch, capsys):
    c = tmp_path / "c.tfcase"
    assert main(["case", "new", str(c), "--examiner", "Dana Scully", *signing]) == 0
    before = c.read_bytes()
    capsys.readouterr()
    monkeypatch.setenv("EXAMINER_PW", "guess")
    assert main(["case", "note", str(c), "x", *signing]) == 1
    one_error(capsys, str(examiner.p12), "wrong password")
    assert c.read_bytes() == before
    assert main(["case", "new", str(tmp_path / "d.tfcase"), "--examiner", "X", *signing]) == 1
    one_error(capsys, "wrong password")
    assert not (tmp_path / "d.tfcase").exists()
    monkeypatch.delenv("EXAMINER_PW")
    assert main(["case", "note", str(c), "x", *signing]) == 1
    one_error(capsys, "--sign-password-env EXAMINER_PW: that environment variable is not set")
    assert main(["case", "note", str(c), "x", "--sign-password-env", "EXAMINER_PW"]) == 1
    one_error(capsys, "--sign-password-env needs --sign P12")


def test_an_expired_certificate_and_a_non_pkcs12_file_are_one_line(tmp_path, monkeypatch, capsys):
    now = datetime.now(timezone.utc)
    old = make_p12(tmp_path, valid_from=now - timedelta(days=100), valid_to=now - timedelta(days=2), name="old.p12")
    monkeypatch.setenv("PW", old.password)
    c = tmp_path / "c.tfcase"
    assert main(["case", "new", str(c), "--examiner", "X", "--sign", str(old.p12), "--sign-password-env", "PW"]) == 1
    one_error(capsys, "expired on", "refusing to sign")
    pem = tmp_path / "cert.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    assert main(["case", "new", str(c), "--examiner", "X", "--sign", str(pem)]) == 1
    one_error(capsys, "not a PKCS#12 certificate file")
    assert not c.exists()


def test_report_with_case_signs_the_case_too(tmp_path, image, signing, capsys):
    pytest.importorskip("pyhanko", reason="pyHanko not installed (optional)")
    c, out = tmp_path / "implicit.tfcase", tmp_path / "r.pdf"
    assert main(["report", str(image), "--out", str(out), "--engine", "ela", "--case", str(c), *signing]) == 0
    assert "case saved and signed" in capsys.readouterr().out
    v = load_case(c).verification
    assert v.ok and v.signature.state == "valid" and v.signature.subject == SUBJECT
