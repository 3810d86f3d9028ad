"""``weights download``: fetch the official release zip over HTTPS, check its published hashes
and install it; the only code in TruFor Desk that reaches the network, and only on request."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trufor_desk.errors import WeightsError

from .install import _install, _temp_in, _unlink_quietly, _zip_problems
from .resolve import OFFICIAL_CKPT_SHA256, OFFICIAL_URL, OFFICIAL_ZIP_MD5, OFFICIAL_ZIP_SHA256, _one_line, installed_dir

ProgressCallback = Callable[[int, "int | None"], None]


def _fetch(url: str, target: Path, timeout: float, progress: ProgressCallback | None) -> dict[str, str]:
    """Stream ``url`` into ``target``; return its MD5 and SHA-256."""
    import http.client
    import socket

    from trufor_desk import __version__

    request = urllib.request.Request(url, headers={"User-Agent": f"trufor-desk/{__version__}"})
    host = urllib.parse.urlsplit(url).netloc or url
    hashers = {"md5": hashlib.md5(), "sha256": hashlib.sha256()}
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.strip().isdigit() else None
            done = 0
            if progress is not None:
                progress(0, total)
            with open(target, "wb") as out:
                while True:
                    block = response.read(1 << 16)
                    if not block:
                        break
                    out.write(block)
                    for h in hashers.values():
                        h.update(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
                out.flush()
                os.fsync(out.fileno())
    except urllib.error.HTTPError as exc:
        exc.close()
        raise WeightsError(f"download failed: HTTP {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise WeightsError(f"download failed: {host} did not answer within {timeout:g} s") from None
        text = getattr(reason, "strerror", None) or reason
        raise WeightsError(f"download failed: cannot reach {host} ({_one_line(text)})") from None
    except TimeoutError:
        raise WeightsError(f"download failed: connection to {host} timed out after {timeout:g} s") from None
    except (http.client.HTTPException, OSError) as exc:
        text = getattr(exc, "strerror", None) or exc
        raise WeightsError(f"download failed: {type(exc).__name__}: {_one_line(text)}") from None
    if total is not None and done != total:
        raise WeightsError(f"download incomplete: got {done} of {total} bytes from {host}")
    return {name: h.hexdigest() for name, h in hashers.items()}


def download_weights(
    url: str = OFFICIAL_URL,
    *,
    expected_zip_md5: str = OFFICIAL_ZIP_MD5,
    expected_zip_sha256: str = OFFICIAL_ZIP_SHA256,
    expected_ckpt_sha256: str = OFFICIAL_CKPT_SHA256,
    progress: ProgressCallback | None = None,
    force: bool = False,
    dest_dir: str | os.PathLike[str] | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    """Download the release zip, verify it, and install it (see :func:`install_weights`).

    Only called on the user's explicit request.  The zip is streamed to a temp file in
    the destination folder with ``progress(bytes_done, total_or_None)`` callbacks; its
    MD5 and SHA-256 must match the published values (unless ``force``) before anything
    is installed, and the temp file is always removed.  Only http(s) URLs are accepted.
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise WeightsError(f"download failed: only http(s) URLs are supported, got {url!r}")
    dest = Path(dest_dir) if dest_dir is not None else installed_dir()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"cannot create weights folder {dest}: {exc.strerror or exc}") from None
    tmp = _temp_in(dest, ".zip.part")
    try:
        digests = _fetch(url, tmp, timeout, progress)
        problems = _zip_problems(digests, expected_zip_md5, expected_zip_sha256)
        if problems and not force:
            raise WeightsError(
                f"downloaded file from {url} is not the published release: " + "; ".join(problems)
                + " (nothing installed)"
            )
        return _install(
            tmp,
            expected_zip_sha256=expected_zip_sha256,
            expected_zip_md5=expected_zip_md5,
            expected_ckpt_sha256=expected_ckpt_sha256,
            force=force,
            dest_dir=dest,
            source_label=url,
            zip_digests=digests,
        )
    finally:
        _unlink_quietly(tmp)
