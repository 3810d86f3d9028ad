"""Errors the user can act on.

Every failure that is the input's fault (a bad image, a broken checkpoint, a missing
file) is raised as a :class:`UserError` subclass whose message is one readable line.
The CLI prints exactly that line as ``error: ...``; the GUI shows it in a dialog.
"""


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


class EvidenceError(UserError):
    """An image that cannot be opened or analysed."""


class WeightsError(UserError):
    """A checkpoint that is missing, corrupt, unsafe or of the wrong layout."""


class NotOfficialWeights(WeightsError):
    """A checkpoint that loads but is not the published release (e.g. fine-tuned): installing
    it needs ``force`` (``--force``, or the window's confirmation), and it is then marked
    unverified.  ``reason`` is what differs, without the advice on how to force it."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason} (nothing installed; use --force to install it anyway, unverified)")
        self.reason = reason


class Cancelled(Exception):
    """Raised inside an engine when the caller's cancel() returned True."""
