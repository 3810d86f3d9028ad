"""The examiner's signature on a case file: what is signed, how, and how opening checks it.

The audit log's hash chain can be recomputed by anyone who edits a ``.tfcase`` (the code
is public), and a chain cannot show that its last entries were removed.  A signed case
closes both gaps: on save, the examiner's private key (from the same PKCS#12 file that
signs the PDF report) signs a *statement* naming the audit head, the number of entries
and the SHA-256 of every other member of the zip.  Nobody without the key can make a
matching statement for an edited, re-chained, truncated or re-assembled case.

Three members, written after all others (docs/ARCHITECTURE.md, "Signed cases"):

``signature/statement.json``
    canonical JSON (sorted keys, no spaces, UTF-8): ``format``, ``format_version``,
    ``case_id``, ``examiner``, ``audit_head``, ``audit_entries``, ``members`` (zip member
    name -> SHA-256 of its stored bytes, for every member outside ``signature/``),
    ``case_digest`` (SHA-256 of the canonical JSON of ``members``), ``signed_at`` (UTC,
    the signing computer's clock; no time-stamping authority), ``signer`` (subject,
    issuer, serial, SHA-256 of the DER certificate), ``algorithm`` and ``app_version``.
``signature/statement.sig``
    the raw signature of exactly those bytes: ``ecdsa-sha256`` (DER, any curve),
    ``rsa-pkcs1v15-sha256`` or ``ed25519``.
``signature/chain.pem``
    the signer's certificate, then the other certificates of the PKCS#12 file.

Anyone can check it without this application: ``openssl x509 -in chain.pem -pubkey
-noout > pub.pem; openssl dgst -sha256 -verify pub.pem -signature statement.sig
statement.json`` (``openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in
statement.json -sigfile statement.sig`` for Ed25519), then ``sha256sum`` each member.

A valid signature says the case is as that key's holder saved it.  Whether the
certificate belongs to a trusted examiner is a separate question that this module does
not answer: it never calls a signer trusted.

``cryptography`` (the ``sign`` extra) is imported only when a case is signed or a signed
case is checked; an unsigned case never needs it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from trufor_desk.errors import UserError

from .audit import parse_utc, utc_iso
from .canonical import canonical_json, sha256_json

SIGNATURE_DIR = "signature/"
STATEMENT = "signature/statement.json"
SIGNATURE = "signature/statement.sig"
CHAIN = "signature/chain.pem"
MEMBERS = (STATEMENT, SIGNATURE, CHAIN)
FORMAT = "trufor-desk-case-signature"
FORMAT_VERSION = 1
NOT_TRUST_CHECKED = "signature valid; signer's certificate not checked against a trust list"
_MAX_P12_BYTES = 1 << 20


def _crypto():
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise UserError("signing a case needs the cryptography package, which is not installed: "
                        "pip install 'trufor-desk[sign]'") from None


# ---------------------------------------------------------------------------------------
# the examiner's key


@dataclass
class SigningKey:
    """A private key and its certificate chain, read from a PKCS#12 file."""

    key: object
    certificate: object
    chain: list = field(default_factory=list)  # further certificates of the file (CA, intermediates)
    source: str = ""

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    def check_valid_at(self, when: datetime) -> None:
        """Refuse to sign with a certificate that is not valid at ``when``."""
        before, after = self.certificate.not_valid_before_utc, self.certificate.not_valid_after_utc
        where = f"{self.source}: " if self.source else ""
        if when < before:
            raise UserError(f"{where}the certificate of {self.subject} is not valid yet (valid from "
                            f"{utc_iso(before)}); refusing to sign")
        if when > after:
            raise UserError(f"{where}the certificate of {self.subject} expired on {utc_iso(after)}; "
                            "refusing to sign")


def _looks_like_pfx(data: bytes) -> bool:
    """A DER SEQUENCE starting with INTEGER 3: the PFX version every PKCS#12 file has."""
    if len(data) < 8 or data[0] != 0x30:
        return False
    n = data[1]
    i = 2
    if n & 0x80:
        i += n & 0x7F
    return data[i:i + 3] == b"\x02\x01\x03"


