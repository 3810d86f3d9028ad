"""The report page of one comparison stored in the case.

Everything on it comes from the case: the figures stored with the comparison (A and B at
the same crop of A's pixels, B already on A's grid, and the difference), the numbers and
the registration.  Nothing is recomputed from the evidence files, so the page is a pure
function of the case, like the rest of the report.

The page is drawn through the report's page primitives (:class:`~.layout.Layout`: headings,
paragraphs, tables, rows of panels with their colour scales), like every other page.
"""

from __future__ import annotations

import numpy as np

from .layout import SCALE_TICKS, ColourScale, Panel

DIFF_CMAP = "inferno"
OUTSIDE = (150, 150, 150)      # figure pixels outside the overlap
BOX = (0, 220, 255)
GAP = 4.0
MAX_PANEL_H = 56.0

CAN_AND_CANNOT = (
    "A difference image shows where two versions differ after they were put on the same pixel grid. It does not "
    "show which version is the original, nor which one was changed: an object pasted into B and the same object "
    "removed from A give the same difference. Re-compression, resizing and the resampling needed for alignment "
    "leave small differences along edges and in textures everywhere; the numbers below count a pixel as "
    "differing only above the stated threshold, and regions only where such pixels form an area. Different JPEG "
    "quantisation tables show that at least one file was saved again; identical tables do not show that neither "
    "was. A comparison does not replace the analysis of each image."
)


def _diff_rgb(diff: np.ndarray, valid: np.ndarray, scale: int) -> np.ndarray:
    from trufor_desk.render.colormaps import colormap

    idx = np.clip(np.rint(diff.astype(np.float32) * (255.0 / max(1, scale))), 0, 255).astype(np.uint8)
    rgb = colormap(DIFF_CMAP)[idx][..., :3]
    rgb[valid == 0] = OUTSIDE
    return rgb


def _outside_grey(rgb: np.ndarray, valid: np.ndarray) -> np.ndarray:
    out = rgb.copy()
    out[valid == 0] = OUTSIDE
    return out


def _boxes(rgb: np.ndarray, regions: list[dict], view, label: bool = True) -> np.ndarray:
    from PIL import Image, ImageDraw

    x0, y0, vw, vh = view
    h, w = rgb.shape[:2]
    sx, sy = w / vw, h / vh
    img = Image.fromarray(np.ascontiguousarray(rgb))
    draw = ImageDraw.Draw(img)
    lw = max(2, round(max(w, h) / 300))
    for i, r in enumerate(regions, 1):
        box = [(r["x"] - x0) * sx, (r["y"] - y0) * sy, (r["x"] + r["w"] - x0) * sx - 1,
               (r["y"] + r["h"] - y0) * sy - 1]
        if box[2] < 0 or box[3] < 0 or box[0] >= w or box[1] >= h:
            continue
        draw.rectangle(box, outline=BOX, width=lw)
        if label:
            draw.text((max(0, box[0]) + lw + 1, max(0, box[1]) + lw + 1), str(i), fill=BOX)
    return np.asarray(img)


def _scale(scale: int, threshold: int) -> ColourScale:
    from trufor_desk.render.colormaps import colormap

    return ColourScale(colormap(DIFF_CMAP)[:, :3], tuple(f"{round(f * scale)}" for f in SCALE_TICKS), 12,
                       threshold / scale if threshold < scale else None,
                       f"colour scale of the difference, 0 to {scale} levels")


def _panels(w, items, fig_w: int, fig_h: int, bar=None) -> None:
    """Two figures side by side with titles; ``bar`` = (column, scale, threshold) draws a colour scale."""
    pdf = w.pdf
    panels = [Panel(title, rgb, _scale(bar[1], bar[2]) if bar is not None and bar[0] == j else None)
              for j, (title, rgb) in enumerate(items)]
    w.panel_row(panels, pdf.l_margin, (pdf.epw - GAP) / 2, GAP, MAX_PANEL_H, fig_w, fig_h)


def _f(v, digits: int = 4) -> str:
    return f"{v:.{digits}f}"


