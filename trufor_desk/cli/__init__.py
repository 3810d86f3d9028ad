"""The ``trufor-desk`` command line, one module per subcommand group.

- ``entry``: the parser and the dispatch (``main``), the only module that knows every command;
- ``args``: options shared by the commands that run an engine (``--engine``, ``--weights``, ...);
- ``progress``: stderr progress bars, drawn only on a terminal;
- ``messages``: the one-line ``error: ...`` and ``warning: ...`` messages on stderr;
- ``analyze``, ``weights``, ``report`` (report and case), ``evaluate``, ``batch``: one group each,
  every one with ``add_<name>_parser(sub)`` and ``run_<name>(args)``.

``trufor-desk`` (``trufor_desk.cli:main``) and ``python -m trufor_desk`` both call :func:`main`.
Subcommand modules are imported lazily by ``entry``, and heavy libraries (torch, Qt) only when a
command runs, so ``--help`` stays fast.
"""

from trufor_desk.cli.entry import main

__all__ = ["main"]
