"""Score an engine on a folder of forgeries with ground truth (the ``evaluate`` command).

Layout of ``DATASET_DIR``::

    fake/   manipulated images (required)
    mask/   one ground-truth mask per fake image (white = manipulated), found by stem:
            ``x.jpg`` -> ``mask/x.*``, ``mask/x_gt.*`` or ``mask/x_mask.*``, any format
    real/   pristine images (optional; used for the detection metrics)

Each image is opened with :func:`~trufor_desk.evidence.open_evidence` and analysed by
the engine.  Per fake image: F1-best and F1@0.5 on TruFor's protocol
(:func:`~trufor_desk.evaluation.metrics.localization_f1`; the official rule is the
headline, our strict rule sits beside it); per image: the score.  Over
all images with a score: ROC AUC and balanced accuracy of ``score > 0.5``.

Failures never stop the run: an image that cannot be decoded, a missing or ambiguous
mask, a mask whose size differs from its image (masks are never resized: a resized
mask is no longer ground truth) or an engine error becomes one row with
``status = error`` and the reason; such rows count in ``n_errors`` and in no mean.
Only a weights problem (every further image would fail alike) and a cancellation stop
the run.  Rows are written as CSV through a temporary file and an atomic rename.
"""

from __future__ import annotations

import csv
import io
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trufor_desk.atomic import atomic_open
from trufor_desk.errors import Cancelled, UserError, WeightsError

from .metrics import balanced_accuracy, localization_f1, roc_auc

IMAGE_EXTENSIONS = frozenset({
    ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".tif", ".tiff", ".bmp", ".gif", ".webp",
    ".ppm", ".pgm", ".pbm", ".pnm", ".jp2", ".j2k", ".heic", ".heif", ".avif", ".dng",
})
MASK_SUFFIXES = ("", "_gt", "_mask")
CSV_COLUMNS = ("path", "kind", "f1_best", "f1_fixed", "f1_best_strict", "f1_fixed_strict", "inverted", "score",
               "status", "error", "seconds")


@dataclass
class Item:
    """One image to evaluate: its path, ``fake`` or ``real``, and the mask if found."""

    path: Path
    kind: str
    mask: Path | None = None
    problem: str | None = None  # why it cannot be scored (e.g. no mask), known up front


@dataclass
class Row:
    path: str
    kind: str
    f1_best: float | None = None
    f1_fixed: float | None = None
    f1_best_strict: float | None = None   # our stricter rule (constant maps score 0)
    f1_fixed_strict: float | None = None
    inverted: bool | None = None
    score: float | None = None
    status: str = "ok"          # ok | error
    error: str = ""
    seconds: float = 0.0

    def as_csv(self) -> list[str]:
        def num(v: float | None) -> str:
            return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.6f}"

        return [self.path, self.kind, num(self.f1_best), num(self.f1_fixed), num(self.f1_best_strict),
                num(self.f1_fixed_strict),
                "" if self.inverted is None else str(int(self.inverted)), num(self.score),
                self.status, self.error, f"{self.seconds:.3f}"]


