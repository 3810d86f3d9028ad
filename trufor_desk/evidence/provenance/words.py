"""Plain words for what a C2PA manifest says: validation status codes, IPTC digital source
types and C2PA action names.

The library returns codes (``assertion.dataHash.mismatch``) and terse explanations
("data hash mismatch"); an analyst reading a report needs the consequence ("the pixels
changed after signing").  Codes we do not know keep the library's own explanation.
"""

from __future__ import annotations

# -- validation status codes (C2PA 2.x, section 15 "Validation") ------------------------
STATUS_WORDS: dict[str, str] = {
    # success
    "claimSignature.validated": "the claim's signature is intact",
    "claimSignature.insideValidity": "the signature was made while the signer's certificate was valid",
    "signingCredential.trusted": "the signer's certificate chains to a trust anchor in the configured trust list",
    "signingCredential.ocsp.notRevoked": "the certificate's revocation status was checked: not revoked",
    "timeStamp.trusted": "the time-stamp comes from a trusted time-stamping authority",
    "timeStamp.validated": "the time-stamp is intact",
    "assertion.hashedURI.match": "an assertion is unchanged since signing",
    "assertion.dataHash.match": "the file's data (the pixels and everything outside the manifest) is unchanged "
                                "since signing",
    "assertion.bmffHash.match": "the file's data (BMFF boxes, e.g. HEIF) is unchanged since signing",
    "assertion.boxesHash.match": "the file's data (its boxes or chunks) is unchanged since signing",
    "assertion.collectionHash.match": "the collection of files is unchanged since signing",
    "ingredient.manifest.validated": "an ingredient's manifest is intact",
    "ingredient.claimSignature.validated": "an ingredient's signature is intact",
    # informational
    "signingCredential.ocsp.skipped": "the certificate's revocation status (OCSP) was not checked: no network "
                                      "access, by design",
    "signingCredential.ocsp.inaccessible": "the certificate's revocation status could not be obtained",
    "signingCredential.ocsp.unknown": "the certificate's revocation status is unknown",
    "timeStamp.untrusted": "the time-stamp comes from an authority that is not trusted",
    "timeStamp.malformed": "the time-stamp is malformed",
    "algorithm.deprecated": "the signature uses a deprecated algorithm",
    "ingredient.unknownProvenance": "an ingredient has no Content Credentials of its own (its history is "
                                    "unknown)",
    "manifest.unreferenced": "the store holds a manifest that nothing refers to",
    # failure
    "assertion.dataHash.mismatch": "the pixels changed after signing (the file's data no longer matches the "
                                   "signed hash)",
    "assertion.bmffHash.mismatch": "the pixels changed after signing (the file's BMFF data no longer matches "
                                   "the signed hash)",
    "assertion.boxesHash.mismatch": "the pixels changed after signing (the file's boxes or chunks no longer "
                                    "match the signed hash)",
    "assertion.boxesHash.unknownBox": "the file holds a box or chunk that was not there when it was signed",
    "assertion.collectionHash.mismatch": "a file of the signed collection changed after signing",
    "assertion.dataHash.malformed": "the signed hash of the file's data is malformed",
    "assertion.hashedURI.mismatch": "an assertion in the manifest was changed after signing",
    "assertion.missing": "an assertion the claim lists is missing from the manifest",
    "assertion.undeclared": "the manifest holds an assertion the signed claim does not list",
    "assertion.inaccessible": "an assertion could not be read",
    "assertion.notRedacted": "an assertion that should have been redacted is still present",
    "assertion.selfRedacted": "the manifest redacts one of its own assertions",
    "assertion.outsideManifest": "an assertion refers outside its manifest",
    "assertion.multipleHardBindings": "the manifest binds the file's data more than once",
    "assertion.cbor.invalid": "an assertion is not valid CBOR (damaged or forged)",
    "assertion.json.invalid": "an assertion is not valid JSON (damaged or forged)",
    "assertion.action.ingredientMismatch": "an action names an ingredient the manifest does not hold",
    "assertion.action.malformed": "an action is malformed",
    "assertion.action.redacted": "an action was redacted, which is not allowed",
    "assertion.action.missing": "a required action is missing",
    "claim.missing": "the manifest has no claim",
    "claim.multiple": "the manifest has more than one claim",
    "claim.hardBindings.missing": "the claim does not bind the file's data: it says nothing about these pixels",
    "claim.required.missing": "a required field of the claim is missing",
    "claim.cbor.invalid": "the claim is not valid CBOR (damaged or forged)",
    "claim.malformed": "the claim is malformed",
    "claimSignature.missing": "the claim's signature is missing",
    "claimSignature.mismatch": "the signature does not match the claim: the manifest was altered after "
                               "signing, or the signature is not genuine",
    "claimSignature.outsideValidity": "the signature was made outside the signer's certificate validity period",
    "signingCredential.untrusted": "the signer's certificate does not chain to a trust anchor in the trust list "
                                   "(or no trust list is configured)",
    "signingCredential.invalid": "the signer's certificate is malformed or not allowed for signing Content "
                                 "Credentials",
    "signingCredential.revoked": "the signer's certificate was revoked",
    "signingCredential.expired": "the signer's certificate had expired",
    "timeStamp.mismatch": "the time-stamp does not match the signature",
    "timeStamp.outsideValidity": "the time-stamp lies outside the time-stamping certificate's validity",
    "manifest.inaccessible": "a manifest that is referred to could not be read (e.g. a remote manifest that was "
                             "not fetched)",
    "manifest.missing": "a manifest that is referred to is missing",
    "manifest.multipleParents": "the manifest names more than one parent ingredient",
    "manifest.update.invalid": "an update manifest changes more than an update may",
    "manifest.update.wrongParents": "an update manifest has the wrong parent",
    "manifest.compressed.invalid": "a compressed manifest cannot be decompressed",
    "manifest.timestamp.invalid": "a manifest's time-stamp is invalid",
    "manifest.timestamp.wrongParents": "a time-stamp manifest has the wrong parent",
    "ingredient.manifest.missing": "an ingredient's manifest is missing",
    "ingredient.manifest.mismatch": "an ingredient's manifest no longer matches the hash recorded for it",
    "ingredient.claimSignature.missing": "an ingredient's signature is missing",
    "ingredient.claimSignature.mismatch": "an ingredient's signature does not match its claim",
    "ingredient.hashedURI.mismatch": "an ingredient's data changed after it was recorded",
    "hashedURI.missing": "a hashed reference points at something missing",
    "hashedURI.mismatch": "a hashed reference no longer matches what it points at",
    "algorithm.unsupported": "the signature or a hash uses an unsupported algorithm",
    "general.error": "the manifest could not be validated (general error)",
}

