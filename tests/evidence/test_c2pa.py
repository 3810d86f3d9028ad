"""Content Credentials on evidence: read and validated offline, every state in words.

The signed files are made at test time (``tests/c2pa_fixtures.py``): a throwaway CA and
camera certificate, then c2pa.Builder; the damaged ones are changed after signing.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest

pytest.importorskip("cryptography")
pytest.importorskip("c2pa")

from tests.c2pa_fixtures import CAMERA, GENERATOR, encode, make_authority, manifest, picture, sign  # noqa: E402
from trufor_desk.errors import UserError  # noqa: E402
from trufor_desk.evidence.provenance import (  # noqa: E402
    ABSENCE,
    NO_TRUST_LIST,
    NOT_PROOF,
    C2paRecord,
    c2pa_json,
    c2pa_rows,
    findings,
    headline,
    load_trust_list,
    read_content_credentials,
)
from trufor_desk.evidence.provenance import reader as reader_module  # noqa: E402


def read(path, trust=None) -> C2paRecord:
    return read_content_credentials(path.read_bytes(), load_trust_list(trust) if trust else None)


def codes(rec: C2paRecord, kind: str = "failure") -> set[str]:
    return {s.code for s in rec.status if s.kind == kind}


def test_valid_and_trusted_with_the_signers_ca_in_the_trust_list(c2pa_files):
    rec = read(c2pa_files.valid_jpg, c2pa_files.trust)
    assert rec.state == "valid" and rec.validation_state == "Trusted"
    m = rec.active
    assert m.signer.subject == "O=Test Camera Works, CN=Test Camera 7"
    assert m.signer.issuer == "O=Test Camera Works, CN=Test Camera 7 Root CA"
    assert len(m.signer.serial) >= 16 and int(m.signer.serial, 16) > 0
    assert m.claim_generator == "TestCam 1.0"
    assert [(a.action, a.software_agent) for a in m.actions] == [("c2pa.created", CAMERA)]
    assert m.actions[0].source_type_words.startswith("captured from real life")
    assert m.signing_time == ""  # no time-stamping authority: said so, not invented
    assert "signingCredential.trusted" in codes(rec, "success")
    assert rec.trust["configured"] and rec.trust["certificates"] == 1
    assert rec.trust["sha256"] == __import__("hashlib").sha256(c2pa_files.trust.read_bytes()).hexdigest()
    assert rec.sdk["c2pa_python"] and rec.sdk["c2pa_rs"]
    assert headline(rec).startswith("valid, signer trusted; signed by Test Camera 7")
    rows = dict(c2pa_rows(rec))
    assert rows["Note"] == NOT_PROOF  # a valid signature is never called proof of authenticity
    assert "not time-stamped" in rows["Active manifest: signing time"]
    assert findings(rec) == []


def test_valid_but_untrusted_without_a_trust_list_and_with_an_unrelated_one(c2pa_files):
    rec = read(c2pa_files.valid_jpg)
    assert rec.state == "untrusted" and rec.state_words == "valid signature, signer not trusted"
    assert codes(rec) == {"signingCredential.untrusted"}
    assert not rec.trust["configured"] and NO_TRUST_LIST in rec.notes
    assert NO_TRUST_LIST in [v for k, v in c2pa_rows(rec) if k == "Note"]
    other = read(c2pa_files.valid_jpg, c2pa_files.other_trust)
    assert other.state == "untrusted" and other.trust["configured"]
    assert NO_TRUST_LIST not in other.notes


@pytest.mark.parametrize("name", ["valid_png", "valid_tiff", "valid_webp"])
def test_other_formats_are_read(c2pa_files, name):
    rec = read(getattr(c2pa_files, name), c2pa_files.trust)
    assert rec.state == "valid", headline(rec)


def test_a_pixel_changed_after_signing_is_invalid_in_words(c2pa_files):
    rec = read(c2pa_files.tampered_pixels, c2pa_files.trust)
    assert rec.state == "invalid"
    assert "assertion.dataHash.mismatch" in codes(rec)
    assert "the pixels changed after signing" in headline(rec)
    assert findings(rec)[0].startswith("Content Credentials INVALID: the pixels changed after signing")
    assert NOT_PROOF not in dict(c2pa_rows(rec)).values()


def test_a_byte_changed_inside_the_manifest_is_invalid(c2pa_files):
    rec = read(c2pa_files.tampered_manifest, c2pa_files.trust)
    assert rec.state == "invalid"
    assert "assertion.hashedURI.mismatch" in codes(rec)
    assert "an assertion in the manifest was changed after signing" in findings(rec)[0]


def test_ai_generation_is_said_plainly(c2pa_files):
    rec = read(c2pa_files.ai_png)
    assert rec.ai_declared and rec.state == "untrusted"
    (line,) = findings(rec)
    assert "AI generation declared" in line and GENERATOR in line and "generative AI" in line
    assert "AI GENERATION DECLARED" in headline(rec)


def test_the_ingredient_chain_carries_an_earlier_ai_generation(c2pa_files):
    rec = read(c2pa_files.chain_jpg, c2pa_files.trust)
    assert rec.state == "valid"
    assert [m.depth for m in rec.chain] == [0, 1]
    assert [a.action for a in rec.chain[0].actions] == ["c2pa.opened", "c2pa.cropped"]
    assert rec.chain[0].ingredients[0].manifest == rec.chain[1].label
    assert not rec.chain[0].ai_declared and rec.chain[1].ai_declared
    assert "ingredient dream.png declares AI generation" in findings(rec)[0]


def test_no_manifest(c2pa_files):
    rec = read(c2pa_files.none_jpg)
    assert rec.state == "none" and not rec.chain and findings(rec) == []
    assert ABSENCE in [v for k, v in c2pa_rows(rec) if k == "Note"]  # absence proves nothing


def test_a_truncated_manifest_is_one_clear_line(c2pa_files):
    rec = read(c2pa_files.truncated)
    assert rec.state == "unreadable"
    assert "\n" not in rec.message and "Traceback" not in rec.message
    assert rec.message.startswith("the C2PA manifest is present but cannot be read (truncated or corrupt)")
    assert findings(rec) == [f"Content Credentials present but unreadable: {rec.message}"]


def test_garbage_is_not_an_error():
    rec = read_content_credentials(b"not an image at all" * 10)
    assert rec.state in ("none", "unreadable") and "\n" not in rec.message


def test_the_record_round_trips_through_json(c2pa_files):
    rec = read(c2pa_files.chain_jpg, c2pa_files.trust)
    d = json.loads(json.dumps(c2pa_json(rec)))
    assert d["state"] == "valid" and d["ai_declared"] and d["findings"] and d["trust"]["sha256"]
    again = C2paRecord.from_dict(d)
    assert again.to_dict() == rec.to_dict()


def test_reading_never_writes_the_evidence(c2pa_files):
    before = c2pa_files.valid_jpg.read_bytes()
    mtime = c2pa_files.valid_jpg.stat().st_mtime_ns
    read(c2pa_files.valid_jpg, c2pa_files.trust)
    assert c2pa_files.valid_jpg.read_bytes() == before and c2pa_files.valid_jpg.stat().st_mtime_ns == mtime


def test_bad_trust_lists_are_one_line(tmp_path):
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificates here\n")
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    for path, words in ((empty, "no PEM certificates"), (broken, "cannot be parsed"),
                        (tmp_path / "absent.pem", "file not found")):
        with pytest.raises(UserError, match=words) as info:
            load_trust_list(path)
        assert "\n" not in str(info.value)


def test_without_the_library_the_state_is_unavailable(monkeypatch, c2pa_files):
    monkeypatch.setattr(reader_module, "_c2pa_module", None)
    monkeypatch.setattr(reader_module, "_c2pa_error", "the C2PA native library could not be loaded (test)")
    rec = read(c2pa_files.valid_jpg)
    assert rec.state == "unavailable" and rec.message.startswith("C2PA reading unavailable")
    assert headline(rec).startswith("C2PA reading unavailable")


# -- no network, ever --------------------------------------------------------------------
class _Listener:
    """A local TCP port that counts who connects (the library's native code would show up here)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.hits += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def test_reading_makes_no_network_call(c2pa_files, monkeypatch):
    """Python sockets blocked, and a local port standing in for the OCSP responder and the remote
    manifest's server: neither is contacted (with ``ocsp_fetch`` on, the library does connect to
    the OCSP port, which is what makes this test able to fail)."""
    import c2pa

    listener = _Listener()
    try:
        url = f"http://127.0.0.1:{listener.port}"
        auth = make_authority("Networked Camera", ocsp_url=f"{url}/ocsp")
        with_ocsp = sign(encode(picture(), "JPEG"), "image/jpeg", auth, manifest("a.jpg", "image/jpeg"))
        remote = sign(encode(picture(), "JPEG"), "image/jpeg", auth, manifest("b.jpg", "image/jpeg"),
                      remote_url=f"{url}/manifest.c2pa")

        # the control: with fetching allowed, the library's native code reaches the port
        ctx = c2pa.Context(c2pa.Settings.from_dict({"verify": {"ocsp_fetch": True, "remote_manifest_fetch": False}}))
        c2pa.Reader("image/jpeg", __import__("io").BytesIO(with_ocsp), context=ctx).close()
        ctx.close()
        assert listener.hits > 0
        listener.hits = 0

        def refuse(*a, **k):
            raise AssertionError("network access attempted")

        monkeypatch.setattr(socket, "socket", refuse)
        monkeypatch.setattr(socket, "create_connection", refuse)
        rec = read_content_credentials(with_ocsp, load_trust_list(c2pa_files.trust))
        assert rec.state == "untrusted"  # another CA than the trust list's
        assert "signingCredential.ocsp.skipped" in codes(rec, "informational")
        far = read_content_credentials(remote)
        assert far.state == "not_fetched" and far.remote_url == f"{url}/manifest.c2pa"
        assert "not fetched" in headline(far) and "\n" not in far.message
        monkeypatch.undo()
        import time

        time.sleep(0.3)
        assert listener.hits == 0
    finally:
        monkeypatch.undo()
        listener.close()
