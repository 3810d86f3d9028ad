"""The :class:`Metadata` record: one plain dict per source, the warnings, the thumbnail pixels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .values import jsonable

MAX_XMP_REPORT = 256 * 1024      # characters of the XMP packet kept in to_dict()


@dataclass
class Metadata:
    """What the file says about itself.  Each section is a plain dict with a ``notes`` list.

    ``exif``, ``xmp`` (packet and key fields), ``icc``, ``jpeg``, ``png`` and ``thumbnail``
    are read by our own parsers and Pillow; ``makernote``, ``iptc``, ``previews`` and
    ``xmp["properties"]``/``xmp["history"]`` by exiv2 (empty when it is not installed).
    """

    file: dict = field(default_factory=dict)
    exif: dict = field(default_factory=dict)
    xmp: dict = field(default_factory=dict)
    icc: dict = field(default_factory=dict)
    jpeg: dict | None = None            # JPEG files only
    png: dict | None = None             # PNG files only (chunk list, text chunks)
    thumbnail: dict = field(default_factory=dict)
    makernote: dict = field(default_factory=dict)   # decoded maker-note tags (exiv2)
    iptc: dict = field(default_factory=dict)        # IPTC-IIM datasets (exiv2)
    previews: dict = field(default_factory=dict)    # embedded previews other than the EXIF thumbnail (exiv2)
    warnings: list[str] = field(default_factory=list)
    thumbnail_rgb: np.ndarray | None = field(default=None, repr=False)   # decoded EXIF thumbnail
    thumbnail_diff: np.ndarray | None = field(default=None, repr=False)  # |thumb - image| per pixel, float32

    def to_dict(self) -> dict:
        """JSON-ready (no NaN/inf, no bytes, no arrays): the thumbnail is reported by its size."""
        d = {"file": self.file, "exif": self.exif, "xmp": dict(self.xmp), "icc": self.icc, "jpeg": self.jpeg,
             "png": self.png, "thumbnail": self.thumbnail, "makernote": self.makernote, "iptc": self.iptc,
             "previews": self.previews, "warnings": list(self.warnings)}
        packet = d["xmp"].get("packet")
        if isinstance(packet, str) and len(packet) > MAX_XMP_REPORT:
            d["xmp"]["packet"] = packet[:MAX_XMP_REPORT]
            d["xmp"]["packet_truncated_in_report"] = True
        return jsonable(d)

    @classmethod
    def from_dict(cls, d: dict) -> Metadata:
        """Rebuild from :meth:`to_dict` output (pixels of the thumbnail are not kept there)."""
        return cls(file=dict(d.get("file") or {}), exif=dict(d.get("exif") or {}), xmp=dict(d.get("xmp") or {}),
                   icc=dict(d.get("icc") or {}), jpeg=d.get("jpeg"), png=d.get("png"),
                   thumbnail=dict(d.get("thumbnail") or {}), makernote=dict(d.get("makernote") or {}),
                   iptc=dict(d.get("iptc") or {}), previews=dict(d.get("previews") or {}),
                   warnings=list(d.get("warnings") or []))