# -- IPTC digital source types (https://cv.iptc.org/newscodes/digitalsourcetype/) -----
AI_SOURCE_TYPES = frozenset({"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"})

SOURCE_TYPE_WORDS: dict[str, str] = {
    "digitalCapture": "captured from real life by a camera or other sensor (original digital capture)",
    "computationalCapture": "captured from real life, then computed from several frames or sensors "
                            "(computational photography)",
    "negativeFilm": "digitised from a film negative",
    "positiveFilm": "digitised from a slide or positive film",
    "print": "digitised from a print",
    "humanEdits": "edited by a person",
    "minorHumanEdits": "a capture with minor edits by a person",
    "compositeCapture": "a composite of several captures",
    "algorithmicallyEnhanced": "a capture enhanced by algorithms",
    "dataDrivenMedia": "produced from data (e.g. a chart or a sensor plot)",
    "digitalArt": "drawn or made by a person with digital tools",
    "digitalCreation": "drawn or made by a person with digital tools",
    "virtualRecording": "recorded inside a virtual environment",
    "screenCapture": "a screen capture",
    "compositeSynthetic": "a composite that includes synthetic (computer-made) elements",
    "algorithmicMedia": "made entirely by a computer program that was not trained on data (e.g. procedural)",
    "trainedAlgorithmicMedia": "AI-GENERATED: made by a generative AI model (trained algorithmic media)",
    "compositeWithTrainedAlgorithmicMedia": "CONTAINS AI-GENERATED CONTENT: a composite that includes elements "
                                            "made by a generative AI model",
    "softwareImage": "made by software (deprecated IPTC term)",
    "empty": "created blank (no source content)",
    "trainedAlgorithmicData": "data produced by a trained AI model",
}

# -- C2PA actions -----------------------------------------------------------------------
ACTION_WORDS: dict[str, str] = {
    "c2pa.created": "created", "c2pa.opened": "opened an existing file", "c2pa.edited": "edited",
    "c2pa.edited.metadata": "edited the metadata only", "c2pa.placed": "placed an ingredient into it",
    "c2pa.cropped": "cropped", "c2pa.resized": "resized", "c2pa.color_adjustments": "adjusted colours",
    "c2pa.converted": "converted to another format", "c2pa.filtered": "filtered", "c2pa.drawing": "drew on it",
    "c2pa.orientation": "changed the orientation", "c2pa.published": "published", "c2pa.redacted": "redacted",
    "c2pa.removed": "removed an ingredient", "c2pa.repackaged": "repackaged (data unchanged)",
    "c2pa.transcoded": "transcoded", "c2pa.watermarked": "watermarked", "c2pa.deleted": "deleted something",
    "c2pa.produced": "produced", "c2pa.translated": "translated", "c2pa.enhanced": "enhanced",
    "c2pa.unknown": "something unspecified was done",
}


def status_words(code: str, library_text: str = "") -> str:
    """What a validation status code means, in words (the library's text for unknown codes)."""
    if code in STATUS_WORDS:
        return STATUS_WORDS[code]
    return f"{library_text} (code not explained by this version of TruFor Desk)" if library_text else \
        "(code not explained by this version of TruFor Desk)"


def source_type_name(uri: str) -> str:
    """The last part of a digitalSourceType URI (``.../trainedAlgorithmicMedia`` -> that name)."""
    return str(uri).rstrip("/").rsplit("/", 1)[-1]


def source_type_words(uri: str) -> str:
    name = source_type_name(uri)
    return SOURCE_TYPE_WORDS.get(name, f"{name} (source type not known to TruFor Desk)")


def action_words(action: str) -> str:
    if action in ACTION_WORDS:
        return ACTION_WORDS[action]
    return action.split(".", 1)[-1].replace("_", " ") if action else "unnamed action"
