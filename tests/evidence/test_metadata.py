"""Metadata an examiner reads: EXIF summary and GPS, XMP, ICC, JPEG tables and structure,
EXIF thumbnail against the image, and robustness to malformed metadata."""

from __future__ import annotations

import dataclasses
import io
import json
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from tests.conftest import natural_image
from trufor_desk.evidence import open_evidence
from trufor_desk.evidence.metadata import (
    IJG_CHROMINANCE,
    IJG_LUMINANCE,
    ZIGZAG,
    Metadata,
    estimate_ijg_quality,
    extract_metadata,
    ijg_table,
    metadata_rows,
    orientation_text,
    parse_jpeg_markers,
)

# ---------------------------------------------------------------------------------------
# a minimal EXIF (TIFF) writer, so tests can embed IFD1 thumbnails Pillow cannot write

ASCII, SHORT, LONG, RATIONAL, UNDEFINED = 2, 3, 4, 5, 7


def _encode(typ, val, e):
    if typ == ASCII:
        b = val.encode() + b"\x00"
        return len(b), b
    if typ in (SHORT, LONG):
        vals = val if isinstance(val, (tuple, list)) else (val,)
        return len(vals), struct.pack(e + ("H" if typ == SHORT else "I") * len(vals), *vals)
    if typ == RATIONAL:
        vals = val if isinstance(val[0], (tuple, list)) else (val,)
        return len(vals), b"".join(struct.pack(e + "II", n, d) for n, d in vals)
    b = bytes(val)
    return len(b), b


def _ifd(entries, start, e, next_off=0):
    entries = sorted(entries, key=lambda t: t[0])
    data_off = start + 2 + 12 * len(entries) + 4
    head, data = struct.pack(e + "H", len(entries)), b""
    for tag, typ, val in entries:
        count, b = _encode(typ, val, e)
        if len(b) <= 4:
            fld = b.ljust(4, b"\x00")
        else:
            fld = struct.pack(e + "I", data_off + len(data))
            data += b + (b"\x00" if len(b) % 2 else b"")
        head += struct.pack(e + "HHI", tag, typ, count) + fld
    return head + struct.pack(e + "I", next_off) + data


def build_exif(ifd0, exif=(), gps=(), thumb: bytes | None = None, big_endian=False) -> bytes:
    """APP1 payload ``Exif\\0\\0`` + TIFF with IFD0, Exif IFD, GPS IFD and an IFD1 JPEG thumbnail."""
    e = ">" if big_endian else "<"

    def layout(p_exif, p_gps, p_ifd1, p_thumb):
        e0 = list(ifd0) + ([(0x8769, LONG, p_exif)] if exif else []) + ([(0x8825, LONG, p_gps)] if gps else [])
        t1 = [(0x0103, SHORT, 6), (0x0201, LONG, p_thumb), (0x0202, LONG, len(thumb or b""))]
        b0 = _ifd(e0, 8, e, p_ifd1 if thumb else 0)
        pos = 8 + len(b0)
        be = _ifd(list(exif), pos, e) if exif else b""
        pos_exif, pos = pos, pos + len(be)
        bg = _ifd(list(gps), pos, e) if gps else b""
        pos_gps, pos = pos, pos + len(bg)
        b1 = _ifd(t1, pos, e) if thumb else b""
        pos_ifd1, pos = pos, pos + len(b1)
        return [b0, be, bg, b1, thumb or b""], (pos_exif, pos_gps, pos_ifd1, pos)

    _, offs = layout(0, 0, 0, 0)
    blocks, offs2 = layout(*offs)
    assert offs2 == offs
    head = (b"MM\x00\x2a" if big_endian else b"II\x2a\x00") + struct.pack(e + "I", 8)
    return b"Exif\x00\x00" + head + b"".join(blocks)


