"""``--sign CERT.p12`` on the case commands that save: the examiner's key, read once, and the save.

The key is read (and its password, expiry and kind checked) before any work is done, so
a wrong password costs nothing.  A case that was signed when opened and is saved without
``--sign`` is saved unsigned, with a warning: its old signature does not cover the change.
"""

from __future__ import annotations

import os

from trufor_desk.cli.messages import warn
from trufor_desk.errors import UserError


def add_case_sign_arguments(p, password_option: bool = True) -> None:
    p.add_argument("--sign", metavar="P12", default=None,
                   help="sign the saved case with this PKCS#12 certificate (the examiner's key): opening it "
                        "then detects any later change, a truncated audit log included")
    if password_option:
        p.add_argument("--sign-password-env", metavar="VAR", default=None,
                       help="environment variable holding the certificate's password")


def sign_password(args) -> str | None:
    var = getattr(args, "sign_password_env", None)
    if not var:
        return None
    value = os.environ.get(var)
    if value is None:
        raise UserError(f"--sign-password-env {var}: that environment variable is not set")
    return value


def case_signer(args):
    """The :class:`~trufor_desk.case.signature.SigningKey` of ``--sign``, or None."""
    if getattr(args, "sign_password_env", None) and not getattr(args, "sign", None):
        raise UserError("--sign-password-env needs --sign P12")
    if not getattr(args, "sign", None):
        return None
    from trufor_desk.case import load_signing_key

    return load_signing_key(args.sign, sign_password(args))


def save(case, path, signer):
    """Save ``case`` (signed with ``signer`` when given), warning when a signature is dropped."""
    from trufor_desk.case import save_case

    v = case.verification
    was = v.signature if v is not None else None
    if signer is None and was is not None and was.state == "valid" and not getattr(case, "_unsigned_warned", False):
        case._unsigned_warned = True
        warn(f"{path}: the case was signed by {was.subject}; it is saved unsigned now, since that signature "
             "does not cover the change (pass --sign P12 to sign it again)")
    return save_case(case, path, signer=signer)
