"""The PDF case report: what was examined, how, with what, by whom, and what was found.

Built with fpdf2 and a Unicode TrueType font (DejaVu) embedded as a subset.  The report
is a pure function of the case and the report date:

* the report date is ``SOURCE_DATE_EPOCH`` when set, otherwise the UTC day of the
  latest analysis in the case (the day of the last recorded activity if there is none);
  only dates are printed, never wall-clock times or timings;
* the report id, the PDF creation date, the XMP metadata and the trailer ``/ID`` all
  derive from the case content and that date;
* figures are rendered with numpy/Pillow/OpenCV from the stored preview and result
  arrays and embedded as PNGs written with fixed settings;

so the same case gives the same bytes.  The document declares PDF/A-2B (fpdf2's
compliance mode: embedded fonts, an sRGB output intent, XMP metadata, no
transparency); this has not been checked with an external validator such as veraPDF.

An optional PAdES signature (pyHanko, with the examiner's PKCS#12 certificate) is added
as an incremental update; a signature carries the real signing time, so a signed file is
not byte-reproducible, but the signed revision inside it is.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

import numpy as np

from trufor_desk.atomic import output_target, write_bytes_atomic
from trufor_desk.errors import UserError
from trufor_desk.render.verdict import COLOUR_RGB, VERBAL_SCALE_EXPLANATION

from .comparison_page import comparison_page

__all__ = ["METHODS", "LIMITATIONS", "ReportDates", "report_dates", "report_id", "render_report",
           "write_report", "sign_pdf", "find_fonts", "source_date_epoch"]

A4_W, MARGIN = 210.0, 15.0
CONTENT_W = A4_W - 2 * MARGIN
PANEL_GAP = 4.0
PANEL_COLS = 3
PANEL_W = (CONTENT_W - (PANEL_COLS - 1) * PANEL_GAP) / PANEL_COLS
PANEL_MAX_H = 64.0
PANEL_PX = 480                 # long side of an embedded figure, pixels (~210 dpi at 57 mm)
LOC_CMAP = "inferno"
MAX_METADATA_ROWS = 40

# ---------------------------------------------------------------------------------------
# what each method is, and what it cannot do


@dataclass(frozen=True)
class Method:
    title: str
    description: str
    references: tuple[str, ...]
    limitations: tuple[str, ...] = ()
    map_meaning: str = "1 = likely manipulated, 0 = no trace found"


METHODS: dict[str, Method] = {
    "trufor": Method(
        "TruFor",
        "A deep network that combines the RGB image with Noiseprint++, a learned camera-model fingerprint, "
        "in a transformer encoder. It outputs an anomaly (localization) map, a reliability (confidence) map "
        "that marks where the localization can be trusted, and an image-level integrity score computed from "
        "both.",
        ("F. Guillaro, D. Cozzolino, A. Sud, N. Dufour, L. Verdoliva, \"TruFor: Leveraging all-round clues "
         "for trustworthy image forgery detection and localization\", IEEE/CVF CVPR 2023, pp. 20606-20615.",),
        ("Trained on specific manipulation types and datasets; unseen generators, heavy resizing or repeated "
         "social-network recompression can reduce its accuracy.",
         "Results depend on the checkpoint: the weights SHA-256 identifies the exact model used."),
        "1 = likely manipulated (network probability per pixel)"),
    "fusion": Method(
        "Fusion of weight-free detectors (default without TruFor weights)",
        "Three training-free detectors combined into one map: aligned double quantisation over all 63 DCT "
        "frequencies (blocks of a re-saved JPEG that were compressed only once), Splicebuster's noise "
        "statistics (weighted down, and capped below the decision threshold, where the image has a JPEG "
        "double-compression history) and SIFT copy-move (added with a small weight). The reliability map is "
        "the double-quantisation evidence per block where that history exists, Splicebuster's elsewhere. "
        "The image-level score is a logistic calibration of the strength of the double-compression history, "
        "fitted on a named set of real photographs; non-JPEG images get no score. The share each detector "
        "contributed is recorded in the parameters.",
        ("T. Bianchi, A. Piva, \"Image forgery localization via block-grained analysis of JPEG artifacts\", "
         "IEEE Transactions on Information Forensics and Security 7(3), 2012.",
         "D. Cozzolino, G. Poggi, L. Verdoliva, \"Splicebuster: a new blind image splicing detector\", "
         "IEEE WIFS 2015.",
         "I. Amerini et al., \"A SIFT-based forensic method for copy-move attack detection and transformation "
         "recovery\", IEEE Transactions on Information Forensics and Security 6(3), 2011."),
        ("The score is calibrated on CASIA v1.0 photographs (camera-original authentic JPEGs): an authentic "
         "photo saved twice, e.g. re-shared online, also shows a double-compression history and can score "
         "high; judge the map, which must show a region with another history.",
         "A splice saved once, with no earlier compression of the host, leaves no double-quantisation trace; "
         "then only the weaker noise and copy-move evidence remain.",),
        "1 = block compressed once in a re-saved JPEG, or unlike the image's noise statistics"),
    "adq": Method(
        "Aligned double quantisation (ADQ)",
        "On the file's own 8x8 grid, the DCT coefficients of each of the 63 AC frequencies are recomputed and "
        "divided by the file's quantisation steps; the primary step of an earlier compression is estimated per "
        "frequency by maximum likelihood (single- vs double-quantisation mixture, unquantised distribution "
        "estimated on a shifted grid). Blocks whose values fit single quantisation better are marked.",
        ("T. Bianchi, A. Piva, \"Image forgery localization via block-grained analysis of JPEG artifacts\", "
         "IEEE Transactions on Information Forensics and Security 7(3), 2012.",
         "Z. Lin, J. He, X. Tang, C.-K. Tang, \"Fast, automatic and fine-grained tampered JPEG image detection "
         "via DCT coefficient analysis\", Pattern Recognition 42(11), 2009."),
        ("JPEG files only; needs an earlier compression of the host on the same grid; a re-saved authentic "
         "photo has a double-compression history too.",),
        "1 = block compressed only once in a double-compressed JPEG"),
    "splicebuster": Method(
        "Splicebuster",
        "A blind, training-free detector: co-occurrences of quantised high-pass noise residuals are computed "
        "in sliding windows, a model of the host camera's statistics is fitted robustly on the image itself, "
        "and windows that do not fit it are marked. The reliability map is low where the residual carries no "
        "information (saturated, near-black or flat areas).",
        ("D. Cozzolino, G. Poggi, L. Verdoliva, \"Splicebuster: a new blind image splicing detector\", "
         "IEEE International Workshop on Information Forensics and Security (WIFS) 2015.",),
        ("Needs the spliced region to be large compared with the analysis window; strong textures and "
         "edges can produce false alarms.",),
        "1 = window statistics unlike the rest of the image"),
    "noise": Method(
        "Local noise level",
        "Estimates the local noise standard deviation from the kurtosis of band-pass (DCT) channels and "
        "marks regions whose noise level is inconsistent with the rest of the image.",
        ("X. Pan, X. Zhang, S. Lyu, \"Exposing image splicing with inconsistent local noise variances\", "
         "IEEE International Conference on Computational Photography (ICCP) 2012.",),
        ("Denoising, strong compression or uniform added noise hide the inconsistency; naturally smooth or "
         "textured regions can differ in estimated noise.",),
        "1 = local noise level inconsistent with the image"),
    "jpeg": Method(
        "JPEG grid and double quantisation",
        "Two compression traces: the 8x8 JPEG grid origin per region (a-contrario test on the number of DCT "
        "zeros) and aligned double quantisation of the DCT coefficients, whose absence in part of a "
        "recompressed JPEG indicates a region with another history.",
        ("T. Nikoukhah, J. Anger, M. Colom, J.-M. Morel, R. Grompone von Gioi, \"ZERO: a local JPEG grid "
         "origin detector based on the number of DCT zeros and its applications in image forensics\", "
         "Image Processing On Line 11, 2021.",
         "T. Bianchi, A. Piva, \"Image forgery localization via block-grained analysis of JPEG artifacts\", "
         "IEEE Transactions on Information Forensics and Security 7(3), 2012."),
        ("Applies to JPEG files only; resizing, cropping off the grid or a final low-quality compression "
         "erase the traces.",),
        "1 = compression history differs from the rest of the image"),
    "ela": Method(
        "Error level analysis (ELA)",
        "The image is re-saved as JPEG at one quality and the per-pixel difference is shown, scaled robustly. "
        "Regions with another compression history can settle differently.",
        ("N. Krawetz, \"A picture's worth: digital image analysis and forensics\", Black Hat Briefings 2007.",),
        ("A visual aid, not a detector: edges and texture respond as strongly as edits, so ELA gives no score "
         "and must not be read on its own.",),
        "bright = large change on re-compression (not a probability)"),
    "ghost": Method(
        "JPEG ghosts",
        "The image is re-saved over a range of JPEG qualities; a region that was compressed earlier at a lower "
        "quality changes unusually little at that quality and appears as a 'ghost'.",
        ("H. Farid, \"Exposing digital forgeries from JPEG ghosts\", IEEE Transactions on Information "
         "Forensics and Security 4(1), 2009.",),
        ("Only finds regions compressed at a lower quality than the last save and aligned with its 8x8 grid; "
         "a visual layer without a score.",),
        "1 = region re-compresses with unusually little change"),
    "copymove": Method(
        "Copy-move detection",
        "SIFT keypoints are matched within the image (generalised 2NN test), clustered by the affine "
        "transformation they agree on (RANSAC), and each hypothesis is verified densely by correlating the "
        "image with its transformed self; verified source and destination regions are marked.",
        ("I. Amerini, L. Ballan, R. Caldelli, A. Del Bimbo, G. Serra, \"A SIFT-based forensic method for "
         "copy-move attack detection and transformation recovery\", IEEE Transactions on Information "
         "Forensics and Security 6(3), 2011.",
         "X. Pan, S. Lyu, \"Region duplication detection using image feature matching\", IEEE Transactions "
         "on Information Forensics and Security 5(4), 2010."),
        ("Detects duplication within the same image only; flat regions without keypoints and genuinely "
         "repetitive content (tiles, windows, foliage) limit it.",),
        "1 = verified duplicated region (source or copy)"),
}

LIMITATIONS = (
    "A negative result does not prove authenticity: a manipulation may use a technique the methods cannot "
    "see, or lie where they are unreliable.",
    "A positive result is an indication for further examination, not proof of manipulation: benign "
    "processing (resizing, recompression, filters, HDR, computational photography) can leave similar traces.",
    "A score is called a probability only where the engine records how it was calibrated, and then only as "
    "far as the calibration set resembles this image; an uncalibrated score is a heuristic. Compare maps, "
    "reliability and metadata, and consider the image's provenance.",
    "Figures are downscaled for printing.",
    "The analyses cover the pixels as decoded (stored orientation, the listed conversions); metadata can be "
    "forged as easily as pixels.",
)

# ---------------------------------------------------------------------------------------
# dates and ids


@dataclass(frozen=True)
class ReportDates:
    report_day: date           # printed
    creation: datetime         # PDF creation date (UTC)
    basis: str                 # why this date


def source_date_epoch() -> datetime | None:
    """``SOURCE_DATE_EPOCH`` as an aware UTC datetime, or None when unset."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return None
    try:
        return datetime.fromtimestamp(int(raw), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise UserError(f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds since 1970") from None


def report_dates(case) -> ReportDates:
    sde = source_date_epoch()
    if sde is not None:
        return ReportDates(sde.date(), sde, "SOURCE_DATE_EPOCH")
    from trufor_desk.case.model import parse_utc

    stamps = [a.created for a in case.analyses if a.created]
    basis = "day of the latest analysis (UTC)"
    if not stamps:
        stamps = [e.time for e in case.audit] or [case.created]
        basis = "day of the last recorded case activity (UTC)"
    day = max(parse_utc(s) for s in stamps).date()
    return ReportDates(day, datetime.combine(day, time(0, 0), tzinfo=timezone.utc), basis)


def report_id(case, dates: ReportDates) -> str:
    h = hashlib.sha256(f"{case.content_digest()}|{dates.creation.isoformat()}".encode()).hexdigest()
    return f"R-{h[:16].upper()}"


# ---------------------------------------------------------------------------------------
# fonts


def find_fonts() -> dict[str, Path]:
    """DejaVu Sans (regular, bold, oblique) and Sans Mono, from the first folder that has them."""
    from trufor_desk.resources import resources_dir

    wanted = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf",
              "mono": "DejaVuSansMono.ttf"}
    folders = [os.environ.get("TRUFOR_DESK_FONT_DIR", ""), str(resources_dir() / "fonts"),
               "/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
               "/usr/local/share/fonts", "/Library/Fonts", os.path.expanduser("~/Library/Fonts"),
               os.path.join(os.environ.get("WINDIR", "C:\\Windows"), "Fonts")]
    for folder in folders:
        if folder and all((Path(folder) / f).is_file() for f in wanted.values()):
            return {k: Path(folder) / f for k, f in wanted.items()}
    raise UserError("no Unicode font for the PDF report: install the DejaVu fonts (Debian/Ubuntu: "
                    "fonts-dejavu-core) or set TRUFOR_DESK_FONT_DIR to a folder holding DejaVuSans.ttf, "
                    "DejaVuSans-Bold.ttf, DejaVuSans-Oblique.ttf and DejaVuSansMono.ttf")


# ---------------------------------------------------------------------------------------
# figures (numpy -> deterministic PNG bytes)


def _png(rgb: np.ndarray) -> io.BytesIO:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB").save(buf, "PNG", optimize=False,
                                                                           compress_level=6)
    buf.seek(0)
    return buf


