"""Page primitives of the report: headings, paragraphs, bullets, tables, images, colour scales, panel rows.

:class:`Layout` draws on an fpdf2 document (:mod:`.document` makes it) and knows nothing of
cases or analyses; every page of the report, the comparison page included, is drawn through
it, so a table or a figure looks the same wherever it appears.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

A4_W, MARGIN = 210.0, 15.0
CONTENT_W = A4_W - 2 * MARGIN
SCALE_TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


def clean(value: Any, limit: int = 2000) -> str:
    """Printable text: no control characters, bounded length."""
    s = "" if value is None else str(value)
    s = "".join(ch if (ch >= " " or ch == "\n") and not 0xD800 <= ord(ch) <= 0xDFFF else " " for ch in s)
    return s if len(s) <= limit else s[:limit] + "\u2026"


def fmt(v: Any) -> str:
    """A parameter or provenance value as text (floats to 6 digits, structures as sorted JSON)."""
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, sort_keys=True, ensure_ascii=False)
    if isinstance(v, bool):
        return "yes" if v else "no"
    return clean(v)


def png(rgb: np.ndarray) -> io.BytesIO:
    """Deterministic PNG bytes of an RGB array (fixed settings: same pixels, same bytes)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB").save(buf, "PNG", optimize=False,
                                                                           compress_level=6)
    buf.seek(0)
    return buf


@dataclass(frozen=True)
class ColourScale:
    """The colour bar under a figure: its look-up table, the labels at 0, 1/4, 1/2, 3/4 and 1 of
    its width, and a marker (a threshold, as a fraction of the width) or None."""

    lut: np.ndarray                   # (256, 3) uint8
    labels: tuple[str, ...]
    label_w: float
    marker: float | None
    alt: str


@dataclass(frozen=True)
class Panel:
    """One titled figure of a row of panels, with an optional colour scale under it."""

    title: str
    rgb: np.ndarray
    scale: ColourScale | None = None


class Layout:
    """Drawing primitives over one fpdf2 document (``self.pdf``)."""

    def __init__(self, pdf) -> None:
        self.pdf = pdf

    def h1(self, text: str, bookmark: str | None = None) -> None:
        pdf = self.pdf
        pdf.start_section(clean(bookmark or text, 120), level=0)
        pdf.set_font("DejaVu", "B", 14)
        pdf.set_text_color(20, 40, 80)
        # ragged right: a justified title stretches its word gaps across the page
        pdf.multi_cell(0, 7, clean(text), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1.5)

    def h2(self, text: str) -> None:
        pdf = self.pdf
        self.need(20)
        pdf.ln(1.5)
        pdf.set_font("DejaVu", "B", 10.5)
        pdf.set_text_color(20, 40, 80)
        pdf.multi_cell(0, 5.5, clean(text), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(0.5)

    def para(self, text: str, size: float = 9, style: str = "", colour=(0, 0, 0)) -> None:
        pdf = self.pdf
        pdf.set_font("DejaVu", style, size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(0, size * 0.5, clean(text, 50_000), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1)

    def bullets(self, items, size: float = 8.5) -> None:
        pdf = self.pdf
        for it in items:
            pdf.set_font("DejaVu", "", size)
            pdf.cell(4, size * 0.5, "\u2022")
            pdf.multi_cell(CONTENT_W - 4, size * 0.5, clean(it), new_x="LMARGIN", new_y="NEXT", align="L")
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
                    r.cell(clean(h))
            for row in rows:
                r = t.row()
                for i, value in enumerate(row):
                    text = clean(value, 1500)
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
        self.pdf.image(png(rgb), x=x, y=y, w=w, h=h, alt_text=clean(title, 200))

    def narrow_table(self, rows, width: float) -> None:
        """Key/value rows drawn cell by cell in a column narrower than the page (beside a picture)."""
        pdf = self.pdf
        key_w = 30
        for k, v in rows:
            pdf.set_x(pdf.l_margin)
            pdf.set_font("DejaVu", "B", 8)
            y = pdf.get_y()
            pdf.multi_cell(key_w, 4.2, clean(k), new_x="RIGHT", new_y="TOP", align="L")
            pdf.set_font("DejaVu", "", 8)
            pdf.multi_cell(width - key_w, 4.2, clean(v, 600), new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.set_draw_color(220, 220, 220)
            pdf.line(pdf.l_margin, pdf.get_y() + 0.4, pdf.l_margin + width, pdf.get_y() + 0.4)
            pdf.set_y(max(pdf.get_y(), y + 4.2) + 0.8)

    def colour_scale(self, s: ColourScale, x: float, y: float, w: float) -> None:
        pdf = self.pdf
        pdf.image(png(np.repeat(np.repeat(s.lut[None, :, :], 12, axis=0), 2, axis=1)), x=x, y=y, w=w, h=2.6,
                  alt_text=clean(s.alt, 200))
        pdf.set_draw_color(120, 120, 120)
        pdf.rect(x, y, w, 2.6)
        pdf.set_font("DejaVu", "", 6)
        for f, label in zip(SCALE_TICKS, s.labels):
            tx = x + f * w
            pdf.line(tx, y + 2.6, tx, y + 3.4)
            pdf.set_xy(tx - s.label_w / 2, y + 3.3)
            pdf.cell(s.label_w, 2.5, label, align="C")
        if s.marker is not None:
            tx = x + s.marker * w
            pdf.set_draw_color(0, 170, 220)
            pdf.set_line_width(0.5)
            pdf.line(tx, y - 0.6, tx, y + 3.2)
            pdf.set_line_width(0.2)
        pdf.set_draw_color(0, 0, 0)

    def panel_row(self, panels: list[Panel], left: float, col_w: float, gap: float, max_h: float,
                  fig_w: int, fig_h: int) -> None:
        """Figures of ``fig_w`` x ``fig_h`` pixels side by side in columns ``col_w`` mm wide, each
        titled above and framed, with its colour scale below; kept on one page."""
        pdf = self.pdf
        ph = min(max_h, col_w * fig_h / fig_w)
        iw = ph * fig_w / fig_h
        bar = any(p.scale is not None for p in panels)
        self.need(ph + 6 + (8 if bar else 0))
        y = pdf.get_y()
        for j, p in enumerate(panels):
            x0 = left + j * (col_w + gap)
            x = x0 + (col_w - iw) / 2
            pdf.set_font("DejaVu", "B", 7)
            pdf.set_xy(x0, y)
            pdf.cell(col_w, 4, clean(p.title), align="C")
            self.image(p.rgb, x, y + 4.5, iw, ph, p.title)
            pdf.set_draw_color(160, 160, 160)
            pdf.rect(x, y + 4.5, iw, ph)
            if p.scale is not None:
                self.colour_scale(p.scale, x, y + 5.5 + ph, iw)
        pdf.set_xy(left, y + 4.5 + ph + (9 if bar else 2))
