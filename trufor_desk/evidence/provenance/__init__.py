"""Content Credentials (C2PA) on evidence: read and validated offline with ``c2pa-python``.

==============  ===========================================================================
module          what it holds
==============  ===========================================================================
``reader``      :func:`read_content_credentials`: the manifest store of a file's bytes,
                validated with no network (no remote manifest, no OCSP)
``offline``     :func:`offline_settings`: the one offline configuration of the library, for
                reading evidence and for signing exported views
``trust``       :func:`load_trust_list`: the user's PEM bundle of trust anchors
``record``      :class:`C2paRecord` and its parts (JSON-serialisable), the state words
``words``       plain words for status codes, digital source types and actions
``summary``     the headline, the findings of their own, the rows the window and report print
==============  ===========================================================================

The modules never import this ``__init__``; it only re-exports the public names.
"""

from .offline import offline_context, offline_settings
from .reader import load_c2pa, read_content_credentials, sdk_versions, unavailable_reason
from .record import ABSENCE, NO_TRUST_LIST, NOT_PROOF, STATE_WORDS, STATES, C2paRecord
from .summary import SECTION, c2pa_json, c2pa_rows, caveats, findings, headline
from .trust import TrustList, load_trust_list, no_trust_list, trust_list_from_bytes

__all__ = ["ABSENCE", "NO_TRUST_LIST", "NOT_PROOF", "SECTION", "STATES", "STATE_WORDS", "C2paRecord", "TrustList",
           "c2pa_json", "c2pa_rows", "caveats", "findings", "headline", "load_c2pa", "load_trust_list",
           "no_trust_list", "offline_context", "offline_settings", "read_content_credentials", "sdk_versions",
           "trust_list_from_bytes", "unavailable_reason"]
