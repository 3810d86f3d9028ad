"""Content Credentials (C2PA) on what we export: a PNG view of an analysis, signed with the
examiner's certificate.

The manifest says what the picture is: ``c2pa.opened`` of the evidence (the ingredient,
``parentOf``), then ``c2pa.edited`` by TruFor Desk (overlays drawn on it), and an assertion
of our own, ``org.trufor-desk.evidence``, naming the evidence file by its SHA-256 (and the
case and analysis when known), so the picture can be tied back to the hashed original.
It is signed with the key and certificate chain of the examiner's PKCS#12 file (the
:class:`~trufor_desk.case.signature.SigningKey` that signs cases), through the official
binding ``c2pa-python``.  Nothing is fetched: no time-stamping authority is given, and
OCSP and remote-manifest fetches are off (the one offline configuration,
:mod:`trufor_desk.evidence.provenance.offline`).

C2PA asks more of a certificate than a plain signature does (an end-entity certificate
with an extended key usage such as e-mail protection or document signing, issued by a CA
in the chain); a certificate it refuses is reported as one line.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

from trufor_desk.errors import UserError
from trufor_desk.evidence.provenance.offline import offline_context

EVIDENCE_ASSERTION = "org.trufor-desk.evidence"
_FORMATS = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".tif": "image/tiff",
            ".tiff": "image/tiff", ".webp": "image/webp", ".heic": "image/heic", ".heif": "image/heif",
            ".avif": "image/avif", ".gif": "image/gif"}


def _c2pa():
    try:
        import c2pa
    except ImportError:
        raise UserError("Content Credentials need c2pa-python, which is not installed: pip install c2pa-python"
                        ) from None
    return c2pa


def _alg(c2pa, key) -> object:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}.get(key.curve.name)
        if alg is None:
            raise UserError(f"Content Credentials cannot use an EC key on curve {key.curve.name} "
                            "(P-256, P-384 or P-521)")
        return getattr(c2pa.C2paSigningAlg, alg)
    if isinstance(key, rsa.RSAPrivateKey):
        return c2pa.C2paSigningAlg.PS256
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return c2pa.C2paSigningAlg.ED25519
    raise UserError(f"Content Credentials cannot use a {type(key).__name__} key")


def _signer(c2pa, signing_key):
    from cryptography.hazmat.primitives import serialization

    chain = b"".join(c.public_bytes(serialization.Encoding.PEM)
                     for c in [signing_key.certificate, *signing_key.chain])
    pem = signing_key.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    info = c2pa.C2paSignerInfo(_alg(c2pa, signing_key.key), chain, pem, None)  # None: no TSA, no network
    return c2pa.Signer.from_info(info)


def _error_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def sign_png(png: bytes, signing_key, evidence_path: str | Path, evidence_sha256: str, title: str = "view.png",
             app_version: str | None = None, case_id: str | None = None, analysis_id: str | None = None,
             description: str = "Analysis overlays drawn on the evidence by TruFor Desk") -> bytes:
    """``png`` with a C2PA manifest signed by ``signing_key``; :class:`UserError` (one line) on failure."""
    c2pa = _c2pa()
    from trufor_desk import __version__

    signing_key.check_valid_at(datetime.now(timezone.utc))
    ev = Path(evidence_path)
    fmt = _FORMATS.get(ev.suffix.lower())
    if not ev.is_file():
        raise UserError(f"{ev}: the evidence file is needed as the ingredient of the Content Credentials")
    if fmt is None:
        raise UserError(f"{ev.name}: Content Credentials cannot take a {ev.suffix or 'suffix-less'} file as "
                        "ingredient")
    agent = {"name": "TruFor Desk", "version": app_version or __version__}
    evidence = {"sha256": evidence_sha256, "name": ev.name}
    if case_id:
        evidence["case_id"] = case_id
    if analysis_id:
        evidence["analysis_id"] = analysis_id
    manifest = {
        "claim_generator_info": [agent], "title": title, "format": "image/png",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [
                {"action": "c2pa.opened", "softwareAgent": agent, "parameters": {"ingredientIds": ["evidence"]}},
                {"action": "c2pa.edited", "softwareAgent": agent, "description": description}]}},
            {"label": EVIDENCE_ASSERTION, "data": evidence},
        ]}
    ingredient = {"title": ev.name, "relationship": "parentOf", "label": "evidence"}
    try:
        with offline_context(c2pa, judge_trust=False) as context:  # the evidence's trust was judged when read
            builder = c2pa.Builder(manifest, context)
            with open(ev, "rb") as fh:
                builder.add_ingredient(ingredient, fmt, fh)
            signer = _signer(c2pa, signing_key)
            out = io.BytesIO()
            builder.sign(signer, "image/png", io.BytesIO(png), out)
    except UserError:
        raise
    except Exception as exc:  # c2pa raises its own error types; a bad certificate is the common case
        raise UserError(f"cannot add Content Credentials: {_error_line(exc)}") from None
    return out.getvalue()


def read_manifest(data: bytes, fmt: str = "image/png") -> dict:
    """The manifest store of ``data`` as a dict (offline), for checks and tests."""
    c2pa = _c2pa()
    try:
        with offline_context(c2pa, judge_trust=False) as context:
            reader = c2pa.Reader(fmt, io.BytesIO(data), context=context)
            return json.loads(reader.json())
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"cannot read Content Credentials: {_error_line(exc)}") from None
