"""Embedded previews other than the EXIF thumbnail, each compared with the image.

Cameras store more than the IFD1 thumbnail: maker-note previews (Nikon, Pentax, Olympus,
Sony, Samsung, ...) and editors an ``xmp:Thumbnails`` image.  exiv2's ``PreviewManager``
finds them (:mod:`.exiv2_tags`); here each is decoded at thumbnail scale and compared with
the image exactly as the EXIF thumbnail is (:func:`.thumbnail.compare_thumbnail`).  A preview
that shows other content than the pixels is the same observation as a differing thumbnail:
the image was changed after the preview was written, or the preview was transplanted.  A
preview with the same bytes as the EXIF thumbnail is listed once, as that thumbnail.
"""

from __future__ import annotations

import numpy as np

from .exiv2_tags import Exiv2Read
from .thumbnail import compare_thumbnail, decode_thumbnail
from .values import short_error

PREVIEW_COMPARE_SIDE = 640       # previews are decoded at most this large for the comparison


def previews_section(ev, read: Exiv2Read, exif_thumbnail: bytes | None) -> dict:
    sec: dict = {"present": False, "items": [], "notes": list(read.preview_notes)}
    for p in read.previews:
        item = {k: p[k] for k in ("id", "mime_type", "width", "height", "size_bytes")}
        sec["items"].append(item)
        data = p.get("data")
        if data is None:
            item["note"] = p.get("note", "not read")
            continue
        if exif_thumbnail and data == exif_thumbnail:
            item["source"] = "EXIF thumbnail (IFD1)"
            item["same_as_exif_thumbnail"] = True
            continue
        item["source"] = ("XMP thumbnail (xmp:Thumbnails)" if data in read.xmp_thumbnails
                          else "maker-note or other embedded preview")
        try:
            arr, _ = decode_thumbnail(data, PREVIEW_COMPARE_SIDE)
            rgb = getattr(ev, "rgb", None)
            if rgb is None or not isinstance(rgb, np.ndarray) or rgb.size == 0:
                raise ValueError("no decoded main image to compare with")
            cmp = compare_thumbnail(rgb, arr, getattr(ev, "exif_orientation", None))
            cmp.pop("_diff", None)
            item["compared_at"] = [int(arr.shape[1]), int(arr.shape[0])]
            item["comparison"] = cmp
        except Exception as exc:
            item["note"] = f"not compared: {short_error(exc)}"
    sec["present"] = any(not it.get("same_as_exif_thumbnail") for it in sec["items"])
    return sec


def preview_label(item: dict) -> str:
    """``XMP thumbnail (xmp:Thumbnails), 160 x 120 image/jpeg, 945 bytes``."""
    return (f"{item.get('source', 'embedded preview')}, {item.get('width')} x {item.get('height')} "
            f"{item.get('mime_type')}, {item.get('size_bytes')} bytes")
