"""The investigator window (PySide6 + pyqtgraph).  A thin layer over the Qt-free core:
it holds view state, starts analyses on worker threads and draws results."""

# The one place the PySide6 6.12.0 emit repair is installed: every GUI module (the triage view
# included) is imported through this package, so it runs before the first signal; see emit_refcount.py.
from . import emit_refcount  # noqa: E402,F401
