"""Metadata an examiner reads before trusting pixels, one module per source.

===================  ==========================================================================
module               what it reads
===================  ==========================================================================
``extract``          :func:`extract_metadata`: every source below from ``evidence.raw``
``jpeg_structure``   JPEG markers, APP segment kinds, frame, DQT tables, comments (by hand)
``jpeg_quality``     zigzag order, IJG tables, the quality estimate
``exif``             EXIF tags and the summary through Pillow (always available)
``exiv2_tags``       maker notes, IPTC, every XMP property, embedded previews (exiv2)
``xmp``              the XMP packet and its key fields (by pattern), history events
``icc``              the ICC profile header and description
``png``              PNG chunks and text
``thumbnail``        the EXIF (IFD1) thumbnail and its comparison with the image
``previews``         other embedded previews, compared the same way
``warnings``         the observations collected from all sections
``rows``             (section, key, value) rows for the window, the case file and the report
``model``            the :class:`Metadata` record; ``values``: formatting of untrusted values
===================  ==========================================================================

The modules never import this ``__init__``; it only re-exports the public names.
"""

from .exiv2_tags import EXIV2_MISSING
from .extract import extract_metadata
from .jpeg_quality import IJG_CHROMINANCE, IJG_LUMINANCE, ZIGZAG, estimate_ijg_quality, ijg_table
from .jpeg_structure import parse_jpeg_markers
from .model import Metadata
from .rows import metadata_rows
from .thumbnail import compare_thumbnail
from .values import orientation_text

__all__ = ["Metadata", "extract_metadata", "metadata_rows", "orientation_text", "estimate_ijg_quality",
           "ijg_table", "IJG_LUMINANCE", "IJG_CHROMINANCE", "ZIGZAG", "parse_jpeg_markers",
           "compare_thumbnail", "EXIV2_MISSING"]
