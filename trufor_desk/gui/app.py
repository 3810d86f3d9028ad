"""Starting the window: ``trufor-desk`` / ``trufor-desk gui [IMAGE...]``."""

from __future__ import annotations

import sys


def run_gui(paths: list[str] | None = None, engine: str | None = None, analyze: bool = False) -> int:
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("TruFor Desk")
    app.setOrganizationName("TruFor Desk")
    app.setDesktopFileName("trufor-desk")  # lets desktops match the window to packaging/linux/*.desktop
    try:
        from PySide6.QtGui import QIcon

        from trufor_desk.resources import resource

        app.setWindowIcon(QIcon(str(resource("icons", "trufor-desk.svg"))))
    except FileNotFoundError:
        pass  # an icon is nice to have, never a reason not to start
    win = MainWindow()
    if engine:
        if win.engine_combo.findText(engine) < 0:
            print(f"error: engine {engine!r} is not available", file=sys.stderr)
            return 1
        win.engine_combo.setCurrentText(engine)
    win.show()
    docs = win.open_paths(paths or [])
    if analyze and docs:
        win.jobs.analyze()
    return app.exec()
