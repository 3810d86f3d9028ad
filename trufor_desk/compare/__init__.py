"""Comparing two versions of a picture (or an image and one of its layers), Qt-free:
registration of the second onto the first, the numbers a report can state, and the
figures of a comparison.  The case stores what this package computes; the report and the
window only read it."""
