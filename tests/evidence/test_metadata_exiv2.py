"""What exiv2 adds to the metadata: maker notes, IPTC, every XMP property and the history,
embedded previews, the warnings they allow; damaged blocks; the evidence left untouched.

Every test file is generated here (Pillow) and given its metadata by exiv2 itself, so the
test states exactly what a camera or an editor would have written."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import struct

import numpy as np
import pytest
from PIL import Image

from tests.conftest import natural_image
from trufor_desk.case.model import Case
from trufor_desk.evidence import open_evidence
from trufor_desk.evidence.metadata import EXIV2_MISSING, Metadata, extract_metadata, metadata_rows

exiv2 = pytest.importorskip("exiv2")


def jpeg_bytes(arr, quality=90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def with_metadata(tmp_path, arr, exif=None, iptc=None, xmp=None, name="m.jpg"):
    """A JPEG of ``arr`` whose metadata exiv2 wrote: ``{key: value}`` per family; a list
    value of an IPTC key writes the dataset once per item, ``xmp`` values may be XmpArrayValue."""
    path = tmp_path / name
    path.write_bytes(jpeg_bytes(arr))
    image = exiv2.ImageFactory.open(str(path))
    image.readMetadata()
    ed, idata, xd = image.exifData(), image.iptcData(), image.xmpData()
    for k, v in (exif or {}).items():
        ed[k] = v
    for k, v in (iptc or {}).items():
        for item in (v if isinstance(v, list) else [v]):
            value = exiv2.Value.create(exiv2.TypeId.string)
            value.read(item)
            idata.add(exiv2.IptcKey(k), value)
    for k, v in (xmp or {}).items():
        xd[k] = v
    image.writeMetadata()
    del image
    return path


def history(*events):
    """XMP properties of an ``xmpMM:History`` sequence of (action, when, softwareAgent)."""
    props = {"Xmp.xmpMM.History": exiv2.XmpArrayValue(exiv2.TypeId.xmpSeq)}
    for i, (action, when, agent) in enumerate(events, 1):
        props[f"Xmp.xmpMM.History[{i}]/stEvt:action"] = action
        props[f"Xmp.xmpMM.History[{i}]/stEvt:when"] = when
        props[f"Xmp.xmpMM.History[{i}]/stEvt:softwareAgent"] = agent
    return props


def xmp_thumbnail(arr) -> dict:
    data = jpeg_bytes(arr, 85)
    h, w = arr.shape[:2]
    return {"Xmp.xmp.Thumbnails": exiv2.XmpArrayValue(exiv2.TypeId.xmpAlt),
            "Xmp.xmp.Thumbnails[1]/xmpGImg:format": "JPEG", "Xmp.xmp.Thumbnails[1]/xmpGImg:width": str(w),
            "Xmp.xmp.Thumbnails[1]/xmpGImg:height": str(h),
            "Xmp.xmp.Thumbnails[1]/xmpGImg:image": base64.b64encode(data).decode()}


def small(arr, w, h):
    return np.asarray(Image.fromarray(arr).resize((w, h), Image.Resampling.LANCZOS))


def keyed(md):
    return {(s, k): v for s, k, v in metadata_rows(md)}


CANON = {"Exif.Image.Make": "Canon", "Exif.Image.Model": "Canon EOS 5D Mark IV",
         "Exif.Canon.SerialNumber": "12345678", "Exif.Canon.FirmwareVersion": "Firmware Version 1.0.6",
         "Exif.Canon.OwnerName": "Jane Doe", "Exif.Canon.LensModel": "EF24-70mm f/2.8L II USM",
         "Exif.Canon.InternalSerialNumber": "XA1234567"}


# ---------------------------------------------------------------------------------------
# maker notes


def test_canon_maker_notes_are_decoded_and_summarised(tmp_path):
    md = extract_metadata(open_evidence(with_metadata(tmp_path, natural_image(120, 160), exif=CANON)))
    mn = md.makernote
    assert mn["present"] and mn["groups"] == ["Canon"] and mn["byte_order"] == "II"
    assert mn["tags"]["Canon.SerialNumber"] == "12345678"
    assert mn["tags"]["Canon.LensModel"] == "EF24-70mm f/2.8L II USM"
    s = mn["summary"]
    assert s["Serial number"] == "12345678 (Canon.SerialNumber)"
    assert s["Internal serial number"] == "XA1234567 (Canon.InternalSerialNumber)"
    assert s["Firmware"] == "Firmware Version 1.0.6 (Canon.FirmwareVersion)"
    assert s["Lens"] == "EF24-70mm f/2.8L II USM (Canon.LensModel)"
    assert s["Owner"] == "Jane Doe (Canon.OwnerName)"
    rows = keyed(md)
    assert rows[("Maker notes summary", "Serial number")] == "12345678 (Canon.SerialNumber)"
    assert rows[("Maker notes", "Canon.OwnerName")] == "Jane Doe"
    assert rows[("Maker notes", "Maker note")] == "Canon (byte order II)"
    assert md.exif["summary"]["Make"] == "Canon"            # the Pillow summary is still there
    assert md.file["metadata_reader"].startswith("libexiv2 ")


@pytest.mark.parametrize("make,tags,summary", [
    ("NIKON CORPORATION", {"Exif.Nikon3.SerialNumber": "6012345", "Exif.Nikon3.ShutterCount": "12345",
                           "Exif.Nikon3.Lens": "240/10 700/10 28/10 28/10"},
     {"Serial number": "6012345 (Nikon3.SerialNumber)", "Shutter count": "12345 (Nikon3.ShutterCount)",
      "Lens": "24-70mm F2.8 (Nikon3.Lens)"}),
    ("SONY", {"Exif.Sony1.LensID": "2"}, {"Lens": "Minolta AF 28-70mm F2.8 G (Sony1.LensID)"}),
    ("FUJIFILM", {"Exif.Fujifilm.SerialNumber": "FF1234"}, {"Serial number": "FF1234 (Fujifilm.SerialNumber)"}),
    ("OLYMPUS IMAGING CORP.", {"Exif.OlympusEq.SerialNumber": "OL123", "Exif.OlympusEq.LensSerialNumber": "LS9"},
     {"Serial number": "OL123 (OlympusEq.SerialNumber)", "Lens serial number": "LS9 (OlympusEq.LensSerialNumber)"}),
])
def test_other_makers_maker_notes(tmp_path, make, tags, summary):
    md = extract_metadata(open_evidence(with_metadata(tmp_path, natural_image(64, 64),
                                                      exif={"Exif.Image.Make": make, **tags})))
    for label, value in summary.items():
        assert md.makernote["summary"][label] == value
    assert all(k[len("Exif."):] in md.makernote["tags"] for k in tags)


def test_file_without_maker_notes(tmp_path):
    md = extract_metadata(open_evidence(with_metadata(tmp_path, natural_image(64, 64),
                                                      exif={"Exif.Image.Make": "Canon"})))
    assert md.makernote == {"present": False, "summary": {}, "tags": {}, "notes": []}
    assert keyed(md)[("Maker notes", "present")] == "no"


# ---------------------------------------------------------------------------------------
# IPTC, XMP properties and history


def test_iptc_datasets_and_summary(tmp_path):
    iptc = {"Iptc.Application2.Byline": "Jane Doe", "Iptc.Application2.Caption": "Harbour at dawn",
            "Iptc.Application2.Copyright": "(c) 2024 Jane Doe", "Iptc.Application2.Keywords": ["harbour", "dawn"],
            "Iptc.Application2.City": "Brest"}
    md = extract_metadata(open_evidence(with_metadata(tmp_path, natural_image(64, 64), iptc=iptc)))
    ip = md.iptc
    assert ip["present"]
    assert ip["datasets"]["Application2.Keywords"] == ["harbour", "dawn"]
    assert ip["datasets"]["Application2.City"] == "Brest"
    assert ip["summary"] == {"Byline": "Jane Doe", "Copyright": "(c) 2024 Jane Doe", "Caption": "Harbour at dawn",
                             "Keywords": "harbour; dawn", "City": "Brest"}
    rows = keyed(md)
    assert rows[("IPTC summary", "Byline")] == "Jane Doe"
    assert rows[("IPTC", "Application2.Keywords")] == "harbour, dawn"
    assert not any("IPTC" in w for w in md.warnings)


def test_iptc_text_that_is_not_utf8_is_read_as_latin(tmp_path):
    md = extract_metadata(open_evidence(with_metadata(tmp_path, natural_image(32, 32), iptc={})))
    data = open_evidence(tmp_path / "m.jpg").raw
    payload = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00" + struct.pack(">I", 10) + b"\x1c\x02\x50\x00\x05Jos\xe9e"
    data = data[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + data[2:]
    (tmp_path / "l.jpg").write_bytes(data)
    md = extract_metadata(open_evidence(tmp_path / "l.jpg"))
    assert md.iptc["summary"]["Byline"] == "Jos\u00e9e"
    json.dumps(md.to_dict(), allow_nan=False).encode("utf-8")


def test_every_xmp_property_and_the_history_events(tmp_path):
    xmp = {**history(("created", "2024-04-30T09:00:00", "Canon EOS 5D Mark IV"),
                     ("saved", "2024-05-01T10:00:00+02:00", "Adobe Photoshop 25.0 (Windows)"),
                     ("converted", "2024-05-01T10:05:00+02:00", "GIMP 2.10")),
           "Xmp.xmpMM.History[2]/stEvt:changed": "/",
           "Xmp.photoshop.Credit": "Harbour Agency", "Xmp.photoshop.AuthorsPosition": "Staff photographer",
           "Xmp.photoshop.DateCreated": "2024-04-30", "Xmp.dc.title": "lang=x-default Harbour",
           "Xmp.xmp.Rating": "4"}
    md = extract_metadata(open_evidence(with_metadata(tmp_path, natural_image(64, 64), xmp=xmp)))
    x = md.xmp
    props = x["properties"]
    assert props["photoshop.Credit"] == "Harbour Agency" and props["photoshop.DateCreated"] == "2024-04-30"
    assert props["photoshop.AuthorsPosition"] == "Staff photographer" and props["xmp.Rating"] == "4"
    assert props["dc.title"] == 'lang="x-default" Harbour'
    assert props["xmpMM.History[3]/stEvt:softwareAgent"] == "GIMP 2.10"
    assert "xmpMM.History" not in props and "xmpMM.History[1]" not in props    # containers are not values
    assert x["history"] == [
        {"action": "created", "when": "2024-04-30T09:00:00", "softwareAgent": "Canon EOS 5D Mark IV"},
        {"action": "saved", "when": "2024-05-01T10:00:00+02:00", "softwareAgent": "Adobe Photoshop 25.0 (Windows)",
         "changed": "/"},
        {"action": "converted", "when": "2024-05-01T10:05:00+02:00", "softwareAgent": "GIMP 2.10"}]
    assert x["fields"]["HistoryEntries"] == 3                 # the pattern reader agrees
    rows = keyed(md)
    assert rows[("XMP history", "2")] == ("saved \u00b7 2024-05-01T10:00:00+02:00 \u00b7 Adobe Photoshop 25.0 "
                                          "(Windows) \u00b7 changed: /")
    assert rows[("XMP properties", "photoshop.Credit")] == "Harbour Agency"
    w = [w for w in md.warnings if w.startswith("XMP history records")]
    assert w == ["XMP history records 2 events by editing software: saved \u00b7 2024-05-01T10:00:00+02:00 \u00b7 "
                 "Adobe Photoshop 25.0 (Windows) \u00b7 changed: /; converted \u00b7 2024-05-01T10:05:00+02:00 "
                 "\u00b7 GIMP 2.10"]


def test_camera_only_history_is_not_an_editing_warning(tmp_path):
    xmp = history(("created", "2024-04-30T09:00:00", "Canon EOS 5D Mark IV"))
    md = extract_metadata(open_evidence(with_metadata(tmp_path, natural_image(64, 64), xmp=xmp)))
    assert len(md.xmp["history"]) == 1
    assert not any(w.startswith("XMP history records") for w in md.warnings)


def test_editor_named_in_iptc_program_and_xmp_software(tmp_path):
    md = extract_metadata(open_evidence(with_metadata(
        tmp_path, natural_image(64, 64), iptc={"Iptc.Application2.Program": "GIMP",
                                               "Iptc.Application2.ProgramVersion": "2.10"},
        xmp={"Xmp.tiff.Software": "Adobe Photoshop Lightroom Classic 13.0"})))
    assert "IPTC originating program says 'GIMP' (version 2.10)" in md.warnings
    assert "XMP tiff.Software says 'Adobe Photoshop Lightroom Classic 13.0'" in md.warnings


# ---------------------------------------------------------------------------------------
# dates and previews


def test_capture_date_later_than_modify_date_is_flagged(tmp_path):
    exif = {"Exif.Image.Make": "Canon", "Exif.Image.DateTime": "2024:05:01 10:00:00",
            "Exif.Photo.DateTimeOriginal": "2024:05:02 09:00:00"}
    md = extract_metadata(open_evidence(with_metadata(tmp_path, natural_image(64, 64), exif=exif,
                                                      xmp={"Xmp.xmp.ModifyDate": "2024-05-01T12:00:00+02:00"})))
    later = [w for w in md.warnings if "is later than" in w]
    assert later == [
        "DateTimeOriginal (2024:05:02 09:00:00) is later than DateTime (ModifyDate) (2024:05:01 10:00:00): the "
        "capture date comes after the last change, so one of the dates was set or edited by hand (or the clock "
        "was reset)",
        "DateTimeOriginal (2024:05:02 09:00:00) is later than XMP xmp:ModifyDate (2024-05-01T12:00:00+02:00): the "
        "capture date comes after the last change, so one of the dates was set or edited by hand (or the clock "
        "was reset)"]
    exif["Exif.Photo.DateTimeOriginal"] = "2024:05:01 09:59:59"
    md = extract_metadata(open_evidence(with_metadata(tmp_path, natural_image(64, 64), exif=exif, name="ok.jpg")))
    assert not any("is later than" in w for w in md.warnings)


def test_embedded_preview_of_other_content_is_flagged(tmp_path):
    main = natural_image(240, 320, seed=1)
    y, x = np.mgrid[0:120, 0:160]
    other = np.stack([x * 255 // 160, y * 255 // 120, ((x // 20 + y // 20) % 2) * 255], -1).astype(np.uint8)
    md = extract_metadata(open_evidence(with_metadata(tmp_path, main, xmp=xmp_thumbnail(other))))
    (item,) = md.previews["items"]
    assert md.previews["present"] and item["source"] == "XMP thumbnail (xmp:Thumbnails)"
    assert (item["width"], item["height"], item["mime_type"]) == (160, 120, "image/jpeg")
    assert item["comparison"]["status"] == "differs"
    assert any(w.startswith("embedded preview (XMP thumbnail (xmp:Thumbnails), 160 x 120 image/jpeg") and
               "differs from the image" in w for w in md.warnings)
    rows = keyed(md)
    assert rows[("Embedded previews", "Preview 1")].startswith("XMP thumbnail (xmp:Thumbnails), 160 x 120")
    assert rows[("Embedded previews", "Preview 1 verdict")].startswith("thumbnail differs from the image")
    assert rows[("XMP properties", "xmp.Thumbnails[1]/xmpGImg:image")].startswith("<base64 image, ")


def test_embedded_preview_of_the_image_matches(tmp_path):
    main = natural_image(240, 320, seed=1)
    md = extract_metadata(open_evidence(with_metadata(tmp_path, main, xmp=xmp_thumbnail(small(main, 160, 120)))))
    assert md.previews["items"][0]["comparison"]["status"] == "match"
    assert not any("preview" in w for w in md.warnings)


def test_exif_thumbnail_is_not_listed_twice_as_a_preview(tmp_path):
    main = natural_image(240, 320, seed=2)
    path = tmp_path / "t.jpg"
    path.write_bytes(jpeg_bytes(main))
    image = exiv2.ImageFactory.open(str(path))
    image.readMetadata()
    exiv2.ExifThumb(image.exifData()).setJpegThumbnail(jpeg_bytes(small(main, 160, 120), 85))
    image.writeMetadata()
    del image
    md = extract_metadata(open_evidence(path))
    assert md.thumbnail["present"] and md.thumbnail["comparison"]["status"] == "match"
    assert [i.get("same_as_exif_thumbnail") for i in md.previews["items"]] == [True]
    assert not md.previews["present"] and "_data" not in md.thumbnail
    assert not any(s == "Embedded previews" for s, _, _ in metadata_rows(md))


# ---------------------------------------------------------------------------------------
# damaged blocks: a warning, never a failed intake


def insert_segment(data: bytes, marker: int, payload: bytes) -> bytes:
    return data[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def intake(tmp_path, data: bytes, name="d.jpg"):
    path = tmp_path / name
    path.write_bytes(data)
    ev = open_evidence(path)
    case = Case("X", "Examiner")
    ref = case.add_evidence(ev)
    assert ref.metadata and ref.metadata[0][0] == "File"
    return extract_metadata(ev), ref


def rich_jpeg(tmp_path) -> bytes:
    path = with_metadata(tmp_path, natural_image(96, 128), exif=CANON,
                         iptc={"Iptc.Application2.Byline": "Jane Doe"},
                         xmp={"Xmp.photoshop.Credit": "Harbour Agency"}, name="rich.jpg")
    return path.read_bytes()


def test_garbled_exif_block_keeps_iptc_and_xmp(tmp_path):
    data = rich_jpeg(tmp_path)
    start = data.index(b"Exif\x00\x00")
    bad = data[:start + 6] + b"II\x2a\x00\xff\xff\xff\x7f" + data[start + 14:]     # IFD0 offset far outside
    md, ref = intake(tmp_path, bad)
    assert any(w.startswith("malformed metadata: exiv2 could not read the metadata") for w in md.warnings)
    assert md.iptc["summary"]["Byline"] == "Jane Doe"                               # read again without EXIF
    assert md.xmp["properties"]["photoshop.Credit"] == "Harbour Agency"
    assert not md.makernote["present"]
    assert md.jpeg["quality_estimate"] == 90 and md.jpeg["markers"]
    assert ref.metadata_warnings == md.warnings


def test_truncated_exif_block(tmp_path):
    data = rich_jpeg(tmp_path)
    start = data.index(b"Exif\x00\x00") - 4                       # the APP1 marker
    length = struct.unpack(">H", data[start + 2:start + 4])[0]
    cut = data[start + 4:start + 2 + length][:40]                   # the first 40 bytes of its payload only
    bad = data[:start] + b"\xff\xe1" + struct.pack(">H", len(cut) + 2) + cut + data[start + 2 + length:]
    md, _ = intake(tmp_path, bad)
    assert md.exif["block_bytes"] == 34
    assert any(w.startswith("malformed") or "unreadable" in w for w in md.warnings)
    assert md.iptc["summary"]["Byline"] == "Jane Doe" and md.xmp["properties"]["photoshop.Credit"]
    json.dumps(md.to_dict(), allow_nan=False)


def test_garbage_xmp_is_a_warning_and_exiv2_says_nothing_on_stderr(tmp_path, capfd):
    data = insert_segment(rich_jpeg(tmp_path), 0xE1,
                          b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><rdf:RDF><rdf:Descr garbage &&& <<")
    capfd.readouterr()
    md, _ = intake(tmp_path, data)
    out = capfd.readouterr()
    assert out.err == "" and out.out == ""
    assert any(w.startswith("malformed XMP metadata: exiv2 error: XMP Toolkit error") for w in md.warnings)
    assert "exiv2 warning: Failed to decode XMP metadata." in md.xmp["notes"]
    assert md.makernote["summary"]["Serial number"] == "12345678 (Canon.SerialNumber)"
    assert md.iptc["present"] and md.jpeg["quality_estimate"] == 90


def test_bad_iptc_segment_is_a_warning(tmp_path):
    iptc = b"\x1c\x02\x50\x7f\xffabc"                                  # a dataset longer than its block
    irb = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc + b"\x00"
    data = insert_segment(jpeg_bytes(natural_image(64, 64)), 0xED, irb)
    md, _ = intake(tmp_path, data)
    assert any(w.startswith("malformed IPTC metadata: exiv2 warning:") for w in md.warnings), md.warnings
    assert not md.iptc["present"] and md.jpeg["quality_estimate"] == 90
    assert "APP13 Photoshop IRB" in md.jpeg["markers"]


def test_random_damage_to_exiv2_metadata_never_raises(tmp_path):
    good = rich_jpeg(tmp_path)
    ev = open_evidence(tmp_path / "rich.jpg")
    end = good.find(b"\xff\xda")
    rng = np.random.default_rng(11)
    for _ in range(60):
        b = bytearray(good)
        for i in rng.integers(2, end, 12):
            b[i] = int(rng.integers(0, 256))
        md = extract_metadata(dataclasses.replace(ev, raw=bytes(b)))
        json.dumps(md.to_dict(), allow_nan=False)
        metadata_rows(md)


# ---------------------------------------------------------------------------------------
# the evidence is never touched; exiv2 is optional


def test_evidence_bytes_and_file_are_unchanged(tmp_path):
    path = tmp_path / "rich.jpg"
    path.write_bytes(rich_jpeg(tmp_path))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    stat = path.stat()
    ev = open_evidence(path)
    raw_before = hashlib.sha256(ev.raw).hexdigest()
    md = extract_metadata(ev)
    Case("X", "Examiner").add_evidence(ev)
    assert md.makernote["present"] and md.iptc["present"]
    assert hashlib.sha256(ev.raw).hexdigest() == raw_before == before == ev.sha256
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert path.stat().st_mtime_ns == stat.st_mtime_ns and path.stat().st_size == stat.st_size
    path.unlink()                                    # everything comes from ev.raw
    assert extract_metadata(ev).makernote["tags"] == md.makernote["tags"]


def test_without_exiv2_the_pillow_sections_remain(tmp_path, monkeypatch):
    from trufor_desk.evidence.metadata import exiv2_tags

    monkeypatch.setitem(exiv2_tags._loaded, "module", None)
    path = with_metadata(tmp_path, natural_image(64, 64), exif=CANON, xmp=history(
        ("saved", "2024-05-01T10:00:00", "Adobe Photoshop 25.0 (Windows)")))
    md = extract_metadata(open_evidence(path))
    assert EXIV2_MISSING == "exiv2 not installed: maker notes, IPTC and full XMP not read"
    assert EXIV2_MISSING in md.warnings
    assert md.exif["summary"]["Make"] == "Canon" and md.xmp["fields"]["HistoryEntries"] == 1
    assert md.makernote == {} and md.iptc == {} and "properties" not in md.xmp
    assert "metadata_reader" not in md.file
    sections = {s for s, _, _ in metadata_rows(md)}
    assert not sections & {"Maker notes", "Maker notes summary", "IPTC", "XMP properties"}


def test_new_sections_survive_the_json_round_trip(tmp_path):
    main = natural_image(240, 320, seed=1)
    md = extract_metadata(open_evidence(with_metadata(
        tmp_path, main, exif=CANON, iptc={"Iptc.Application2.Caption": "x"},
        xmp={**history(("saved", "2024-05-01T10:00:00", "GIMP 2.10")), **xmp_thumbnail(small(main, 160, 120))})))
    d = json.loads(json.dumps(md.to_dict(), allow_nan=False))
    assert d["makernote"]["tags"]["Canon.SerialNumber"] == "12345678"
    assert "data" not in d["previews"]["items"][0]
    assert Metadata.from_dict(d).to_dict() == d
    assert metadata_rows(Metadata.from_dict(d)) == metadata_rows(md)
