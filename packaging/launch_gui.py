"""Frozen entry point of the windowed executable ``TruForDesk``.

Always opens the investigator window: ``TruForDesk [IMAGE...] [--engine NAME] [--analyze]``
is ``trufor-desk gui [IMAGE...] ...`` (a file manager passes the images as arguments; a
leading ``gui`` is accepted too).
"""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    # A windowed build on Windows/macOS has no console: sys.stdout/sys.stderr are None there,
    # and code that calls .write()/.isatty() on them would raise.  Send them to the null device.
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))
    from trufor_desk.cli import main

    args = sys.argv[1:]
    if args[:1] == ["gui"]:  # `TruForDesk gui IMAGE` reads like the CLI's subcommand: accept it
        args = args[1:]
    sys.exit(main(["gui", *args]))
