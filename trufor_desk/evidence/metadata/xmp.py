"""XMP: where the packet is, its key fields by pattern, and (from exiv2) every property and the history.

The packet is located by hand (JPEG APP1, PNG iTXt, TIFF tag 700, or a scan of the bytes)
and its key fields (CreatorTool, dates, document ids, the ``xmpMM:History`` entries) are
found with bounded, linear-time patterns, so they are read even without exiv2 and even from
a packet no XML parser accepts.  exiv2 adds every property, flattened to keys such as
``xmpMM.History[1]/stEvt:action``; :func:`history_events` turns those back into one record
per event of the editing history.
"""

from __future__ import annotations

import re
from typing import Any

from .values import MAX_TEXT_VALUE, short_error

MAX_XMP_PARSE = 2 << 20          # characters of the XMP packet searched for fields
MAX_HISTORY_EVENTS = 500

_XMP_START = re.compile(rb"<\?xpacket begin|<x:xmpmeta|<x:xapmeta")
_XMP_END = re.compile(rb"<\?xpacket end[^>]*>|</x:xmpmeta>|</x:xapmeta>")


def _find_xmp_in_bytes(raw: bytes) -> bytes | None:
    m = _XMP_START.search(raw)
    if not m:
        return None
    e = _XMP_END.search(raw, m.start(), m.start() + (16 << 20))
    if not e:
        return raw[m.start():m.start() + (1 << 20)]
    # prefer the outermost end: an xpacket end tag after </x:xmpmeta>
    e2 = re.compile(rb"<\?xpacket end[^>]*>").search(raw, e.end(), e.end() + 8192)
    return raw[m.start():(e2 or e).end()]


def _element(x: str, local: str, start: int = 0) -> tuple[str, int] | None:
    """Inner text of the first ``<prefix:local ...>...</prefix:local>`` (linear time, no backtracking)."""
    m = re.compile(r"<((?:[\w.-]{1,40}:)?)" + local + r"(?=[\s/>])[^>]{0,4000}>").search(x, start)
    if not m or x[m.end() - 2] == "/":
        return None
    close = x.find(f"</{m.group(1)}{local}>", m.end())
    if close < 0:
        return None
    return x[m.end():close], close


def _xmp_field(x: str, local: str) -> str | None:
    """An XMP property written as an attribute (``xmp:CreatorTool="..."``) or as an element."""
    m = re.search(r":" + local + r"\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", x)
    if m:
        return (m.group(1) if m.group(1) is not None else m.group(2)).strip() or None
    el = _element(x, local)
    if el:
        inner = " ".join(re.sub(r"<[^>]*>", " ", el[0]).split())
        return inner or None
    return None


def xmp_section(img, jpeg_segs: list[dict] | None, png: dict | None, raw: bytes) -> dict:
    sec: dict[str, Any] = {"present": False, "notes": []}
    packet: bytes | str | None = None
    source = None
    if jpeg_segs:
        for s in jpeg_segs:
            if s.get("code") == 0xE1 and s["payload"].startswith(b"http://ns.adobe.com/xap/1.0/\x00"):
                packet, source = s["payload"][29:], "JPEG APP1 XMP segment"
                break
        if any(s.get("kind") == "Extended XMP" for s in jpeg_segs):
            sec["notes"].append("Extended XMP segments present (not merged)")
    if packet is None and png and png.get("_xmp"):
        packet, source = png["_xmp"], "PNG iTXt XML:com.adobe.xmp"
    if packet is None and img is not None:
        for k in ("xmp", "XML:com.adobe.xmp"):
            v = img.info.get(k)
            if v:
                packet, source = v, f"Pillow info[{k!r}]"
                break
        if packet is None:
            try:
                v = getattr(img, "tag_v2", {}).get(700)
                if v:
                    packet, source = v, "TIFF tag 700"
            except Exception:
                pass
    if packet is None:
        b = _find_xmp_in_bytes(raw)
        if b:
            packet, source = b, "XMP packet found by scanning the file"
    if packet is None:
        return sec
    if isinstance(packet, (bytes, bytearray)):
        bp = bytes(packet)
        if bp.startswith((b"\xfe\xff", b"\xff\xfe")):
            text = bp.decode("utf-16", "replace")
        else:
            text = bp.decode("utf-8", "replace")
    elif isinstance(packet, (tuple, list)):
        text = "".join(str(p) for p in packet)
    else:
        text = str(packet)
    text = text.rstrip("\x00 \n")
    sec.update(present=True, source=source, packet=text, length=len(text))
    fields: dict[str, Any] = {}
    full, text = text, text[:MAX_XMP_PARSE]
    try:
        for local in ("CreatorTool", "CreateDate", "ModifyDate", "MetadataDate", "DateCreated", "DocumentID",
                      "OriginalDocumentID", "InstanceID", "Rating", "Label"):
            v = _xmp_field(text, local)
            if v:
                fields[local] = v[:MAX_TEXT_VALUE]
        h = _element(text, "History")
        if h:
            body = h[0]
            fields["HistoryEntries"] = len(re.findall(r"<rdf:li\b", body))
            acts = [a or b for a, b in re.findall(r":action\s*=\s*\"([^\"]*)\"|:action>([^<]*)<", body)]
            if acts:
                fields["HistoryActions"] = acts[:50]
            ag: list[str] = []
            for a, b in re.findall(r":softwareAgent\s*=\s*\"([^\"]*)\"|:softwareAgent>([^<]*)<", body):
                v = (a or b).strip()
                if v and v not in ag:
                    ag.append(v)
            if ag:
                fields["HistorySoftware"] = ag[:20]
        if re.search(r":DerivedFrom\b", text):
            fields["DerivedFrom"] = True
    except Exception as exc:
        sec["notes"].append(f"XMP fields could not be parsed: {short_error(exc)}")
    if len(full) > MAX_XMP_PARSE:
        sec["notes"].append(f"only the first {MAX_XMP_PARSE} characters of the XMP packet were parsed")
    sec["fields"] = fields
    return sec


_HISTORY_KEY = re.compile(r"^xmpMM\.History\[(\d{1,6})\]/stEvt:(\w+)$")


def history_events(properties: dict[str, str]) -> list[dict]:
    """``xmpMM:History`` as a list of events ({"action", "when", "softwareAgent", ...}), in order."""
    events: dict[int, dict] = {}
    for key, value in properties.items():
        m = _HISTORY_KEY.match(key)
        if m and (int(m.group(1)) in events or len(events) < MAX_HISTORY_EVENTS):
            events.setdefault(int(m.group(1)), {})[m.group(2)] = value
    return [events[i] for i in sorted(events)]


def event_text(e: dict) -> str:
    """``saved \u00b7 2024-05-01T10:00:00 \u00b7 Adobe Photoshop 25.0 \u00b7 changed: /``."""
    parts = [e.get("action") or "(no action)"]
    parts += [e[k] for k in ("when", "softwareAgent") if e.get(k)]
    if e.get("changed"):
        parts.append(f"changed: {e['changed']}")
    if e.get("parameters"):
        parts.append(e["parameters"])
    return " \u00b7 ".join(str(p) for p in parts)
