"""Maker notes, IPTC, every XMP property and the embedded previews, read through exiv2.

Analysts expect ExifTool's depth: the body and lens serial numbers and the firmware that only
the maker notes hold, the IPTC byline and caption, each step of an XMP editing history.
Decoding those by hand for every camera maker is a project of its own; libexiv2 does it
(Canon, Nikon, Sony, Fujifilm, Olympus, Panasonic, Pentax, Samsung, Sigma, Casio, Minolta).

Binding: ``exiv2`` on PyPI (python-exiv2, Jim Easterbrook), a complete SWIG binding of
libexiv2 with wheels for Linux, Windows and macOS that bundle the library.  It was chosen over
``pyexiv2`` (LeoHsiao) because it exposes what we need and pyexiv2 does not: ``ExifData``
with each datum's group (to tell maker-note tags from standard ones) and its interpreted value
(``print``), ``PreviewManager`` for maker-note and XMP previews, opening an image from a
memory buffer (``ImageFactory.open(bytes)``), and exiv2's log routed to Python ``logging``.
pyexiv2 returns flat dicts of strings and reads images through its own file handling.
libexiv2 and python-exiv2 are GPL (v2 or later / v3 or later); see docs/ARCHITECTURE.md for
what that means for a bundled distribution.

Safety: exiv2 only ever sees ``evidence.raw`` (the bytes that were hashed) through a read-only
memory image; it never receives a path, and nothing calls ``writeMetadata``.  Its log messages
are captured per read (level ``warn`` and above) and become notes of the section they concern,
never stderr output; an ``Exiv2Error`` becomes a note, and the other sections are still read.
When exiv2 is not installed, :func:`read_exiv2` says so and the caller falls back to Pillow.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from .values import clip_text, short_error

EXIV2_MISSING = "exiv2 not installed: maker notes, IPTC and full XMP not read"

MAX_TAGS = 4000                  # maker-note tags, IPTC datasets, XMP properties: each
MAX_BINARY_SHOWN = 256           # bytes of an undefined/byte value printed (as numbers) before summarising
MAX_LOG_MESSAGES = 40
MAX_PREVIEWS = 8
MAX_PREVIEW_BYTES = 32 << 20

# maker-note summary: label -> exiv2 tag names (first found wins, in this order)
MAKERNOTE_SUMMARY = (
    ("Serial number", ("SerialNumber", "BodySerialNumber", "CameraSerialNumber", "SerialNumber2")),
    ("Internal serial number", ("InternalSerialNumber",)),
    ("Firmware", ("FirmwareVersion", "Firmware", "FirmwareRevision", "FirmwareRevision2", "SoftwareVersion")),
    ("Camera model ID", ("ModelID", "CameraID", "SonyModelID")),
    ("Lens", ("LensModel", "LensType", "LensIDNumber", "LensID", "Lens", "LensName")),
    ("Lens serial number", ("LensSerialNumber",)),
    ("Owner", ("OwnerName", "Owner")),
    ("Shutter count", ("ShutterCount", "ImageCount", "ReleaseCount")),
    ("Image number", ("ImageNumber", "FileNumber")),
)

# IPTC datasets worth a line of their own (key after "Iptc.") -> label
IPTC_SUMMARY = (
    ("Application2.Byline", "Byline"), ("Application2.BylineTitle", "Byline title"),
    ("Application2.Credit", "Credit"), ("Application2.Source", "Source"),
    ("Application2.Copyright", "Copyright"), ("Application2.Headline", "Headline"),
    ("Application2.Caption", "Caption"), ("Application2.Writer", "Caption writer"),
    ("Application2.ObjectName", "Object name"), ("Application2.Keywords", "Keywords"),
    ("Application2.DateCreated", "Date created"), ("Application2.TimeCreated", "Time created"),
    ("Application2.City", "City"), ("Application2.ProvinceState", "Province/state"),
    ("Application2.CountryName", "Country"), ("Application2.Program", "Originating program"),
    ("Application2.ProgramVersion", "Program version"),
    ("Application2.SpecialInstructions", "Special instructions"),
)

_CONTAINER = re.compile(r'^type="(Seq|Bag|Alt|Struct)"$')

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


class _Capture(logging.Handler):
    """Collects exiv2's log records into the list of the read running in this thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        sink = getattr(self.local, "sink", None)
        if sink is not None and len(sink) < MAX_LOG_MESSAGES:
            sink.append((record.levelno, " ".join(record.getMessage().split())))


_CAPTURE = _Capture()


def load_exiv2():
    """The ``exiv2`` module, set up once (log level and routing, XMP toolkit), or None if absent."""
    with _lock:
        if "module" in _loaded:
            return _loaded["module"]
        try:
            import exiv2
        except ImportError:
            _loaded["module"] = None
            return None
        log = logging.getLogger("exiv2")
        if _CAPTURE not in log.handlers:
            log.addHandler(_CAPTURE)
        log.propagate = False                      # exiv2's messages become notes, never stderr
        try:
            exiv2.LogMsg.setHandler(exiv2.pythonHandler)
            exiv2.LogMsg.setLevel(exiv2.LogMsg.Level.warn)
            exiv2.XmpParser.initialize()           # not thread-safe when first done lazily
        except Exception:
            pass
        _loaded["module"] = exiv2
        return exiv2


