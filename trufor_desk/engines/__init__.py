"""Detectors behind one interface (see :mod:`trufor_desk.engines.base`)."""
