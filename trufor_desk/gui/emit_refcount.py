"""Repair for a reference-count defect in PySide6's ``SignalInstance.emit``.

PySide6 6.12.0 returns the ``True`` singleton from ``SignalInstance.emit`` without
taking a reference to it.  The caller owns the result and releases it, so every
``signal.emit(...)`` made from Python permanently removes one reference from ``True``
(pyqtgraph emits several per zoom, pan or ``setImage``; a worker emits one per progress
step).  In CPython 3.11 ``True`` is an ordinary object: once enough emits have happened,
the objects that legitimately hold ``True`` release it at interpreter shutdown, its count
reaches zero and CPython aborts with ``Fatal Python error: bool_dealloc: deallocating
True or False`` (exit 134).  The window reached that point after two analyses and the
linked side-by-side views.

:func:`install` measures whether the running PySide6 has the defect and, only then,
wraps ``emit`` so that it supplies the missing reference.  With a PySide6 that returns a
proper reference, nothing is changed.  Importing any ``trufor_desk.gui`` module that
creates signals or pyqtgraph items imports the package first, whose ``__init__`` installs it
(the only caller).
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

_PROBE_EMITS = 16
_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class _Probe(QObject):
    ping = Signal()


def emit_drops_reference(emits: int = _PROBE_EMITS) -> bool:
    """Emit a signal ``emits`` times and report whether each call cost ``True`` a reference.

    A defective build loses exactly one reference per emit; the references the probe
    itself took away are given back before returning.
    """
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(emits):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    for _ in range(max(0, lost)):
        _incref(True)
    return lost >= emits


def _repaired(emit):
    def emit_with_reference(self, *args):
        result = emit(self, *args)
        if result is True or result is False:
            _incref(result)  # the reference emit() should have returned
        return result

    emit_with_reference.__doc__ = emit.__doc__
    emit_with_reference.__wrapped__ = emit
    emit_with_reference.trufor_repaired = True
    return emit_with_reference


def install() -> bool:
    """Repair ``SignalInstance.emit`` if this PySide6 needs it; True when repaired."""
    if getattr(SignalInstance.emit, "trufor_repaired", False):
        return True
    if not emit_drops_reference():
        return False
    SignalInstance.emit = _repaired(SignalInstance.emit)
    return True


REPAIRED = install()
