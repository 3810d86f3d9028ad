"""Signed case files: a forger who edits a case and recomputes everything the application
could recompute (the hash chain, the item digests, case.json) is still caught, because the
examiner's signature cannot be recomputed without the examiner's key.

Each tampering below first shows that it *does* pass the unsigned checks (the chain and the
content checks see nothing), then that the signature reports it in words.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("cryptography")

from tests.case.test_case import WHEN, fake_trufor  # noqa: E402
from tests.certificates import make_p12  # noqa: E402
from tests.conftest import natural_image  # noqa: E402
from trufor_desk.case import Case, case_bytes, fixed_clock, load_case, load_signing_key, save_case  # noqa: E402
from trufor_desk.case.audit import GENESIS_HASH  # noqa: E402
from trufor_desk.case.canonical import arrays_digest  # noqa: E402
from trufor_desk.case.model import result_from_npz  # noqa: E402
from trufor_desk.case.signature import CHAIN, MEMBERS, NOT_TRUST_CHECKED, SIGNATURE, STATEMENT  # noqa: E402
from trufor_desk.errors import UserError  # noqa: E402
from trufor_desk.evidence import open_evidence  # noqa: E402


@pytest.fixture(scope="module")
def examiner(tmp_path_factory):
    return make_p12(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def signer(examiner):
    return load_signing_key(examiner.p12, examiner.password)


@pytest.fixture
def evidence(tmp_path):
    p = tmp_path / "evidence" / "photo.jpg"
    p.parent.mkdir()
    Image.fromarray(natural_image(48, 64)).save(p, quality=90)
    return open_evidence(p)


@pytest.fixture
def case(evidence) -> Case:
    c = Case("2024-017", "Dana Scully", "Harbour photo", clock=fixed_clock(WHEN))
    ref = c.add_evidence(evidence)
    c.add_analysis(ref.id, fake_trufor(evidence, seed=0))
    c.add_analysis(ref.id, fake_trufor(evidence, seed=1), thresholds={"localization": 0.4})
    c.add_note("Shadows on the crane look inconsistent.", evidence_id=ref.id)
    c.log("report_exported", {"report": "harbour.pdf"})  # a log-only last entry: its removal leaves no trace
    return c


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rechain(case: Case) -> None:
    prev = GENESIS_HASH
    for i, e in enumerate(case.audit):
        e.seq, e.prev_hash = i + 1, prev
        e.hash = e.compute_hash()
        prev = e.hash


def forge(path: Path, mutate, keep_signature: bool = True) -> Path:
    """Rewrite a case the way a forger with this application's code would: change it, recompute
    the chain and every digest, write it with our own writer, put the old signature back."""
    case = load_case(path, verify=False)
    mutate(case)
    rechain(case)
    data = case_bytes(case, path)
    old = members(path)
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as zf:
        if keep_signature:
            for name in MEMBERS:
                zf.writestr(name, old[name])
    out = path.with_name(("forged-" if keep_signature else "forged-unsigned-") + path.name)
    out.write_bytes(buf.getvalue())
    return out


def check_both(path: Path, mutate):
    """The forgery passes every unsigned check; the signature sees it."""
    unsigned = load_case(forge(path, mutate, keep_signature=False)).verification
    assert unsigned.ok and unsigned.signature.state == "unsigned", unsigned.lines()
    v = load_case(forge(path, mutate)).verification
    assert v.chain_ok and not v.content_problems  # the chain and the item digests were recomputed
    assert not v.ok and v.signature.state == "invalid" and v.signature.tampered
    line = v.signature.line()
    assert line.startswith("signed by CN=Dana Scully,O=Test Forensics Lab at ")
    assert "the case was changed after it was signed: " in line
    assert v.lines()[-1] == f"signature: {line}"
    return v.signature


# ---------------------------------------------------------------------------------------
# signed and intact


def test_a_signed_case_opens_as_signed_by_its_examiner(case, signer, examiner, tmp_path):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    path = save_case(case, tmp_path / "c.tfcase", signer=signer)
    v = load_case(path).verification
    assert v.ok and v.signature.state == "valid", v.lines()
    sig = v.signature
    assert sig.subject == examiner.subject == "CN=Dana Scully,O=Test Forensics Lab"
    assert sig.issuer == "CN=Test Forensics Lab CA,O=Test Forensics Lab"
    signed_at = datetime.strptime(sig.signed_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before <= signed_at <= datetime.now(timezone.utc)
    assert sig.line() == f"signed by {examiner.subject} at {sig.signed_at}: {NOT_TRUST_CHECKED}"
    assert "trusted" not in sig.line().replace("trust list", "")  # never claims trust
    assert v.signature_line() == f"signature: {sig.line()}"
    assert not any(ln.startswith("signature:") for ln in v.lines())  # a valid signature is not a problem
    # the signature is the last thing in the zip; the statement names every other member
    m = members(path)
    assert list(m)[-3:] == list(MEMBERS)
    statement = json.loads(m[STATEMENT])
    assert statement["audit_head"] == case.head_hash and statement["audit_entries"] == len(case.audit)
    assert set(statement["members"]) == {"case.json", "previews/E1.png", "analyses/A1.npz", "analyses/A2.npz"}
    assert statement["algorithm"] == "ecdsa-sha256"
    assert m[CHAIN].count(b"BEGIN CERTIFICATE") == 2  # the leaf, then its CA


def test_the_signature_can_be_checked_without_this_application(case, signer, examiner, tmp_path):
    """What docs/ARCHITECTURE.md tells a third party to do, done with cryptography and openssl."""
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    path = save_case(case, tmp_path / "c.tfcase", signer=signer)
    m = members(path)
    leaf = x509.load_pem_x509_certificates(m[CHAIN])[0]
    leaf.public_key().verify(m[SIGNATURE], m[STATEMENT], ec.ECDSA(hashes.SHA256()))  # raises if invalid
    leaf.verify_directly_issued_by(examiner.ca_cert)
    statement = json.loads(m[STATEMENT])
    for name, digest in statement["members"].items():
        assert hashlib.sha256(m[name]).hexdigest() == digest
    if shutil.which("openssl"):
        d = tmp_path / "x"
        d.mkdir()
        for name in MEMBERS:
            (d / Path(name).name).write_bytes(m[name])
        pub = subprocess.run(["openssl", "x509", "-in", d / "chain.pem", "-pubkey", "-noout"], check=True,
                             capture_output=True).stdout
        (d / "pub.pem").write_bytes(pub)
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", d / "pub.pem", "-signature",
                            d / "statement.sig", d / "statement.json"], capture_output=True, text=True)
        assert r.returncode == 0 and "Verified OK" in r.stdout


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_rsa_and_ed25519_keys_sign_too(case, tmp_path, kind):
    ex = make_p12(tmp_path, kind=kind)
    path = save_case(case, tmp_path / "c.tfcase", signer=load_signing_key(ex.p12, ex.password))
    v = load_case(path).verification
    assert v.ok and v.signature.state == "valid", v.lines()
    assert json.loads(members(path)[STATEMENT])["algorithm"] == {"rsa": "rsa-pkcs1v15-sha256",
                                                                 "ed25519": "ed25519"}[kind]


# ---------------------------------------------------------------------------------------
# the three tamperings of the issue, each by a forger who recomputes what can be recomputed


def test_an_edited_and_rechained_entry_is_detected(case, signer, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase", signer=signer)

    def edit(c):
        note = c.notes[0]
        note.text = "Shadows on the crane look consistent."
        entry = next(e for e in c.audit if e.details.get("note_id") == note.id)
        entry.details["digest"] = note.digest()

    sig = check_both(path, edit)
    assert "the audit log was edited" in sig.line()
    assert "the case document (case.json) was edited" in sig.line()


def test_a_dropped_last_entry_is_detected(case, signer, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase", signer=signer)
    sig = check_both(path, lambda c: c.audit.pop())
    n = len(case.audit)
    assert f"the audit log was truncated: {n} entries were signed, {n - 1} remain (the last 1 removed)" in sig.line()


def test_a_swapped_analysis_npz_is_detected(case, signer, evidence, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase", signer=signer)

    def swap(c):
        other = fake_trufor(evidence, seed=7)
        other.localization[:] = 0.0  # "nothing found"
        rec = c.get_analysis("A2")
        rec.result = result_from_npz(other.to_npz_dict())
        rec.arrays_sha256 = arrays_digest(rec.result.to_npz_dict())
        entry = next(e for e in c.audit if e.action == "analysis_added" and e.details["analysis_id"] == "A2")
        entry.details.update(arrays_sha256=rec.arrays_sha256, digest=rec.digest(), score=rec.score)

    sig = check_both(path, swap)
    assert "the stored result of analysis A2 (analyses/A2.npz) was replaced" in sig.line()
    assert "analysis A1" not in sig.line()


def test_a_plain_member_swap_and_added_members_are_named(case, signer, tmp_path):
    """Without recomputing anything: the npz of A1 swapped for A2's, and a member slipped in."""
    path = save_case(case, tmp_path / "c.tfcase", signer=signer)
    m = members(path)
    m["analyses/A1.npz"], m["analyses/A2.npz"] = m["analyses/A2.npz"], m["analyses/A1.npz"]
    m["analyses/A9.npz"] = m["analyses/A1.npz"]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in m.items():
            zf.writestr(name, data)
    v = load_case(path).verification
    assert v.signature.state == "invalid" and not v.ok
    line = v.signature.line()
    assert "analysis A1 (analyses/A1.npz) was replaced" in line and "analysis A2 (analyses/A2.npz) was replaced" in line
    assert "analysis A9 (analyses/A9.npz) was added" in line


