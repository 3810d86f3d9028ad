"""Which checkpoint to use: the official release's identity (URL and hashes), the per-user
install folder, and the lookup order ``--weights`` > ``$TRUFOR_WEIGHTS`` > the installed copy.

Also the one message form every module of this package uses: a :class:`WeightsError` whose
text is a single line the CLI and GUI show as is (:func:`_one_line`).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from trufor_desk.errors import WeightsError

#: Where the authors publish the release (a zip holding ``weights/trufor.pth.tar``).
OFFICIAL_URL = "https://www.grip.unina.it/download/prog/TruFor/TruFor_weights.zip"
#: MD5 of ``TruFor_weights.zip`` as published by the authors.
OFFICIAL_ZIP_MD5 = "7bee48f3476c75616c3c5721ab256ff8"
#: SHA-256 of the same zip (recorded by independent projects that pin the release).
OFFICIAL_ZIP_SHA256 = "953f1f7eda0dd2c5ece322ae9c185ba1079c1265aa5fdf319ef5a20604d206d8"
#: SHA-256 of ``weights/trufor.pth.tar`` inside the zip: identifies the real checkpoint
#: however the user obtained it.
OFFICIAL_CKPT_SHA256 = "ac1d90e329a72e0d66e8665e123a19e94bfae3209c3ef8a4f9ca3b91578c7844"
#: The checkpoint's member name inside the release zip.
ZIP_MEMBER = "weights/trufor.pth.tar"
#: Environment variable naming a checkpoint file (second in the lookup order).
ENV_VAR = "TRUFOR_WEIGHTS"
#: Environment variable replacing the per-user data folder (tests, portable installs).
DATA_DIR_ENV_VAR = "TRUFOR_DESK_DATA_DIR"
#: File name of the installed checkpoint and of its JSON record, in :func:`installed_dir`.
CHECKPOINT_NAME = "trufor.pth.tar"
SIDECAR_NAME = "trufor.json"

STATE_VERIFIED = "verified official release"
STATE_UNVERIFIED = "unverified: SHA-256 differs from the official release"
STATE_NOT_INSTALLED = "not installed"


def installed_dir() -> Path:
    """Folder holding the installed checkpoint and its ``trufor.json`` record.

    ``$TRUFOR_DESK_DATA_DIR/weights`` when that variable is set (so tests and portable
    setups never touch the real home folder), else ``<user data dir>/trufor-desk/weights``.
    ``appauthor=False`` keeps Windows from nesting the app name twice.
    """
    override = os.environ.get(DATA_DIR_ENV_VAR)
    if override:
        base = Path(override).expanduser()
    else:
        base = Path(platformdirs.user_data_dir("trufor-desk", appauthor=False))
    return base / "weights"


def installed_path() -> Path:
    """Where :func:`install_weights` puts the checkpoint by default."""
    return installed_dir() / CHECKPOINT_NAME


def resolve_weights(cli_path: str | os.PathLike[str] | None) -> tuple[Path | None, str]:
    """Pick the checkpoint to use: ``--weights``, then ``$TRUFOR_WEIGHTS``, then the installed copy.

    Returns ``(path, source)`` with source ``"--weights"``, ``"TRUFOR_WEIGHTS"`` or
    ``"installed"``, or ``(None, "none")`` when there is nothing.  A path the user named
    explicitly (option or variable) that does not exist is an error rather than a silent
    fall-through, because quietly using some other checkpoint would make the results
    misleading.
    """
    candidates: list[tuple[str, str | os.PathLike[str] | None]] = [
        ("--weights", cli_path),
        (ENV_VAR, os.environ.get(ENV_VAR) or None),
    ]
    for source, value in candidates:
        if value is None or str(value) == "":
            continue
        path = Path(value).expanduser()
        where = "--weights" if source == "--weights" else f"${ENV_VAR}"
        if not path.exists():
            raise WeightsError(f"checkpoint named by {where} not found: {path}")
        if not path.is_file():
            raise WeightsError(f"checkpoint named by {where} is not a file: {path}")
        return path, source
    installed = installed_path()
    if installed.is_file():
        return installed, "installed"
    return None, "none"



def _one_line(text: object, limit: int = 200) -> str:
    """Squash an exception text (torch's are multi-line essays) into a short single line."""
    words = " ".join(str(text).split())
    return words if len(words) <= limit else words[: limit - 3] + "..."
