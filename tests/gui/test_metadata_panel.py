"""The metadata panel: every section the sources fill, summaries open, long sections collapsed."""

from __future__ import annotations

import pytest

from tests.conftest import natural_image
from tests.evidence.test_metadata_exiv2 import CANON, history, with_metadata
from trufor_desk.evidence import open_evidence
from trufor_desk.gui.info_panels import COLLAPSED_ABOVE, MetadataPanel

pytest.importorskip("exiv2")


def tree(panel) -> dict[str, tuple[bool, dict[str, str]]]:
    out = {}
    for i in range(panel.topLevelItemCount()):
        top = panel.topLevelItem(i)
        out[top.text(0)] = (top.isExpanded(), {top.child(j).text(0): top.child(j).text(1)
                                               for j in range(top.childCount())})
    return out


def test_panel_shows_maker_notes_iptc_and_history(qtbot, tmp_path):
    tags = {**CANON, **{f"Exif.Canon.{name}": "x" for name in ("ImageType", "OwnerName")}}
    path = with_metadata(tmp_path, natural_image(64, 96), exif=tags,
                         iptc={"Iptc.Application2.Byline": "Jane Doe", "Iptc.Application2.Caption": "Harbour"},
                         xmp={**history(*[("saved", f"2024-05-01T10:{m:02d}:00", "GIMP 2.10") for m in range(30)]),
                              "Xmp.photoshop.Credit": "Harbour Agency"})
    panel = MetadataPanel()
    qtbot.addWidget(panel)
    panel.show_evidence(open_evidence(path))
    t = tree(panel)
    assert t["File"][1]["Metadata read with"].startswith("libexiv2 ")
    assert t["Maker notes summary"] == (True, {"Serial number": "12345678 (Canon.SerialNumber)",
                                               "Internal serial number": "XA1234567 (Canon.InternalSerialNumber)",
                                               "Firmware": "Firmware Version 1.0.6 (Canon.FirmwareVersion)",
                                               "Lens": "EF24-70mm f/2.8L II USM (Canon.LensModel)",
                                               "Owner": "x (Canon.OwnerName)"})
    assert t["IPTC summary"][1] == {"Byline": "Jane Doe", "Caption": "Harbour"}
    assert t["Maker notes"][1]["Canon.ImageType"] == "x"
    expanded, events = t["XMP history"]
    assert len(events) == 30 > COLLAPSED_ABOVE and not expanded
    assert events["30"] == "saved \u00b7 2024-05-01T10:29:00 \u00b7 GIMP 2.10"
    assert t["XMP properties"][1]["photoshop.Credit"] == "Harbour Agency"
    assert t["Warnings"][0] and any(v.startswith("XMP history records 30 events by editing software")
                                    for v in t["Warnings"][1].values())
    top = [panel.topLevelItem(i) for i in range(panel.topLevelItemCount())]
    assert next(x for x in top if x.text(0) == "XMP history").text(1) == "30 rows"
    assert "serial numbers" in next(x for x in top if x.text(0) == "Maker notes summary").toolTip(0)
