"""``trufor-desk weights ...``: install, inspect and download the TruFor checkpoint.

``entry.py`` wires it in: ``add_weights_parser(sub).set_defaults(run=run_weights)``.

Errors are printed as exactly one ``error: <message>`` line on stderr (exit status 1),
matching the rest of the CLI; a progress bar is drawn only when stderr is a terminal,
so logs and pipes stay clean.  Nothing here imports torch until a checkpoint has to be
loaded, and nothing reaches the network except ``weights download``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from trufor_desk.cli.messages import error
from trufor_desk.errors import UserError

__all__ = ["add_weights_parser", "run_weights"]


def add_weights_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Register ``weights`` with its ``install``, ``status`` and ``download`` subcommands."""
    parser = subparsers.add_parser(
        "weights",
        help="install, check or download the TruFor checkpoint",
        description=(
            "Manage the TruFor checkpoint. The official weights are not bundled (their "
            "licence allows non-profit use only); install the release zip you downloaded, "
            "or let `weights download` fetch and verify it."
        ),
    )
    actions = parser.add_subparsers(dest="weights_command", metavar="{install,status,download}")
    actions.required = True

    install = actions.add_parser(
        "install",
        help="install TruFor_weights.zip or trufor.pth.tar into the data folder",
        description="Verify and install the official release zip or a bare trufor.pth.tar.",
    )
    install.add_argument("path", metavar="PATH", help="TruFor_weights.zip or trufor.pth.tar")
    install.add_argument(
        "--force", action="store_true",
        help="install even if the hashes differ from the official release (recorded as unverified)",
    )

    status = actions.add_parser(
        "status",
        help="show which checkpoint would be used and whether it is the official one",
        description="Resolve the checkpoint (--weights, $TRUFOR_WEIGHTS, installed copy) and hash it.",
    )
    # SUPPRESS: never overwrite a --weights the main parser may already have set.
    status.add_argument("--weights", metavar="PATH", default=argparse.SUPPRESS,
                        help="check this checkpoint file instead of the configured one")
    status.add_argument("--json", action="store_true", help="print the status as JSON")

    download = actions.add_parser(
        "download",
        help="download the official release, verify it and install it",
        description="Download TruFor_weights.zip, check its MD5 and SHA-256, and install it.",
    )
    download.add_argument("--url", default=None, help="download from this URL instead of the official one")
    download.add_argument(
        "--force", action="store_true",
        help="install even if the hashes differ from the official release (recorded as unverified)",
    )
    return parser


class _Progress:
    """Download progress on stderr: tqdm when available, a plain counter otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._bar: Any = None
        self._tqdm: Any = None
        try:
            from tqdm import tqdm

            self._tqdm = tqdm
        except ImportError:
            pass
        self._last = -1

    def __call__(self, done: int, total: int | None) -> None:
        if self._tqdm is not None:
            if self._bar is None:
                self._bar = self._tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                                       desc="downloading", file=self._stream, leave=True)
            self._bar.update(done - self._bar.n)
            return
        mib = done / (1 << 20)
        if int(mib) == self._last and done != total:
            return
        self._last = int(mib)
        if total:
            text = f"\rdownloading: {mib:7.1f} / {total / (1 << 20):.1f} MiB ({100 * done // total:3d}%)"
        else:
            text = f"\rdownloading: {mib:7.1f} MiB"
        self._stream.write(text)
        self._stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._last >= 0:
            self._stream.write("\n")
            self._stream.flush()


def _print_install(record: dict[str, Any], out: TextIO, err: TextIO) -> None:
    print(f"installed {record['path']}", file=out)
    print(f"  sha256:   {record['sha256']}", file=out)
    print(f"  size:     {record['size']:,} bytes", file=out)
    print(f"  source:   {record['source']}", file=out)
    print(f"  verified: {'yes' if record['verified'] else 'no'}", file=out)
    for problem in record.get("mismatches", []):
        print(f"warning: installed anyway (--force): {problem}", file=err)


def _print_status(status: dict[str, Any], out: TextIO) -> None:
    if status["path"] is None:
        print("weights:  none found (no --weights, $TRUFOR_WEIGHTS unset, nothing installed)", file=out)
        print(f"folder:   {status['installed_dir']}", file=out)
        print(f"state:    {status['state']}", file=out)
        print("hint:     run `trufor-desk weights download`, or `trufor-desk weights install "
              "TruFor_weights.zip` with the release you downloaded", file=out)
        return
    print(f"weights:  {status['path']}", file=out)
    print(f"source:   {status['source']}", file=out)
    print(f"size:     {status['size']:,} bytes", file=out)
    print(f"sha256:   {status['sha256']}", file=out)
    print(f"state:    {status['state']}", file=out)
    record = status.get("record")
    if record:
        print(f"installed: {record.get('installed_at', '?')} from {record.get('source', '?')}", file=out)


def run_weights(args: argparse.Namespace) -> int:
    """Run a parsed ``weights`` command; return the process exit status."""
    # Imported here so that building the parser (e.g. for --help) stays cheap.
    from trufor_desk.engines.trufor import weights as w

    out, err = sys.stdout, sys.stderr
    command = getattr(args, "weights_command", None)
    progress: _Progress | None = None
    try:
        if command == "install":
            record = w.install_weights(args.path, force=args.force)
            _print_install(record, out, err)
        elif command == "status":
            status = w.weights_status(getattr(args, "weights", None))
            if args.json:
                print(json.dumps(status, indent=2, sort_keys=True), file=out)
            else:
                _print_status(status, out)
        elif command == "download":
            progress = _Progress(err) if err.isatty() else None
            record = w.download_weights(args.url or w.OFFICIAL_URL, force=args.force, progress=progress)
            _close_progress(progress)
            progress = None
            _print_install(record, out, err)
        else:
            error("choose one of: weights install, weights status, weights download")
            return 1
    except UserError as exc:
        _close_progress(progress)
        error(exc)
        return 1
    except OSError as exc:  # a file-system problem the library did not anticipate
        _close_progress(progress)
        error(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}")
        return 1
    except KeyboardInterrupt:
        _close_progress(progress)
        error("interrupted")
        return 130
    return 0


def _close_progress(progress: _Progress | None) -> None:
    if progress is not None:
        progress.close()
