"""The window's commands: its actions, menus, toolbar and recent files, the theme, and the
preferences saved on closing and restored on opening.

A mixin of :class:`~trufor_desk.gui.main_window.MainWindow`: the actions are the window's
own attributes (``act_open``, ``act_analyze``, ...; tests and scripts trigger them), and
they are connected to the part of the window that does the work (``self.jobs``,
``self.cases``, ``self.viewer``, the window itself); the saved thresholds go into the view state.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QMessageBox, QToolBar

from trufor_desk import __version__
from trufor_desk.engines import registry

from . import credentials, view_credentials
from . import settings as st
from .theme import apply_theme


class WindowMenus:
    """Builds the actions, menus and toolbar of a QMainWindow; restores and saves its preferences."""

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setToolTip(tip or text)
        a.setStatusTip(tip or text)
        a.triggered.connect(slot)
        return a

    def _build_actions(self) -> None:
        self.act_open = self._action("Open…", self.open_dialog, QKeySequence.Open, "Open one or more images")
        self.act_export = self._action("Export view as PNG…", self.export_dialog, "Ctrl+E",
                                       "Save the current view with its overlays as a PNG")
        self.act_quit = self._action("Quit", self.close, QKeySequence.Quit)
        self.act_save_case = self._action("Save case…", lambda: self.cases.save(), QKeySequence.Save,
                                          "Save images, analyses, notes and the audit log as a .tfcase file")
        self.act_open_case = self._action("Open case…", lambda: self.cases.open(), "Ctrl+Shift+O",
                                          "Open a .tfcase: evidence hashes and the audit log are re-verified")
        self.act_sign_cases = self._action("Sign saved cases…", lambda on: self.cases.set_signing(on),
                                           tip="Sign every saved case with your PKCS#12 certificate (the "
                                               "password is asked at each save, never stored)")
        self.act_sign_cases.setCheckable(True)
        self.act_view_credentials = self._action(
            "Content Credentials on exported views", lambda on: view_credentials.set_enabled(self, on),
            tip="Export view as PNG adds a C2PA manifest (opened from the evidence, edited by TruFor Desk), "
                "signed with your certificate")
        self.act_view_credentials.setCheckable(True)
        self.act_c2pa_trust = self._action("Content Credentials trust list…",
                                           lambda: credentials.choose_trust_file(self),
                                           tip="Choose the PEM file of CA certificates trusted to sign Content "
                                               "Credentials (none by default)")
        self.act_report = self._action("Export report…", lambda: self.cases.export_report(), "Ctrl+P",
                                       "Write the PDF case report (hashes, methods, parameters, results)")
        self.act_triage = self._action("Open batch results…", self.open_triage_dialog, "Ctrl+B",
                                       "Browse a `trufor-desk batch` output folder sorted by verdict, then score")
        self.act_note = self._action("Add note…", lambda: self.cases.add_note(), "Ctrl+N",
                                     "Add a note to the case for the current image")
        self.act_annotate = self._action("Annotate selection…", lambda: self.cases.annotate_selection(), "Ctrl+L",
                                         "Label the selected rectangle in the case")
        self.act_analyze = self._action("Analyse", lambda: self.jobs.analyze(), "Ctrl+R",
                                        "Run the chosen engine on the whole image")
        self.act_select = self._action("Select region", self.viewer.start_selection, "Ctrl+Shift+S",
                                       "Draw a rectangle to analyse at full resolution")
        self.act_analyze_sel = self._action("Analyse selection", self.jobs.analyze_selection, "Ctrl+Shift+R",
                                            "Run the chosen engine on the selected rectangle only")
        self.act_cancel = self._action("Cancel analysis", self.jobs.cancel, "Esc")
        self.act_fit = self._action("Fit", self.viewer.fit, "Ctrl+0", "Fit the image in the window")
        self.act_one = self._action("1:1", self.viewer.one_to_one, "Ctrl+1", "One image pixel per screen pixel")
        self.act_zoom_in = self._action("Zoom in", lambda: self.viewer.zoom(1.25), QKeySequence.ZoomIn)
        self.act_zoom_out = self._action("Zoom out", lambda: self.viewer.zoom(0.8), QKeySequence.ZoomOut)
        self.act_compare = self._action("Side by side…", self.open_compare, "Ctrl+D",
                                        "Compare two images, or an image and a layer, in linked views")
        self.act_dark = self._action("Dark theme", self.toggle_theme)
        self.act_dark.setCheckable(True)
        self.act_install = self._action("Install TruFor weights…", self.jobs.install_weights_dialog)
        self.act_help = self._action("Layers and limits", lambda: (self.dock_help.show(), self.dock_help.raise_()),
                                     "F1")
        self.act_about = self._action("About", self.about)
        self._build_menus()
        self._build_toolbar()

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_open)
        self.recent_menu = m.addMenu("Open &Recent")
        m.addAction(self.act_export)
        m.addAction(self.act_view_credentials)
        m.addAction(self.act_c2pa_trust)
        m.addSeparator()
        for a in (self.act_open_case, self.act_save_case, self.act_sign_cases, self.act_report, self.act_triage):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_install)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Analysis")
        for a in (self.act_analyze, self.act_select, self.act_analyze_sel, self.act_cancel):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_note)
        m.addAction(self.act_annotate)
        m = mb.addMenu("&View")
        for a in (self.act_fit, self.act_one, self.act_zoom_in, self.act_zoom_out, self.act_compare, self.act_dark):
            m.addAction(a)
        m.addSeparator()
        for d in (self.dock_layers, self.dock_loupe, self.dock_score, self.dock_meta, self.dock_help):
            m.addAction(d.toggleViewAction())
        m = mb.addMenu("&Help")
        m.addAction(self.act_help)
        m.addAction(self.act_about)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("main toolbar")
        self.addToolBar(tb)
        tb.addAction(self.act_open)
        self.doc_combo = QComboBox()
        self.doc_combo.setToolTip("Open images")
        self.doc_combo.setMinimumWidth(160)
        self.doc_combo.currentIndexChanged.connect(self._select_document)
        tb.addWidget(self.doc_combo)
        tb.addSeparator()
        tb.addWidget(QLabel(" Engine "))
        self.engine_combo = QComboBox()
        for name in registry.engine_names():
            if registry.is_available(name):
                self.engine_combo.addItem(name)
                self.engine_combo.setItemData(self.engine_combo.count() - 1, registry.ENGINES[name].title,
                                              Qt.ToolTipRole)
        self.engine_combo.setToolTip("Detector to run")
        tb.addWidget(self.engine_combo)
        tb.addWidget(QLabel(" Device "))
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto", "cpu", "cuda", "mps"])
        self.device_combo.setToolTip("Where TruFor runs: auto picks a GPU when present")
        tb.addWidget(self.device_combo)
        for a in (self.act_analyze, self.act_select, self.act_analyze_sel, self.act_cancel):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.act_fit, self.act_one, self.act_compare, self.act_export, self.act_report):
            tb.addAction(a)

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        for p in st.recent_files(self.settings):
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.recent_menu.actions()))

    def show_signing_state(self) -> None:
        """The Sign saved cases action reflects the setting: checked, with the certificate in its tip."""
        p12 = st.signing_certificate(self.settings)
        self.act_sign_cases.blockSignals(True)
        self.act_sign_cases.setChecked(p12 is not None)
        self.act_sign_cases.blockSignals(False)
        tip = (f"Saved cases are signed with {p12} (password asked at each save); click to stop signing"
               if p12 else "Sign every saved case with your PKCS#12 certificate (the password is asked at "
                           "each save, never stored)")
        self.act_sign_cases.setToolTip(tip)
        self.act_sign_cases.setStatusTip(tip)

    def toggle_theme(self) -> None:
        apply_theme(QApplication.instance(), self.act_dark.isChecked())

    def about(self) -> None:
        QMessageBox.about(self, "About TruFor Desk",
                          f"TruFor Desk {__version__}\n\nForgery analysis with TruFor (Guillaro et al., CVPR 2023) "
                          "and weight-free detectors. TruFor weights belong to GRIP-UNINA and are licensed for "
                          "non-profit research use only; they are not part of this application.")

    # -------------------------------------------------------------------- preferences ----
    def _restore_settings(self) -> None:
        s = self.settings
        engine = s.value("engine", "")
        if not engine or self.engine_combo.findText(engine) < 0:
            engine = registry.default_engine()
        if self.engine_combo.findText(engine) >= 0:
            self.engine_combo.setCurrentText(engine)
        device = s.value("device", "auto")
        if self.device_combo.findText(device) >= 0:
            self.device_combo.setCurrentText(device)
        view = self.view_state   # to the slider's hundredths, as the examiner set them
        view.loc_threshold = round(100 * st.get_float(s, "loc_threshold", 0.5)) / 100
        view.rel_threshold = round(100 * st.get_float(s, "rel_threshold", 0.5)) / 100
        dark = st.get_bool(s, "dark", False)
        self.act_dark.setChecked(dark)
        apply_theme(QApplication.instance(), dark)
        geo = s.value("geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        self._rebuild_recent()
        self.show_signing_state()
        self.act_view_credentials.setChecked(view_credentials.enabled(s))
        credentials.show_trust_state(self)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("engine", self.engine_combo.currentText())
        s.setValue("device", self.device_combo.currentText())
        s.setValue("loc_threshold", self.view_state.loc_threshold)
        s.setValue("rel_threshold", self.view_state.rel_threshold)
        s.setValue("dark", self.act_dark.isChecked())
        s.setValue("geometry", self.saveGeometry())
        s.sync()