def exiv2_version() -> str | None:
    ex = load_exiv2()
    if ex is None:
        return None
    try:
        return f"libexiv2 {ex.versionString()} (python-exiv2 {ex.__version__})"
    except Exception:
        return "exiv2"


@dataclass
class Exiv2Read:
    """What exiv2 found; every dict is empty (and ``available`` False) when exiv2 is missing."""

    available: bool = False
    makernote: dict = field(default_factory=dict)
    iptc: dict = field(default_factory=dict)
    xmp_properties: dict = field(default_factory=dict)
    xmp_notes: list[str] = field(default_factory=list)
    exif_notes: list[str] = field(default_factory=list)
    previews: list[dict] = field(default_factory=list)       # with their bytes under "data"
    xmp_thumbnails: list[bytes] = field(default_factory=list) # decoded xmp:Thumbnails images
    preview_notes: list[str] = field(default_factory=list)
    error: str | None = None                                  # exiv2 could not read the file at all
    unsupported: bool = False                                 # a format exiv2 does not read


def _py_str(s: str) -> str:
    """Text exiv2 handed over with undecodable bytes escaped (non-UTF-8 IPTC): read them as cp1252."""
    if any("\udc80" <= ch <= "\udcff" for ch in s):
        s = s.encode("utf-8", "surrogateescape").decode("cp1252", "replace")
    return clip_text(s)


def _datum_text(d, data=None) -> str:
    """The value exiv2 prints (interpreted where it knows the tag), bounded; long binary summarised."""
    try:
        size = int(d.size())
    except Exception:
        size = 0
    try:
        type_name = d.typeName() or ""
    except Exception:
        type_name = ""
    if size > MAX_BINARY_SHOWN and type_name in ("Undefined", "Byte", "SByte", ""):
        return f"<binary data, {size} bytes>"
    try:
        s = d.print(data) if data is not None else d.toString()
    except Exception:
        try:
            s = d.toString()
        except Exception as exc:
            return f"<unreadable: {short_error(exc)}>"
    return _py_str(str(s))


def _message_notes(messages: list[tuple[int, str]], res: Exiv2Read) -> None:
    for level, msg in messages:
        note = f"exiv2 {'error' if level >= logging.ERROR else 'warning'}: {msg}"
        low = msg.lower()
        if "xmp" in low:
            res.xmp_notes.append(note)
        elif "iptc" in low or "photoshop" in low:
            res.iptc.setdefault("notes", []).append(note)
        elif "preview" in low or "thumbnail" in low:
            res.preview_notes.append(note)
        else:
            res.exif_notes.append(note)


def _open_and_read(ex, raw: bytes):
    image = ex.ImageFactory.open(raw)      # a memory image: exiv2 never sees the file
    image.readMetadata()
    return image


def _message(exc: BaseException) -> str:
    return str(getattr(exc, "message", "") or short_error(exc))


def read_exiv2(raw: bytes, exif_segments: list[tuple[int, int]] | None = None) -> Exiv2Read:
    """Read ``raw`` (never a path) with exiv2; never raises.

    ``exif_segments``: (offset, length) of the JPEG's EXIF APP1 segments.  exiv2 gives up on
    the whole file when the EXIF block is corrupt; the file is then read once more, in
    memory, without those segments, so IPTC, XMP and the previews are not lost with it.
    """
    res = Exiv2Read()
    ex = load_exiv2()
    if ex is None:
        return res
    res.available = True
    res.makernote = {"present": False, "summary": {}, "tags": {}, "notes": []}
    res.iptc = {"present": False, "summary": {}, "datasets": {}, "notes": []}
    messages: list[tuple[int, str]] = []
    _CAPTURE.local.sink = messages
    try:
        data = bytes(raw)
        try:
            image = _open_and_read(ex, data)
        except ex.Exiv2Error as exc:
            if "UnknownImageType" in str(getattr(exc, "code", "")) or "unknown image type" in _message(exc):
                res.unsupported = True
                return res
            res.error = f"exiv2 could not read the metadata: {_message(exc)}"
            if not exif_segments:
                return res
            for off, length in sorted(exif_segments, reverse=True):
                data = data[:off] + data[off + length:]
            try:
                image = _open_and_read(ex, data)
            except ex.Exiv2Error:
                return res
            res.error += " (read again without the EXIF block: maker notes not read, IPTC and XMP read)"
        for part, fn in (("maker notes", _read_makernote), ("IPTC", _read_iptc), ("XMP", _read_xmp),
                         ("previews", _read_previews)):
            try:
                fn(ex, image, res)
            except Exception as exc:  # one part failing must not hide the others
                note = f"exiv2: {part} could not be read: {short_error(exc)}"
                {"maker notes": res.makernote.setdefault("notes", []), "IPTC": res.iptc.setdefault("notes", []),
                 "XMP": res.xmp_notes, "previews": res.preview_notes}[part].append(note)
    except Exception as exc:
        res.error = f"exiv2 failed: {short_error(exc)}"
    finally:
        _CAPTURE.local.sink = None
        _message_notes(messages, res)
    return res


