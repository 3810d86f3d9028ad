"""A comparison as a case item: which two sources, how they were shown, how B was
registered onto A, the numbers, and the figures the report prints.

The figures (``a``, ``b`` on A's grid, ``diff`` and the overlap mask ``valid``, all at the
view rectangle) are stored as arrays in ``comparisons/<id>.npz`` and their digest in the
record, so the report needs neither the evidence files nor a second registration, and a
later edit of the arrays shows up when the case is verified.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trufor_desk.errors import UserError

from .canonical import arrays_digest, plain, sha256_json

FIGURE_KEYS = ("a", "b", "diff", "valid")


@dataclass
class ComparisonRecord:
    id: str
    sources: list[dict]                       # A then B: label, evidence_id, analysis_id, layer
    mode: str
    view: tuple[int, int, int, int]           # (x, y, w, h) in A's pixels
    registered: bool
    registration: dict                        # trufor_desk.compare.registration.Registration.to_dict()
    numbers: dict                             # trufor_desk.compare.metrics.Numbers.to_dict()
    diff_scale: int
    figures: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    created: str = ""
    arrays_sha256: str = ""

    def record(self) -> dict:
        return plain({"id": self.id, "sources": self.sources, "mode": self.mode, "view": list(self.view),
                       "registered": self.registered, "registration": self.registration,
                       "numbers": self.numbers, "diff_scale": self.diff_scale, "created": self.created,
                       "arrays_sha256": self.arrays_sha256})

    def digest(self) -> str:
        return sha256_json(self.record())

    @property
    def evidence_ids(self) -> list[str]:
        return [s["evidence_id"] for s in self.sources]

    def source_line(self, i: int) -> str:
        s = self.sources[i]
        return s.get("label") or s["evidence_id"]

    def summary(self) -> str:
        """One line of what the comparison measured, for the report's first page and
        `case show`: the share above the threshold, the regions, PSNR and SSIM."""
        n = self.numbers
        regions = len(n.get("regions") or [])
        psnr = "identical" if n.get("psnr_db") is None else f"PSNR {n['psnr_db']:.1f} dB"
        return (f"{100 * float(n['fraction_over']):.3f} % of the overlap differs by more than {n['threshold']} "
                f"levels, {regions} region{'s' if regions != 1 else ''}; {psnr}, SSIM {float(n['ssim']):.3f}; "
                + ("B aligned onto A" if self.registered else "as stored"))

    @classmethod
    def from_doc(cls, d: dict, figures: dict[str, np.ndarray]) -> ComparisonRecord:
        return cls(id=d["id"], sources=[dict(s) for s in d["sources"]], mode=d["mode"],
                   view=tuple(int(v) for v in d["view"]), registered=bool(d["registered"]),
                   registration=dict(d["registration"]), numbers=dict(d["numbers"]),
                   diff_scale=int(d["diff_scale"]), figures=figures, created=d.get("created", ""),
                   arrays_sha256=d.get("arrays_sha256", ""))


def record_from(case, comparison, comparison_id: str, created: str) -> ComparisonRecord:
    """Check a :class:`~trufor_desk.compare.comparison.Comparison` against the case and record it
    (read through its ``sources``, ``figures`` and ``record()``: the case never imports the
    comparison package, which sits beside it)."""
    sources = [s.record() for s in comparison.sources]
    for s in sources:
        case.get_evidence(s["evidence_id"])
        if s.get("analysis_id"):
            a = case.get_analysis(s["analysis_id"])
            if a.evidence_id != s["evidence_id"]:
                raise UserError(f"analysis {a.id} belongs to {a.evidence_id}, not {s['evidence_id']}")
    figures = {k: np.ascontiguousarray(comparison.figures[k]) for k in FIGURE_KEYS}
    rec = comparison.record()
    return ComparisonRecord(id=comparison_id, sources=sources, mode=rec["mode"], view=tuple(rec["view"]),
                            registered=rec["registered"], registration=rec["registration"],
                            numbers=rec["numbers"], diff_scale=rec["diff_scale"], figures=figures,
                            created=created, arrays_sha256=arrays_digest(figures))
