"""The CLI's error and warning lines on stderr.

The error policy (``entry.py``): every problem the user can fix is one ``error: ...`` line,
so a message that spans lines, or carries a path with a line break, is folded to one.
"""

from __future__ import annotations

import sys


def one_line(message: object) -> str:
    """``message`` on one line: each run of white space (line breaks included) becomes one space."""
    return " ".join(str(message).split()) or "unknown error"


def error(message: object) -> None:
    print(f"error: {one_line(message)}", file=sys.stderr, flush=True)


def warn(message: object) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)