@dataclass
class Report:
    dataset: Path
    engine: str
    rows: list[Row] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Means over successful fake rows; AUC/bAcc over successful rows with a score."""
        ok = [r for r in self.rows if r.status == "ok"]
        fake = [r for r in ok if r.kind == "fake" and r.f1_best is not None]
        scored = [r for r in ok if r.score is not None and not math.isnan(r.score)]
        scores = np.array([r.score for r in scored], dtype=np.float64)
        labels = np.array([r.kind == "fake" for r in scored], dtype=bool)
        nan = float("nan")
        return {
            "engine": self.engine,
            "dataset": str(self.dataset),
            "n_images": len(self.rows),
            "n_fake": sum(r.kind == "fake" for r in self.rows),
            "n_real": sum(r.kind == "real" for r in self.rows),
            "n_errors": sum(r.status == "error" for r in self.rows),
            "n_scored": len(scored),
            "mean_f1_best": float(np.mean([r.f1_best for r in fake])) if fake else nan,
            "mean_f1_fixed": float(np.mean([r.f1_fixed for r in fake])) if fake else nan,
            "mean_f1_best_strict": float(np.mean([r.f1_best_strict for r in fake])) if fake else nan,
            "mean_f1_fixed_strict": float(np.mean([r.f1_fixed_strict for r in fake])) if fake else nan,
            "auc": roc_auc(scores, labels) if len(scored) else nan,
            "balanced_accuracy": balanced_accuracy(scores, labels) if len(scored) else nan,
        }


# --------------------------------------------------------------------------- discovery

def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS)


def _mask_for(image: Path, masks_by_stem: dict[str, list[Path]]) -> tuple[Path | None, str | None]:
    """The mask of ``image``: stem, stem_gt or stem_mask, tried in that order."""
    for suffix in MASK_SUFFIXES:
        found = masks_by_stem.get(image.stem + suffix, [])
        if len(found) == 1:
            return found[0], None
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            return None, f"ambiguous mask: several files named {image.stem + suffix}.* ({names})"
    tried = ", ".join(f"{image.stem}{s}.*" for s in MASK_SUFFIXES)
    return None, f"no mask found in mask/ (looked for {tried})"


def discover(dataset_dir: str | os.PathLike) -> list[Item]:
    """The fake (with masks) and real images of a dataset folder, fake first, sorted."""
    root = Path(dataset_dir)
    if not root.exists():
        raise UserError(f"{root}: dataset folder not found")
    if not root.is_dir():
        raise UserError(f"{root}: not a folder (expected a dataset folder with fake/, mask/ and optionally real/)")
    fake_dir, mask_dir, real_dir = root / "fake", root / "mask", root / "real"
    if not fake_dir.is_dir():
        raise UserError(f"{root}: no fake/ folder (expected fake/, mask/ and optionally real/)")
    masks_by_stem: dict[str, list[Path]] = {}
    if mask_dir.is_dir():
        for m in _images_in(mask_dir):
            masks_by_stem.setdefault(m.stem, []).append(m)
    items = []
    for img in _images_in(fake_dir):
        mask, problem = _mask_for(img, masks_by_stem)
        if not mask_dir.is_dir():
            problem = "no mask/ folder in the dataset"
        items.append(Item(img, "fake", mask, problem))
    if real_dir.is_dir():
        items.extend(Item(img, "real") for img in _images_in(real_dir))
    if not items:
        raise UserError(f"{root}: no images in fake/ or real/")
    return items


def load_mask(path: Path) -> np.ndarray:
    """A boolean mask, white (above half range) = manipulated; any format Pillow reads."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
                arr = np.asarray(img).astype(np.int64)
                return arr > (32767 if arr.size and arr.max() > 255 else 127)
            if mode == "F":
                arr = np.asarray(img, dtype=np.float64)
                return arr > (0.5 if arr.size and arr.max() <= 1.0 else 127.5)
            if mode in ("RGBA", "LA", "PA"):
                img = img.convert("RGB")  # drop alpha, do not composite
            return np.asarray(img.convert("L")) > 127
    except FileNotFoundError:
        raise UserError(f"{path}: mask not found") from None
    except UnidentifiedImageError:
        raise UserError(f"{path}: mask is not an image, or a format this build cannot decode") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UserError(f"{path}: cannot decode mask ({_one_line(exc)})") from None


# --------------------------------------------------------------------------- running