def _fit(w: int, h: int, long_side: int = PANEL_PX) -> tuple[int, int]:
    s = min(1.0, long_side / max(w, h))
    return max(1, round(w * s)), max(1, round(h * s))


def _resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if (a.shape[1], a.shape[0]) == size:
        return a
    interp = cv2.INTER_AREA if size[0] < a.shape[1] else cv2.INTER_NEAREST
    return cv2.resize(np.ascontiguousarray(a), size, interpolation=interp)


def _preview_rgb(ref) -> np.ndarray | None:
    if not ref.preview_png:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(ref.preview_png)) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except Exception:
        return None


def _base_image(ref, rect, size: tuple[int, int]) -> np.ndarray:
    """The analysed pixels at figure size, from the stored preview (grey if none is stored)."""
    prev = _preview_rgb(ref)
    if prev is None:
        return np.full((size[1], size[0], 3), 200, np.uint8)
    if rect is not None:
        sx, sy = prev.shape[1] / ref.width, prev.shape[0] / ref.height
        x, y, w, h = rect
        x0, y0 = int(np.floor(x * sx)), int(np.floor(y * sy))
        x1, y1 = max(x0 + 1, int(np.ceil((x + w) * sx))), max(y0 + 1, int(np.ceil((y + h) * sy)))
        prev = prev[y0:y1, x0:x1]
    return _resize(prev, size)