def _read_makernote(ex, image, res: Exiv2Read) -> None:
    data = image.exifData()
    sec = res.makernote
    tags, groups = sec["tags"], []
    found: dict[str, tuple[str, str]] = {}
    n = 0
    for d in data:
        group = d.groupName()
        if not ex.ExifTags.isMakerGroup(group) or group == "MakerNote":
            if d.key() == "Exif.MakerNote.ByteOrder":
                sec["byte_order"] = _datum_text(d)
            continue
        n += 1
        if n > MAX_TAGS:
            continue
        key = d.key()[len("Exif."):]
        value = _datum_text(d, data)
        tags[key] = value
        if group not in groups:
            groups.append(group)
        found.setdefault(d.tagName(), (key, value))
    if n > MAX_TAGS:
        sec["notes"].append(f"{n} maker-note tags, only the first {MAX_TAGS} kept")
    sec["present"] = bool(tags)
    if groups:
        sec["groups"] = groups
    summ = sec["summary"]
    for label, names in MAKERNOTE_SUMMARY:
        for name in names:
            hit = found.get(name)
            if hit and hit[1] and not hit[1].startswith("<"):
                summ[label] = f"{hit[1]} ({hit[0]})"
                break
    # exiv2's own choice among the makers' serial number and lens tags (standard EXIF included)
    for label, fn in (("Serial number", "serialNumber"), ("Lens", "lensName")):
        if label in summ:
            continue
        try:
            d = getattr(ex, fn)(data)
        except Exception:
            d = None
        if d is not None:
            value = _datum_text(d, data)
            if value:
                summ[label] = f"{value} ({d.key()[len('Exif.'):]})"


def _read_iptc(ex, image, res: Exiv2Read) -> None:
    data = image.iptcData()
    sec = res.iptc
    ds: dict[str, Any] = sec["datasets"]
    n = 0
    for d in data:
        n += 1
        if n > MAX_TAGS:
            continue
        key = d.key()[len("Iptc."):]
        value = _datum_text(d)
        if key in ds:                               # repeatable datasets (keywords, bylines)
            ds[key] = (ds[key] if isinstance(ds[key], list) else [ds[key]]) + [value]
        else:
            ds[key] = value
    if n > MAX_TAGS:
        sec["notes"].append(f"{n} IPTC datasets, only the first {MAX_TAGS} kept")
    sec["present"] = bool(ds)
    for key, label in IPTC_SUMMARY:
        if key in ds:
            v = ds[key]
            sec["summary"][label] = "; ".join(v) if isinstance(v, list) else v


def _read_xmp(ex, image, res: Exiv2Read) -> None:
    props = res.xmp_properties
    n = 0
    for d in image.xmpData():
        n += 1
        if n > MAX_TAGS:
            continue
        key = d.key()[len("Xmp."):]
        if key.endswith(("xmpGImg:image", "xapGImg:image")) and int(d.size()) > 64:
            size = int(d.size())
            if len(res.xmp_thumbnails) < MAX_PREVIEWS and size < 2 * MAX_PREVIEW_BYTES:
                try:
                    res.xmp_thumbnails.append(base64.b64decode(str(d.toString()).replace("&#xA;", "")))
                except (ValueError, TypeError):
                    pass
            props[key] = f"<base64 image, {size} characters>"
            continue
        value = _datum_text(d)
        if _CONTAINER.match(value):
            continue                                # the array/struct itself; its items follow
        props[key] = value
    if n > MAX_TAGS:
        res.xmp_notes.append(f"{n} XMP properties, only the first {MAX_TAGS} kept")


def _read_previews(ex, image, res: Exiv2Read) -> None:
    pm = ex.PreviewManager(image)
    props = list(pm.getPreviewProperties())
    if len(props) > MAX_PREVIEWS:
        res.preview_notes.append(f"{len(props)} embedded previews, only the first {MAX_PREVIEWS} read")
    for p in props[:MAX_PREVIEWS]:
        item = {"id": int(p.id_), "mime_type": str(p.mimeType_), "width": int(p.width_),
                "height": int(p.height_), "size_bytes": int(p.size_)}
        if item["size_bytes"] > MAX_PREVIEW_BYTES:
            item["note"] = f"larger than {MAX_PREVIEW_BYTES} bytes: not read"
        else:
            item["data"] = bytes(pm.getPreviewImage(p).data())
        res.previews.append(item)
