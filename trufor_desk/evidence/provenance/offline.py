"""The one offline configuration of the C2PA library, for every reading and every signing.

TruFor Desk never uses the network: no remote manifest is fetched, no OCSP request is made.
Two uses differ only in whether the signer is judged against a trust list:

* reading evidence (:func:`~trufor_desk.evidence.provenance.reader.read_content_credentials`)
  judges trust, and only against the PEM bundle the user chose, which replaces any anchors
  built into the library (without one, nothing is trusted);
* signing an exported view, and reading back what we signed
  (:mod:`trufor_desk.report.view_credentials`), judges no trust: the evidence ingredient's own
  record was read, with trust, when it was opened.

The settings are plain dicts (``c2pa.Settings.from_dict``); :func:`offline_context` makes the
``c2pa.Context`` from them and closes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .trust import TrustList

NO_NETWORK = {"ocsp_fetch": False, "remote_manifest_fetch": False}


def offline_settings(trust: TrustList | None = None, judge_trust: bool = True) -> dict:
    """Library settings that never fetch.  ``judge_trust``: verify the signer against ``trust``
    (and the time-stamp's, had it one); ``trust`` is ignored without it."""
    if not judge_trust:
        return {"verify": {**NO_NETWORK, "verify_trust": False, "verify_timestamp_trust": False}}
    settings: dict = {"verify": {"verify_after_reading": True, "verify_trust": True, "verify_timestamp_trust": True,
                                 **NO_NETWORK}}
    if trust is not None:
        settings["trust"] = {"trust_anchors": trust.pem}
    return settings


@contextmanager
def offline_context(c2pa: Any, trust: TrustList | None = None, judge_trust: bool = True) -> Iterator[Any]:
    """A ``c2pa.Context`` under :func:`offline_settings`, closed afterwards (best effort)."""
    context = c2pa.Context(c2pa.Settings.from_dict(offline_settings(trust, judge_trust)))
    try:
        yield context
    finally:
        try:
            context.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
