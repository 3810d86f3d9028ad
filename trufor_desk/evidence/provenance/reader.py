"""Reading and validating the C2PA manifest store of an evidence file, offline.

Through the official binding ``c2pa-python`` (no JUMBF parsing of our own), from the bytes
that were hashed (``evidence.raw``): the file is never opened again, never written.  The
library is configured for every reading (:mod:`.offline`, shared with the signing of
exported views) so that nothing reaches the network: no remote manifest is fetched (a file
that points to one is reported as "not fetched"), no OCSP request is made (revocation is
reported as not checked), and trust is judged only against the PEM bundle the user chose,
which replaces any anchors built into the library.

``c2pa`` is imported lazily: the window and the CLI start without it, and a build where the
native library is missing reads every file as "C2PA reading unavailable" instead of failing.
"""

from __future__ import annotations

import io
import json
from typing import Any

from .offline import offline_context
from .record import NO_TRUST_LIST, Action, C2paRecord, Ingredient, Manifest, Signer, StatusCode
from .trust import TrustList, no_trust_list
from .words import AI_SOURCE_TYPES, action_words, source_type_name, source_type_words, status_words

_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"II*\x00", "image/tiff"),
          (b"MM\x00*", "image/tiff"))
_HEIF_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif", b"msf1": "image/heif",
                b"heif": "image/heif", b"avif": "image/avif"}
_MAX_TEXT = 300

_c2pa_module: Any = None
_c2pa_error: str | None = None


def load_c2pa():
    """The ``c2pa`` module, or None (with :func:`unavailable_reason`) when it cannot be loaded."""
    global _c2pa_module, _c2pa_error
    if _c2pa_module is None and _c2pa_error is None:
        try:
            import c2pa

            _c2pa_module = c2pa
        except ImportError:
            _c2pa_error = "c2pa-python is not installed (pip install c2pa-python)"
        except Exception as exc:  # noqa: BLE001 - the native library failed to load (e.g. a frozen build)
            _c2pa_error = f"the C2PA native library could not be loaded ({_line(exc)})"
    return _c2pa_module


def unavailable_reason() -> str | None:
    load_c2pa()
    return _c2pa_error


def sdk_versions() -> dict:
    c2pa = load_c2pa()
    if c2pa is None:
        return {"c2pa_python": None, "c2pa_rs": None}
    try:
        rs = str(c2pa.sdk_version())
    except Exception:  # noqa: BLE001
        rs = None
    return {"c2pa_python": str(getattr(c2pa, "__version__", "") or ""), "c2pa_rs": rs}


def mime_of(raw: bytes) -> str | None:
    for magic, mime in _MAGIC:
        if raw.startswith(magic):
            return mime
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "image/webp"
    if raw[4:8] == b"ftyp":
        return _HEIF_BRANDS.get(raw[8:12])
    return None  # the library detects the rest (DNG, GIF, ...) from the bytes


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= _MAX_TEXT else line[:_MAX_TEXT] + "\u2026"


def read_content_credentials(raw: bytes, trust: TrustList | None = None) -> C2paRecord:
    """The C2PA record of a file's bytes; never raises, never touches the network."""
    rec = C2paRecord(state="none", trust=trust.describe() if trust else no_trust_list(), sdk=sdk_versions())
    if trust is None:
        rec.notes.append(NO_TRUST_LIST)
    c2pa = load_c2pa()
    if c2pa is None:
        rec.state, rec.message = "unavailable", f"C2PA reading unavailable: {_c2pa_error}"
        return rec
    try:
        with offline_context(c2pa, trust) as context:
            reader = c2pa.Reader(mime_of(raw), io.BytesIO(bytes(raw)), context=context)
            try:
                store = json.loads(reader.json())
                try:
                    certs = _certificates(json.loads(reader.crjson()))
                except Exception:  # noqa: BLE001 - the full names are a bonus; json() has the essentials
                    certs = {}
                if not reader.is_embedded():
                    rec.remote_url = str(reader.get_remote_url() or "")
            finally:
                reader.close()
    except Exception as exc:  # noqa: BLE001 - c2pa raises its own types; each becomes one line
        _failed(rec, c2pa, exc)
        return rec
    _fill(rec, store, certs)
    return rec


def _failed(rec: C2paRecord, c2pa, exc: Exception) -> None:
    text = _line(exc)
    if isinstance(exc, getattr(c2pa.C2paError, "ManifestNotFound", ())):
        rec.state = "none"
        return
    if text.startswith("Remote") or isinstance(exc, getattr(c2pa.C2paError, "RemoteManifest", ())):
        url = text.split(" from url ", 1)[1].strip() if " from url " in text else ""
        rec.state, rec.remote_url = "not_fetched", url
        rec.message = ("the file's Content Credentials are stored remotely" + (f" at {url}" if url else "") +
                       ": not fetched (TruFor Desk never uses the network), so they were not validated")
        return
    if isinstance(exc, getattr(c2pa.C2paError, "NotSupported", ())):
        rec.state, rec.message = "none", ""
        rec.notes.append(f"the C2PA library does not read this file type ({text})")
        return
    rec.state = "unreadable"
    rec.message = f"the C2PA manifest is present but cannot be read (truncated or corrupt): {text}"


