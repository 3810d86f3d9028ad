"""Case work in the window: notes, region annotations, save/open ``.tfcase``, PDF report.

The window's documents are the working state; the :class:`~trufor_desk.case.Case` is the
record.  Before saving or reporting, :meth:`CaseController.sync` adds to the case every
opened image and every analysis it does not hold yet (each addition is an audit entry)
and records threshold changes, so the saved case is exactly what the examiner saw.

With a signing certificate chosen (File ▸ Sign saved cases…, kept in the settings as a path
only) every save asks for its password and signs the case; opening a case says who signed
it and when, or that it is unsigned, or in words what changed after it was signed.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit

from trufor_desk.errors import UserError

from . import settings as st


class CaseController:
    def __init__(self, win):
        self.win = win
        self.case = None
        self.path: Path | None = None
        self.signature_text = ""                # what the opened case's signature says
        self._recorded: dict[int, str] = {}     # id(AnalysisResult) -> analysis id in the case

    # -- asking (replaceable in tests) ---------------------------------------------------
    def ask_text(self, title: str, label: str, default: str = "", multiline: bool = False) -> str | None:
        if multiline:
            text, ok = QInputDialog.getMultiLineText(self.win, title, label, default)
        else:
            text, ok = QInputDialog.getText(self.win, title, label, text=default)
        return text.strip() if ok and text.strip() else None

    def ask_password(self, title: str, label: str) -> str | None:
        """A password typed into a masked field; None when cancelled.  Never stored."""
        text, ok = QInputDialog.getText(self.win, title, label, QLineEdit.Password)
        return text if ok else None

    def ask_path(self, save: bool, title: str, name: str, filt: str) -> str | None:
        """A file chosen in the last folder (``name`` is the suggested file name, or "")."""
        folder = st.last_folder(self.win.settings)
        start = str(Path(folder) / name) if name else folder
        if save:
            path, _ = QFileDialog.getSaveFileName(self.win, title, start, filt)
        else:
            path, _ = QFileDialog.getOpenFileName(self.win, title, start, filt)
        return path or None

    # -- the case ------------------------------------------------------------------------
    def ensure_case(self):
        if self.case is not None:
            return self.case
        from trufor_desk.case import Case

        s = self.win.settings
        examiner = self.ask_text("Examiner", "Examiner name (recorded in the case and the report):",
                                 str(s.value("examiner", "")))
        if not examiner:
            return None
        s.setValue("examiner", examiner)
        day = datetime.now(timezone.utc).strftime("%Y%m%d")
        self.case = Case(f"CASE-{day}-{secrets.token_hex(3).upper()}", examiner)
        return self.case

    def evidence_id(self, doc) -> str:
        ref = self.case.find_evidence(doc.evidence.sha256)
        if ref is None:
            c2pa = getattr(doc, "c2pa", None)  # the record the window shows is the one the case keeps
            ref = self.case.add_evidence(doc.evidence, c2pa=c2pa.to_dict() if c2pa is not None else None)
        return ref.id

    def sync(self) -> bool:
        """Bring every opened image and analysis, and the current thresholds, into the case."""
        if self.ensure_case() is None:
            return False
        view = self.win.view_state
        current = {"localization": view.loc_threshold, "reliability": view.rel_threshold}
        for doc in self.win.documents:
            ev_id = self.evidence_id(doc)
            for an in doc.analyses:
                key = id(an.result)
                if key not in self._recorded:
                    rec = self.case.add_analysis(ev_id, an.result, an.rect, current)
                    self._recorded[key] = rec.id
                else:
                    rec = self.case.get_analysis(self._recorded[key])
                    if rec.thresholds != current:
                        self.case.set_thresholds(rec.id, current["localization"], current["reliability"])
        return True

    # -- notes and annotations -----------------------------------------------------------
    def add_note(self) -> bool:
        doc = self.win.view_state.document
        if self.ensure_case() is None:
            return False
        text = self.ask_text("Add note", "Note (recorded in the case with your name and the time):",
                             multiline=True)
        if not text:
            return False
        self.case.add_note(text, self.evidence_id(doc) if doc else None)
        self.win.stage.setText("Note added to the case")
        return True

    def annotate_selection(self) -> bool:
        doc = self.win.view_state.document
        rect = self.win.viewer.selection()
        if doc is None or rect is None:
            self.win.show_error("No selection", "Select a region first (Analysis ▸ Select region).")
            return False
        if self.ensure_case() is None:
            return False
        label = self.ask_text("Annotate region", "Label for the selected region:")
        if not label:
            return False
        text = self.ask_text("Annotate region", "Description (optional):", multiline=True) or ""
        self.case.add_annotation(self.evidence_id(doc), label, text, rect=rect)
        self.win.viewer.add_annotation_box(rect, label)
        self.win.stage.setText(f"Region annotated: {label}")
        return True

    # -- comparisons ---------------------------------------------------------------------
    def _compare_source(self, doc, layer):
        """The comparison source for an opened image, or one of its layers (an analysis in the case)."""
        from trufor_desk.compare.sources import image_source, layer_source

        ev_id = self.evidence_id(doc)
        if layer is None:
            return image_source(doc.evidence, ev_id, f"{ev_id} {doc.title}")
        prefix, _, suffix = layer.key.partition(":")
        an = next(a for a in doc.analyses if (a.result.engine if a.rect is None else
                                              "{}@{},{},{},{}".format(a.result.engine, *a.rect)) == prefix)
        name = {"map": "localization", "conf": "reliability"}.get(suffix, suffix)
        analysis_id = self._recorded[id(an.result)]
        return layer_source(doc.evidence, ev_id, an.result, analysis_id, name, an.rect,
                            f"{analysis_id} {an.result.engine} {name} of {ev_id}")

    def add_comparison(self, a, b, registration, mode: str, view):
        """Record the comparison of ``a`` and ``b`` ((document, layer or None) each) in the case."""
        from trufor_desk.compare.comparison import build_comparison

        if not self.sync():
            return None
        try:
            comparison = build_comparison(self._compare_source(*a), self._compare_source(*b),
                                          mode=mode.lower(), view=view, registration=registration)
            rec = self.case.add_comparison(comparison)
        except UserError as exc:
            self.win.show_error("Cannot add the comparison", str(exc))
            return None
        self.win.stage.setText(f"Comparison {rec.id} added to the case")
        return rec

    # -- signing -------------------------------------------------------------------------
    def set_signing(self, on: bool, path: str | None = None) -> bool:
        """Turn signing of saved cases on (choosing the PKCS#12 file) or off; returns whether it is on."""
        s = self.win.settings
        if on:
            path = path or self.ask_path(False, "Certificate that signs saved cases", "",
                                         "PKCS#12 certificate (*.p12 *.pfx);;All files (*)")
            if not path:
                on = False
        st.set_signing_certificate(s, path if on else None)
        self.win.show_signing_state()
        return on

    def signing_key(self, what: str = "case", not_done: str = "The case was not saved"):
        """The examiner's key, its password asked now: None when no certificate is chosen; False when
        reading it failed (a dialog says why) or the password was cancelled."""
        from trufor_desk.case import load_signing_key

        p12 = st.signing_certificate(self.win.settings)
        if p12 is None:
            return None
        password = self.ask_password(f"Sign the {what}", f"Password of the certificate {Path(p12).name}\n"
                                     f"(it signs the {what}; it is not stored):")
        if password is None:
            self.win.stage.setText(f"{not_done}: signing was cancelled")
            return False
        try:
            return load_signing_key(p12, password)
        except UserError as exc:
            self.win.show_error(f"Cannot sign the {what}", f"{not_done}: {exc}\n\n"
                                "Check the password, or choose another certificate in File ▸ Sign saved cases.")
            return False

    # -- files ---------------------------------------------------------------------------
    def save(self, path: str | None = None) -> bool:
        from trufor_desk.case import save_case

        if not self.sync():
            return False
        if path is None:
            path = self.path or self.ask_path(True, "Save case", f"{self.case.case_id}.tfcase",
                                              "TruFor Desk case (*.tfcase)")
            if not path:
                return False
        signer = self.signing_key()
        if signer is False:
            return False
        v = self.case.verification
        was = v.signature if v is not None and v.signature.state == "valid" else None
        try:
            save_case(self.case, path, signer=signer)
        except UserError as exc:
            self.win.show_error("Cannot save the case", str(exc))
            return False
        self.path = Path(path)
        if signer is not None:
            self.win.stage.setText(f"Case saved and signed by {signer.subject}: {self.path.name}")
        elif was is not None:
            self.win.stage.setText(f"Case saved unsigned: {self.path.name} (it was signed by {was.subject}; "
                                   "choose File ▸ Sign saved cases to sign it again)")
        else:
            self.win.stage.setText(f"Case saved: {self.path.name}")
        return True

    def open(self, path: str | None = None) -> bool:
        """Open a case: re-verify its evidence and log, then show the stored analyses."""
        from trufor_desk.case import load_case
        from trufor_desk.evidence import open_evidence

        if path is None:
            path = self.ask_path(False, "Open case", "", "TruFor Desk case (*.tfcase);;All files (*)")
            if not path:
                return False
        try:
            case = load_case(path)
        except UserError as exc:
            self.win.show_error("Cannot open the case", str(exc))
            return False
        self.case, self.path, self._recorded = case, Path(path), {}
        v = case.verification
        problems = [s.line() for s in v.evidence if s.status != "ok"] + v.chain_problems + v.content_problems
        if not v.signature_ok:
            problems.append(v.signature_line())
        for ref in case.evidence:
            status = v.status_of(ref.id) if v else "ok"
            found = next((s.found_at for s in v.evidence if s.evidence_id == ref.id), None) if v else None
            if status != "ok":
                continue  # a changed or missing file is reported, never silently analysed
            try:
                ev = open_evidence(found or ref.path)
            except UserError as exc:
                problems.append(f"{ref.id}: {exc}")
                continue
            doc = self.win.add_document(ev)   # shown with its annotation boxes
            with doc.events.layers.paused():   # the layers are drawn once, with every stored analysis
                for rec in case.analyses_of(ref.id):
                    doc.add_analysis(rec.result, rec.rect)
                    self._recorded[id(rec.result)] = rec.id
        self.signature_text = v.signature_line()
        if problems:
            changed = " The case was changed after it was signed." if v.signature.tampered else ""
            self.win.show_error("Case opened with problems",
                                f"{len(problems)} problem(s) found while verifying {Path(path).name}.{changed}\n\n"
                                + "\n".join(problems))
        else:
            self.win.stage.setText(f"Case {case.case_id} opened: evidence and audit log verified; "
                                   f"{self.signature_text}")
        return True

    def export_report(self, path: str | None = None) -> bool:
        from trufor_desk.report import write_report

        if not self.win.documents:
            self.win.show_error("Nothing to report", "Open and analyse an image first.")
            return False
        if not self.sync():
            return False
        if path is None:
            path = self.ask_path(True, "Export report", f"{self.case.case_id}-report.pdf", "PDF (*.pdf)")
            if not path:
                return False
        try:
            write_report(self.case, path)
        except UserError as exc:
            self.win.show_error("Cannot write the report", str(exc))
            return False
        self.win.stage.setText(f"Report written: {Path(path).name}")
        return True