def _number_rows(n: dict, scale: int) -> list[tuple[str, str]]:
    rows = [("PSNR over the overlap", "identical (no difference)" if n["psnr_db"] is None
             else f"{n['psnr_db']:.2f} dB (RGB values)"),
            ("SSIM over the overlap", _f(n["ssim"]) + " (luma; 1 = identical structure)"),
            ("Difference threshold", f"{n['threshold']} levels of 255 (largest difference over R, G, B)"),
            ("Pixels above the threshold", f"{100 * n['fraction_over']:.3f} % of the overlap"),
            ("Overlap", f"{n['overlap_px']:,} pixels of A".replace(",", " ")),
            ("Mean / largest difference", f"{n['mean_abs_diff']:.2f} / {n['max_diff']} levels"),
            ("Difference colour scale", f"0 (black) to {scale} levels (bright) or more")]
    if not n["regions"]:
        rows.append(("Differing regions", "none above the threshold"))
    for i, r in enumerate(n["regions"], 1):
        rows.append((f"Region {i}", f"{r['w']}x{r['h']} at x={r['x']}, y={r['y']} (pixels of A); about "
                                    f"{r['area_px']:,} pixels above the threshold, mean difference "
                                    f"{r['mean_diff']:.0f} levels".replace(",", " ")))
    tables = {"identical": "identical", "different": "different: at least one file was saved again",
              "unreadable": "could not be read", "not both JPEG": "not compared (not both JPEG files)"}
    detail = f" ({n['jpeg_detail']})" if n.get("jpeg_detail") else ""
    rows.append(("JPEG quantisation tables", tables.get(n["jpeg_tables"], n["jpeg_tables"]) + detail))
    return rows


def _registration_rows(rec) -> list[tuple[str, str]]:
    reg = rec.registration
    notes = [("Note", str(n)) for n in reg.get("notes", [])]
    if not rec.registered:
        return [("Registration", "none: the two sources have the same size and are compared pixel for pixel, "
                                 "as stored")] + notes
    tx, ty = reg["origin_in_a"]
    ecc = reg.get("ecc")
    model = str(reg["model"])
    article = "an" if model[:1] in "aeiou" else "a"
    return [("Registration", f"B resampled onto A's pixel grid (bilinear) by {article} {model} transform"),
            ("Method", str(reg.get("method", ""))),
            ("Scale, rotation", f"{reg['scale']:.5f}, {reg['rotation_deg']:+.3f}\u00b0 (B to A)"),
            ("B's origin in A", f"x={tx:.2f}, y={ty:.2f}"),
            ("Transform (B to A)", " / ".join("[" + ", ".join(f"{v:.6g}" for v in row) + "]"
                                             for row in reg["matrix"])),
            ("Matches", f"{reg['inliers']} of {reg['matches']} ratio-test feature matches agree"),
            ("Residual", f"{reg['residual_px']:.2f} pixels of A (RMS distance of the agreeing matches after "
                         "alignment)"),
            ("ECC correlation", "not refined" if ecc is None else f"{ecc:.4f} (1 = intensities agree)"),
            ("Coverage", f"B covers {100 * reg['overlap']:.1f} % of A")] + notes


def comparison_page(w, case, rec) -> None:
    """Draw comparison ``rec`` of ``case`` on a new page of writer ``w``."""
    pdf = w.pdf
    pdf.add_page()
    a_src, b_src = rec.sources
    w.h1(f"Comparison {rec.id}: {rec.source_line(0)} and {rec.source_line(1)}",
         f"Comparison {rec.id}")
    w.para(f"A = {rec.source_line(0)}; B = {rec.source_line(1)}. Recorded {rec.created[:10]} in "
           f"{rec.mode} mode. Both panels show the same rectangle of A, {rec.view[2]}x{rec.view[3]} pixels at "
           f"x={rec.view[0]}, y={rec.view[1]}" + (", with B aligned onto A." if rec.registered else "."), 8.5)
    w.para("What a comparison can and cannot show: " + CAN_AND_CANNOT, 8.5, "I", (60, 60, 60))
    f = rec.figures
    valid = f["valid"]
    fh, fw = f["a"].shape[:2]
    n = rec.numbers
    _panels(w, [(f"A: {a_src.get('evidence_id')}" + (f" {a_src['layer']}" if a_src.get("layer") else ""),
                 f["a"]),
                (f"B: {b_src.get('evidence_id')}" + (f" {b_src['layer']}" if b_src.get("layer") else "")
                 + (" aligned onto A" if rec.registered else ""), _outside_grey(f["b"], valid))], fw, fh)
    _panels(w, [("Difference |A \u2212 B| (grey: outside the overlap)",
                 _boxes(_diff_rgb(f["diff"], valid, rec.diff_scale), n["regions"], rec.view, label=False)),
                (f"Regions above {n['threshold']} levels, outlined on A", _boxes(f["a"], n["regions"], rec.view))],
            fw, fh, bar=(0, rec.diff_scale, n["threshold"]))
    w.h2("Numbers")
    w.table(_number_rows(n, rec.diff_scale), key_w=50, size=8)
    w.h2("Registration")
    w.table(_registration_rows(rec), key_w=50, size=8)
    w.table([("Figures SHA-256", rec.arrays_sha256)], mono={"Figures SHA-256"}, key_w=50, size=8)
