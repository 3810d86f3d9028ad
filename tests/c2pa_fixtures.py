"""Signed Content Credentials fixtures, made at test time (no key or signed file is committed).

A throwaway CA and leaf certificate (``cryptography``), images drawn with numpy and encoded
with Pillow, manifests signed with ``c2pa.Builder``; then the damaged variants the tests
need: a pixel changed after signing, a byte flipped inside the manifest, a manifest cut
short.  ``c2pa_files`` builds them all once per test session (well under a second).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CAMERA = "Shutter-Engine 4"          # the softwareAgent of the camera's c2pa.created action
GENERATOR = "PixelDream 2"           # the softwareAgent of the AI generator
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


@dataclass
class Authority:
    ca_pem: bytes
    chain_pem: bytes                 # leaf then CA
    key_pem: bytes
    subject_cn: str


def _name(cn: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Camera Works"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_authority(cn: str = "Test Camera 7", ocsp_url: str | None = None) -> Authority:
    """A CA and a leaf fit for C2PA signing (EC P-256, e-mail protection EKU), optionally with an
    OCSP responder address in the leaf (to prove it is never asked)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{cn} Root CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=2))
          .not_valid_after(now + timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_name).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
         .not_valid_after(now + timedelta(days=365))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if ocsp_url:
        b = b.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
    leaf = b.sign(ca_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    return Authority(ca.public_bytes(pem), leaf.public_bytes(pem) + ca.public_bytes(pem),
                     key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), cn)


def picture(h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 4, y * 5, (x + y) * 2], axis=-1).astype(np.int16)
    return np.clip(base + rng.integers(-12, 12, base.shape), 0, 255).astype(np.uint8)


def encode(rgb: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    kw = {"JPEG": {"quality": 92}, "WEBP": {"lossless": True}}.get(fmt, {})
    Image.fromarray(rgb).save(buf, fmt, **kw)
    return buf.getvalue()


def manifest(title: str, fmt: str, agent: str = CAMERA, source: str = "digitalCapture",
             generator: str = "TestCam 1.0") -> dict:
    name, _, version = generator.partition(" ")
    return {"claim_generator_info": [{"name": name, "version": version or "1"}], "title": title, "format": fmt,
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                {"action": "c2pa.created", "softwareAgent": {"name": agent},
                 "digitalSourceType": IPTC + source}]}}]}


def sign(data: bytes, mime: str, auth: Authority, man: dict, ingredient: bytes | None = None,
         ingredient_mime: str = "image/png", remote_url: str | None = None) -> bytes:
    import c2pa

    ctx = c2pa.Context(c2pa.Settings.from_dict({
        "verify": {"ocsp_fetch": False, "remote_manifest_fetch": False},
        "builder": {"thumbnail": {"enabled": False}}}))
    try:
        builder = c2pa.Builder(man, ctx)
        if ingredient is not None:
            builder.add_ingredient({"title": "generated.png", "relationship": "parentOf", "label": "parent"},
                                   ingredient_mime, io.BytesIO(ingredient))
        if remote_url:
            builder.set_no_embed()
            builder.set_remote_url(remote_url)
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, auth.chain_pem,
                                                           auth.key_pem, None))
        out = io.BytesIO()
        builder.sign(signer, mime, io.BytesIO(data), out)
        return out.getvalue()
    finally:
        ctx.close()


# -- damage done after signing ----------------------------------------------------------
def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    pos, out = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        out.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]))
        pos += 12 + n
    return out


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def change_png_pixel(data: bytes, row: int = 5, col: int = 7) -> bytes:
    """The same PNG, manifest chunk untouched, with one pixel's red value changed."""
    chunks = _png_chunks(data)
    rgb = np.array(Image.open(io.BytesIO(data)).convert("RGB"))
    rgb[row, col, 0] ^= 0x40
    raw = b"".join(b"\x00" + line.tobytes() for line in rgb)   # filter type 0 on every row
    out, idat_done = [data[:8]], False
    for k, b in chunks:
        if k == b"IDAT":
            if not idat_done:
                out.append(_chunk(b"IDAT", zlib.compress(bytes(raw))))
                idat_done = True
            continue
        out.append(_chunk(k, b))
    return b"".join(out)