def _one_line(exc: object) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def evaluate_item(item: Item, engine: Any, root: Path,
                  cancel: Callable[[], bool] | None = None) -> Row:
    """One row; every problem except weights/cancellation becomes an error row."""
    from trufor_desk.evidence import open_evidence

    row = Row(path=_relative(item.path, root), kind=item.kind)
    t0 = time.perf_counter()
    try:
        if item.problem:
            raise UserError(item.problem)
        mask = None
        if item.kind == "fake":
            if item.mask is None:
                raise UserError("no mask for this image")
            mask = load_mask(item.mask)
        evidence = open_evidence(item.path)
        if mask is not None and mask.shape != (evidence.height, evidence.width):
            raise UserError(f"mask {_relative(item.mask, root)} is {mask.shape[1]}x{mask.shape[0]} but the "
                            f"image is {evidence.width}x{evidence.height} (masks are not resized)")
        result = engine.analyze(evidence, cancel=cancel)
        if result.score is not None:
            row.score = float(result.score)
        if mask is not None:
            loc = np.asarray(result.localization, dtype=np.float32)
            if loc.shape != mask.shape:
                raise UserError(f"engine map is {loc.shape[1]}x{loc.shape[0]}, image "
                                f"{mask.shape[1]}x{mask.shape[0]}")
            f1 = localization_f1(loc, mask)
            row.f1_best, row.f1_fixed = f1["f1_best"], f1["f1_fixed"]
            row.f1_best_strict, row.f1_fixed_strict = f1["f1_best_strict"], f1["f1_fixed_strict"]
            row.inverted = bool(f1["inverted"])
        if not getattr(result, "applicable", True):
            row.error = "engine: method not applicable to this image" + (
                f" ({'; '.join(result.notes)})" if getattr(result, "notes", None) else "")
    except (WeightsError, Cancelled, KeyboardInterrupt):
        raise
    except UserError as exc:
        row.status, row.error = "error", _one_line(exc)
    except MemoryError:
        row.status, row.error = "error", "out of memory"
    except Exception as exc:  # an engine bug must not end a long evaluation
        row.status, row.error = "error", f"{type(exc).__name__}: {_one_line(exc)}"
    row.seconds = time.perf_counter() - t0
    return row


def evaluate_dataset(dataset_dir: str | os.PathLike, engine: Any, engine_name: str | None = None,
                     on_row: Callable[[int, int, Row], None] | None = None,
                     cancel: Callable[[], bool] | None = None,
                     checkpoint_csv: Path | None = None, checkpoint_every: int = 50) -> Report:
    """Run ``engine`` over the dataset; ``on_row(i, n, row)`` after each image.

    With ``checkpoint_csv`` the rows so far are rewritten (atomically) every
    ``checkpoint_every`` images, so a long run that is killed leaves its work behind.
    """
    root = Path(dataset_dir)
    items = discover(root)
    report = Report(root, engine_name or getattr(engine, "name", type(engine).__name__))
    for i, item in enumerate(items):
        if cancel is not None and cancel():
            raise Cancelled("evaluation cancelled")
        row = evaluate_item(item, engine, root, cancel)
        report.rows.append(row)
        if on_row is not None:
            on_row(i, len(items), row)
        if checkpoint_csv is not None and (i + 1) % checkpoint_every == 0 and i + 1 < len(items):
            write_csv(checkpoint_csv, report.rows)
    return report


# --------------------------------------------------------------------------- output

def rows_to_csv(rows: Iterable[Row]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow(r.as_csv())
    return buf.getvalue()


def write_csv(path: str | os.PathLike, rows: Sequence[Row]) -> Path:
    """Write the rows through a temporary file in the same folder, then rename."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"--out {path}: is a folder; give a .csv file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(rows_to_csv(rows))
    return path


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a small two-column table (``n/a`` where a metric is undefined)."""
    def val(v: float) -> str:
        return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"

    lines = [
        ("mean F1-best (official rule)", val(summary["mean_f1_best"])),
        ("mean F1@0.5 (official rule)", val(summary["mean_f1_fixed"])),
        ("mean F1-best (strict, ours)", val(summary["mean_f1_best_strict"])),
        ("mean F1@0.5 (strict, ours)", val(summary["mean_f1_fixed_strict"])),
        ("AUC", val(summary["auc"])),
        ("bAcc (score > 0.5)", val(summary["balanced_accuracy"])),
        ("images", f"{summary['n_images']} ({summary['n_fake']} fake, {summary['n_real']} real)"),
        ("scored images", str(summary["n_scored"])),
        ("errors", str(summary["n_errors"])),
    ]
    width = max(len(k) for k, _ in lines)
    head = f"{summary['engine']} on {summary['dataset']}"
    return "\n".join([head, "-" * max(len(head), width + 12)]
                     + [f"{k:<{width}}  {v}" for k, v in lines])
