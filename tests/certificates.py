"""Throwaway examiner certificates made at test time (no key material is committed).

``make_p12`` builds a CA and a leaf certificate signed by it with ``cryptography`` and
writes them, with the leaf's private key, into a password-protected PKCS#12 file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

PASSWORD = "examiner-pw"


@dataclass
class Examiner:
    p12: Path
    password: str
    subject: str
    key: object
    cert: object
    ca_key: object
    ca_cert: object


def _name(cn: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Forensics Lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_p12(folder: Path, cn: str = "Dana Scully", password: str = PASSWORD, kind: str = "ec",
             valid_from: datetime | None = None, valid_to: datetime | None = None,
             name: str = "examiner.p12") -> Examiner:
    """A CA + leaf in a PKCS#12 file; ``kind`` "ec" (P-256), "rsa" (2048) or "ed25519"."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Test Forensics Lab CA")
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(days=30)).not_valid_after(now + timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False, key_agreement=False,
                                            key_cert_sign=True, crl_sign=True, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = {"ec": lambda: ec.generate_private_key(ec.SECP256R1()),
           "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
           "ed25519": ed25519.Ed25519PrivateKey.generate}[kind]()
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(valid_from or now - timedelta(days=1))
            .not_valid_after(valid_to or now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False),
                           critical=True)
            # what C2PA asks of a signing certificate (harmless for case and PDF signatures)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    p12 = Path(folder) / name
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        cn.encode(), key, cert, [ca_cert], serialization.BestAvailableEncryption(password.encode())))
    return Examiner(p12, password, cert.subject.rfc4514_string(), key, cert, ca_key, ca_cert)
