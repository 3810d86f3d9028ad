"""The first page: the case at a glance, its integrity, the findings of every analysis, the Content
Credentials of every evidence item, how to read the report."""

from __future__ import annotations

from trufor_desk.render.verdict_colours import COLOUR_RGB
from trufor_desk.verdict.decision import format_score
from trufor_desk.verdict.verbal_scale import VERBAL_SCALE_EXPLANATION

from .context import ReportContext
from .credentials import cover_findings, cover_lines
from .layout import CONTENT_W, clean
from .methods import method_title


def short_score(v) -> str:
    """The score for a narrow column: named a probability only when calibrated; the number as
    every output prints it (:func:`~trufor_desk.verdict.decision.format_score`)."""
    if v.score is None:
        return "\u2013"
    return ("probability " if v.score_is_probability else "heuristic ") + format_score(v.score)


def cover_page(doc: ReportContext) -> None:
    from trufor_desk import __version__

    c, pdf = doc.case, doc.pdf
    pdf.add_page()
    pdf.start_section("Summary", level=0)
    pdf.set_font("DejaVu", "B", 18)
    pdf.set_text_color(20, 40, 80)
    pdf.multi_cell(0, 9, "Forensic image analysis report", new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_font("DejaVu", "", 11)
    pdf.set_text_color(60, 60, 60)
    if c.title:
        pdf.multi_cell(0, 6, clean(c.title, 300), new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)
    v = c.verification
    rows = [("Case ID", c.case_id), ("Report ID", doc.rid), ("Examiner", c.examiner),
            ("Case created", c.created[:10]),
            ("Report date", f"{doc.dates.report_day.isoformat()} ({doc.dates.basis})"),
            ("Application", f"TruFor Desk {__version__} (case written by {c.app_version})"),
            ("Evidence items", str(len(c.evidence))), ("Analyses", str(len(c.analyses))),
            ("Comparisons", str(len(getattr(c, "comparisons", [])))),
            ("Notes / annotations", f"{len(c.notes)} / {len(c.annotations)}"),
            ("Audit log", f"{len(c.audit)} entries; chain "
                          f"{'intact' if not c.verify_chain() else 'BROKEN'}"),
            ("Audit log head hash", c.head_hash)]
    if v is not None:
        rows.append(("Integrity at report time", "all checks passed" if v.ok else
                     "PROBLEMS FOUND (see below)"))
    else:
        rows.append(("Integrity at report time", "evidence files not re-verified for this report"))
    doc.table(rows, mono={"Audit log head hash"}, key_w=44, size=8.5)
    if v is not None and not v.ok:
        doc.para("Integrity problems found when the report was made:", 9, "B", (160, 0, 0))
        doc.bullets([ln for ln in v.lines() if " ok: " not in ln and "chain intact" not in ln])

    if c.analyses:
        doc.h2("Findings at a glance")
        for a in c.analyses:
            v = doc.reading(a).verdict
            ev = c.get_evidence(a.evidence_id)
            doc.para(f"{a.id} \u00b7 {method_title(a.engine)} on {ev.id} {ev.name}: {v.headline}", 10, "B",
                      COLOUR_RGB[v.colour])
        cover_findings(doc)  # Content Credentials: findings of their own, beside the detectors' verdicts
        rows, colours = [], {}
        for a in c.analyses:
            ev = c.get_evidence(a.evidence_id)
            v = doc.reading(a).verdict
            rows.append((a.id, f"{ev.id} {ev.name}", method_title(a.engine), short_score(v),
                         f"{v.headline}. {v.explanation}"))
            colours[a.id] = {4: COLOUR_RGB[v.colour]}
        doc.table(rows, header=("Analysis", "Evidence", "Method", "Score", "Verdict"),
                   widths=(17, 38, 30, 24, CONTENT_W - 109), size=7.5, colours=colours)
    cover_lines(doc)  # the state of every evidence item's Content Credentials
    comparisons = getattr(c, "comparisons", [])
    if comparisons:
        doc.h2("Comparisons at a glance")
        doc.table([(r.id, f"{r.source_line(0)} / {r.source_line(1)}", r.summary()) for r in comparisons],
                  header=("Comparison", "A / B", "What it measured (details on its page)"),
                  widths=(22, 60, CONTENT_W - 82), size=7.5)
    doc.h2("How to read this report")
    doc.para("Each analysis shows the analysed image, the localization map with its colour scale "
              "(dark = no trace found, bright = suspicious), the same map over the image above the "
              "threshold used, and, where the method provides them, the reliability map (white = the "
              "localization can be trusted, black = it cannot) and the Noiseprint++ camera-trace "
              "fingerprint.", 8.5)
    doc.para("Each verdict weighs, by one rule used everywhere in the application, the area the map marks "
              "above the threshold where reliability is good, the image-level score and the mean "
              "reliability. A region marked in reliable areas is never reported as a negative finding: with "
              "a calibrated score at or above its decision point it indicates manipulation, otherwise the "
              "verdict is inconclusive. A negative finding is not proof of authenticity.", 8.5)
    evaluative = any(doc.reading(a).verdict.verbal_scale for a in c.analyses)
    if evaluative:
        doc.para("The decision point of a calibrated score is 0.5, or the share of manipulated images in its "
                  "calibration set where that is higher, so that a score at or above it always means a "
                  "likelihood ratio of at least 1 (see the evaluative scale below).", 8.5)
    if any(a.result.score is not None and not a.result.score_calibration for a in c.analyses):
        doc.para("A score without a recorded calibration is a heuristic summary of the map, not a "
                  "probability, and has no decision point.", 8.5)
    if evaluative:
        doc.h2("The evaluative scale")
        doc.para(VERBAL_SCALE_EXPLANATION, 8.5)
