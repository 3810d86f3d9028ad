"""Exported views carry our own Content Credentials: opened from the evidence (by hash),
edited by TruFor Desk, signed with the examiner's certificate, read back with c2pa.Reader."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

pytest.importorskip("cryptography")
c2pa = pytest.importorskip("c2pa")

from tests.certificates import make_p12  # noqa: E402
from tests.conftest import natural_image  # noqa: E402
from trufor_desk.case import load_signing_key  # noqa: E402
from trufor_desk.errors import UserError  # noqa: E402
from trufor_desk.report.view_credentials import EVIDENCE_ASSERTION, read_manifest, sign_png  # noqa: E402


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    ex = make_p12(tmp_path_factory.mktemp("certs"))
    return load_signing_key(ex.p12, ex.password)


@pytest.fixture
def evidence(tmp_path):
    p = tmp_path / "harbour.jpg"
    Image.fromarray(natural_image(48, 64)).save(p, quality=90)
    return p


def view_png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(natural_image(48, 64, seed=2)).save(buf, "PNG")
    return buf.getvalue()


def active(store: dict) -> dict:
    return store["manifests"][store["active_manifest"]]


def test_an_exported_view_carries_a_signed_manifest(signer, evidence):
    sha = hashlib.sha256(evidence.read_bytes()).hexdigest()
    out = sign_png(view_png(), signer, evidence, sha, title="harbour-view.png", case_id="2024-017",
                   analysis_id="A1")
    assert Image.open(io.BytesIO(out)).size == (64, 48)  # still the same picture
    store = read_manifest(out)
    m = active(store)
    assert m["title"] == "harbour-view.png" and m["claim_generator_info"][0]["name"] == "TruFor Desk"
    assert m["signature_info"]["common_name"] == "Dana Scully"
    assertions = {a["label"]: a["data"] for a in m["assertions"]}
    actions = [a["action"] for a in assertions["c2pa.actions.v2"]["actions"]]
    assert actions == ["c2pa.opened", "c2pa.edited"]
    assert all(a["softwareAgent"]["name"] == "TruFor Desk" for a in assertions["c2pa.actions.v2"]["actions"])
    assert assertions[EVIDENCE_ASSERTION] == {"sha256": sha, "name": "harbour.jpg", "case_id": "2024-017",
                                              "analysis_id": "A1"}
    (ing,) = m["ingredients"]
    assert ing["title"] == "harbour.jpg" and ing["relationship"] == "parentOf" and ing["format"] == "image/jpeg"
    # the signature holds; only the trust in our throwaway CA is missing (no trust list given)
    codes = {s["code"] for s in store.get("validation_status", [])}
    assert codes <= {"signingCredential.untrusted"}, codes
    assert "claimSignature.validated" in {s["code"] for s in
                                         store["validation_results"]["activeManifest"]["success"]}


def test_a_changed_pixel_after_export_is_detected(signer, evidence):
    out = sign_png(view_png(), signer, evidence, "0" * 64)
    data = bytearray(out)
    data[data.find(b"IDAT") + 20] ^= 0xFF  # one byte of the image data, after signing
    codes = {s["code"] for s in read_manifest(bytes(data)).get("validation_status", [])}
    assert "assertion.dataHash.mismatch" in codes, codes


def test_certificate_problems_are_one_line(tmp_path, evidence):
    now = datetime.now(timezone.utc)
    ex = make_p12(tmp_path, valid_from=now - timedelta(days=10), valid_to=now + timedelta(days=10))
    key = load_signing_key(ex.p12, ex.password)
    key.certificate = key.chain[0]  # a CA certificate does not fit the key: C2PA refuses it
    with pytest.raises(UserError) as exc:
        sign_png(view_png(), key, evidence, "0" * 64)
    assert str(exc.value).startswith("cannot add Content Credentials: ") and "\n" not in str(exc.value)
    with pytest.raises(UserError, match="the evidence file is needed"):
        sign_png(view_png(), load_signing_key(ex.p12, ex.password), tmp_path / "gone.jpg", "0" * 64)
