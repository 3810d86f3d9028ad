"""``trufor-desk case compare``: comparing two items of a case, an evidence image (``E1``) or
an analysis (``A1``) shown as one of its layers.

The evidence files are re-opened and must still be what was taken in (same SHA-256); the
comparison is built by :mod:`trufor_desk.compare` and recorded in the case (one audit
entry).  This joins the case and the comparison packages, which sit side by side below
the entry points, so it lives here.
"""

from __future__ import annotations

from trufor_desk.errors import UserError


def _open(case, evidence_id: str, cache: dict):
    from trufor_desk.case.store import check_evidence
    from trufor_desk.evidence import open_evidence

    if evidence_id in cache:
        return cache[evidence_id]
    ref = case.get_evidence(evidence_id)
    v = case.verification
    status = next((s for s in v.evidence if s.evidence_id == evidence_id), None) if v is not None else None
    if status is None:
        status = check_evidence(ref, None, getattr(case, "_relpaths", {}).get(ref.id))
    if status.status != "ok":
        raise UserError(f"{ref.id} is {status.status} ({ref.path}): a comparison needs the evidence file as it "
                        "was at intake")
    ev = open_evidence(status.found_at or ref.path)
    if ev.sha256 != ref.sha256:
        raise UserError(f"{ref.id}: the file at {ev.path} is not the evidence taken in (SHA-256 differs)")
    cache[evidence_id] = ev
    return ev


def case_source(case, item: str, layer: str | None = None, cache: dict | None = None):
    """A :class:`~trufor_desk.compare.sources.Source` for ``item`` (evidence or analysis id)."""
    from trufor_desk.compare.sources import image_source, layer_source

    cache = {} if cache is None else cache
    ids = {e.id for e in case.evidence}
    if item in ids:
        ev = _open(case, item, cache)
        ref = case.get_evidence(item)
        return image_source(ev, ref.id, f"{ref.id} {ref.name}")
    if item in {a.id for a in case.analyses}:
        a = case.get_analysis(item)
        ev = _open(case, a.evidence_id, cache)
        name = layer or "localization"
        ref = case.get_evidence(a.evidence_id)
        return layer_source(ev, ref.id, a.result, a.id, name, a.rect, f"{a.id} {a.engine} {name} of {ref.id}")
    raise UserError(f"case {case.case_id} has no item {item!r}: give an evidence id (E1, ...) or an analysis "
                    "id (A1, ...)")


def compare_items(case, item_a: str, item_b: str, layer: str | None = None, register: bool = False,
                  threshold: int | None = None, mode: str = "difference", view=None, actor: str | None = None):
    """Build the comparison of two case items and add it to the case; returns (record, comparison)."""
    from trufor_desk.compare.comparison import build_comparison
    from trufor_desk.compare.metrics import DEFAULT_THRESHOLD

    analyses = {a.id for a in case.analyses}
    if layer is not None and item_a not in analyses and item_b not in analyses:
        raise UserError("--layer names a layer of an analysis: give an analysis id (A1, ...) as one of the items")
    if item_a == item_b and layer is None:
        raise UserError(f"{item_a} compared with itself shows nothing")
    cache: dict = {}
    a = case_source(case, item_a, layer, cache)
    b = case_source(case, item_b, layer, cache)
    comparison = build_comparison(a, b, register_images=register, mode=mode, view=view,
                                  threshold=DEFAULT_THRESHOLD if threshold is None else threshold)
    return case.add_comparison(comparison, actor=actor), comparison


def add_compare_parser(acts) -> None:
    """``case compare CASE ITEM_A ITEM_B [--layer NAME] [--register]`` under ``case``."""
    from trufor_desk.compare.metrics import DEFAULT_THRESHOLD

    c = acts.add_parser(
        "compare", help="compare two items of a case (images, or an image and a layer) and record it",
        description="Compare two case items and record the comparison (sources, registration, numbers, "
                    "figures) in the case and its audit log. An item is an evidence id (E1) or an analysis id "
                    "(A1, shown as its --layer). A difference shows where two versions differ, not which one "
                    "is the original.")
    c.add_argument("case", metavar="CASE.tfcase")
    c.add_argument("item_a", metavar="ITEM_A", help="the reference: evidence (E1) or analysis (A1) id")
    c.add_argument("item_b", metavar="ITEM_B", help="compared with it (resampled onto ITEM_A when registered)")
    c.add_argument("--layer", default=None, metavar="NAME",
                   help="the layer of an analysis item: localization (default), reliability, np++ or an "
                        "extra map's name")
    c.add_argument("--register", action="store_true",
                   help="align ITEM_B onto ITEM_A first (needed when they differ in size, crop or rotation)")
    c.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD, metavar="LEVELS",
                   help=f"a pixel differs when a channel differs by more than this (0-255, default "
                        f"{DEFAULT_THRESHOLD})")
    c.add_argument("--view", default=None, metavar="X,Y,W,H",
                   help="the rectangle of ITEM_A the figures show (default: the whole overlap)")
    c.add_argument("--actor", default=None, help="who does this (default: the case's examiner)")
    from trufor_desk.cli.case_signing import add_case_sign_arguments

    add_case_sign_arguments(c)


def _view(text: str | None):
    if text is None:
        return None
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"--view {text}: give X,Y,W,H in pixels of ITEM_A") from None
    if w <= 0 or h <= 0:
        raise UserError(f"--view {text}: width and height must be positive")
    return x, y, w, h


def run_compare(args, open_for_change, say) -> int:
    from trufor_desk.cli.case_signing import case_signer, save

    signer = case_signer(args)
    case = open_for_change(args.case)
    rec, comparison = compare_items(case, args.item_a, args.item_b, layer=args.layer, register=args.register,
                                    threshold=args.threshold, view=_view(args.view), actor=args.actor)
    save(case, args.case, signer)
    n = comparison.numbers
    psnr = "identical" if n.psnr_db is None else f"{n.psnr_db:.2f} dB"
    say(f"{args.case}: comparison {rec.id} added ({rec.source_line(0)} vs {rec.source_line(1)})")
    say(f"  registration: {comparison.registration.describe()}")
    say(f"  PSNR {psnr}, SSIM {n.ssim:.4f}, {100 * n.fraction_over:.2f} % of the overlap differs by more "
        f"than {n.threshold}/255")
    for i, r in enumerate(n.regions, 1):
        say(f"  region {i}: {r.w}x{r.h} at x={r.x}, y={r.y} (mean difference {r.mean_diff:.0f}/255)")
    if n.jpeg_tables != "not both JPEG":
        say(f"  JPEG quantisation tables: {n.jpeg_tables}{' (' + n.jpeg_detail + ')' if n.jpeg_detail else ''}")
    return 0
