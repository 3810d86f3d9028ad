"""The examiner's PAdES signature: a PKCS#12 certificate signs the report as an incremental update.

A signature carries the real signing time, so a signed file is not byte-reproducible, but
the signed revision inside it is.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from trufor_desk.errors import UserError


def sign_pdf(pdf: bytes, p12_path: str | os.PathLike, password: str | None = None,
             signer_name: str | None = None, reason: str = "Forensic examination report") -> bytes:
    """Add a PAdES (ETSI.CAdES.detached) signature made with a PKCS#12 certificate."""
    try:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers
    except ImportError:
        raise UserError("signing needs pyHanko, which is not installed: pip install pyhanko") from None
    p12 = Path(p12_path)
    if not p12.is_file():
        raise UserError(f"{p12_path}: certificate file not found")
    import logging

    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    try:
        signer = signers.SimpleSigner.load_pkcs12(pfx_file=str(p12), passphrase=(password or "").encode()
                                                  if password is not None else None)
    except Exception as exc:  # pyHanko raises various types for bad files
        raise UserError(f"{p12_path}: cannot read the PKCS#12 certificate ({type(exc).__name__})") from None
    if signer is None:
        raise UserError(f"{p12_path}: cannot read the PKCS#12 certificate (wrong password or not PKCS#12)")
    meta = signers.PdfSignatureMetadata(field_name="ExaminerSignature", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, reason=reason,
                                        name=signer_name)
    try:
        out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer)
    except Exception as exc:
        raise UserError(f"signing failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                        ) from None
    return out.getvalue()