def _grey(u8: np.ndarray) -> np.ndarray:
    return np.repeat(u8[:, :, None], 3, axis=2)


def _colour(values: np.ndarray, size: tuple[int, int], cmap: str) -> np.ndarray:
    from trufor_desk.render.colormaps import colormap
    from trufor_desk.render.layers import apply_lut, quantize_unit

    small = _resize(np.asarray(values, np.float32), size)
    return apply_lut(quantize_unit(small), colormap(cmap))[..., :3]


def _overlay(base: np.ndarray, values: np.ndarray, threshold: float) -> np.ndarray:
    from trufor_desk.render.layers import apply_lut, composite, heatmap_lut, quantize_unit

    small = _resize(np.asarray(values, np.float32), (base.shape[1], base.shape[0]))
    return composite(base, apply_lut(quantize_unit(small), heatmap_lut(LOC_CMAP, threshold, opacity=0.75)))


def _stretch(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from trufor_desk.render.layers import robust_stretch

    return _grey(_resize(robust_stretch(values), size))


def _colour_bar(cmap: str) -> io.BytesIO:
    from trufor_desk.render.colormaps import colormap

    lut = colormap(cmap)[:, :3]
    return _png(np.repeat(np.repeat(lut[None, :, :], 12, axis=0), 2, axis=1))


def _annotated_thumbnail(ref, annotations) -> np.ndarray | None:
    prev = _preview_rgb(ref)
    if prev is None:
        return None
    if not annotations:
        return prev
    from PIL import Image, ImageDraw

    img = Image.fromarray(prev)
    draw = ImageDraw.Draw(img)
    sx, sy = prev.shape[1] / ref.width, prev.shape[0] / ref.height
    lw = max(2, round(max(prev.shape[:2]) / 300))
    for a in annotations:
        if a.rect is not None:
            x, y, w, h = a.rect
            box = [x * sx, y * sy, (x + w) * sx - 1, (y + h) * sy - 1]
            draw.rectangle(box, outline=(0, 220, 255), width=lw)
            corner = (box[0] + lw + 1, box[1] + lw + 1)
        else:
            pts = [(px * sx, py * sy) for px, py in a.polygon or []]
            draw.line(pts + pts[:1], fill=(0, 220, 255), width=lw)
            corner = (min(p[0] for p in pts) + lw + 1, min(p[1] for p in pts) + lw + 1)
        draw.text(corner, a.id, fill=(0, 220, 255))
    return np.asarray(img)


# ---------------------------------------------------------------------------------------
# the document


def _clean(value: Any, limit: int = 2000) -> str:
    """Printable text: no control characters, bounded length."""
    s = "" if value is None else str(value)
    s = "".join(ch if (ch >= " " or ch == "\n") and not 0xD800 <= ord(ch) <= 0xDFFF else " " for ch in s)
    return s if len(s) <= limit else s[:limit] + "\u2026"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, sort_keys=True, ensure_ascii=False)
    if isinstance(v, bool):
        return "yes" if v else "no"
    return _clean(v)


def _method_title(engine: str) -> str:
    return METHODS[engine].title if engine in METHODS else engine


def _short_score(v) -> str:
    """The score for a narrow column: named a probability only when calibrated."""
    if v.score is None:
        return "\u2013"
    return f"probability {v.score:.3f}" if v.score_is_probability else f"heuristic {v.score:.3f}"


def _prior_text(calibration) -> str:
    prior = (calibration or {}).get("prior_fake")
    return f"{float(prior):.3g} manipulated" if isinstance(prior, (int, float)) else "not stated: even odds assumed"


_VERSION_LABELS = {"python_version": "Python", "numpy_version": "numpy", "scipy_version": "SciPy",
                   "opencv_version": "OpenCV", "pillow_version": "Pillow", "torch_version": "torch"}


def _version_keys(prov: dict) -> list[str]:
    """Every ``*_version`` provenance key with a value (the application's own is printed
    apart): the known libraries first, in a fixed order, then any other, sorted."""
    known = [k for k in _VERSION_LABELS if prov.get(k) not in (None, "")]
    rest = sorted(k for k in prov if k.endswith("_version") and k not in _VERSION_LABELS
                  and k != "app_version" and prov.get(k) not in (None, ""))
    return known + rest