def flip_in_manifest(data: bytes, marker: bytes) -> bytes:
    """Flip one bit of ``marker`` (a string inside a signed assertion)."""
    i = data.find(marker)
    assert i > 0, marker
    out = bytearray(data)
    out[i + 1] ^= 0x01
    return bytes(out)


def truncate_jpeg_manifest(data: bytes) -> bytes:
    """The JPEG's APP11 (JUMBF) segment cut to half its payload, the segment length fixed so the
    JPEG itself still decodes: the manifest is truncated, the image is not."""
    j = data.find(b"\xff\xeb")
    (length,) = struct.unpack(">H", data[j + 2:j + 4])
    payload = data[j + 4:j + 2 + length]
    cut = payload[:len(payload) // 2]
    return data[:j] + b"\xff\xeb" + struct.pack(">H", len(cut) + 2) + cut + data[j + 2 + length:]


# -- the session's files ----------------------------------------------------------------
@dataclass
class C2paFiles:
    folder: Path
    auth: Authority
    trust: Path                      # PEM bundle holding the signer's CA
    other_trust: Path                # a PEM bundle of an unrelated CA
    valid_jpg: Path
    valid_png: Path
    valid_tiff: Path
    valid_webp: Path
    ai_png: Path
    chain_jpg: Path                  # edited, with the AI-made picture as its ingredient
    tampered_pixels: Path
    tampered_manifest: Path
    truncated: Path
    none_jpg: Path


def build_c2pa_files(folder: Path) -> C2paFiles:
    folder.mkdir(parents=True, exist_ok=True)
    auth = make_authority()
    other = make_authority("Unrelated Signer")
    rgb = picture()

    def write(name: str, data: bytes) -> Path:
        p = folder / name
        p.write_bytes(data)
        return p

    signed = {fmt: sign(encode(rgb, fmt), mime, auth, manifest(f"photo.{ext}", mime))
              for fmt, mime, ext in (("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"),
                                     ("TIFF", "image/tiff", "tif"), ("WEBP", "image/webp", "webp"))}
    ai = sign(encode(picture(seed=3), "PNG"), "image/png", auth,
              manifest("dream.png", "image/png", GENERATOR, "trainedAlgorithmicMedia", "PixelDream 2"))
    edited = {"claim_generator_info": [{"name": "PhotoFix", "version": "5"}], "title": "poster.jpg",
              "format": "image/jpeg", "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                  {"action": "c2pa.opened", "softwareAgent": {"name": "PhotoFix", "version": "5"},
                   "parameters": {"ingredientIds": ["parent"]}},
                  {"action": "c2pa.cropped", "softwareAgent": {"name": "PhotoFix", "version": "5"}}]}}]}
    chain = sign(encode(picture(seed=3), "JPEG"), "image/jpeg", auth, edited, ingredient=ai)
    return C2paFiles(
        folder=folder, auth=auth, trust=write("trust.pem", auth.ca_pem), other_trust=write("other.pem", other.ca_pem),
        valid_jpg=write("camera.jpg", signed["JPEG"]), valid_png=write("camera.png", signed["PNG"]),
        valid_tiff=write("camera.tif", signed["TIFF"]), valid_webp=write("camera.webp", signed["WEBP"]),
        ai_png=write("dream.png", ai), chain_jpg=write("poster.jpg", chain),
        tampered_pixels=write("pixel-changed.png", change_png_pixel(signed["PNG"])),
        tampered_manifest=write("manifest-edited.jpg", flip_in_manifest(signed["JPEG"], CAMERA.encode())),
        truncated=write("manifest-cut.jpg", truncate_jpeg_manifest(signed["JPEG"])),
        none_jpg=write("plain.jpg", encode(rgb, "JPEG")))


@pytest.fixture(scope="session")
def c2pa_files(tmp_path_factory) -> C2paFiles:
    pytest.importorskip("cryptography")
    pytest.importorskip("c2pa")
    return build_c2pa_files(tmp_path_factory.mktemp("c2pa"))
