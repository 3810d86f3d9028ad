"""Opening evidence images safely: hashing, decoding, recorded conversions."""

from .image import Evidence, open_evidence

__all__ = ["Evidence", "open_evidence"]
