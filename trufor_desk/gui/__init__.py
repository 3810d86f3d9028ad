"""The investigator window (PySide6 + pyqtgraph).  A thin layer over the Qt-free core:
it holds view state, starts analyses on worker threads and draws results."""
