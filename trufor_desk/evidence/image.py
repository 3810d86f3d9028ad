"""Read an evidence image without ever writing to it, hash it, decode it.

The file is read into memory once; the SHA-256/MD5 and the decoded pixels come from
the same bytes, so what was hashed is exactly what was analysed.  Decoding follows the
official TruFor loader for 8-bit images (Pillow, ``convert("RGB")``: alpha dropped
without compositing, palette expanded, EXIF orientation NOT applied) so results match
the published model.  Inputs that ``convert("RGB")`` would damage are converted
explicitly and the conversion is recorded: 16-bit images are scaled with ``>> 8``
(Pillow would clip them to 255).
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trufor_desk.errors import EvidenceError

DEFAULT_MAX_PIXELS = 250_000_000  # far above any camera; refuses decompression bombs
MAX_FILE_BYTES = 2 << 30

_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


@dataclass
class Evidence:
    """One image as examined: where it came from, its digests, its decoded pixels."""

    path: Path
    sha256: str
    md5: str
    size_bytes: int
    format: str
    mode: str
    width: int
    height: int
    rgb: np.ndarray                     # uint8 (H, W, 3), stored orientation
    conversions: list[str] = field(default_factory=list)
    exif_orientation: int | None = None
    n_frames: int = 1
    raw: bytes = field(default=b"", repr=False)  # the file's bytes (JPEG tables, metadata)
    # (row, column) of rgb[0, 0] in the stored image: a selection keeps the file's bytes,
    # so JPEG analyses need this to find the file's 8x8 grid in the cropped pixels
    origin: tuple[int, int] = (0, 0)
    # the codec inside the container where the container has several (a TIFF's, in Pillow's names:
    # "raw", "tiff_lzw", "jpeg", ...); "" elsewhere
    compression: str = ""

    def crop(self, x: int, y: int, w: int, h: int) -> Evidence:
        """The same evidence restricted to a rectangle (for analysing a selection).

        Hashes and raw bytes stay those of the whole file; the crop is recorded as a
        conversion so every result says which pixels it saw.
        """
        from dataclasses import replace

        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > self.width or y + h > self.height:
            raise EvidenceError(f"selection {w}x{h}+{x}+{y} is outside the {self.width}x{self.height} image")
        return replace(self, rgb=self.rgb[y:y + h, x:x + w].copy(), width=w, height=h,
                       origin=(self.origin[0] + y, self.origin[1] + x),
                       conversions=self.conversions + [f"selection {w}x{h} at x={x}, y={y} analysed"])

    def describe(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256, "md5": self.md5,
                "size_bytes": self.size_bytes, "format": self.format, "mode": self.mode,
                "width": self.width, "height": self.height, "conversions": list(self.conversions),
                "exif_orientation": self.exif_orientation}


def _read_bytes(path: Path) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise EvidenceError(f"{path}: file not found") from None
    except OSError as exc:
        raise EvidenceError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if path.is_dir():
        raise EvidenceError(f"{path}: is a directory, not an image")
    if st.st_size == 0:
        raise EvidenceError(f"{path}: empty file, not an image")
    if st.st_size > MAX_FILE_BYTES:
        raise EvidenceError(f"{path}: file is {st.st_size} bytes, larger than the {MAX_FILE_BYTES} byte limit")
    try:
        with open(path, "rb") as fh:  # read-only, never opened for writing
            return fh.read()
    except OSError as exc:
        raise EvidenceError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _to_rgb_u8(img, conversions: list[str]) -> np.ndarray:
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES:
        arr = np.asarray(img)
        if mode == "I" and arr.size and int(arr.max()) <= 255 and int(arr.min()) >= 0:
            grey = arr.astype(np.uint8)
            conversions.append("32-bit integer greyscale with values in 0..255 taken as 8-bit")
        else:
            grey = (np.clip(arr.astype(np.int64), 0, 65535) >> 8).astype(np.uint8)
            conversions.append(f"16-bit greyscale ({mode}) scaled to 8 bits (>> 8) and replicated to RGB")
        if mode == "I" and arr.size and (int(arr.max()) > 65535 or int(arr.min()) < 0):
            conversions.append("values outside 0..65535 clipped before scaling")
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode in ("I;16S", "F"):
        raise EvidenceError(f"unsupported pixel format {mode} (signed or floating-point samples)")
    if mode != "RGB":
        what = {"RGBA": "alpha channel dropped (not composited)", "P": "palette expanded to RGB",
                "PA": "palette expanded to RGB, alpha dropped", "L": "greyscale replicated to RGB",
                "LA": "greyscale replicated to RGB, alpha dropped", "1": "1-bit image expanded to RGB",
                "CMYK": "CMYK converted to RGB (naive, no ICC profile)",
                "YCbCr": "YCbCr converted to RGB", "RGBX": "padding channel dropped",
                "LAB": "CIELAB converted to RGB", "HSV": "HSV converted to RGB"}.get(mode, f"{mode} converted to RGB")
        conversions.append(what)
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8).copy()


_HEIF_REGISTERED = False


def _register_optional_formats() -> None:
    """HEIC/HEIF/AVIF through pillow-heif when it is installed (``trufor-desk[formats]``)."""
    global _HEIF_REGISTERED
    if _HEIF_REGISTERED:
        return
    _HEIF_REGISTERED = True
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


# Signatures of camera RAW containers that are not plain images to Pillow.
_RAW_MAGIC = (b"FUJIFILMCCD-RAW", b"IIRO", b"IIU\x00", b"MMOR")


def _looks_raw(data: bytes, suffix: str) -> bool:
    """Camera RAW by content (TIFF-based RAWs need the extension or a DNG tag to tell)."""
    if data.startswith(_RAW_MAGIC) or data[4:12] in (b"ftypcrx ",):
        return True
    tiff = data[:4] in (b"II*\x00", b"MM\x00*")
    if not tiff:
        return False
    if data[8:10] == b"CR":  # Canon CR2
        return True
    if 0xC612 in _tiff_ifd0_tags(data):  # DNGVersion
        return True
    return suffix in {".nef", ".nrw", ".arw", ".srf", ".sr2", ".pef", ".dng", ".erf", ".kdc", ".dcr",
                      ".mos", ".iiq", ".3fr", ".mef", ".srw", ".x3f", ".rwl", ".raw"}


def _tiff_ifd0_tags(data: bytes) -> set[int]:
    """Tag numbers of a TIFF file's first IFD (empty on any inconsistency)."""
    import struct

    order = "<" if data[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(order + "I", data[4:8])
        (count,) = struct.unpack(order + "H", data[offset:offset + 2])
        if count > 4096:
            return set()
        return {struct.unpack(order + "H", data[offset + 2 + 12 * i:offset + 4 + 12 * i])[0] for i in range(count)}
    except struct.error:
        return set()


def _decode_raw(data: bytes, path: Path, conversions: list[str]) -> np.ndarray | None:
    """Demosaic a camera RAW with LibRaw (rawpy); None when rawpy is absent or declines."""
    try:
        import rawpy
    except ImportError:
        return None
    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            rgb16 = raw.postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=16)
    except Exception:  # LibRaw says it is not a RAW it knows: let Pillow try
        return None
    conversions.append("camera RAW demosaiced with LibRaw (rawpy): camera white balance, sRGB, no auto "
                       "brightness, 16-bit output scaled to 8 bits (>> 8)")
    return (rgb16 >> 8).astype(np.uint8)


