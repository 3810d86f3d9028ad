"""Export view as PNG with Content Credentials: the view is signed (C2PA) with the examiner's
certificate before it is written, so a file on disk either carries them or was not exported.

The manifest itself is built in the core (:mod:`trufor_desk.report.view_credentials`); this
module only takes the viewer's pixels, asks for the password and reports problems in dialogs.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice

from trufor_desk.errors import UserError

from . import settings as st

SETTING = "view_credentials"


def enabled(s) -> bool:
    return st.get_bool(s, SETTING, False)


def set_enabled(win, on: bool) -> bool:
    """Turn Content Credentials on exported views on or off; on needs a chosen certificate."""
    if on and st.signing_certificate(win.settings) is None:
        on = win.cases.set_signing(True)  # asks for the certificate (cases are then signed too)
        if not on:
            win.show_error("No certificate chosen", "Content Credentials are signed with your certificate: choose "
                           "one (File ▸ Sign saved cases…) first.")
    win.settings.setValue(SETTING, bool(on))
    win.act_view_credentials.blockSignals(True)
    win.act_view_credentials.setChecked(bool(on))
    win.act_view_credentials.blockSignals(False)
    return bool(on)


def _png_bytes(pixmap) -> bytes:
    buf = QBuffer()
    buf.open(QIODevice.WriteOnly)
    if not pixmap.save(buf, "PNG"):
        raise UserError("the view could not be encoded as PNG")
    return bytes(buf.data())


def export_with_credentials(win, path) -> bool:
    """Write the current view to ``path`` with a signed C2PA manifest; False (and a dialog) otherwise."""
    from trufor_desk.atomic import write_bytes_atomic
    from trufor_desk.report.view_credentials import sign_png

    doc = win.view_state.document
    not_done = "The view was not exported"
    key = win.cases.signing_key("exported view", not_done)
    if key is None:
        win.show_error("No certificate chosen", f"{not_done}: Content Credentials need your certificate (File ▸ "
                       "Sign saved cases…).")
        return False
    if key is False:
        return False
    case = win.cases.case
    try:
        png = _png_bytes(win.viewer.view.grab())
        data = sign_png(png, key, doc.evidence.path, doc.evidence.sha256, title=Path(path).name,
                        case_id=case.case_id if case is not None else None)
        write_bytes_atomic(path, data)
    except UserError as exc:
        win.show_error("Cannot add Content Credentials", f"{not_done}: {exc}")
        return False
    except OSError as exc:
        win.show_error("Export failed", f"Could not write {path}: {exc.strerror or exc}")
        return False
    win.set_status(f"Saved the view as {path}, with Content Credentials signed by {key.subject}")
    return True
