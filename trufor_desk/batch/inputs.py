"""Which files a batch analyses: folders (recursively), glob patterns and explicit paths,
expanded into a deterministic list of absolute paths."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path

from trufor_desk.errors import UserError

__all__ = ["IMAGE_EXTENSIONS", "collect_inputs", "is_image_name"]

IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".bmp", ".dib", ".gif", ".webp",
    ".ppm", ".pgm", ".pbm", ".pnm", ".jp2", ".j2k", ".tga", ".heic", ".heif", ".avif",
})


def is_image_name(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _same(a: Path, b: Path | None) -> bool:
    if b is None:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _walk(top: Path, exclude: Path | None) -> list[Path]:
    """Image files under ``top`` (recursively, symlinked folders not followed), sorted by
    their path relative to ``top``; the batch's own output folder is left out."""
    found: list[Path] = []
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not _same(Path(root, d), exclude)]
        found.extend(Path(root, f) for f in files if is_image_name(f))
    return sorted(found, key=lambda p: p.relative_to(top).parts)


def collect_inputs(inputs: Iterable[str | os.PathLike], exclude: str | os.PathLike | None = None) -> list[Path]:
    """Absolute paths of the files to analyse, in a deterministic order.

    A folder contributes every file with an image extension (case-insensitive) below it;
    a glob pattern (``*``, ``?``, ``[``; ``**`` recurses) contributes its matching image
    files and the images in matching folders; a path given explicitly is taken whatever
    its extension, and one that does not exist becomes an error row rather than stopping
    the batch.  Duplicates are dropped, first occurrence kept.  A pattern that matches
    nothing, or no files at all, is a :class:`UserError`.
    """
    excl = Path(exclude) if exclude is not None else None
    seen: set[str] = set()
    out: list[Path] = []
    for spec in inputs:
        spec = os.path.expanduser(os.fspath(spec))
        p = Path(spec)
        if p.is_dir():
            found = _walk(p, excl)
        elif p.exists() or not glob.has_magic(spec):
            found = [p]
        else:
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                raise UserError(f"{spec}: no files match this pattern")
            found = []
            for m in matches:
                mp = Path(m)
                if mp.is_dir():
                    found.extend(_walk(mp, excl))
                elif is_image_name(mp) and not (excl is not None and _same(mp.parent, excl)):
                    found.append(mp)
        for f in found:
            a = os.path.abspath(f)
            if a not in seen:
                seen.add(a)
                out.append(Path(a))
    if not out:
        raise UserError("no images found in: " + ", ".join(os.fspath(i) for i in inputs))
    return out