def _sixteen_bit_rgb(img, data: bytes) -> bool:
    """True for 16-bit-per-channel colour files that Pillow hands over as 8-bit RGB."""
    if img.format == "PNG" and len(data) > 25 and data[12:16] == b"IHDR":
        return data[24] == 16 and data[25] in (2, 6)
    if img.format == "TIFF":
        bits = getattr(img, "tag_v2", {}).get(258)
        bits = bits if isinstance(bits, tuple) else (bits,)
        return img.mode in ("RGB", "RGBA") and any(b and b > 8 for b in bits)
    return False


def open_evidence(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> Evidence:
    """Hash and decode an image file; any failure is one :class:`EvidenceError` line."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    data = _read_bytes(path)
    sha = hashlib.sha256(data).hexdigest()
    md5 = hashlib.md5(data).hexdigest()
    _register_optional_formats()
    if _looks_raw(data, path.suffix.lower()):
        conversions: list[str] = []
        rgb = _decode_raw(data, path, conversions)
        if rgb is not None:
            h, w = rgb.shape[:2]
            if w * h > max_pixels:
                raise EvidenceError(f"{path}: {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels}")
            return Evidence(path=path, sha256=sha, md5=md5, size_bytes=len(data), format="RAW", mode="RGB;16",
                            width=w, height=h, rgb=rgb, conversions=conversions, raw=data)
        if path.suffix.lower() not in (".tif", ".tiff"):
            # never fall back to Pillow here: it would show a RAW's embedded preview as the image
            raise EvidenceError(f"{path}: camera RAW file, but RAW support is not installed "
                                "(pip install rawpy) or LibRaw cannot read this camera")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # our own pixel limit replaces Pillow's bomb warning
            img = Image.open(io.BytesIO(data))
            img.MAX_IMAGE_PIXELS = None
            w, h = img.size
            if w * h > max_pixels:
                raise EvidenceError(f"{path}: {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels} "
                                    "(possible decompression bomb; raise the limit if the image is genuine)")
            fmt = img.format or "unknown"
            n_frames = int(getattr(img, "n_frames", 1) or 1)
            conversions: list[str] = []
            if n_frames > 1:
                img.seek(0)
                conversions.append(f"first of {n_frames} frames analysed")
            try:
                orientation = img.getexif().get(0x0112)
            except Exception:  # malformed EXIF is metadata trouble, not a decoding failure
                orientation = None
            img.load()
            mode = img.mode
            compression = str(img.info.get("compression", "raw")).lower() if fmt == "TIFF" else ""
            if _sixteen_bit_rgb(img, data):
                conversions.append("16-bit per channel colour scaled to 8 bits (>> 8)")
            rgb = _to_rgb_u8(img, conversions)
    except EvidenceError:
        raise
    except UnidentifiedImageError:
        raise EvidenceError(f"{path}: not an image, or a format this build cannot decode") from None
    except Image.DecompressionBombError as exc:
        raise EvidenceError(f"{path}: refused as a possible decompression bomb ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "truncated" in msg.lower() or isinstance(exc, EOFError):
            raise EvidenceError(f"{path}: truncated or corrupt image ({msg})") from None
        raise EvidenceError(f"{path}: cannot decode image ({msg})") from None
    except MemoryError:
        raise EvidenceError(f"{path}: not enough memory to decode a {w}x{h} image") from None
    return Evidence(path=path, sha256=sha, md5=md5, size_bytes=len(data), format=fmt, mode=mode,
                    width=rgb.shape[1], height=rgb.shape[0], rgb=rgb, conversions=conversions,
                    exif_orientation=int(orientation) if orientation else None, n_frames=n_frames,
                    raw=data, compression=compression)
