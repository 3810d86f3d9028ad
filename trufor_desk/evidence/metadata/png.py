"""PNG chunks walked by hand: chunk list with CRC checks, text chunks (tEXt, zTXt, iTXt), bytes after IEND.

The XMP packet of an ``iTXt XML:com.adobe.xmp`` chunk is handed to :mod:`.xmp` under the
private key ``_xmp`` and removed before the section is stored.  Compressed text is inflated
with a bound, so a small chunk cannot expand into gigabytes.
"""

from __future__ import annotations

import struct
import zlib

from .values import fmt_value, short_error

MAX_INFLATE = 4 << 20            # bytes a compressed PNG text chunk may expand to


def png_section(raw: bytes) -> dict:
    notes: list[str] = []
    chunks: list[dict] = []
    text: dict[str, str] = {}
    xmp = None
    pos = 8
    n = len(raw)
    end = None
    while pos + 8 <= n:
        length, ctype = struct.unpack(">I4s", raw[pos:pos + 8])
        name = ctype.decode("latin-1")
        data = raw[pos + 8:pos + 8 + length]
        if len(data) < length:
            notes.append(f"file truncated inside the {name} chunk at offset {pos}")
            chunks.append({"chunk": name, "offset": pos, "length": length})
            break
        crc = raw[pos + 8 + length:pos + 12 + length]
        if len(crc) == 4 and zlib.crc32(ctype + data) != struct.unpack(">I", crc)[0]:
            notes.append(f"{name} chunk at offset {pos} has a bad CRC")
        if chunks and chunks[-1]["chunk"] == name == "IDAT":
            chunks[-1]["count"] = chunks[-1].get("count", 1) + 1
            chunks[-1]["length"] += length
        else:
            chunks.append({"chunk": name, "offset": pos, "length": length})
        try:
            if name in ("tEXt", "zTXt", "iTXt"):
                key, val = _png_text(name, data)
                if key == "XML:com.adobe.xmp" and xmp is None:
                    xmp = val
                else:
                    text[key] = fmt_value(val)
        except Exception as exc:
            notes.append(f"{name} chunk at offset {pos}: {short_error(exc)}")
        pos += 12 + length
        if name == "IEND":
            end = pos
            break
    if end is None:
        notes.append("no IEND chunk: truncated or damaged")
    trailing = n - end if end is not None else 0
    return {"chunks": chunks, "text": text, "trailing_bytes": trailing, "notes": notes, "_xmp": xmp}


def _inflate(data: bytes) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, MAX_INFLATE)
    if d.unconsumed_tail:
        raise ValueError(f"compressed text expands beyond {MAX_INFLATE} bytes; not decompressed")
    return out


def _png_text(name: str, data: bytes) -> tuple[str, str]:
    key, _, rest = data.partition(b"\x00")
    k = key.decode("latin-1")
    if name == "tEXt":
        return k, rest.decode("latin-1")
    if name == "zTXt":
        return k, _inflate(rest[1:]).decode("latin-1")
    comp_flag = rest[0] if rest else 0
    rest = rest[2:]
    _lang, _, rest = rest.partition(b"\x00")
    _tkey, _, body = rest.partition(b"\x00")
    if comp_flag:
        body = _inflate(body)
    return k, body.decode("utf-8", "replace")
