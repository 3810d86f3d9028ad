"""The PDF case report: it says what was examined, with what and what was found, it
renders, and the same case (or the same `report IMAGE` command) gives the same bytes."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image

from tests.case.test_case import WEIGHTS_SHA, fake_trufor
from tests.conftest import natural_image, requires_kit
from trufor_desk.case import Case, fixed_clock, load_case, save_case
from trufor_desk.engines.registry import create_engine
from trufor_desk.evidence import open_evidence
from trufor_desk.report import render_report, write_report
from trufor_desk.verdict.decision import format_score

pypdf = pytest.importorskip("pypdf")
WHEN = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(p.extract_text() for p in reader.pages)


@pytest.fixture(scope="module")
def saved_case(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("case")
    img = folder / "harbour.jpg"
    Image.fromarray(natural_image(90, 120)).save(img, quality=88)
    ev = open_evidence(img)
    c = Case("2024-017", "Dana Scully", "Harbour photo", clock=fixed_clock(WHEN))
    ref = c.add_evidence(ev)
    c.add_analysis(ref.id, create_engine("ela").analyze(ev))
    c.add_analysis(ref.id, fake_trufor(ev))
    c.add_note("Shadows on the crane look inconsistent.", evidence_id=ref.id)
    c.add_annotation(ref.id, "crane", "check shadow direction", rect=(10, 5, 30, 20))
    return save_case(c, folder / "c.tfcase")


@pytest.fixture(scope="module")
def report_bytes(saved_case) -> bytes:
    return render_report(load_case(saved_case))


def test_report_states_what_how_and_by_whom(saved_case, report_bytes):
    case = load_case(saved_case)
    text = pdf_text(report_bytes)
    ev = case.evidence[0]
    for needle in (ev.sha256, ev.md5, "Dana Scully", "2024-017", "Error level analysis", "TruFor",
                   WEIGHTS_SHA, "0.812", "Inconclusive: localized anomalies", "Page 1 of", "Guillaro", "CVPR 2023",
                   "does not prove authenticity", "Shadows on the crane", "crane", case.head_hash,
                   "all checks passed", "2024-03-01"):
        assert needle in text, needle
    assert "1.25" not in text and "inference" not in text  # no timings
    assert "12:00" not in text  # no times, dates only


def test_report_is_pdfa_declared_with_metadata_from_the_case(report_bytes):
    reader = pypdf.PdfReader(io.BytesIO(report_bytes))
    xmp = reader.xmp_metadata
    assert xmp.dc_creator == ["Dana Scully"]
    assert xmp.xmp_create_date == datetime(2024, 3, 1)
    raw = report_bytes.decode("latin-1")
    assert "<pdfaid:part>2</pdfaid:part>" in raw and "/OutputIntents" in raw
    assert "/FontFile2" in raw  # fonts embedded


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")
def test_pages_render(report_bytes, tmp_path):
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(report_bytes)
    n = len(pypdf.PdfReader(io.BytesIO(report_bytes)).pages)
    subprocess.run(["pdftoppm", "-png", "-r", "30", str(pdf), str(tmp_path / "page")], check=True,
                   capture_output=True, timeout=120)
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) == n >= 4
    for p in pngs:
        with Image.open(p) as im:
            assert im.size[0] > 100 and im.getextrema() != ((255, 255),) * 3


def test_same_case_gives_identical_bytes(saved_case, report_bytes):
    assert render_report(load_case(saved_case)) == report_bytes


def test_source_date_epoch_sets_the_dates(saved_case, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    data = render_report(load_case(saved_case))
    text = pdf_text(data)
    assert "2023-11-14 (SOURCE_DATE_EPOCH)" in text
    assert "22:13" not in text


def test_report_shows_integrity_problems(saved_case, tmp_path):
    case = load_case(saved_case)
    ev = Path(case.evidence[0].path)
    moved = ev.with_name("moved.jpg")
    ev.rename(moved)
    try:
        text = pdf_text(render_report(load_case(saved_case)))
    finally:
        moved.rename(ev)
    assert "MISSING" in text and "PROBLEMS FOUND" in text


def test_write_report_refuses_to_overwrite_evidence(saved_case):
    from trufor_desk.errors import UserError

    case = load_case(saved_case)
    before = Path(case.evidence[0].path).read_bytes()
    with pytest.raises(UserError, match="evidence"):
        write_report(case, case.evidence[0].path)
    assert Path(case.evidence[0].path).read_bytes() == before


# ---------------------------------------------------------------------------------------
# CLI


def cli(*args, env_extra=None, unset=()):
    env = dict(os.environ)
    for k in unset:
        env.pop(k, None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "trufor_desk", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.fixture
def image(tmp_path) -> Path:
    p = tmp_path / "photo.png"
    Image.fromarray(natural_image(64, 80, seed=3)).save(p)
    return p


@pytest.mark.parametrize("sde", [None, "1700000000"])
def test_report_image_twice_gives_identical_bytes(image, tmp_path, sde):
    env = {"SOURCE_DATE_EPOCH": sde} if sde else {}
    outs = []
    for i in range(2):
        out = tmp_path / f"r{i}.pdf"
        r = cli("report", image, "--out", out, "--engine", "ela", "--examiner", "Fox Mulder", env_extra=env,
                unset=("SOURCE_DATE_EPOCH",))
        assert r.returncode == 0, r.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    text = pdf_text(outs[0])
    sha = hashlib.sha256(image.read_bytes()).hexdigest()
    assert sha in text and "Fox Mulder" in text and "Error level analysis" in text
    day = "2023-11-14" if sde else datetime.now(timezone.utc).date().isoformat()
    assert f"Report date {day}" in text.replace("\n", " ")


def test_cli_bad_image_is_one_error_line(tmp_path, capsys):
    from trufor_desk.cli import main

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    assert main(["report", str(bad), "--out", str(tmp_path / "r.pdf"), "--engine", "ela"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "bad.jpg" in err[0]
    assert not (tmp_path / "r.pdf").exists()


def test_case_commands(image, tmp_path, capsys):
    from trufor_desk.cli import main

    c = tmp_path / "c.tfcase"
    assert main(["case", "new", str(c), "--examiner", "Dana Scully", "--title", "T"]) == 0
    assert main(["case", "new", str(c), "--examiner", "X"]) == 1
    assert main(["case", "add", str(c), str(image), "--engine", "ela"]) == 0
    assert main(["case", "note", str(c), "looks fine", "--evidence", "E1"]) == 0
    assert main(["case", "show", str(c)]) == 0
    assert main(["case", "verify", str(c)]) == 0
    out = capsys.readouterr().out
    assert "E1 ok" in out and "verified: all checks passed" in out
    assert main(["report", str(c), "--out", str(tmp_path / "c.pdf")]) == 0
    assert "looks fine" in pdf_text((tmp_path / "c.pdf").read_bytes())
    assert main(["report", str(c), "--out", str(tmp_path / "x.pdf"), "--engine", "ela"]) == 1
    image.write_bytes(image.read_bytes() + b"appended")
    assert main(["case", "verify", str(c)]) == 2
    assert "E1 modified" in capsys.readouterr().out


def test_signed_report(saved_case, tmp_path, monkeypatch):
    pytest.importorskip("pyhanko", reason="pyHanko not installed (optional)")
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Dana Scully")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=9))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    p12 = tmp_path / "examiner.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"examiner", key, cert, None, serialization.BestAvailableEncryption(b"s3cret")))

    from trufor_desk.cli import main

    monkeypatch.setenv("P12_PW", "s3cret")
    out = tmp_path / "signed.pdf"
    assert main(["report", str(saved_case), "--out", str(out), "--sign", str(p12),
                 "--sign-password-env", "P12_PW"]) == 0

    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    with open(out, "rb") as fh:
        sig = PdfFileReader(fh).embedded_signatures[0]
        trust = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=[trust]))
        assert status.intact and status.valid and status.trusted
        assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    monkeypatch.setenv("P12_PW", "wrong")
    assert main(["report", str(saved_case), "--out", str(tmp_path / "s2.pdf"), "--sign", str(p12),
                 "--sign-password-env", "P12_PW"]) == 1


@requires_kit
def test_trufor_report_prints_the_weights_hash(synth_weights, tmp_path):
    from trufor_desk.cli.report import implicit_case
    from trufor_desk.hashing import sha256_file

    img = tmp_path / "small.png"
    Image.fromarray(natural_image(64, 64, seed=1)).save(img)
    ev = open_evidence(img)
    result = create_engine("trufor", weights=str(synth_weights), device="cpu").analyze(ev)
    case = implicit_case(ev, result, "Dana Scully", when=WHEN)
    data = render_report(case)
    text = pdf_text(data)
    assert sha256_file(synth_weights) in text and "Noiseprint++" in text and format_score(result.score) in text
    assert render_report(implicit_case(ev, result, "Dana Scully", when=WHEN)) == data