def jpeg_bytes(arr, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", **kw)
    return buf.getvalue()


CAMERA_IFD0 = [(0x010F, ASCII, "Canon"), (0x0110, ASCII, "Canon EOS 5D Mark IV"),
               (0x0131, ASCII, "Adobe Photoshop 25.0 (Windows)"), (0x0132, ASCII, "2024:05:01 10:00:00")]
CAMERA_EXIF = [(0x9003, ASCII, "2024:04:30 09:00:00"), (0x829A, RATIONAL, (1, 125)), (0x829D, RATIONAL, (28, 10)),
               (0x8827, SHORT, 400), (0xA434, ASCII, "EF24-70mm f/2.8L II USM"),
               (0x9286, UNDEFINED, b"ASCII\x00\x00\x00hello")]
PARIS_GPS = [(0x0000, 1, b"\x02\x03\x00\x00"), (0x0001, ASCII, "N"),
             (0x0002, RATIONAL, ((48, 1), (51, 1), (3013, 100))),
             (0x0003, ASCII, "W"), (0x0004, RATIONAL, ((2, 1), (17, 1), (4013, 100))),
             (0x0005, 1, b"\x00"), (0x0006, RATIONAL, (35, 1))]


def write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def meta_of(tmp_path, name, data: bytes) -> Metadata:
    return extract_metadata(open_evidence(write(tmp_path, name, data)))


def camera_jpeg(main, thumb_arr, orientation=1, big_endian=False) -> bytes:
    thumb = jpeg_bytes(thumb_arr, quality=85)
    exif = build_exif(CAMERA_IFD0 + [(0x0112, SHORT, orientation)], CAMERA_EXIF, PARIS_GPS, thumb, big_endian)
    return jpeg_bytes(main, quality=92, exif=exif)


def small(arr, w, h):
    return np.asarray(Image.fromarray(arr).resize((w, h), Image.Resampling.LANCZOS))


# ---------------------------------------------------------------------------------------
# EXIF


@pytest.mark.parametrize("big_endian", [False, True])
def test_exif_summary_gps_and_warnings(tmp_path, big_endian):
    main = natural_image(240, 320)
    md = meta_of(tmp_path, "cam.jpg", camera_jpeg(main, small(main, 160, 120), orientation=6,
                                                  big_endian=big_endian))
    s = md.exif["summary"]
    assert md.exif["present"]
    assert s["Make"] == "Canon" and s["Model"] == "Canon EOS 5D Mark IV"
    assert s["Software"].startswith("Adobe Photoshop")
    assert s["DateTimeOriginal"] == "2024:04:30 09:00:00" and s["DateTime"] == "2024:05:01 10:00:00"
    assert s["Orientation"] == "6 = rotate 90 CW"
    assert s["ExposureTime"] == "1/125 s" and s["FNumber"] == "f/2.8" and s["ISO"] == 400
    assert s["LensModel"].startswith("EF24-70mm")
    assert s["GPS latitude"] == pytest.approx(48 + 51 / 60 + 30.13 / 3600, abs=1e-6)
    assert s["GPS longitude"] == pytest.approx(-(2 + 17 / 60 + 40.13 / 3600), abs=1e-6)
    assert s["GPS altitude"] == "35 m"
    assert md.exif["gps_decimal"]["latitude"] == s["GPS latitude"]
    tags = md.exif["tags"]
    assert tags["Make"] == "Canon" and tags["FNumber"] == pytest.approx(2.8)
    assert tags["UserComment"] == "hello" and tags["GPSLatitudeRef"] == "N"
    assert tags["GPSVersionID"] == "2.3.0.0" and tags["GPSAltitudeRef"] == 0
    assert "Thumbnail.JpegIFByteCount" in tags
    w = " | ".join(md.warnings)
    assert "Software tag says 'Adobe Photoshop" in w
    assert "DateTime (2024:05:01 10:00:00, last change) differs from DateTimeOriginal" in w
    assert "Orientation 6 = rotate 90 CW" in w
    assert md.file["exif_orientation"] == 6


def test_orientation_text():
    assert orientation_text(1) == "1 = normal"
    assert orientation_text(8) == "8 = rotate 270 CW"
    assert orientation_text(9) == "9 = invalid value"
    assert "not a number" in orientation_text("x")


def test_png_without_metadata_reports_no_exif(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(natural_image(30, 40)).save(buf, "PNG")
    md = meta_of(tmp_path, "plain.png", buf.getvalue())
    assert not md.exif["present"] and not md.xmp["present"] and not md.icc["present"]
    assert not md.thumbnail["present"] and md.jpeg is None
    assert any(w.startswith("no EXIF metadata (stripped or never written") for w in md.warnings)
    assert [c["chunk"] for c in md.png["chunks"]] == ["IHDR", "IDAT", "IEND"]


# ---------------------------------------------------------------------------------------
# thumbnail


def test_thumbnail_that_matches(tmp_path):
    main = natural_image(480, 640, seed=1)
    md = meta_of(tmp_path, "t.jpg", camera_jpeg(main, small(main, 160, 120)))
    t = md.thumbnail
    assert t["present"] and (t["width"], t["height"]) == (160, 120)
    assert md.thumbnail_rgb.shape == (120, 160, 3) and md.thumbnail_rgb.dtype == np.uint8
    cmp = t["comparison"]
    assert cmp["status"] == "match" and cmp["psnr_db"] >= 25 and cmp["aspect_match"]
    assert cmp["verdict"].startswith("thumbnail matches the image (PSNR")
    assert md.thumbnail_diff.shape == (120, 160)
    assert not any("thumbnail" in w.lower() for w in md.warnings)
    d = md.to_dict()
    assert "thumbnail_rgb" not in d and d["thumbnail"]["size_bytes"] > 0
    json.dumps(d, allow_nan=False)


def test_thumbnail_of_a_different_image_is_flagged(tmp_path):
    main = natural_image(480, 640, seed=1)
    y, x = np.mgrid[0:480, 0:640]
    other = np.stack([(x * 255 // 640), (y * 255 // 480), ((x // 40 + y // 40) % 2) * 255], -1).astype(np.uint8)
    md = meta_of(tmp_path, "t.jpg", camera_jpeg(main, small(other, 160, 120)))
    cmp = md.thumbnail["comparison"]
    assert cmp["status"] == "differs" and cmp["psnr_db"] < 18
    assert cmp["verdict"].startswith("thumbnail differs from the image (PSNR")
    assert any(w.startswith("EXIF thumbnail differs from the image") for w in md.warnings)


def test_thumbnail_of_the_unedited_image_differs_after_an_edit(tmp_path):
    original = natural_image(480, 640, seed=2)
    edited = original.copy()
    edited[100:400, 150:550] = 255 - edited[100:400, 150:550]
    md = meta_of(tmp_path, "t.jpg", camera_jpeg(edited, small(original, 160, 120)))
    assert md.thumbnail["comparison"]["status"] in ("differs", "partial")
    assert any("EXIF thumbnail" in w for w in md.warnings)


def test_thumbnail_stored_in_display_orientation(tmp_path):
    main = natural_image(240, 320, seed=3)
    shown = np.rot90(main, -1)  # what orientation 6 displays
    md = meta_of(tmp_path, "t.jpg", camera_jpeg(main, small(shown, 90, 120), orientation=6))
    cmp = md.thumbnail["comparison"]
    assert cmp["orientation"] == cmp["best_orientation"] == "rotated 90 CW" and cmp["status"] == "match"
    assert cmp["as_stored_psnr_db"] < cmp["psnr_db"]
    assert "display orientation" in cmp["verdict"]


def test_letterboxed_thumbnail_still_matches(tmp_path):
    main = natural_image(400, 600, seed=4)   # 3:2 image, 4:3 thumbnail with black bars
    thumb = np.zeros((120, 160, 3), np.uint8)
    thumb[7:113] = small(main, 160, 106)
    md = meta_of(tmp_path, "t.jpg", camera_jpeg(main, thumb))
    cmp = md.thumbnail["comparison"]
    assert cmp["status"] == "match" and cmp["aspect_match"] and cmp["letterbox"]


def test_centre_cropped_camera_thumbnail_matches(tmp_path):
    main = natural_image(360, 640, seed=6)                # 16:9 image, 4:3 thumbnail of its centre
    md = meta_of(tmp_path, "t.jpg", camera_jpeg(main, small(main[:, 80:560], 160, 120)))
    cmp = md.thumbnail["comparison"]
    assert cmp["status"] == "match" and cmp["centre_crop"] and not cmp["aspect_match"]
    assert "thumbnail matches the centre of the image" in cmp["verdict"]
    assert not any("thumbnail" in w.lower() for w in md.warnings)


def test_cropped_image_keeps_old_thumbnail_aspect(tmp_path):
    main = natural_image(480, 640, seed=5)
    cropped = main[:, :360]                 # cropped after the thumbnail was written
    md = meta_of(tmp_path, "t.jpg", camera_jpeg(cropped, small(main, 160, 120)))
    cmp = md.thumbnail["comparison"]
    assert not cmp["aspect_match"] and "cropped" in cmp["verdict"]


# ---------------------------------------------------------------------------------------
# JPEG tables and structure


def test_zigzag_is_the_standard_permutation():
    assert sorted(ZIGZAG) == list(range(64))
    assert ZIGZAG[:10] == (0, 1, 8, 16, 9, 2, 3, 10, 17, 24) and ZIGZAG[-3:] == (55, 62, 63)


@pytest.mark.parametrize("quality", [5, 30, 50, 75, 90, 100])
def test_standard_tables_give_the_quality(tmp_path, quality):
    img = Image.open(io.BytesIO(jpeg_bytes(natural_image(64, 64), quality=quality)))
    md = meta_of(tmp_path, "q.jpg", jpeg_bytes(natural_image(64, 64), quality=quality))
    j = md.jpeg
    assert j["standard_tables"] is True and j["quality_estimate"] == quality
    assert j["quality_text"] == f"standard IJG tables, quality {quality}"
    q0, q1 = j["quantization"]["0"], j["quantization"]["1"]
    assert q0["role"] == "luminance" and q1["role"] == "chrominance"
    assert q0["ijg"]["text"] == f"standard IJG table at quality {quality}"
    flat0 = [v for row in q0["table"] for v in row]
    assert flat0 == ijg_table(IJG_LUMINANCE, quality) == list(img.quantization[0])  # natural order, as Pillow
    assert [v for row in q1["table"] for v in row] == ijg_table(IJG_CHROMINANCE, quality)
    assert not any("quantisation" in w for w in md.warnings)
    assert not any("Pillow reports different" in n for n in j["notes"])


def test_quality_75_first_row():
    assert ijg_table(IJG_LUMINANCE, 75)[:8] == [8, 6, 5, 8, 12, 20, 26, 31]
    assert ijg_table(IJG_LUMINANCE, 50) == list(IJG_LUMINANCE)


def test_custom_tables_are_non_standard(tmp_path):
    rng = np.random.default_rng(0)
    lum = rng.integers(2, 40, 64).tolist()
    chrom = rng.integers(3, 60, 64).tolist()
    md = meta_of(tmp_path, "c.jpg", jpeg_bytes(natural_image(64, 64), qtables=[lum, chrom]))
    j = md.jpeg
    assert j["standard_tables"] is False
    assert j["quantization"]["0"]["table"][0] == lum[:8]           # natural order preserved
    assert j["quantization"]["0"]["ijg"]["text"].startswith("non-standard (closest Q\u2248")
    assert "max deviation" in j["quality_text"]
    assert any(w.startswith("non-standard quantisation tables") for w in md.warnings)


def test_estimate_is_close_for_slightly_changed_table():
    t = ijg_table(IJG_LUMINANCE, 80)
    t[5] += 1
    est = estimate_ijg_quality(t, IJG_LUMINANCE)
    assert est["quality"] == 80 and not est["standard"] and est["max_deviation"] == 1


def test_standard_tables_with_camera_make_are_noted(tmp_path):
    exif = build_exif([(0x010F, ASCII, "NIKON CORPORATION")])
    md = meta_of(tmp_path, "n.jpg", jpeg_bytes(natural_image(64, 64), quality=85, exif=exif))
    assert any("standard IJG quantisation tables (quality 85) although EXIF names a camera" in w
               for w in md.warnings)


@pytest.mark.parametrize("sub,name", [(0, "4:4:4"), (1, "4:2:2"), (2, "4:2:0")])
def test_subsampling(tmp_path, sub, name):
    md = meta_of(tmp_path, "s.jpg", jpeg_bytes(natural_image(64, 64), quality=80, subsampling=sub))
    assert md.jpeg["subsampling"].startswith(name)


def test_progressive_markers_icc_and_comment(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = build_exif(CAMERA_IFD0)
    data = jpeg_bytes(natural_image(64, 64), quality=80, progressive=True, icc_profile=icc, exif=exif,
                      comment=b"made with GIMP")
    md = meta_of(tmp_path, "p.jpg", data)
    j = md.jpeg
    assert j["progressive"] is True and j["coding"] == "progressive" and j["scans"] > 1
    assert "APP0 JFIF 1.01" in j["markers"] and "APP1 Exif" in j["markers"]
    assert "APP2 ICC profile chunk 1/1" in j["markers"] and "COM" in j["markers"]
    assert j["comments"] == ["made with GIMP"] and j["trailing_bytes"] == 0
    assert j["app_segments"] == 3
    assert md.icc["present"] and md.icc["description"] == "sRGB built-in" and md.icc["colour_space"] == "RGB"
    baseline = meta_of(tmp_path, "b.jpg", jpeg_bytes(natural_image(64, 64), quality=80)).jpeg
    assert baseline["progressive"] is False and baseline["coding"] == "baseline" and baseline["scans"] == 1


def test_photoshop_segment_and_trailing_data(tmp_path):
    data = jpeg_bytes(natural_image(64, 64), quality=80)
    irb = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x00"
    data = data[:2] + b"\xff\xed" + struct.pack(">H", len(irb) + 2) + irb + data[2:] + b"SECRET" * 10
    md = meta_of(tmp_path, "ps.jpg", data)
    assert "APP13 Photoshop IRB" in md.jpeg["markers"]
    assert md.jpeg["trailing_bytes"] == 60
    w = " | ".join(md.warnings)
    assert "APP13 Photoshop segment present" in w and "60 bytes after the JPEG end-of-image marker" in w


def test_marker_parser_handles_truncation():
    data = jpeg_bytes(natural_image(64, 64), quality=80)
    for cut in (1, 3, 5, 20, 100, len(data) // 2, len(data) - 1):
        parsed = parse_jpeg_markers(data[:cut])
        assert isinstance(parsed["notes"], list) and parsed["eoi_offset"] is None
    full = parse_jpeg_markers(data)
    assert full["notes"] == [] and full["eoi_offset"] == len(data) - 2


# ---------------------------------------------------------------------------------------
# PNG: ICC, XMP, text chunks

XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
 xmp:CreatorTool="Adobe Photoshop 25.0 (Windows)" xmp:ModifyDate="2024-05-01T10:00:00+02:00">
<xmpMM:History><rdf:Seq>
<rdf:li stEvt:action="created" stEvt:softwareAgent="Adobe Photoshop 25.0 (Windows)"/>
<rdf:li stEvt:action="saved" stEvt:softwareAgent="Adobe Photoshop 25.0 (Windows)"/>
<rdf:li><rdf:Description stEvt:action="converted"/></rdf:li>
</rdf:Seq></xmpMM:History></rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def test_png_with_icc_xmp_and_text(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "GIMP 2.10.36")
    info.add_itxt("XML:com.adobe.xmp", XMP)
    info.add_text("Comment", "x" * 300, zip=True)
    buf = io.BytesIO()
    Image.fromarray(natural_image(40, 50)).save(buf, "PNG", icc_profile=icc, pnginfo=info)
    md = meta_of(tmp_path, "x.png", buf.getvalue())
    assert md.icc["present"] and md.icc["description"] == "sRGB built-in"
    assert md.icc["colour_space"] == "RGB" and md.icc["size_bytes"] == len(icc)
    assert md.icc["device_class"] == "display"
    x = md.xmp
    assert x["present"] and "x:xmpmeta" in x["packet"]
    assert x["fields"]["CreatorTool"] == "Adobe Photoshop 25.0 (Windows)"
    assert x["fields"]["ModifyDate"] == "2024-05-01T10:00:00+02:00"
    assert x["fields"]["HistoryEntries"] == 3
    assert x["fields"]["HistoryActions"] == ["created", "saved", "converted"]
    assert md.png["text"]["Software"] == "GIMP 2.10.36" and md.png["text"]["Comment"] == "x" * 300
    w = " | ".join(md.warnings)
    assert "XMP CreatorTool says 'Adobe Photoshop" in w and "XMP editing history has 3 entries" in w
    assert "PNG text chunk 'Software' says 'GIMP" in w
    json.dumps(md.to_dict(), allow_nan=False)


def test_jpeg_xmp_segment(tmp_path):
    data = jpeg_bytes(natural_image(32, 32), quality=80)
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + XMP.encode()
    data = data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]
    md = meta_of(tmp_path, "x.jpg", data)
    assert md.xmp["source"] == "JPEG APP1 XMP segment" and md.xmp["fields"]["HistoryEntries"] == 3
    assert "APP1 XMP" in md.jpeg["markers"]


# ---------------------------------------------------------------------------------------
# robustness, rows, serialisation


def _evidence_with_raw(tmp_path, raw: bytes):
    ev = open_evidence(write(tmp_path, "base.jpg", jpeg_bytes(natural_image(48, 64), quality=80)))
    return dataclasses.replace(ev, raw=raw)


@pytest.mark.parametrize("payload", [
    b"Exif\x00\x00",
    b"Exif\x00\x00garbage-garbage-garbage",
    b"Exif\x00\x00II\x2a\x00\xff\xff\xff\x7f",                       # IFD0 offset far outside
    b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff" + b"\x01" * 30,  # absurd entry count
])
def test_malformed_exif_never_raises(tmp_path, payload):
    data = jpeg_bytes(natural_image(48, 64), quality=80)
    data = data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]
    md = extract_metadata(_evidence_with_raw(tmp_path, data))
    json.dumps(md.to_dict(), allow_nan=False)
    assert md.jpeg["quality_estimate"] == 80
    assert not md.exif["present"] and md.exif["block_bytes"] == len(payload) - 6
    assert "EXIF block present but unreadable (malformed or truncated)" in md.warnings
    assert isinstance(metadata_rows(md), list)


def test_thumbnail_pointing_outside_the_block(tmp_path):
    thumb = jpeg_bytes(natural_image(30, 40), quality=80)
    exif = build_exif(CAMERA_IFD0, thumb=thumb)
    exif = exif[:-len(thumb) // 2]           # IFD1 says more bytes than present
    md = meta_of(tmp_path, "t.jpg", jpeg_bytes(natural_image(48, 64), quality=80, exif=exif))
    t = md.thumbnail
    assert t["present"] and any("truncated" in n or "could not be decoded" in n for n in t["notes"])


def test_random_corruption_of_metadata_never_raises(tmp_path):
    main = natural_image(120, 160)
    good = camera_jpeg(main, small(main, 80, 60))
    ev = open_evidence(write(tmp_path, "g.jpg", good))
    rng = np.random.default_rng(7)
    end = good.find(b"\xff\xda")            # corrupt only the headers, before the first scan
    for _ in range(150):
        b = bytearray(good)
        for i in rng.integers(2, end, 8):
            b[i] = int(rng.integers(0, 256))
        cut = int(rng.integers(end // 2, len(b) + 1))
        md = extract_metadata(dataclasses.replace(ev, raw=bytes(b[:cut])))
        json.dumps(md.to_dict(), allow_nan=False)
        metadata_rows(md)


def test_truncated_jpeg_raw(tmp_path):
    main = natural_image(120, 160)
    good = camera_jpeg(main, small(main, 80, 60))
    md = extract_metadata(_evidence_with_raw(tmp_path, good[: len(good) * 2 // 3]))
    assert any("truncated" in n or "ends inside" in n for n in md.jpeg["notes"])
    assert "JPEG structure is truncated" in md.warnings
    assert md.exif["summary"]["Make"] == "Canon"


def test_reads_only_the_evidence_bytes(tmp_path):
    main = natural_image(120, 160)
    p = write(tmp_path, "g.jpg", camera_jpeg(main, small(main, 80, 60)))
    ev = open_evidence(p)
    p.unlink()                              # the file is gone: everything must come from ev.raw
    md = extract_metadata(ev)
    assert md.exif["summary"]["Model"] == "Canon EOS 5D Mark IV" and md.thumbnail["present"]
    assert md.file["sha256"] == ev.sha256 and md.file["name"] == "g.jpg"


def test_no_raw_bytes(tmp_path):
    md = extract_metadata(_evidence_with_raw(tmp_path, b""))
    assert md.warnings == ["metadata not available (file bytes not loaded)"]


def test_rows_and_round_trip(tmp_path):
    main = natural_image(240, 320)
    md = meta_of(tmp_path, "cam.jpg", camera_jpeg(main, small(main, 160, 120)))
    rows = metadata_rows(md)
    assert all(isinstance(r, tuple) and len(r) == 3 and all(isinstance(x, str) for x in r) for r in rows)
    keyed = {(s, k): v for s, k, v in rows}
    assert keyed[("EXIF summary", "Make")] == "Canon"
    assert keyed[("File", "Dimensions")] == "320 x 240"
    assert keyed[("JPEG", "Quality")] == "standard IJG tables, quality 92"
    assert keyed[("Thumbnail", "Verdict")].startswith("thumbnail matches")
    assert ("Warnings", "1") in keyed
    sections = list(dict.fromkeys(s for s, _, _ in rows))
    assert sections[:3] == ["File", "Warnings", "EXIF summary"]
    d = json.loads(json.dumps(md.to_dict(), allow_nan=False))
    assert Metadata.from_dict(d).to_dict() == d
    assert d["jpeg"]["quantization"]["0"]["table"][0] == ijg_table(IJG_LUMINANCE, 92)[:8]
    assert "payload" not in json.dumps(d["jpeg"]["segments"])


def test_xmp_element_form_and_hostile_packet_are_handled(tmp_path):
    import time

    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>'
           "<xmp:CreatorTool>GIMP 2.10</xmp:CreatorTool><xmpMM:History><rdf:Seq>"
           "<rdf:li><stEvt:action>saved</stEvt:action><stEvt:softwareAgent>GIMP 2.10</stEvt:softwareAgent></rdf:li>"
           "</rdf:Seq></xmpMM:History></rdf:Description></rdf:RDF></x:xmpmeta>")
    hostile = "<x:xmpmeta>" + "a" * 300_000 + "<xmp:CreatorTool>" * 20_000 + "<xmpMM:History>" * 20_000
    for packet, tool in ((xmp, "GIMP 2.10"), (hostile, None)):
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", packet)
        buf = io.BytesIO()
        Image.fromarray(natural_image(16, 16)).save(buf, "PNG", pnginfo=info)
        t0 = time.perf_counter()
        md = meta_of(tmp_path, "x.png", buf.getvalue())
        assert time.perf_counter() - t0 < 3
        assert md.xmp["present"] and md.xmp["fields"].get("CreatorTool") == tool
    json.dumps(md.to_dict(), allow_nan=False)