def load_signing_key(p12_path: str | os.PathLike, password: str | None = None,
                     when: datetime | None = None) -> SigningKey:
    """The key and certificates of a PKCS#12 file; one-line :class:`UserError` on any problem.

    Checks that the file is PKCS#12, the password opens it, it holds a private key with a
    matching certificate of a supported kind, and the certificate is valid at ``when``
    (now by default).
    """
    _crypto()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    p = Path(p12_path)
    if not p.is_file():
        raise UserError(f"{p12_path}: certificate file not found")
    try:
        if p.stat().st_size > _MAX_P12_BYTES:
            raise UserError(f"{p12_path}: not a PKCS#12 certificate file (too large)")
        data = p.read_bytes()
    except OSError as exc:
        raise UserError(f"{p12_path}: cannot read the certificate file ({exc.strerror or exc})") from None
    if not _looks_like_pfx(data):
        raise UserError(f"{p12_path}: not a PKCS#12 certificate file (.p12/.pfx)")
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode("utf-8")
                                                           if password is not None else None)
    except ValueError:
        hint = "" if password is not None else " (it may need one: --sign-password-env VAR)"
        raise UserError(f"{p12_path}: wrong password for the PKCS#12 certificate{hint}, or the file is damaged"
                        ) from None
    except Exception as exc:  # unsupported encryption and the like
        raise UserError(f"{p12_path}: cannot read the PKCS#12 certificate ({type(exc).__name__})") from None
    if key is None:
        raise UserError(f"{p12_path}: the PKCS#12 file holds no private key, so it cannot sign")
    if cert is None:
        raise UserError(f"{p12_path}: the PKCS#12 file holds no certificate for its key")
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise UserError(f"{p12_path}: {type(key).__name__} keys are not supported for signing cases "
                        "(use an EC, RSA or Ed25519 key)")
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*raw) != cert.public_key().public_bytes(*raw):
        raise UserError(f"{p12_path}: the certificate in the PKCS#12 file does not belong to its private key")
    signer = SigningKey(key, cert, list(extra or []), str(p12_path))
    signer.check_valid_at(when or datetime.now(timezone.utc))
    return signer


# ---------------------------------------------------------------------------------------
# signing