def _make_pdf_class():
    from fpdf import FPDF

    class ReportPDF(FPDF):
        case_id = ""
        report_id = ""
        report_day = ""
        doc_id = ""

        def header(self) -> None:
            self.set_font("DejaVu", "B", 8)
            self.set_text_color(60, 60, 60)
            self.cell(CONTENT_W / 2, 5, "TruFor Desk \u00b7 Forensic image analysis report")
            self.set_font("DejaVu", "", 8)
            self.cell(CONTENT_W / 2, 5, f"Case {self.case_id}", align="R", new_x="LMARGIN", new_y="NEXT")
            self.set_draw_color(150, 150, 150)
            self.set_line_width(0.2)
            self.line(MARGIN, self.get_y() + 0.5, A4_W - MARGIN, self.get_y() + 0.5)
            self.ln(4)
            self.set_text_color(0, 0, 0)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_draw_color(150, 150, 150)
            self.line(MARGIN, self.get_y(), A4_W - MARGIN, self.get_y())
            self.set_font("DejaVu", "", 7.5)
            self.set_text_color(60, 60, 60)
            self.cell(CONTENT_W / 2, 6, f"Report {self.report_id} \u00b7 {self.report_day}")
            self.cell(CONTENT_W / 2, 6, f"Page {self.page_no()} of {{nb}}", align="R")
            self.set_text_color(0, 0, 0)

        def file_id(self):  # deterministic trailer /ID from the case content and the date
            return f"<{self.doc_id}><{self.doc_id}>"

    return ReportPDF


