"""The comparison page: both panels at the same crop, the difference with its colour scale,
the numbers, the registration and what a comparison can and cannot show; same case, same
bytes."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from tests.compare.scenes import jpeg_bytes, second_version, textured_scene
from trufor_desk.case import Case, fixed_clock, load_case, save_case
from trufor_desk.cli.case_compare import compare_items
from trufor_desk.evidence import open_evidence
from trufor_desk.report import render_report

pypdf = pytest.importorskip("pypdf")
WHEN = datetime(2024, 5, 2, 9, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def saved_case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cmp")
    first = textured_scene(450, 600, seed=21)
    (folder / "camera.jpg").write_bytes(jpeg_bytes(first, 95))
    (folder / "social.jpg").write_bytes(second_version(first, quality=75).data)
    c = Case("2024-031", "Dana Scully", "Two versions", clock=fixed_clock(WHEN))
    c.add_evidence(open_evidence(folder / "camera.jpg"))
    c.add_evidence(open_evidence(folder / "social.jpg"))
    compare_items(c, "E1", "E2", register=True)
    return save_case(c, folder / "c.tfcase")


def _pages(data: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]


def test_comparison_page_is_present_with_numbers_registration_and_caveat(saved_case):
    case = load_case(saved_case)
    rec = case.get_comparison("C1")
    data = render_report(case)
    texts = _pages(data)
    first = next(i for i, p in enumerate(texts) if "Comparison C1" in p)
    last = next(i for i, p in enumerate(texts) if "Notes and annotations" in p)
    pages = texts[first:last]
    text = " ".join(" ".join(pages).split())
    for needle in ("E1 camera.jpg", "E2 social.jpg", "PSNR over the overlap", "SSIM over the overlap",
                   f"{rec.numbers['threshold']} levels of 255", "Region 1", "JPEG quantisation tables",
                   "different: at least one file was saved again", "affine", "Residual", "ECC correlation",
                   "does not show which version is the original", rec.arrays_sha256):
        assert needle in text, needle
    reader = pypdf.PdfReader(io.BytesIO(data))
    page = reader.pages[first]
    assert len(page.images) >= 5          # A, B, difference, outlined regions, colour scale


def test_report_with_a_comparison_is_deterministic(saved_case):
    assert render_report(load_case(saved_case)) == render_report(load_case(saved_case))


def test_first_page_lists_the_comparison_with_what_it_measured(saved_case):
    case = load_case(saved_case)
    rec = case.get_comparison("C1")
    first = " ".join(_pages(render_report(case))[0].split())
    assert "Comparisons 1" in first and "Comparisons at a glance" in first
    assert f"{100 * rec.numbers['fraction_over']:.3f} % of the overlap" in first
    assert "B aligned onto A" in first