def _algorithm(public_or_private) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(public_or_private, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "ecdsa-sha256"
    if isinstance(public_or_private, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa-pkcs1v15-sha256"
    if isinstance(public_or_private, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "ed25519"
    return "unsupported"


def _signer_record(cert) -> dict:
    from cryptography.hazmat.primitives import serialization

    return {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
            "serial": format(cert.serial_number, "x"),
            "certificate_sha256": hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()}


def signature_members(case, member_digests: dict[str, str], signer: SigningKey,
                      when: datetime | None = None) -> dict[str, bytes]:
    """The three ``signature/`` members for a case whose other members hash to ``member_digests``."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding

    when = when or datetime.now(timezone.utc)
    signer.check_valid_at(when)
    members = dict(sorted(member_digests.items()))
    alg = _algorithm(signer.key)
    statement = {"format": FORMAT, "format_version": FORMAT_VERSION, "case_id": case.case_id,
                 "examiner": case.examiner, "audit_head": case.head_hash, "audit_entries": len(case.audit),
                 "members": members, "case_digest": sha256_json(members), "signed_at": utc_iso(when),
                 "signer": _signer_record(signer.certificate), "algorithm": alg,
                 "app_version": case.app_version}
    data = canonical_json(statement)
    if alg == "ecdsa-sha256":
        sig = signer.key.sign(data, ec.ECDSA(hashes.SHA256()))
    elif alg == "rsa-pkcs1v15-sha256":
        sig = signer.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        sig = signer.key.sign(data)
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [signer.certificate, *signer.chain])
    return {STATEMENT: data, SIGNATURE: sig, CHAIN: pem}


# ---------------------------------------------------------------------------------------
# checking


@dataclass
class SignatureCheck:
    """What the case's signature says.  ``state``: ``unsigned``, ``valid`` or ``invalid``."""

    state: str
    subject: str = ""
    issuer: str = ""
    serial: str = ""
    certificate_sha256: str = ""
    signed_at: str = ""
    problems: list[str] = field(default_factory=list)
    tampered: bool = False      # the signature holds, but what it signed has changed

    @property
    def signed(self) -> bool:
        return self.state != "unsigned"

    def line(self) -> str:
        if self.state == "unsigned":
            return "unsigned"
        who = f"signed by {self.subject} at {self.signed_at}" if self.subject else "signed"
        if self.state == "valid":
            return f"{who}: {NOT_TRUST_CHECKED}"
        if self.tampered:
            return f"{who}, but the case was changed after it was signed: {'; '.join(self.problems)}"
        return f"{who}, but the signature is not valid: {'; '.join(self.problems)}"

    def to_dict(self) -> dict:
        return {"state": self.state, "subject": self.subject, "issuer": self.issuer, "serial": self.serial,
                "certificate_sha256": self.certificate_sha256, "signed_at": self.signed_at,
                "trust": "not checked against a trust list" if self.signed else None,
                "problems": list(self.problems), "line": self.line()}


def _invalid(problem: str, **who) -> SignatureCheck:
    return SignatureCheck("invalid", problems=[problem], **who)


def _verify_raw(public_key, alg: str, sig: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding

    try:
        if alg == "ecdsa-sha256":
            public_key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        elif alg == "rsa-pkcs1v15-sha256":
            public_key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ed25519":
            public_key.verify(sig, data)
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _member_words(name: str) -> str:
    if name == "case.json":
        return "the case document (case.json)"
    folder, _, file = name.partition("/")
    item = file.rsplit(".", 1)[0]
    return {"analyses": f"the stored result of analysis {item} ({name})",
            "previews": f"the preview of evidence {item} ({name})",
            "comparisons": f"the stored figures of comparison {item} ({name})"}.get(folder, name)


def _audit_problems(case, statement: dict) -> list[str]:
    n_signed, head = int(statement.get("audit_entries", -1)), str(statement.get("audit_head", ""))
    n = len(case.audit)
    if n < n_signed:
        return [f"the audit log was truncated: {n_signed} entries were signed, {n} remain (the last "
                f"{n_signed - n} removed)"]
    if n == n_signed and case.head_hash != head:
        return ["the audit log was edited (its last hash is not the signed one; an entry was changed and the "
                "chain recomputed)"]
    if n > n_signed:
        if n_signed > 0 and case.audit[n_signed - 1].hash == head:
            return [f"{n - n_signed} audit entries were added after signing"]
        return ["the audit log was edited and extended after signing"]
    return []


def check_signature(case, signature: dict[str, bytes], member_digests: dict[str, str],
                    extra_problems: list[str] | None = None) -> SignatureCheck:
    """Check the ``signature/`` members of a case file against the case and its other members.

    ``signature`` maps the member names found under ``signature/`` to their bytes (empty for
    an unsigned case); ``member_digests`` maps every other member to the SHA-256 of its bytes.
    """
    if not signature:
        return SignatureCheck("unsigned")
    missing = [m for m in MEMBERS if m not in signature]
    if missing:
        return _invalid(f"the signature is incomplete ({', '.join(missing)} missing)")
    try:
        _crypto()
    except UserError:
        return _invalid("the case is signed, but the signature cannot be checked here: the cryptography "
                        "package is not installed (pip install 'trufor-desk[sign]')")
    from cryptography import x509

    try:
        statement = json.loads(signature[STATEMENT].decode("utf-8"))
        if not isinstance(statement, dict) or statement.get("format") != FORMAT:
            raise ValueError("not a case signature statement")
        if int(statement.get("format_version", 0)) > FORMAT_VERSION:
            return _invalid(f"signature format {statement.get('format_version')} is newer than this version of "
                            "TruFor Desk reads; update the application")
        rec = statement.get("signer") or {}
        who = {"subject": str(rec.get("subject", "")), "issuer": str(rec.get("issuer", "")),
               "serial": str(rec.get("serial", "")), "certificate_sha256": str(rec.get("certificate_sha256", "")),
               "signed_at": str(statement.get("signed_at", ""))}
    except (UnicodeDecodeError, ValueError, TypeError, AttributeError) as exc:
        return _invalid(f"the signature statement is damaged ({exc})")
    try:
        certs = x509.load_pem_x509_certificates(signature[CHAIN])
    except ValueError:
        return _invalid("the signer's certificate (signature/chain.pem) is damaged", **who)
    cert = certs[0]
    actual = _signer_record(cert)
    if actual["certificate_sha256"] != who["certificate_sha256"]:
        return _invalid("the certificate stored with the signature is not the one the statement names", **who)
    alg = str(statement.get("algorithm", ""))
    if alg != _algorithm(cert.public_key()):
        return _invalid(f"the signature algorithm {alg!r} does not fit the signer's key", **who)
    if not _verify_raw(cert.public_key(), alg, signature[SIGNATURE], signature[STATEMENT]):
        return _invalid("the signature does not match its statement (the signature or the statement was "
                        "altered, or it was made with another key)", **who)
    who.update({k: actual[k] for k in ("subject", "issuer", "serial")})
    # the signature holds: now compare what it signed with what the file holds
    problems = list(extra_problems or [])
    signed = {str(k): str(v) for k, v in (statement.get("members") or {}).items()}
    if statement.get("case_digest") != sha256_json(dict(sorted(signed.items()))):
        problems.append("the signed statement's case digest does not match its member list")
    for name in sorted(signed):
        if name not in member_digests:
            problems.append(f"{_member_words(name)} was removed")
        elif member_digests[name] != signed[name]:
            problems.append(f"{_member_words(name)} was {'edited' if name == 'case.json' else 'replaced'}")
    for name in sorted(set(member_digests) - set(signed)):
        problems.append(f"{_member_words(name)} was added")
    problems += _audit_problems(case, statement)
    if statement.get("case_id") != case.case_id:
        problems.append(f"the case id is now {case.case_id!r}, {statement.get('case_id')!r} was signed")
    try:
        when = parse_utc(who["signed_at"])
    except ValueError:
        problems.append(f"the signing time {who['signed_at']!r} is not readable")
    else:
        if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
            return SignatureCheck("invalid", problems=problems + [
                f"the signer's certificate was not valid at the stated signing time (valid "
                f"{utc_iso(cert.not_valid_before_utc)} to {utc_iso(cert.not_valid_after_utc)})"],
                tampered=bool(problems), **who)
    if problems:
        return SignatureCheck("invalid", problems=problems, tampered=True, **who)
    return SignatureCheck("valid", **who)
