"""Qt-free rendering of analysis layers: colour maps, thresholds, composites and the
plain-language reading of a result.  Shared by the GUI, image export and reports."""