def _certificates(cr: dict) -> dict[str, dict]:
    """Full subject/issuer names, serial (hex) and validity of each manifest's signer, by label."""
    out = {}
    for m in cr.get("manifests") or []:
        info = ((m.get("signature") or {}).get("certificateInfo") or {})
        if m.get("label") and info:
            out[m["label"]] = info
    return out


def _dn(name: Any) -> str:
    if isinstance(name, dict):
        return ", ".join(f"{k}={v}" for k, v in name.items())
    return str(name or "")


def _agent(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(str(value[k]) for k in ("name", "version") if value.get(k))
    return str(value or "")


def _status(codes: list, kind: str, scope: str) -> list[StatusCode]:
    out = []
    for s in codes or []:
        if isinstance(s, dict) and s.get("code"):
            out.append(StatusCode(code=str(s["code"]), kind=kind, meaning=status_words(str(s["code"]),
                                                                                        str(s.get("explanation", ""))),
                                  explanation=str(s.get("explanation", ""))[:_MAX_TEXT], scope=scope,
                                  url=str(s.get("url", ""))[:_MAX_TEXT]))
    return out


def _results(results: dict, scope: str) -> list[StatusCode]:
    results = results or {}
    return (_status(results.get("failure"), "failure", scope) +
            _status(results.get("informational"), "informational", scope) +
            _status(results.get("success"), "success", scope))


def _manifest(label: str, m: dict, depth: int, certs: dict) -> Manifest:
    gen = m.get("claim_generator_info") or []
    gen_text = "; ".join(_agent({k: v for k, v in g.items() if k in ("name", "version")}) for g in gen
                         if isinstance(g, dict)) or str(m.get("claim_generator") or "")
    sig = m.get("signature_info") or {}
    cert = certs.get(label) or {}
    signer = None
    if sig or cert:
        validity = cert.get("validity") or {}
        signer = Signer(subject=_dn(cert.get("subject")) or f"CN={sig.get('common_name', '')}",
                        issuer=_dn(cert.get("issuer")) or str(sig.get("issuer") or ""),
                        serial=str(cert.get("serialNumber") or sig.get("cert_serial_number") or ""),
                        common_name=str(sig.get("common_name") or ""), algorithm=str(sig.get("alg") or ""),
                        not_before=str(validity.get("notBefore") or ""), not_after=str(validity.get("notAfter") or ""))
    man = Manifest(label=label, depth=depth, title=str(m.get("title") or ""), format=str(m.get("format") or ""),
                   claim_generator=gen_text, signer=signer, signing_time=str(sig.get("time") or ""))
    for a in m.get("assertions") or []:
        if not str(a.get("label", "")).startswith("c2pa.actions"):
            continue
        for act in (a.get("data") or {}).get("actions") or []:
            if not isinstance(act, dict):
                continue
            dst = str(act.get("digitalSourceType") or "")
            name = str(act.get("action") or "")
            man.actions.append(Action(action=name, words=action_words(name),
                                      software_agent=_agent(act.get("softwareAgent")), when=str(act.get("when") or ""),
                                      digital_source_type=dst, source_type_words=source_type_words(dst) if dst else "",
                                      description=str(act.get("description") or "")[:_MAX_TEXT]))
            if dst and source_type_name(dst) in AI_SOURCE_TYPES:
                man.ai_declared = True
    for ing in m.get("ingredients") or []:
        vr = (ing.get("validation_results") or {}).get("activeManifest") or {}
        man.ingredients.append(Ingredient(title=str(ing.get("title") or ""), format=str(ing.get("format") or ""),
                                          relationship=str(ing.get("relationship") or ""),
                                          manifest=str(ing.get("active_manifest") or ""),
                                          failures=[str(s.get("code")) for s in vr.get("failure") or []
                                                    if isinstance(s, dict)]))
    return man


def _fill(rec: C2paRecord, store: dict, certs: dict) -> None:
    manifests = store.get("manifests") or {}
    active = store.get("active_manifest")
    seen: set[str] = set()

    def walk(label: str, depth: int) -> None:
        if not label or label in seen or label not in manifests:
            return
        seen.add(label)
        man = _manifest(label, manifests[label], depth, certs)
        rec.chain.append(man)
        for ing in man.ingredients:
            walk(ing.manifest, depth + 1)

    walk(active, 0)
    results = store.get("validation_results") or {}
    rec.status = _results(results.get("activeManifest"), "active manifest")
    titles = {i.manifest: i.title for m in rec.chain for i in m.ingredients}
    for delta in results.get("ingredientDeltas") or []:
        uri = str(delta.get("ingredientAssertionURI") or "")
        scope = "ingredient " + next((t for lbl, t in titles.items() if lbl and lbl in uri), uri or "?")
        rec.status += _results(delta.get("validationDeltas"), scope)
    known = {(s.code, s.url) for s in rec.status}
    for s in _status(store.get("validation_status"), "failure", "active manifest"):
        if (s.code, s.url) not in known:
            rec.status.append(s)
    rec.validation_state = str(store.get("validation_state") or "")
    failures = {s.code for s in rec.failures()}
    if rec.validation_state == "Trusted":
        rec.state = "valid"
    elif rec.validation_state == "Invalid" or (failures - {"signingCredential.untrusted"}):
        rec.state = "invalid"
    else:
        rec.state = "untrusted"
    if not rec.chain:
        rec.state = "invalid"
        rec.notes.append("the manifest store names no active manifest that could be read")
