"""The report's metadata summary: the key rows of every source, maker notes, IPTC and the XMP
history included, within a budget; every row stays in the case."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from tests.conftest import natural_image
from tests.evidence.test_metadata_exiv2 import CANON, history, with_metadata
from trufor_desk.case import Case, fixed_clock
from trufor_desk.evidence import open_evidence
from trufor_desk.report import render_report
from trufor_desk.report.metadata_summary import MAX_ROWS_PER_EXIV2_SECTION, metadata_subset

pypdf = pytest.importorskip("pypdf")
pytest.importorskip("exiv2")
WHEN = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def camera_case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("meta")
    path = with_metadata(folder, natural_image(90, 120), exif=CANON,
                         iptc={"Iptc.Application2.Byline": "Jane Doe", "Iptc.Application2.Caption": "Harbour at dawn",
                               "Iptc.Application2.Copyright": "(c) 2024 Jane Doe"},
                         xmp={**history(*[("saved", f"2024-05-01T10:{m:02d}:00", "Adobe Photoshop 25.0 (Windows)")
                                          for m in range(20)]),
                              "Xmp.photoshop.Credit": "Harbour Agency", "Xmp.dc.rights": "lang=x-default All rights"})
    c = Case("2024-018", "Dana Scully", "Harbour photo", clock=fixed_clock(WHEN))
    c.add_evidence(open_evidence(path))
    return c


def test_subset_has_maker_notes_iptc_history_and_photoshop_fields(camera_case):
    rows = camera_case.evidence[0].metadata
    shown, more = metadata_subset(rows)
    keys = [(s, k) for s, k, _ in shown]
    assert ("Maker notes summary", "Serial number") in keys and ("Maker notes summary", "Firmware") in keys
    assert {("IPTC summary", k) for k in ("Byline", "Caption", "Copyright")} <= set(keys)
    assert ("XMP properties", "photoshop.Credit") in keys and ("XMP properties", "dc.rights") not in keys
    history_rows = [k for s, k in keys if s == "XMP history"]
    assert history_rows == [str(i) for i in range(1, MAX_ROWS_PER_EXIV2_SECTION + 1)]
    assert not any(s in ("Maker notes", "IPTC") for s, _ in keys)        # the full lists stay in the case
    assert keys.index(("EXIF summary", "Make")) < keys.index(("Maker notes summary", "Serial number")) \
        < keys.index(("XMP history", "1")) < keys.index(("JPEG", "Quality"))
    assert more == sum(1 for r in rows if r[0] not in ("File", "Warnings")) - len(shown) > 0


def test_report_prints_them(camera_case):
    reader = pypdf.PdfReader(io.BytesIO(render_report(camera_case)))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    for needle in ("Maker notes summary: Serial number", "12345678 (Canon.SerialNumber)", "IPTC summary: Byline",
                   "Harbour at dawn", "XMP history: 1", "Harbour Agency", "XMP history records 20 events"):
        assert needle in text, needle
