"""Qt-free drawing of analysis layers: colour maps, thresholds, composites and the colours
the verdict is drawn in.  Shared by the GUI, image export and reports.  What the verdict *is*
(its decision, wording and reading) lives in :mod:`trufor_desk.verdict`."""
