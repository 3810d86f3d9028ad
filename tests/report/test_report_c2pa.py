"""Content Credentials in the report: a page-1 line per evidence item, invalid manifests and
declared AI generation as findings of their own beside the detectors' verdict, a section on
the evidence page with the trust list's hash and the SDK version; read from the case file."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

pypdf = pytest.importorskip("pypdf")
pytest.importorskip("cryptography")
pytest.importorskip("c2pa")

from tests.c2pa_fixtures import GENERATOR  # noqa: E402
from trufor_desk.case import Case, fixed_clock, load_case, save_case  # noqa: E402
from trufor_desk.engines.registry import create_engine  # noqa: E402
from trufor_desk.evidence import open_evidence  # noqa: E402
from trufor_desk.evidence.provenance import NOT_PROOF, load_trust_list  # noqa: E402
from trufor_desk.report import render_report  # noqa: E402

WHEN = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def pages(data: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(data)).pages]


@pytest.fixture(scope="module")
def report(c2pa_files, tmp_path_factory):
    trust = load_trust_list(c2pa_files.trust)
    case = Case("2024-C2PA", "Dana Scully", "Provenance", clock=fixed_clock(WHEN))
    engine = create_engine("ela")
    for path in (c2pa_files.valid_jpg, c2pa_files.tampered_pixels, c2pa_files.ai_png, c2pa_files.none_jpg):
        ev = open_evidence(path)
        ref = case.add_evidence(ev, c2pa_trust=trust)
        case.add_analysis(ref.id, engine.analyze(ev))
    saved = save_case(case, tmp_path_factory.mktemp("case") / "c2pa.tfcase")
    loaded = load_case(saved)
    assert loaded.verification.ok  # the record is covered by the evidence digest and survives the round trip
    return trust, loaded, pages(render_report(loaded))


def test_page_one_has_a_line_per_evidence_and_findings_beside_the_verdicts(report):
    trust, case, text = report
    first = text[0]
    assert "Findings at a glance" in first
    assert ("Content Credentials of E2 pixel-changed.png, beside the detectors' verdict: Content Credentials "
            "INVALID: the pixels changed after signing") in first
    assert ("Content Credentials of E3 dream.png, beside the detectors' verdict: AI generation declared"
            in first) and GENERATOR in first
    # the detectors' verdicts are still there, one per analysis, before the Content Credentials findings
    assert all(f"{a.id} \u00b7" in first for a in case.analyses)
    assert first.index("A4 \u00b7") < first.index("Content Credentials of E2")
    glance = " ".join(text[:2])  # four evidence items: the one-line states may run onto page 2
    assert "Content Credentials (C2PA) at a glance" in glance
    assert "E1 camera.jpg: valid, signer trusted; signed by Test Camera 7" in glance
    assert "E4 plain.jpg: no Content Credentials" in glance
    assert NOT_PROOF[1:] in glance


def test_evidence_pages_have_their_own_section_with_the_parameters(report):
    trust, case, text = report
    page = next(p for p in text if "Evidence E2: pixel-changed.png" in p)
    assert "Content Credentials (C2PA)" in page
    assert "Failure: assertion.dataHash.mismatch" in page and "the pixels changed after signing" in page
    assert trust.sha256 in page.replace(" ", "")
    assert "c2pa-python 0." in page and "offline: no remote manifest or OCSP fetch" in page


def test_a_case_from_before_content_credentials_still_reports(c2pa_files):
    case = Case("OLD", "Dana Scully", clock=fixed_clock(WHEN))
    ref = case.add_evidence(open_evidence(c2pa_files.valid_jpg))
    ref.c2pa = None  # as a case written by an earlier version holds it
    assert "c2pa" not in ref.record()  # so its recorded digest is the one it always had
    text = pages(render_report(case))
    assert "E1 camera.jpg: not read (evidence registered before Content Credentials were read)" in text[0]
