"""The trust list for Content Credentials: a PEM bundle of CA certificates the user points to.

None is configured by default (``--c2pa-trust FILE`` on the commands, a setting in the
window): without one, a valid C2PA signature is reported as "valid, signer not trusted",
never as trusted.  The bundle replaces any anchors built into the library, so only what
the user chose is trusted.  Its SHA-256 is recorded with every reading.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from trufor_desk.errors import UserError

MAX_TRUST_BYTES = 16 << 20
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s*(.*?)\s*-----END CERTIFICATE-----", re.S)


@dataclass(frozen=True)
class TrustList:
    """A parsed PEM bundle: its text (for the library), where it came from and its digest."""

    pem: str
    path: str
    sha256: str
    certificates: int

    def describe(self) -> dict:
        return {"configured": True, "path": self.path, "sha256": self.sha256, "certificates": self.certificates}


def no_trust_list() -> dict:
    return {"configured": False, "path": None, "sha256": None, "certificates": 0}


def load_trust_list(path: str | os.PathLike) -> TrustList:
    """Read and check a PEM bundle; any problem is one :class:`UserError` line."""
    p = Path(path)
    what = f"Content Credentials trust list {p}"
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise UserError(f"{what}: is a folder, not a PEM file")
        if size > MAX_TRUST_BYTES:
            raise UserError(f"{what}: {size} bytes, larger than a trust list can be ({MAX_TRUST_BYTES})")
        data = p.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{what}: file not found") from None
    except OSError as exc:
        raise UserError(f"{what}: cannot read ({exc.strerror or exc})") from None
    return trust_list_from_bytes(data, str(p.resolve()))


def trust_list_from_bytes(data: bytes, path: str = "") -> TrustList:
    what = f"Content Credentials trust list {path}".rstrip()
    blocks = _PEM_CERT.findall(data)
    if not blocks:
        raise UserError(f"{what}: no PEM certificates in it (expected '-----BEGIN CERTIFICATE-----' blocks)")
    ders = []
    for i, block in enumerate(blocks, 1):
        try:
            ders.append(base64.b64decode(b"".join(block.split()), validate=True))
        except (binascii.Error, ValueError):
            raise UserError(f"{what}: certificate {i} is not valid base64") from None
    _check_certificates(ders, what)
    pem = "".join("-----BEGIN CERTIFICATE-----\n" + "\n".join(_wrap(base64.b64encode(d).decode("ascii")))
                  + "\n-----END CERTIFICATE-----\n" for d in ders)
    return TrustList(pem=pem, path=path, sha256=hashlib.sha256(data).hexdigest(), certificates=len(ders))


def _wrap(text: str, width: int = 64) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)]


def _check_certificates(ders: list[bytes], what: str) -> None:
    """Parse each certificate when ``cryptography`` is installed (a broken one would make every
    reading fail later); without it, the library's own parser is the check."""
    try:
        from cryptography import x509
    except ImportError:
        return
    for i, der in enumerate(ders, 1):
        try:
            x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise UserError(f"{what}: certificate {i} cannot be parsed ({str(exc).splitlines()[0]})") from None
