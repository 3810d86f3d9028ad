"""The Content Credentials record in words: one headline, the findings of their own, and the
(key, value) rows the window's metadata panel, the report and ``case show`` print.

Two rules hold everywhere these words appear.  A valid manifest is never called proof of
authenticity (:data:`~.record.NOT_PROOF` goes with every valid or untrusted reading), and an
invalid or unreadable manifest, or a declared AI generation, is a finding of its own that
stands beside the detectors' verdict and never replaces it.
"""

from __future__ import annotations

from .record import ABSENCE, NO_TRUST_LIST, NOT_PROOF, C2paRecord, Manifest

SECTION = "Content Credentials"


def _signer_name(m: Manifest | None) -> str:
    if m is None or m.signer is None:
        return ""
    return m.signer.common_name or m.signer.subject


def ai_lines(rec: C2paRecord) -> list[str]:
    """Each declared AI generation: which manifest, which action, which tool."""
    out = []
    for m in rec.chain:
        where = "the active manifest" if m.depth == 0 else f"the manifest of ingredient {m.title or m.label}"
        for a in m.actions:
            if a.digital_source_type and a.source_type_words.startswith(("AI-GENERATED", "CONTAINS AI")):
                tool = f" by {a.software_agent}" if a.software_agent else ""
                out.append(f"{where} declares AI generation: {a.action}{tool}, {a.source_type_words}")
    return out


def invalid_reasons(rec: C2paRecord) -> list[str]:
    """Why an invalid manifest is invalid, in words (the trust verdict is said separately)."""
    if rec.state != "invalid":
        return []
    return sorted({s.meaning for s in rec.failures() if s.code != "signingCredential.untrusted"})


def headline(rec: C2paRecord) -> str:
    """One line for page 1, the batch view, ``case show`` and the window."""
    if not rec.has_manifest:
        text = rec.state_words
        return f"{text}: {rec.message}" if rec.message else text
    m = rec.active
    reasons = invalid_reasons(rec)
    parts = [rec.state_words + (": " + "; ".join(reasons) if reasons else "")]
    who = _signer_name(m)
    if who:
        parts.append(f"signed by {who}")
    if m is not None and m.claim_generator:
        parts.append(f"made with {m.claim_generator}")
    text = "; ".join(parts)
    if rec.ai_declared:
        text += "; AI GENERATION DECLARED"
    return text


def findings(rec: C2paRecord) -> list[str]:
    """Findings of their own (beside the detectors' verdict): invalid or unreadable manifests,
    declared AI generation."""
    out = []
    if rec.state == "invalid":
        reasons = invalid_reasons(rec)
        out.append("Content Credentials INVALID" + (": " + "; ".join(reasons) if reasons else ""))
    elif rec.state == "unreadable":
        out.append(f"Content Credentials present but unreadable: {rec.message}")
    for line in ai_lines(rec):
        out.append("AI generation declared: " + line)
    return out


def caveats(rec: C2paRecord) -> list[str]:
    """What the reading does not show, said every time it applies."""
    out = []
    if rec.has_manifest and rec.state != "invalid":
        out.append(NOT_PROOF)
    if rec.state == "none":
        out.append(ABSENCE)
    if not (rec.trust or {}).get("configured"):
        out.append(NO_TRUST_LIST)
    return out


def c2pa_json(rec: C2paRecord) -> dict:
    """The ``c2pa`` object of ``analyze --json`` and ``case show --json``."""
    d = rec.to_dict()
    d["headline"] = headline(rec)
    d["findings"] = findings(rec)
    d["caveats"] = caveats(rec)
    return d


def c2pa_rows(rec: C2paRecord | None) -> list[tuple[str, str]]:
    """(key, value) rows of the Content Credentials section, in reading order."""
    if rec is None:
        return [("State", "not read (this evidence was registered before Content Credentials were read)")]
    rows: list[tuple[str, str]] = [("State", headline(rec))]
    rows += [("Finding", f) for f in findings(rec)]
    rows += [("Note", c) for c in caveats(rec)]
    t = rec.trust or {}
    rows.append(("Trust list", f"{t.get('path')} ({t.get('certificates')} certificate(s), sha256 {t.get('sha256')})"
                 if t.get("configured") else "none configured"))
    if rec.remote_url:
        rows.append(("Remote manifest", f"{rec.remote_url} (not fetched)"))
    for m in rec.chain:
        p = "Active manifest" if m.depth == 0 else f"Ingredient manifest (level {m.depth})"
        rows.append((p, f"{m.title or '(untitled)'} {m.format}".strip() + f" [{m.label}]"))
        if m.claim_generator:
            rows.append((f"{p}: claim generator", m.claim_generator))
        if m.signer is not None:
            rows.append((f"{p}: signer", m.signer.subject))
            rows.append((f"{p}: issuer", m.signer.issuer))
            rows.append((f"{p}: serial", m.signer.serial))
            if m.signer.not_before or m.signer.not_after:
                rows.append((f"{p}: certificate valid", f"{m.signer.not_before} to {m.signer.not_after}"))
        rows.append((f"{p}: signing time", m.signing_time or "not time-stamped (no trusted signing time)"))
        for i, a in enumerate(m.actions, 1):
            text = f"{a.action} ({a.words})"
            if a.software_agent:
                text += f" by {a.software_agent}"
            if a.when:
                text += f" at {a.when}"
            if a.digital_source_type:
                text += f"; source: {a.source_type_words}"
            if a.description:
                text += f"; {a.description}"
            rows.append((f"{p}: action {i}", text))
        for ing in m.ingredients:
            text = f"{ing.title or '(untitled)'} {ing.format} ({ing.relationship or 'ingredient'})"
            text += f", its manifest {ing.manifest}" if ing.manifest else ", no Content Credentials of its own"
            if ing.failures:
                text += "; its validation when it was added recorded: " + ", ".join(ing.failures)
            rows.append((f"{p}: ingredient", text))
    for s in rec.status:
        if s.kind != "success":
            rows.append((f"{s.kind.capitalize()}: {s.code}", f"{s.meaning} ({s.scope})"))
    ok = sorted({s.code for s in rec.status if s.kind == "success"})
    if ok:
        rows.append(("Checks passed", ", ".join(ok)))
    sdk = rec.sdk or {}
    rows.append(("Read with", f"c2pa-python {sdk.get('c2pa_python') or '-'} (c2pa-rs {sdk.get('c2pa_rs') or '-'}), "
                              "offline: no remote manifest or OCSP fetch"))
    return rows