def test_an_altered_statement_or_signature_is_not_valid(case, signer, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase", signer=signer)
    m = members(path)
    statement = json.loads(m[STATEMENT])
    statement["audit_entries"] -= 1  # a forger "adjusting" the statement to fit a truncated log
    m[STATEMENT] = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in m.items():
            zf.writestr(name, data)
    sig = load_case(path).verification.signature
    assert sig.state == "invalid" and not sig.tampered
    assert "the signature is not valid: the signature does not match its statement" in sig.line()


def test_a_signature_with_another_examiners_certificate_is_not_valid(case, signer, tmp_path):
    """Replacing chain.pem with someone else's certificate: the statement names the original one."""
    path = save_case(case, tmp_path / "c.tfcase", signer=signer)
    other = make_p12(tmp_path, cn="Fox Mulder", name="other.p12")
    from cryptography.hazmat.primitives import serialization

    m = members(path)
    m[CHAIN] = other.cert.public_bytes(serialization.Encoding.PEM)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in m.items():
            zf.writestr(name, data)
    sig = load_case(path).verification.signature
    assert sig.state == "invalid" and "is not the one the statement names" in sig.line()


def test_a_removed_signature_member_is_reported(case, signer, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase", signer=signer)
    m = members(path)
    del m[SIGNATURE]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in m.items():
            zf.writestr(name, data)
    sig = load_case(path).verification.signature
    assert sig.state == "invalid" and "incomplete (signature/statement.sig missing)" in sig.line()


def test_entries_added_in_memory_after_opening_are_named_until_saved_again(case, signer, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase", signer=signer)
    back = load_case(path)
    back.add_note("A later note.")
    from trufor_desk.case import verify_case

    assert "1 audit entries were added after signing" in verify_case(back, path).signature.line()
    save_case(back, path)  # saved without a key: unsigned, as it now is
    assert load_case(path).verification.signature.state == "unsigned"


# ---------------------------------------------------------------------------------------
# unsigned cases and the examiner's certificate


def test_an_unsigned_case_opens_and_says_unsigned_with_unchanged_bytes(case, tmp_path):
    path = save_case(case, tmp_path / "c.tfcase")
    v = load_case(path).verification
    assert v.ok and v.signature.state == "unsigned" and v.signature_line() == "signature: unsigned"
    assert not any(n.startswith("signature/") for n in members(path))
    assert not any("signature" in ln for ln in v.lines())  # the lines unsigned cases always had
    assert case_bytes(load_case(path), path) == path.read_bytes()


def test_a_wrong_password_is_one_clear_line(examiner):
    with pytest.raises(UserError) as exc:
        load_signing_key(examiner.p12, "not the password")
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{examiner.p12}: wrong password for the PKCS#12 certificate")
    with pytest.raises(UserError, match="it may need one: --sign-password-env"):
        load_signing_key(examiner.p12, None)


def test_an_expired_or_not_yet_valid_certificate_refuses_to_sign(tmp_path):
    now = datetime.now(timezone.utc)
    old = make_p12(tmp_path, valid_from=now - timedelta(days=400), valid_to=now - timedelta(days=35),
                   name="old.p12")
    with pytest.raises(UserError) as exc:
        load_signing_key(old.p12, old.password)
    assert "\n" not in str(exc.value)
    assert f"the certificate of {old.subject} expired on {(now - timedelta(days=35)):%Y-%m-%d}" in str(exc.value)
    future = make_p12(tmp_path, valid_from=now + timedelta(days=3), name="future.p12")
    with pytest.raises(UserError, match="is not valid yet"):
        load_signing_key(future.p12, future.password)


def test_signing_time_is_checked_against_the_certificate_at_save(case, signer, tmp_path, monkeypatch):
    """A key loaded while valid still refuses to sign once its certificate has expired."""
    from trufor_desk.case import signature as sigmod

    later = signer.certificate.not_valid_after_utc + timedelta(days=1)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return later

    monkeypatch.setattr(sigmod, "datetime", Clock)
    target = tmp_path / "c.tfcase"
    with pytest.raises(UserError, match="expired on"):
        save_case(case, target, signer=signer)
    assert not target.exists() and list(tmp_path.iterdir()) == [tmp_path / "evidence"]


@pytest.mark.parametrize("content, words", [
    (b"this is a text file, not a certificate", "not a PKCS#12 certificate file"),
    (b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "not a PKCS#12 certificate file"),
    (None, "certificate file not found"),
])
def test_a_file_that_is_not_pkcs12_is_one_clear_line(tmp_path, content, words):
    p = tmp_path / "cert.p12"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(UserError) as exc:
        load_signing_key(p, "x")
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_a_certificate_without_a_key_cannot_sign(tmp_path, examiner):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    p = tmp_path / "certonly.p12"
    p.write_bytes(pkcs12.serialize_key_and_certificates(b"x", None, examiner.cert, None,
                                                        serialization.BestAvailableEncryption(b"pw")))
    with pytest.raises(UserError, match="holds no private key"):
        load_signing_key(p, "pw")


def test_npz_arrays_are_unchanged_by_signing(case, signer, tmp_path):
    a = members(save_case(case, tmp_path / "a.tfcase"))
    b = members(save_case(case, tmp_path / "b.tfcase", signer=signer))
    assert {k: v for k, v in b.items() if not k.startswith("signature/")} == a
    with np.load(io.BytesIO(b["analyses/A1.npz"]), allow_pickle=False) as npz:
        assert "map" in npz.files
