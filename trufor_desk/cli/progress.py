"""Progress bars on stderr shared by the subcommands.

Every bar draws only when stderr is a terminal (tqdm is imported then, never for a pipe), so
scripted runs and tests see plain lines; ``weights`` keeps its own byte-counting bar.
"""

from __future__ import annotations

import sys


class StderrBar:
    """Base for command progress: subclasses create ``self.bar`` (tqdm) only when stderr is
    a terminal; messages go above the bar, or to stderr as plain lines without one."""

    bar = None

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class PercentBar(StderrBar):
    """Progress on stderr, only when stderr is a terminal."""

    def __init__(self, label: str):
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=100, desc=label, unit="%", file=sys.stderr, leave=False,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix} [{elapsed}<{remaining}]")

    def __call__(self, fraction: float, message: str) -> None:
        if self.bar is not None:
            self.bar.n = round(100 * fraction, 1)
            self.bar.set_postfix_str(message, refresh=False)
            self.bar.refresh()