class _Writer:
    def __init__(self, case, dates: ReportDates, rid: str, pdfa: bool, case_file: str | None = None):
        from fpdf import FPDF_VERSION

        self.case = case
        self.dates = dates
        self.rid = rid
        self.case_file = case_file  # the .tfcase this report goes with (file name), None when there is none
        self._readings: dict[str, Any] = {}
        fonts = find_fonts()
        cls = _make_pdf_class()
        pdf = cls(orientation="P", unit="mm", format="A4", enforce_compliance="PDFA_2B" if pdfa else None)
        pdf.case_id = _clean(case.case_id, 80)
        pdf.report_id = rid
        pdf.report_day = dates.report_day.isoformat()
        checks = "|".join(case.verification.lines()) if case.verification is not None else "unverified"
        pdf.doc_id = hashlib.sha256(f"{rid}|{case.content_digest()}|{checks}".encode()).hexdigest()[:32].upper()
        for style, key in (("", ""), ("B", "B"), ("I", "I")):
            pdf.add_font("DejaVu", style, str(fonts[key]))
        pdf.add_font("DejaVuMono", "", str(fonts["mono"]))
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(True, margin=16)
        pdf.alias_nb_pages()
        title = f"Forensic image analysis report \u2013 case {_clean(case.case_id, 80)}"
        subject = f"Report {rid}"
        from trufor_desk import __version__

        creator = f"TruFor Desk {__version__}"
        producer = f"fpdf2 {FPDF_VERSION}"
        pdf.set_title(title)
        pdf.set_author(_clean(case.examiner, 200))
        pdf.set_subject(subject)
        pdf.set_creator(creator)
        pdf.set_producer(producer)
        pdf.set_keywords("forensics, image, TruFor, case report")
        pdf.set_lang("en")
        pdf.set_creation_date(dates.creation)
        if pdfa:
            pdf.set_xmp_metadata(_xmp(title, subject, _clean(case.examiner, 200), creator, producer,
                                      "forensics, image, TruFor, case report", dates.creation))
        self.pdf = pdf

    # -- primitives ----------------------------------------------------------------------

    def h1(self, text: str, bookmark: str | None = None) -> None:
        pdf = self.pdf
        pdf.start_section(_clean(bookmark or text, 120), level=0)
        pdf.set_font("DejaVu", "B", 14)
        pdf.set_text_color(20, 40, 80)
        pdf.multi_cell(0, 7, _clean(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1.5)

    def h2(self, text: str) -> None:
        pdf = self.pdf
        self.need(20)
        pdf.ln(1.5)
        pdf.set_font("DejaVu", "B", 10.5)
        pdf.set_text_color(20, 40, 80)
        pdf.multi_cell(0, 5.5, _clean(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(0.5)

    def para(self, text: str, size: float = 9, style: str = "", colour=(0, 0, 0)) -> None:
        pdf = self.pdf
        pdf.set_font("DejaVu", style, size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(0, size * 0.5, _clean(text, 50_000), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1)

    def bullets(self, items, size: float = 8.5) -> None:
        pdf = self.pdf
        for it in items:
            pdf.set_font("DejaVu", "", size)
            pdf.cell(4, size * 0.5, "\u2022")
            pdf.multi_cell(CONTENT_W - 4, size * 0.5, _clean(it), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.ln(1)

    def need(self, mm: float) -> None:
        if self.pdf.get_y() + mm > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def table(self, rows: list[tuple[str, str]], mono: set[str] = frozenset(), key_w: float = 46,
              size: float = 8, header: tuple[str, ...] | None = None, widths=None, key_column: bool = False,
              colours: dict[str, dict[int, tuple[int, int, int]]] | None = None) -> None:
        """Key/value (or multi-column with ``header``/``widths``) table with light rules.

        A header row is repeated at the top of every page the table continues on;
        ``key_column`` sets the first column in bold under a header too; ``mono`` names
        rows whose last cell is set in the monospaced font; ``colours`` maps a row's first
        cell to {column: RGB} for cells printed in bold colour (verdicts)."""
        from fpdf.fonts import FontFace

        pdf = self.pdf
        if not rows:
            return
        pdf.set_font("DejaVu", "", size)
        pdf.set_draw_color(200, 200, 200)
        pdf.set_line_width(0.15)
        widths = widths or (key_w, CONTENT_W - key_w)
        mono_face = FontFace(family="DejaVuMono", size_pt=size - 0.5)
        key_face = FontFace(family="DejaVu", emphasis="BOLD", size_pt=size)
        head_face = FontFace(family="DejaVu", emphasis="BOLD", size_pt=size, fill_color=(232, 236, 243))
        from fpdf.enums import TableHeadingsDisplay

        with pdf.table(col_widths=widths, width=CONTENT_W, first_row_as_headings=header is not None,
                       headings_style=head_face, borders_layout="HORIZONTAL_LINES", text_align="LEFT",
                       line_height=size * 0.48, padding=(0.8, 1.2), align="LEFT",
                       repeat_headings=TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE) as t:
            if header:
                r = t.row()
                for h in header:
                    r.cell(_clean(h))
            for row in rows:
                r = t.row()
                for i, value in enumerate(row):
                    text = _clean(value, 1500)
                    if (header is None or key_column) and i == 0:
                        r.cell(text, style=key_face)
                    elif row[0] in mono and i == len(row) - 1:
                        r.cell(text, style=mono_face)
                    elif colours and i in colours.get(row[0], {}):
                        r.cell(text, style=FontFace(family="DejaVu", emphasis="BOLD", size_pt=size,
                                                    color=colours[row[0]][i]))
                    else:
                        r.cell(text)
        pdf.ln(2)

    def image(self, rgb: np.ndarray, x: float, y: float, w: float, h: float, title: str) -> None:
        self.pdf.image(_png(rgb), x=x, y=y, w=w, h=h, alt_text=_clean(title, 200))

    # -- sections ------------------------------------------------------------------------

    def cover(self) -> None:
        from trufor_desk import __version__

        c, pdf = self.case, self.pdf
        pdf.add_page()
        pdf.start_section("Summary", level=0)
        pdf.set_font("DejaVu", "B", 18)
        pdf.set_text_color(20, 40, 80)
        pdf.multi_cell(0, 9, "Forensic image analysis report", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 11)
        pdf.set_text_color(60, 60, 60)
        if c.title:
            pdf.multi_cell(0, 6, _clean(c.title, 300), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(3)
        v = c.verification
        rows = [("Case ID", c.case_id), ("Report ID", self.rid), ("Examiner", c.examiner),
                ("Case created", c.created[:10]),
                ("Report date", f"{self.dates.report_day.isoformat()} ({self.dates.basis})"),
                ("Application", f"TruFor Desk {__version__} (case written by {c.app_version})"),
                ("Evidence items", str(len(c.evidence))), ("Analyses", str(len(c.analyses))),
                ("Notes / annotations", f"{len(c.notes)} / {len(c.annotations)}"),
                ("Audit log", f"{len(c.audit)} entries; chain "
                              f"{'intact' if not c.verify_chain() else 'BROKEN'}"),
                ("Audit log head hash", c.head_hash)]
        if v is not None:
            rows.append(("Integrity at report time", "all checks passed" if v.ok else
                         "PROBLEMS FOUND (see below)"))
        else:
            rows.append(("Integrity at report time", "evidence files not re-verified for this report"))
        self.table(rows, mono={"Audit log head hash"}, key_w=44, size=8.5)
        if v is not None and not v.ok:
            self.para("Integrity problems found when the report was made:", 9, "B", (160, 0, 0))
            self.bullets([ln for ln in v.lines() if " ok: " not in ln and "chain intact" not in ln])

        if c.analyses:
            self.h2("Findings at a glance")
            for a in c.analyses:
                v = self.reading(a).verdict
                ev = c.get_evidence(a.evidence_id)
                self.para(f"{a.id} \u00b7 {_method_title(a.engine)} on {ev.id} {ev.name}: {v.headline}", 10, "B",
                          COLOUR_RGB[v.colour])
            rows, colours = [], {}
            for a in c.analyses:
                ev = c.get_evidence(a.evidence_id)
                v = self.reading(a).verdict
                rows.append((a.id, f"{ev.id} {ev.name}", _method_title(a.engine), _short_score(v),
                             f"{v.headline}. {v.explanation}"))
                colours[a.id] = {4: COLOUR_RGB[v.colour]}
            self.table(rows, header=("Analysis", "Evidence", "Method", "Score", "Verdict"),
                       widths=(17, 38, 30, 24, CONTENT_W - 109), size=7.5, colours=colours)
        self.h2("How to read this report")
        self.para("Each analysis shows the analysed image, the localization map with its colour scale "
                  "(dark = no trace found, bright = suspicious), the same map over the image above the "
                  "threshold used, and, where the method provides them, the reliability map (white = the "
                  "localization can be trusted, black = it cannot) and the Noiseprint++ camera-trace "
                  "fingerprint.", 8.5)
        self.para("Each verdict weighs, by one rule used everywhere in the application, the area the map marks "
                  "above the threshold where reliability is good, the image-level score and the mean "
                  "reliability. A region marked in reliable areas is never reported as a negative finding: with "
                  "a calibrated score of at least 0.5 it indicates manipulation, otherwise the verdict is "
                  "inconclusive. A negative finding is not proof of authenticity.", 8.5)
        if any(a.result.score is not None and not a.result.score_calibration for a in c.analyses):
            self.para("A score without a recorded calibration is a heuristic summary of the map, not a "
                      "probability, and has no decision point.", 8.5)
        if any(self.reading(a).verdict.verbal_scale for a in c.analyses):
            self.h2("The evaluative scale")
            self.para(VERBAL_SCALE_EXPLANATION, 8.5)

    def evidence_section(self, ref) -> None:
        c, pdf = self.case, self.pdf
        pdf.add_page()
        self.h1(f"Evidence {ref.id}: {ref.name}", f"Evidence {ref.id}")
        anns = [a for a in c.annotations if a.evidence_id == ref.id]
        thumb = _annotated_thumbnail(ref, anns)
        y0 = pdf.get_y()
        tw = 62.0
        if thumb is not None:
            th = min(tw * thumb.shape[0] / thumb.shape[1], 70.0)
            w = th * thumb.shape[1] / thumb.shape[0]
            small = _resize(thumb, _fit(thumb.shape[1], thumb.shape[0], 480))
            self.image(small, MARGIN, y0, w, th, f"Evidence {ref.id} thumbnail")
        else:
            th = 10.0
            pdf.set_font("DejaVu", "I", 8)
            pdf.cell(tw, 5, "(no preview stored)")
        status = c.verification.status_of(ref.id) if c.verification is not None else None
        status_text = {"ok": "verified: the file's SHA-256 and MD5 match the intake digests",
                       "modified": "MODIFIED: the file no longer matches the intake digests",
                       "missing": "MISSING: the file was not found", "unreadable": "UNREADABLE",
                       None: "not re-verified for this report"}.get(status, str(status))
        pdf.set_xy(MARGIN + tw + 4, y0)
        pdf.set_left_margin(MARGIN + tw + 4)
        rows = [("File", ref.name), ("Format", f"{ref.format} ({ref.mode})"),
                ("Dimensions", f"{ref.width} x {ref.height} pixels"), ("Size", f"{ref.size_bytes:,} bytes"),
                ("Added to case", ref.added[:10]), ("Integrity", status_text)]
        if ref.exif_orientation:
            from trufor_desk.evidence.metadata import orientation_text

            rows.append(("EXIF orientation", orientation_text(ref.exif_orientation) +
                         " (analysed as stored)"))
        if ref.n_frames > 1:
            rows.append(("Frames", str(ref.n_frames)))
        for conv in ref.conversions:
            rows.append(("Decoding", conv))
        self._narrow_table(rows, CONTENT_W - tw - 4)
        pdf.set_left_margin(MARGIN)
        pdf.set_xy(MARGIN, max(pdf.get_y(), y0 + th) + 3)
        self.table([("Path at intake", ref.path), ("SHA-256", ref.sha256), ("MD5", ref.md5)],
                   mono={"SHA-256", "MD5"}, key_w=30, size=8)
        if anns:
            self.para("Regions marked on the thumbnail: " + ", ".join(a.id for a in anns) +
                      " (see Notes and annotations).", 7.5, "I", (80, 80, 80))
        self.h2("Metadata summary")
        rows, more = _metadata_subset(ref.metadata)
        if ref.metadata_warnings:
            self.para("Observations (not verdicts: they also occur in innocent files):", 8.5, "B")
            self.bullets(ref.metadata_warnings, 8)
        if rows:
            self.table([(f"{s}: {k}", v) for s, k, v in rows], key_w=58, size=7.5)
        if more:
            where = (f"kept in the case file {self.case_file}" if self.case_file else
                     "not printed here (the application shows them all)")
            self.para(f"{more} further metadata rows are {where}.", 7.5, "I", (80, 80, 80))

    def _narrow_table(self, rows, width: float) -> None:
        pdf = self.pdf
        key_w = 30
        for k, v in rows:
            pdf.set_x(pdf.l_margin)
            pdf.set_font("DejaVu", "B", 8)
            y = pdf.get_y()
            pdf.multi_cell(key_w, 4.2, _clean(k), new_x="RIGHT", new_y="TOP", align="L")
            pdf.set_font("DejaVu", "", 8)
            pdf.multi_cell(width - key_w, 4.2, _clean(v, 600), new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.set_draw_color(220, 220, 220)
            pdf.line(pdf.l_margin, pdf.get_y() + 0.4, pdf.l_margin + width, pdf.get_y() + 0.4)
            pdf.set_y(max(pdf.get_y(), y + 4.2) + 0.8)

    def reading(self, a):
        """The reading (and its verdict) of one analysis at the thresholds recorded in the case."""
        if a.id not in self._readings:
            from trufor_desk.render.interpret import read_result

            self._readings[a.id] = read_result(a.result, float(a.thresholds.get("localization", 0.5)),
                                               float(a.thresholds.get("reliability", 0.5)))
        return self._readings[a.id]

    def analysis_section(self, a) -> None:
        c, pdf = self.case, self.pdf
        ev = c.get_evidence(a.evidence_id)
        r = a.result
        m = METHODS.get(a.engine, Method(a.engine, "No description is recorded for this method.", ()))
        pdf.add_page()
        where = "" if a.rect is None else " (selection {}x{} at x={}, y={})".format(a.rect[2], a.rect[3],
                                                                                   a.rect[0], a.rect[1])
        self.h1(f"Analysis {a.id}: {m.title} on {ev.id}{where}", f"Analysis {a.id} ({a.engine})")
        lt = float(a.thresholds.get("localization", 0.5))
        rt = float(a.thresholds.get("reliability", 0.5))
        reading = self.reading(a)
        v = reading.verdict
        self.para(v.headline, 10.5, "B", COLOUR_RGB[v.colour])
        self.para(v.explanation, 8.5)
        self.para("Score: " + v.score_text + ".", 8.5)
        if v.verbal_scale:
            self.para("Evaluative statement (calibrated score, see \u201cThe evaluative scale\u201d): "
                      + v.verbal_scale, 8.5, "I")
        self.para(reading.meaning, 8.5)
        for w in reading.warnings:
            self.para("Caution: " + w, 8.5, "B", (150, 60, 0))
        for n in r.notes:
            self.para("Method note: " + _fmt(n), 8.5, "I", (80, 80, 80))
        self.figures(a, ev, lt, rt)
        self.h2("Result and thresholds")
        rows = [("Verdict", v.headline),
                ("Score", v.score_text + ("" if v.score is None else f"; value {v.score:.4f}"))]
        if v.likelihood_ratio is not None:
            rows.append(("Likelihood ratio", _fmt(float(v.likelihood_ratio)) + " (from the calibrated score; "
                         f"calibration set prior {_prior_text(r.score_calibration)})"))
        if r.score_calibration:
            rows.append(("Score calibration", _fmt(r.score_calibration)))
        rows += [("Localization threshold", f"{lt:.2f} (map values above it are shown in the overlay)"),
                 ("Map above threshold", f"{100 * v.flagged_fraction:.2f} % of the analysed pixels")]
        if r.reliability is not None:
            rows += [("Reliability threshold", f"{rt:.2f} (at or below: the map is not reliable there)"),
                     ("Map above threshold where reliable", f"{100 * v.flagged_reliable_fraction:.2f} % of the "
                                                             "analysed pixels"),
                     ("Mean reliability", f"{reading.mean_reliability:.3f}"),
                     ("Map above threshold in low reliability",
                      f"{100 * reading.strong_in_low_reliability:.1f} % of the area above the threshold")]
        else:
            rows.append(("Reliability", "this method provides no reliability map: all of the map counts as "
                                        "reliable"))
        rows.append(("Map meaning", m.map_meaning))
        self.table(rows, key_w=58, size=8)
        self.h2("Parameters")
        params = r.params or {}
        self.table([(str(k), _fmt(val)) for k, val in sorted(params.items())] or [("(none)", "")],
                   header=("Parameter", "Value"), widths=(58, CONTENT_W - 58), key_column=True, size=7.5)
        self.h2("Versions and provenance")
        prov = r.provenance or {}
        wsha = a.weights_sha256
        rows = [("Application", f"TruFor Desk {prov.get('app_version') or c.app_version}"),
                ("Engine", f"{a.engine} {a.engine_version}"),
                ("Weights SHA-256", wsha if wsha else "none (weight-free method)")]
        if wsha:
            verified = prov.get("weights_verified")
            if verified not in (None, ""):
                rows.append(("Official checkpoint", "yes" if str(verified).lower() == "true" else
                             "no (hash differs from the official release)"))
        for key in _version_keys(prov):
            rows.append((_VERSION_LABELS.get(key, key[:-len("_version")]), _fmt(prov[key])))
        for key, label in (("other_versions", "Other libraries"), ("decoder", "Decoder"), ("device", "Device"),
                           ("device_name", "Device name"), ("precision", "Precision")):
            if prov.get(key) not in (None, ""):
                rows.append((label, _fmt(prov[key])))
        if a.device is None:
            rows.append(("Device", "cpu (weight-free method)"))
        rows.append(("Image SHA-256 analysed", prov.get("image_sha256") or ev.sha256))
        rows.append(("Analysis date", a.created[:10]))
        rows.append(("Result arrays SHA-256", a.arrays_sha256))
        self.table(rows, mono={"Weights SHA-256", "Image SHA-256 analysed", "Result arrays SHA-256"}, key_w=46,
                   size=8)
        self.h2("Method")
        self.para(m.description, 8.5)
        if m.references:
            self.para("References", 8.5, "B")
            self.bullets(m.references, 8)
        if m.limitations:
            self.para("Limitations of this method", 8.5, "B")
            self.bullets(m.limitations, 8)

    def figures(self, a, ev, lt: float, rt: float) -> None:
        r = a.result
        h, w = r.localization.shape
        size = _fit(w, h)
        base = _base_image(ev, a.rect, size)
        panels: list[tuple[str, np.ndarray, str | None, str]] = [
            ("Analysed image", base, None, ""),
            ("Localization map", _colour(r.localization, size, LOC_CMAP), LOC_CMAP, "loc"),
            (f"Map above {lt:.2f} on the image", _overlay(base, r.localization, lt), None, ""),
        ]
        if r.reliability is not None:
            panels.append(("Reliability map (white = reliable)", _colour(r.reliability, size, "grey"), "grey",
                           "rel"))
        for name, arr in r.extras.items():
            if np.asarray(arr).ndim != 2:
                continue
            title = ("Noiseprint++ (1-99 % stretch)" if name == "np++" else f"Extra map {name} (1-99 % stretch)")
            panels.append((title, _stretch(arr, (size[0], size[1])), None, ""))
        pw = PANEL_W
        ph = min(PANEL_MAX_H, pw * size[1] / size[0])
        iw = ph * size[0] / size[1]
        for i in range(0, len(panels), PANEL_COLS):
            row = panels[i:i + PANEL_COLS]
            bar = any(p[2] for p in row)
            self.need(ph + 6 + (8 if bar else 0))
            y = self.pdf.get_y()
            for j, (title, img, cmap, kind) in enumerate(row):
                x0 = MARGIN + j * (PANEL_W + PANEL_GAP)
                x = x0 + (pw - iw) / 2
                self.pdf.set_font("DejaVu", "B", 7)
                self.pdf.set_xy(x0, y)
                self.pdf.cell(pw, 4, _clean(title), align="C")
                self.image(img, x, y + 4.5, iw, ph, title)
                self.pdf.set_draw_color(160, 160, 160)
                self.pdf.rect(x, y + 4.5, iw, ph)
                if cmap:
                    self._bar(cmap, x, y + 5.5 + ph, iw, lt if kind == "loc" else rt)
            self.pdf.set_xy(MARGIN, y + 4.5 + ph + (9 if bar else 2))

    def _bar(self, cmap: str, x: float, y: float, w: float, threshold: float) -> None:
        pdf = self.pdf
        pdf.image(_colour_bar(cmap), x=x, y=y, w=w, h=2.6, alt_text=f"colour scale {cmap}")
        pdf.set_draw_color(120, 120, 120)
        pdf.rect(x, y, w, 2.6)
        pdf.set_font("DejaVu", "", 6)
        for v in (0.0, 0.25, 0.5, 0.75, 1.0):
            tx = x + v * w
            pdf.line(tx, y + 2.6, tx, y + 3.4)
            pdf.set_xy(tx - 5, y + 3.3)
            pdf.cell(10, 2.5, f"{v:g}", align="C")
        tx = x + threshold * w
        pdf.set_draw_color(0, 170, 220)
        pdf.set_line_width(0.5)
        pdf.line(tx, y - 0.6, tx, y + 3.2)
        pdf.set_line_width(0.2)
        pdf.set_draw_color(0, 0, 0)

    def notes_section(self) -> None:
        c, pdf = self.case, self.pdf
        pdf.add_page()
        self.h1("Notes and annotations")
        self.h2("Notes")
        if not c.notes:
            self.para("No notes were recorded.", 8.5, "I")
        for n in c.notes:  # paragraphs, not table cells: a note is printed in full, across pages if needed
            self.need(12)
            self.para(f"{n.id} \u00b7 {n.time[:10]} \u00b7 {n.author} \u00b7 about "
                      f"{'evidence ' + n.evidence_id if n.evidence_id else 'the case'}", 8, "B", (60, 60, 60))
            self.para(_clean(n.text, 50_000), 8.5)
        self.h2("Region annotations")
        if not c.annotations:
            self.para("No regions were annotated.", 8.5, "I")
        for r in c.annotations:
            self.need(12)
            self.para(f"{r.id} \u00b7 {r.label} \u00b7 evidence {r.evidence_id} \u00b7 {r.describe_region()} "
                      f"(image pixels, stored orientation) \u00b7 {r.author}, {r.time[:10]}", 8, "B", (60, 60, 60))
            if r.text:
                self.para(_clean(r.text, 50_000), 8.5)

    def closing(self) -> None:
        c, pdf = self.case, self.pdf
        self.need(60)
        pdf.ln(4)
        pdf.start_section("Limitations", level=0)
        self.h2("Limitations")
        limits = list(LIMITATIONS)
        if self.case_file:
            limits.append(f"The case file {self.case_file} holds the full-resolution maps.")
        self.bullets(limits, 8.5)
        pdf.start_section("Audit log", level=0)
        self.h2("Audit log")
        self.para("Each entry's hash covers its content and the previous entry's hash, so any edit, removal or "
                  "reordering breaks the chain. This report prints dates only"
                  + (f"; the full log with times is in the case file {self.case_file}." if self.case_file else
                     "."), 8)
        self.table([(str(e.seq), e.time[:10], e.actor, e.action, e.hash[:16] + "\u2026") for e in c.audit],
                   header=("#", "Date", "Actor", "Action", "Entry hash"), widths=(10, 22, 44, 50, CONTENT_W - 126),
                   size=7.5)
        self.table([("Head hash", c.head_hash)], mono={"Head hash"}, key_w=30, size=8)
        self.need(30)
        pdf.ln(6)
        pdf.set_font("DejaVu", "", 9)
        pdf.cell(0, 5, f"Examiner: {_clean(c.examiner, 120)}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(10)
        pdf.set_draw_color(0, 0, 0)
        pdf.line(MARGIN, pdf.get_y(), MARGIN + 70, pdf.get_y())
        pdf.line(MARGIN + 100, pdf.get_y(), MARGIN + 150, pdf.get_y())
        pdf.set_font("DejaVu", "", 7.5)
        pdf.cell(100, 4, "Signature")
        pdf.cell(50, 4, "Date", new_x="LMARGIN", new_y="NEXT")

    def build(self) -> bytes:
        self.cover()
        for ref in self.case.evidence:
            self.evidence_section(ref)
            for a in self.case.analyses_of(ref.id):
                self.analysis_section(a)
        for rec in getattr(self.case, "comparisons", []):
            comparison_page(self, self.case, rec)
        self.notes_section()
        self.closing()
        return bytes(self.pdf.output())


_META_KEEP = {
    "EXIF summary": None,
    "ICC profile": {"Description", "Colour space", "present"},
    "JPEG": {"Quality", "Coding", "Chroma subsampling", "Bytes after EOI", "Comment"},
    "Thumbnail": {"Size", "Verdict", "PSNR (dB)", "present"},
    "XMP": {"present", "CreatorTool", "CreateDate", "ModifyDate", "DateCreated", "HistoryEntries",
            "HistoryActions", "HistorySoftware", "DerivedFrom"},
    "PNG": {"Chunks", "Bytes after IEND"},
    "EXIF": {"present"},
}
# what exiv2 reads (maker notes, IPTC, XMP history and photoshop:* fields, previews): kept in row
# order among the rows above, with a budget of their own so that they never push those out
_META_KEEP_EXIV2 = {
    "Maker notes summary": None,
    "IPTC summary": None,
    "XMP history": None,
    "XMP properties": lambda key: key.startswith("photoshop."),
    "Embedded previews": lambda key: not key.endswith("PSNR (dB)"),
}
MAX_METADATA_ROWS_EXIV2 = 40
MAX_ROWS_PER_EXIV2_SECTION = 15


def _metadata_subset(rows: list[list[str]]) -> tuple[list[tuple[str, str, str]], int]:
    """A readable subset of metadata rows: EXIF summary, ICC, JPEG quality, thumbnail, key XMP;
    then the maker-note and IPTC summaries, the XMP history, photoshop fields and previews."""
    keep, extra, per_section = [], [], {}
    for i, row in enumerate(rows):
        if len(row) != 3:
            continue
        sec, key, val = row
        if sec in _META_KEEP_EXIV2:
            rule = _META_KEEP_EXIV2[sec]
            if (rule is None or rule(key)) and per_section.get(sec, 0) < MAX_ROWS_PER_EXIV2_SECTION:
                per_section[sec] = per_section.get(sec, 0) + 1
                extra.append((i, (sec, key, val)))
            continue
        allowed = _META_KEEP.get(sec, set())
        if sec not in _META_KEEP:
            continue
        if allowed is None or key in allowed or (sec == "JPEG" and key.startswith("Table") and
                                                   not key.endswith("values")):
            keep.append((i, (sec, key, val)))
    total = sum(1 for r in rows if len(r) == 3 and r[0] not in ("File", "Warnings"))
    chosen = sorted(keep[:MAX_METADATA_ROWS] + extra[:MAX_METADATA_ROWS_EXIV2])
    shown = [row for _, row in chosen]
    return shown, max(0, total - len(shown))


def _xmp(title: str, subject: str, author: str, creator: str, producer: str, keywords: str,
         when: datetime) -> str:
    from html import escape

    def esc(s: str) -> str:
        return escape(s, quote=True).replace("'", "&apos;")

    stamp = when.astimezone(timezone.utc).isoformat(timespec="seconds")
    return "\n".join([
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="trufor-desk">',
        '  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"',
        '    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
        '    xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">',
        '    <rdf:Description rdf:about=""',
        f'        xmp:CreatorTool="{esc(creator)}" xmp:CreateDate="{stamp}" xmp:ModifyDate="{stamp}"',
        f'        xmp:MetadataDate="{stamp}" pdf:Producer="{esc(producer)}" pdf:Keywords="{esc(keywords)}">',
        "      <pdfaid:part>2</pdfaid:part>",
        "      <pdfaid:conformance>B</pdfaid:conformance>",
        f'      <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{esc(title)}</rdf:li></rdf:Alt></dc:title>',
        f'      <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{esc(subject)}</rdf:li></rdf:Alt>'
        "</dc:description>",
        f"      <dc:creator><rdf:Seq><rdf:li>{esc(author)}</rdf:li></rdf:Seq></dc:creator>",
        "    </rdf:Description>",
        "  </rdf:RDF>",
        "</x:xmpmeta>",
    ])


# ---------------------------------------------------------------------------------------
# public API


def render_report(case, dates: ReportDates | None = None, pdfa: bool = True,
                  case_file: str | os.PathLike | None = None) -> bytes:
    """The report's PDF bytes.  Same case (and same dates) -> same bytes.

    ``case.verification`` (set by :func:`~trufor_desk.case.store.load_case` or
    :func:`~trufor_desk.case.store.verify_case`) is printed when present.  ``case_file``:
    the saved ``.tfcase`` this report goes with; only then does the report refer to a
    case file (by its name) for what it does not print.
    """
    try:
        import fpdf  # noqa: F401
    except ImportError:
        raise UserError("the PDF report needs fpdf2: pip install fpdf2") from None
    dates = dates or report_dates(case)
    rid = report_id(case, dates)
    return _Writer(case, dates, rid, pdfa, Path(case_file).name if case_file else None).build()


def sign_pdf(pdf: bytes, p12_path: str | os.PathLike, password: str | None = None,
             signer_name: str | None = None, reason: str = "Forensic examination report") -> bytes:
    """Add a PAdES (ETSI.CAdES.detached) signature made with a PKCS#12 certificate."""
    try:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers
    except ImportError:
        raise UserError("signing needs pyHanko, which is not installed: pip install pyhanko") from None
    p12 = Path(p12_path)
    if not p12.is_file():
        raise UserError(f"{p12_path}: certificate file not found")
    import logging

    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    try:
        signer = signers.SimpleSigner.load_pkcs12(pfx_file=str(p12), passphrase=(password or "").encode()
                                                  if password is not None else None)
    except Exception as exc:  # pyHanko raises various types for bad files
        raise UserError(f"{p12_path}: cannot read the PKCS#12 certificate ({type(exc).__name__})") from None
    if signer is None:
        raise UserError(f"{p12_path}: cannot read the PKCS#12 certificate (wrong password or not PKCS#12)")
    meta = signers.PdfSignatureMetadata(field_name="ExaminerSignature", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, reason=reason,
                                        name=signer_name)
    try:
        out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer)
    except Exception as exc:
        raise UserError(f"signing failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                        ) from None
    return out.getvalue()


def write_report(case, path: str | os.PathLike, dates: ReportDates | None = None, pdfa: bool = True,
                 sign_p12: str | os.PathLike | None = None, sign_password: str | None = None,
                 case_file: str | os.PathLike | None = None) -> Path:
    """Render (and optionally sign) the report and write it atomically to ``path``."""
    target = output_target(path, [ref.path for ref in case.evidence], ".pdf")
    data = render_report(case, dates, pdfa, case_file)
    if sign_p12 is not None:
        data = sign_pdf(data, sign_p12, sign_password, signer_name=case.examiner)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(target, data)
    except OSError as exc:
        raise UserError(f"{target}: cannot write report ({exc.strerror or exc})") from None
    return target
