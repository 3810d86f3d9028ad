"""Cases: evidence references, analyses, notes, region annotations and a hash-chained
audit log, saved atomically as ``.tfcase`` zips (JSON + npz, no pickle).  Qt-free."""

from .audit import AuditEntry, fixed_clock, verify_chain
from .canonical import arrays_digest, canonical_json
from .comparison import ComparisonRecord
from .items import AnalysisRecord, Annotation, EvidenceRef, Note
from .model import Case, result_from_npz
from .signature import SignatureCheck, SigningKey, load_signing_key
from .store import EvidenceStatus, Verification, case_bytes, check_evidence, load_case, save_case, verify_case

__all__ = ["ComparisonRecord", "Annotation", "AnalysisRecord", "AuditEntry", "Case", "EvidenceRef", "Note",
           "arrays_digest",
           "canonical_json", "fixed_clock", "result_from_npz", "verify_chain", "EvidenceStatus",
           "Verification", "case_bytes", "check_evidence", "load_case", "save_case", "verify_case",
           "SignatureCheck", "SigningKey", "load_signing_key"]
