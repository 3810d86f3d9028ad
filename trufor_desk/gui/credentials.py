"""Content Credentials in the window: the trust list setting (File ▸ Content Credentials trust
list…) and reading each opened image's C2PA record with it.

The core reads (:mod:`trufor_desk.evidence.provenance`); this module only keeps the chosen
PEM file's path in the settings, says in a dialog when it cannot be used, and re-reads the
open documents when it changes.  The record read here is the one a saved case stores, so the
window, the case file and the report agree.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox

from trufor_desk.errors import UserError
from trufor_desk.evidence.provenance import C2paRecord, TrustList, load_trust_list, read_content_credentials

from . import settings as st


def trust_list(win) -> TrustList | None:
    """The configured trust list, or None (none set, or the file cannot be used: said once)."""
    path = st.c2pa_trust_file(win.settings)
    if not path:
        return None
    cached = getattr(win, "_c2pa_trust", None)
    if cached is not None and cached[0] == path:
        return cached[1]
    try:
        trust = load_trust_list(path)
    except UserError as exc:
        win.show_error("Content Credentials trust list", f"{exc}\n\nImages are read without a trust list until "
                                                          "another file is chosen (File ▸ Content Credentials "
                                                          "trust list…).")
        trust = None
    win._c2pa_trust = (path, trust)
    return trust


def read_for(win, evidence) -> C2paRecord:
    return read_content_credentials(evidence.raw, trust_list(win))


def choose_trust_file(win, path: str | None = None) -> bool:
    """Ask for a PEM bundle (or clear it); re-read the open images with it.  False when cancelled
    or refused."""
    if path is None:
        current = st.c2pa_trust_file(win.settings)
        if current:
            box = QMessageBox(QMessageBox.Question, "Content Credentials trust list",
                              f"Images are checked against {current}.", parent=win)
            change = box.addButton("Choose another…", QMessageBox.AcceptRole)
            clear = box.addButton("Use no trust list", QMessageBox.DestructiveRole)
            box.addButton(QMessageBox.Cancel)
            box.exec()
            if box.clickedButton() is clear:
                return set_trust_file(win, None)
            if box.clickedButton() is not change:
                return False
        path, _ = QFileDialog.getOpenFileName(win, "Trust list for Content Credentials (PEM certificates)",
                                              st.last_folder(win.settings), "PEM (*.pem *.crt *.cer);;All files (*)")
        if not path:
            return False
    return set_trust_file(win, path)


def set_trust_file(win, path: str | None) -> bool:
    if path:
        try:
            load_trust_list(path)
        except UserError as exc:
            win.show_error("Cannot use this trust list", str(exc))
            return False
    st.set_c2pa_trust_file(win.settings, path)
    win._c2pa_trust = None
    for doc in win.documents:
        doc.c2pa = read_for(win, doc.evidence)
    doc = win.view_state.document
    if doc is not None:   # the current image's record, where it is shown
        win.metadata_panel.show_evidence(doc.evidence, doc.c2pa)
        win.score_panel.show_credentials(doc.c2pa)
    show_trust_state(win)
    win.set_status(f"Content Credentials are checked against {path}" if path else
                   "Content Credentials: no trust list (a valid signature cannot be called trusted)")
    return True


def show_trust_state(win) -> None:
    path = st.c2pa_trust_file(win.settings)
    tip = (f"Content Credentials are checked against the trust anchors in {path}; click to change" if path else
           "No trust list: a valid Content Credentials signature is shown as valid but not trusted. Click to "
           "choose a PEM file of trusted CA certificates")
    win.act_c2pa_trust.setToolTip(tip)
    win.act_c2pa_trust.setStatusTip(tip)
