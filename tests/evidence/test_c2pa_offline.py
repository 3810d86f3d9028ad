"""One offline configuration of the C2PA library (evidence/provenance/offline.py): reading
evidence and signing exported views both never fetch; only reading judges trust, and only
against the user's list.  ``test_c2pa.py`` checks with a listening port that no fetch happens."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest

from trufor_desk.evidence.provenance import TrustList, offline_context, offline_settings
from trufor_desk.evidence.provenance.offline import NO_NETWORK


def test_no_use_fetches_anything():
    for settings in (offline_settings(), offline_settings(judge_trust=False)):
        assert NO_NETWORK == {"ocsp_fetch": False, "remote_manifest_fetch": False}
        assert NO_NETWORK.items() <= settings["verify"].items()


def test_reading_judges_trust_only_against_the_users_list():
    assert offline_settings()["verify"]["verify_trust"] is True
    assert "trust" not in offline_settings()  # no list: nothing is trusted, no built-in anchors added
    trust = TrustList(pem="-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n", path="list.pem",
                      sha256="0" * 64, certificates=1)
    assert offline_settings(trust)["trust"] == {"trust_anchors": trust.pem}  # replaces any built-in anchors


def test_signing_judges_no_trust_and_ignores_a_list():
    settings = offline_settings(None, judge_trust=False)
    assert settings == {"verify": {**NO_NETWORK, "verify_trust": False, "verify_timestamp_trust": False}}


def test_the_reader_and_the_view_signer_share_the_one_configuration():
    from trufor_desk.evidence.provenance import reader
    from trufor_desk.report import view_credentials

    for module in (reader, view_credentials):
        source = inspect.getsource(module)
        assert "Settings.from_dict" not in source and "ocsp_fetch" not in source, module.__name__
        assert "offline_context(" in source, module.__name__


def test_the_context_is_closed_even_when_the_work_fails():
    closed = []

    class Context:
        def __init__(self, settings):
            self.settings = settings

        def close(self):
            closed.append(self.settings)

    fake_c2pa = SimpleNamespace(Context=Context, Settings=SimpleNamespace(from_dict=dict))
    with pytest.raises(RuntimeError), offline_context(fake_c2pa, judge_trust=False) as ctx:
        assert ctx.settings == offline_settings(judge_trust=False)
        raise RuntimeError("the reading failed")
    assert closed == [offline_settings(judge_trust=False)]
