"""The page of one analysis: verdict and score, the figures with their colour scales, the result
and thresholds, the parameters, versions and provenance, and what the method is."""

from __future__ import annotations

import numpy as np

from trufor_desk.render.verdict_colours import COLOUR_RGB

from .context import ReportContext
from .figures import LOC_CMAP, base_image, colour, fit, overlay, stretch
from .layout import CONTENT_W, MARGIN, ColourScale, Panel, fmt
from .methods import METHODS, Method
from .score_calibration import calibration_rows

PANEL_GAP = 4.0
PANEL_COLS = 3
PANEL_W = (CONTENT_W - (PANEL_COLS - 1) * PANEL_GAP) / PANEL_COLS
PANEL_MAX_H = 64.0
VERSION_LABELS = {"python_version": "Python", "numpy_version": "numpy", "scipy_version": "SciPy",
                  "opencv_version": "OpenCV", "pillow_version": "Pillow", "torch_version": "torch"}


def prior_text(calibration) -> str:
    prior = (calibration or {}).get("prior_fake")
    return f"{float(prior):.3g} manipulated" if isinstance(prior, (int, float)) else "not stated: even odds assumed"


def version_keys(prov: dict) -> list[str]:
    """Every ``*_version`` provenance key with a value (the application's own is printed
    apart): the known libraries first, in a fixed order, then any other, sorted."""
    known = [k for k in VERSION_LABELS if prov.get(k) not in (None, "")]
    rest = sorted(k for k in prov if k.endswith("_version") and k not in VERSION_LABELS
                  and k != "app_version" and prov.get(k) not in (None, ""))
    return known + rest


def analysis_page(doc: ReportContext, a) -> None:
    c, pdf = doc.case, doc.pdf
    ev = c.get_evidence(a.evidence_id)
    r = a.result
    m = METHODS.get(a.engine, Method(a.engine, "No description is recorded for this method.", ()))
    pdf.add_page()
    where = "" if a.rect is None else f" (selection {a.rect[2]}x{a.rect[3]} at x={a.rect[0]}, y={a.rect[1]})"
    doc.h1(f"Analysis {a.id}: {m.title} on {ev.id}{where}", f"Analysis {a.id} ({a.engine})")
    lt = float(a.thresholds.get("localization", 0.5))
    rt = float(a.thresholds.get("reliability", 0.5))
    reading = doc.reading(a)
    v = reading.verdict
    doc.para(v.headline, 10.5, "B", COLOUR_RGB[v.colour])
    doc.para(v.explanation, 8.5)
    doc.para("Score: " + v.score_text + ".", 8.5)
    if v.verbal_scale:
        doc.para("Evaluative statement (calibrated score, see \u201cThe evaluative scale\u201d): "
                  + v.verbal_scale, 8.5, "I")
    doc.para(reading.meaning, 8.5)
    for w in reading.warnings:
        doc.para("Caution: " + w, 8.5, "B", (150, 60, 0))
    for n in r.notes:
        doc.para("Method note: " + fmt(n), 8.5, "I", (80, 80, 80))
    _figures(doc, a, ev, lt, rt)
    doc.h2("Result and thresholds")
    rows = [("Verdict", v.headline),
            ("Score", v.score_text)]
    if v.likelihood_ratio is not None:
        from trufor_desk.verdict.verbal_scale import ratio_text

        rows.append(("Likelihood ratio", ratio_text(float(v.likelihood_ratio)) + " (from the calibrated score; "
                     f"calibration set prior {prior_text(r.score_calibration)})"))
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
    doc.table(rows, key_w=58, size=8)
    cal_rows = calibration_rows(r.score_calibration if r.score is not None else None)
    if cal_rows:
        doc.h2("Score calibration")
        doc.table(cal_rows, key_w=58, size=8)
    doc.h2("Parameters")
    params = r.params or {}
    doc.table([(str(k), fmt(val)) for k, val in sorted(params.items())] or [("(none)", "")],
               header=("Parameter", "Value"), widths=(58, CONTENT_W - 58), key_column=True, size=7.5)
    doc.h2("Versions and provenance")
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
    for key in version_keys(prov):
        rows.append((VERSION_LABELS.get(key, key[:-len("_version")]), fmt(prov[key])))
    for key, label in (("other_versions", "Other libraries"), ("decoder", "Decoder"), ("device", "Device"),
                       ("device_name", "Device name"), ("precision", "Precision")):
        if prov.get(key) not in (None, ""):
            rows.append((label, fmt(prov[key])))
    if a.device is None:
        rows.append(("Device", "cpu (weight-free method)"))
    rows.append(("Image SHA-256 analysed", prov.get("image_sha256") or ev.sha256))
    rows.append(("Analysis date", a.created[:10]))
    rows.append(("Result arrays SHA-256", a.arrays_sha256))
    doc.table(rows, mono={"Weights SHA-256", "Image SHA-256 analysed", "Result arrays SHA-256"}, key_w=46,
               size=8)
    doc.h2("Method")
    doc.para(m.description, 8.5)
    if m.references:
        doc.para("References", 8.5, "B")
        doc.bullets(m.references, 8)
    if m.limitations:
        doc.para("Limitations of this method", 8.5, "B")
        doc.bullets(m.limitations, 8)


def _map_scale(cmap: str, threshold: float) -> ColourScale:
    from trufor_desk.render.colormaps import colormap

    return ColourScale(colormap(cmap)[:, :3], tuple(f"{v:g}" for v in (0.0, 0.25, 0.5, 0.75, 1.0)), 10,
                       threshold, f"colour scale {cmap}")


def _figures(doc: ReportContext, a, ev, lt: float, rt: float) -> None:
    r = a.result
    h, w = r.localization.shape
    size = fit(w, h)
    base = base_image(ev, a.rect, size)
    panels = [
        Panel("Analysed image", base),
        Panel("Localization map", colour(r.localization, size, LOC_CMAP), _map_scale(LOC_CMAP, lt)),
        Panel(f"Map above {lt:.2f} on the image", overlay(base, r.localization, lt)),
    ]
    if r.reliability is not None:
        panels.append(Panel("Reliability map (white = reliable)", colour(r.reliability, size, "grey"),
                            _map_scale("grey", rt)))
    for name, arr in r.extras.items():
        if np.asarray(arr).ndim != 2:
            continue
        title = ("Noiseprint++ (1-99 % stretch)" if name == "np++" else f"Extra map {name} (1-99 % stretch)")
        panels.append(Panel(title, stretch(arr, (size[0], size[1]))))
    for i in range(0, len(panels), PANEL_COLS):
        doc.panel_row(panels[i:i + PANEL_COLS], MARGIN, PANEL_W, PANEL_GAP, PANEL_MAX_H, size[0], size[1])
