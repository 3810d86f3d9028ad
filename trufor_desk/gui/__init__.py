"""The investigator window (PySide6 + pyqtgraph).  A thin layer over the Qt-free core:
it holds view state, starts analyses on worker threads and draws results."""

# Every GUI module (the triage view included) gets the PySide6 6.12.0 emit repair before
# its first signal: see emit_refcount.py.
from . import emit_refcount  # noqa: E402,F401
