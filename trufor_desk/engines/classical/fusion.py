"""The weight-free default: one map, one reliability map and one score from three detectors.

Detectors (each map kept as a layer):

* **the compression history** (``jpeg_history.py``): aligned double quantisation over
  all 63 DCT frequencies (``adq.py``), read layer by layer: the file's last save over the
  one before, then, with the primary steps found there as the table, the save before that
  (a splice that was saved and then re-shared shows in that second layer).  A block is
  marked where its evidence of a single compression stands out from the image's untouched
  majority (``jpeg_history.once_map``).  An earlier grid shifted by a crop is detected and
  named in the history, not localised with.  It is by far the strongest weight-free trace
  on real photographs, and applies only where such a history exists;
* **Splicebuster** (``splicebuster.py``), noise-residual statistics: the only detector
  that applies to any image (PNG, TIFF, single-compressed JPEG);
* **copy-move** (``copymove.py``), SIFT matching with RANSAC verification: regions
  cloned within the image.

How they combine, per pixel, with ``P`` the image's double-compression presence (the
strongest layer's, ``adq.dq_presence``, 0..1):

    map = min(1, history_map + (1 - P)^2 * noise_cap * splicebuster + copymove_weight * copymove)
    reliability = history_reliability + (1 - P) * splicebuster_reliability

``history_map`` is the largest over the layers of the layer's presence times its
once-compressed map; ``history_reliability`` likewise of its evidence per block.

* ``noise_cap`` = 0.5 on JPEGs (1 without a JPEG history): on JPEG photographs the noise
  evidence alone never crosses the 0.5 threshold (lifting the cap raised casia-dev's
  authentic pixels above 0.5 from 0.89 % to 2.23 % for no gain in F1).  The square of
  ``1 - P`` hands the map over to the history quickly once it is likely.  ``noise_cap`` = 0
  switches the noise statistics off for every image (they are then not computed: the fast
  first pass of ``batch --triage`` reads the compression history alone).
* ``copymove_weight`` = 0.2: a verified clone sharpens the map where it lies, but
  copy-move alone never crosses the threshold (it matched natural repetitions in 24 % of
  casia-dev's authentic photos).  Its own layer shows every match.

A file that is no longer a JPEG (a JPEG saved as PNG, TIFF, BMP) is analysed as the JPEG it
was when its pixels still carry the 8x8 lattice of that compression (``jpeg_lattice.py``).
Images without any JPEG history get Splicebuster's map (``P`` = 0, cap 1) plus copy-move.
Stored losslessly (PNG, TIFF, BMP), they are also read for what a retouch leaves in the
pixels themselves (``retouch.py``): textured patches repeated bit for bit, marked in the map
at ``duplicates_weight`` (1; where copy-move verified the clone too, at copy-move's levels:
1 on the side it judged pasted, 0.6 on its source), and the largest area too smooth for its
structure (a layer, never a marked region alone).  Their score is a second logistic model,
of copy-move's match, that smooth area's share and the number of copied patches, fitted on
never-compressed forgeries made from casia-dev (``scripts/make_uncompressed.py``;
cross-validated AUC 0.80, splices there are nearly invisible to every weight-free trace).
Screenshots and graphics, and lossy formats with no JPEG history (HEIC, WebP), get no score:
the note says why.

For images with a JPEG history the score is (``calibration.py``):
a logistic model of the strength of the history (log of the double-compression gain), the
share of the image its map marks, and copy-move's raw match statistic, fitted on casia-dev
pooled with its re-shared copies (``scripts/make_reshared.py``), so that an authentic
photo re-saved by a messaging app is part of what the probability was calibrated on.  A
double-compression history alone is not evidence of manipulation: an authentic re-shared
photo has one everywhere.  The provenance records each detector's share of the final map,
the history layer by layer, and the sentence that names it; the verdict names the trace
the marked area rests on (:func:`finding_basis`).

The three detectors run side by side (Splicebuster and copy-move in threads while the
history is read, and then, without a JPEG history, the retouching traces): each computes
what it computes alone, so the maps and the score do not depend on it, and a 12 MP photo
takes about half the time on two cores
(``benchmarks/bench_fusion_speed.py``).
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from trufor_desk.engines import base
from trufor_desk.engines.classical import adq, calibration, jpeg_history, retouch


def finding_basis(hist: jpeg_history.History, fused: np.ndarray, cm: base.AnalysisResult | None,
                  duplicates: np.ndarray | None = None) -> str:
    """The trace the map's flagged area rests on, in words (the verdict names it)."""
    flagged = fused > 0.5
    if not flagged.any():
        return ""
    parts = []
    if hist.applicable and hist.once is not None and (flagged & (hist.once > 0.25)).mean() >= 0.5 * flagged.mean():
        earlier = any(lay.depth > 1 and lay.presence >= 0.5 for lay in hist.layers)
        layer = "an earlier save" if earlier else "the last save"
        parts.append(f"blocks compressed fewer times than the rest of the image (double quantisation, {layer})")
    if cm is not None and (flagged & (cm.localization > 0.5)).any():
        parts.append("a region cloned within the image (copy-move)")
    if duplicates is not None and (flagged & duplicates).any():
        parts.append("patches repeated exactly elsewhere in the image (copied pixels: a clone, or a fill from "
                     "copied patches over a removed object)")
    if not parts:
        parts.append("local noise statistics that differ from the rest of the image (Splicebuster)")
    return "; ".join(parts)


HEVC_FORMATS = ("HEIF", "HEIC", "AVIF")  # decoded by pillow-heif / Pillow: no JPEG tables, another codec
# formats whose pixels are stored as they were (what the never-compressed score was calibrated on);
# others (WebP, JPEG 2000, HEIF, AVIF: lossy, or not told apart from lossy here) smooth the very detail
# the retouching traces read
LOSSLESS_FORMATS = ("PNG", "TIFF", "BMP", "PPM", "TGA")
LOSSLESS_WORDS = "PNG, TIFF, BMP, PPM/PGM, TGA"
_LOSSY_TIFF = ("jpeg", "tiff_jpeg", "webp")  # TIFF compressions (Pillow's names) that lose detail


def stored_losslessly(evidence) -> bool:
    """Whether the file keeps its pixels as they were: a lossless format, and a TIFF not compressed
    with JPEG or WebP inside (the codec evidence intake recorded; for evidence made without it, read
    from the file's header)."""
    fmt = str(getattr(evidence, "format", "")).upper()
    if fmt not in LOSSLESS_FORMATS:
        return False
    if fmt != "TIFF":
        return True
    codec = str(getattr(evidence, "compression", "") or "")
    if not codec and getattr(evidence, "raw", b""):
        import io

        from PIL import Image

        try:
            with Image.open(io.BytesIO(evidence.raw)) as im:
                codec = str(im.info.get("compression", "raw"))
        except Exception:  # noqa: BLE001 - it decoded once already; unreadable here: say less
            return False
    return codec.lower() not in _LOSSY_TIFF


class FusionEngine:
    """ADQ + Splicebuster + copy-move, fused (the weight-free default)."""

    name = "fusion"
    # 1.6.0: a block holding a clipped pixel is read from its unclipped neighbours (jpeg_history.readable_blocks)
    # instead of left out, and no longer raises them; the pooled score refitted on these statistics;
    # 1.5.0: never-compressed images (PNG, TIFF, BMP): copied patches and too-smooth areas (retouch.py), a score
    # calibrated on never-compressed forgeries (the JPEG path unchanged);
    # 1.4.1: the score refitted on 1.4's statistics of casia-dev and all eight re-shared copies (the map unchanged);
    # 1.4: the double-compression gain a small image (under 1536 blocks) reaches by chance is taken off
    # (adq.chance_gain); 1.3: a block is compared with the majority at its own amount of evidence
    # (jpeg_history.expected_llr);
    # 1.2: compression history layer by layer, relative once-compressed map, score with the marked share,
    # pooled calibration
    version = "1.6.0"
    requires_weights = False
    OPTIONS: tuple[str, ...] = ()
    DEFAULTS: dict[str, Any] = {**adq.AdqEngine.DEFAULTS, "noise_cap": 0.5, "copymove": True,
                                "copymove_weight": 0.2, "duplicates_weight": 1.0}

    def analyze(self, evidence, params: dict[str, Any] | None = None,
                progress: base.ProgressFn | None = None, cancel: base.CancelFn | None = None) -> base.AnalysisResult:
        from trufor_desk.engines.classical.copymove import CopyMoveEngine
        from trufor_desk.engines.classical.splicebuster import SplicebusterEngine

        ck = base.Checkpoint(progress, cancel)
        t0 = time.perf_counter()
        p = base.resolve_params(self.name, self.DEFAULTS, params)
        timings: dict[str, float] = {}
        notes: list[str] = []

        h, w = evidence.rgb.shape[:2]
        # The three detectors run side by side: Splicebuster and copy-move in threads of their own
        # while this thread reads the compression history (their heavy parts -- numpy, OpenCV --
        # release the GIL).  Copy-move needs the history only at its end, to tell which copy was
        # pasted, and waits for it there.  Each detector computes exactly what it computes alone,
        # so the result does not depend on the order they finish in.  Progress is reported by
        # this thread only (it stays monotonic); every detector checks ``cancel``.
        hist_ready: Future = Future()

        def splicebuster() -> tuple[base.AnalysisResult, float]:
            t = time.perf_counter()
            return SplicebusterEngine().analyze(evidence, cancel=cancel), time.perf_counter() - t

        def copymove():
            t = time.perf_counter()
            finding = CopyMoveEngine().find(evidence, cancel=cancel,
                                            once_map=lambda: hist_ready.result().last_save_single(h, w))
            return finding, time.perf_counter() - t

        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fusion") as pool:
            # noise_cap 0: no weight at any presence, so Splicebuster is not computed
            sb_job = pool.submit(splicebuster) if float(p["noise_cap"]) > 0 else None
            cm_job = pool.submit(copymove) if p["copymove"] else None
            t = time.perf_counter()
            try:  # whatever stops this thread must reach copy-move's wait, or the pool never closes
                ck.step(0.0, "fusion: compression history")
                hist = jpeg_history.read_history(evidence, p, step=ck.sub(0.0, 0.6).step)
            except BaseException as exc:
                hist_ready.set_exception(exc)
                raise
            hist_ready.set_result(hist)
            timings["adq_s"] = round(time.perf_counter() - t, 3)
            # no JPEG history, pixels stored as they were: the traces a retouch leaves in the pixels themselves
            # (read in this thread while the other two detectors run)
            rt = None
            # (copied patches are clones too: ``copymove`` False switches both off, as the fast triage pass does)
            if not hist.applicable and p["copymove"] and stored_losslessly(evidence):
                ck.step(0.6, "fusion: copied patches and smoothness")
                t = time.perf_counter()
                rt = retouch.find(evidence.rgb, cancel=lambda: ck.step(0.7, "fusion: smoothness"))
                timings["retouch_s"] = round(time.perf_counter() - t, 3)
            sb = None
            if sb_job is not None:
                ck.step(0.6, "fusion: noise statistics")
                sb, sb_s = sb_job.result()
                timings["splicebuster_s"] = round(sb_s, 3)
            cm, cm_raw = None, None
            if cm_job is not None:
                ck.step(0.8, "fusion: copy-move")
                finding, cm_s = cm_job.result()
                cm, cm_raw = finding.result, finding.raw_score
                timings["copymove_s"] = round(cm_s, 3)
        if sb is not None:
            sb_map = sb.localization
            sb_rel = sb.reliability if sb.reliability is not None else np.ones_like(sb_map)
        else:
            sb_map = np.zeros((h, w), np.float32)
            sb_rel = np.zeros((h, w), np.float32)
            notes.append("noise statistics (Splicebuster) switched off (noise_cap 0): the map and its reliability "
                         "rest on the compression history and copy-move")
        ck.step(0.97, "fusion: combining")

        presence = hist.presence if hist.applicable else 0.0
        cap = float(p["noise_cap"]) if hist.applicable or sb is None else 1.0
        w_noise = (1.0 - presence) ** 2 * cap
        w_cm = float(p["copymove_weight"]) if cm is not None else 0.0
        dq_term = hist.once if hist.applicable else np.zeros_like(sb_map)
        noise_term = w_noise * sb_map
        fused = dq_term + noise_term
        cm_sum = 0.0
        if cm is not None and w_cm > 0:
            fused += w_cm * cm.localization
            cm_sum = w_cm * float(cm.localization.sum(dtype=np.float64))
        dup = rt.duplicates.mask if rt is not None and rt.duplicates.applies else None
        w_dup = float(p["duplicates_weight"]) if dup is not None else 0.0
        dup_sum = 0.0
        dup_marked = None  # the copied patches the map marks above 0.5 (what the verdict may name)
        if dup is not None and w_dup > 0 and dup.any():
            # a confirmed copy is marked at its weight; where copy-move verified the clone too, at copy-move's
            # level (1 on the side it judged pasted, 0.6 on its source: the repeated windows cannot tell)
            level = w_dup * dup
            if cm is not None:
                level = level * np.where(cm.localization > 0, cm.localization, 1.0)
            fused = np.maximum(fused, level)
            dup_sum = float(level.sum(dtype=np.float64))
            dup_marked = level > 0.5
        reliability = (hist.reliability if hist.applicable else 0.0) + (1.0 - presence) * sb_rel
        sums = {"adq": float(dq_term.sum(dtype=np.float64)), "splicebuster": float(noise_term.sum(dtype=np.float64)),
                "copymove": cm_sum, "duplicates": dup_sum}
        total = sum(sums.values())
        shares = {k: (v / total if total > 0 else 0.0) for k, v in sums.items()}
        weights = {"adq": presence, "splicebuster": w_noise, "copymove": w_cm, "duplicates": w_dup}

        score, cal = None, None
        feats: dict[str, float] = {}
        if hist.applicable:
            feats = {"log_dq_gain": adq.log_dq_gain(hist.layers[0].gain),
                     "log_once_share": calibration.log_share(hist.once_share)}
            if cm_raw is not None:  # both traces, fitted jointly
                feats["copymove_raw"] = cm_raw
                score, cal = calibration.calibrated_score(self.name, feats)
            else:  # copy-move switched off: the compression-history model alone
                score, cal = calibration.calibrated_score("fusion_history", feats)
            if hist.note:
                notes.append(hist.note)
            notes.append(f"compression history: {hist.description}")
            if presence >= 0.5:
                notes.append("the map is led by blocks compressed fewer times than the rest of the image "
                             "(double quantisation); the noise statistics weigh in only where that history is weak")
            else:
                notes.append("no double-compression history to localise with: the map rests on noise statistics, "
                             f"capped at {cap:.2f} (they alone never reach the 0.5 threshold on a JPEG), and on "
                             "copy-move")
        else:
            notes.append(f"{hist.note}; the map rests on noise statistics (Splicebuster) and copy-move"
                         + ("" if rt is None or not rt.duplicates.applies else ", and on copied patches"))
            if str(getattr(evidence, "format", "")).upper() in HEVC_FORMATS:
                notes.append("a HEIF/HEIC/AVIF photo: its own (HEVC or AV1) compression is not analysed by any "
                             "weight-free detector here, and its pixels carry no earlier JPEG compression to read; "
                             "what applies is the noise statistics and copy-move")
            if rt is None and not p["copymove"]:
                notes.append("no image-level score: the never-compressed score needs copy-move and the copied-patch "
                             "test, switched off (copymove off)")
            elif rt is None:
                notes.append("no image-level score: the score is calibrated for images with a JPEG history and for "
                             f"never-compressed images stored losslessly ({LOSSLESS_WORDS}), not for this file "
                             "(a lossy format, or one not told apart from lossy here, such as WebP)")
            elif not rt.applies:
                notes.append("no image-level score: the never-compressed score is calibrated on photographs")
            else:
                feats = {"copymove_raw": cm_raw, "log_smooth_share": rt.smoothness.log_share,
                         "log_dup_pairs": rt.duplicates.log_pairs}
                score, cal = calibration.calibrated_score("fusion_uncompressed", feats)
            if rt is not None:
                notes.extend(rt.notes())
                if rt.duplicates.applies:
                    d = rt.duplicates
                    notes.append(f"copied patches: {d.pairs} pair{'s' if d.pairs != 1 else ''} of textured 8x8 "
                                 "windows are bit-identical" + (" (marked in the map and the duplicates layer; a "
                                                                "photograph's noise never repeats exactly)"
                                                                if d.pairs else "; none found"))
                if rt.smoothness.applies:
                    notes.append(f"smoothness: the largest area too smooth for its structure covers "
                                 f"{rt.smoothness.share:.1%} of the image (too_smooth layer; flat sky or walls read "
                                 "so too, so it weighs in the score only, never marks the map alone)")
        if cm is not None and cm.localization.max() > 0.5:
            notes.append(f"copy-move: a region cloned within the image was verified (weight {w_cm:.2f} in the map; "
                         "see the copymove layer, and rule out natural repetitions)")
        if sb is not None and not sb.applicable:  # (its "no image-level score" note is about Splicebuster alone)
            notes.extend(f"splicebuster: {n}" for n in sb.notes)

        extras: dict[str, np.ndarray] = {"splicebuster": sb_map} if sb is not None else {}
        if hist.applicable:
            extras["adq_single"] = hist.once
            extras["adq_reliability"] = hist.reliability
        if cm is not None:
            extras["copymove"] = cm.localization
        if rt is not None and rt.duplicates.applies:
            extras["duplicates"] = rt.duplicates.mask.astype(np.float32)
        if rt is not None and rt.smoothness.applies:
            extras["too_smooth"] = rt.smoothness.map
        timings["total_s"] = round(time.perf_counter() - t0, 3)
        ck.step(1.0, "fusion: done")
        prov = base.standard_provenance(
            evidence, method=("Fusion of aligned double quantisation (Bianchi & Piva, TIFS 2012), Splicebuster "
                              "(Cozzolino et al., WIFS 2015) and SIFT copy-move (Amerini et al., TIFS 2011); on "
                              "never-compressed images also exactly repeated patches and too-smooth areas"),
            details={"shares": {k: round(v, 4) for k, v in shares.items()},
                     "weights": {k: round(v, 4) for k, v in weights.items()},
                     "dq_presence": round(presence, 4),
                     "dq_gain": round(hist.layers[0].gain, 4) if hist.layers else 0.0,
                     "primary_steps": adq.describe_primary(hist.layers[0].freqs) if hist.layers else "",
                     "jpeg_quality_estimate": hist.quality, "table_source": hist.table_source,
                     "compression_history": hist.record() if hist.applicable else None,
                     "finding_basis": finding_basis(hist, fused, cm, dup_marked),
                     "retouch": None if rt is None else {
                         "applies": rt.applies, "duplicate_pairs": rt.duplicates.pairs,
                         "textured_windows": rt.duplicates.textured, "duplicates_apply": rt.duplicates.applies,
                         "smooth_share": round(rt.smoothness.share, 6), "smoothness_applies": rt.smoothness.applies,
                         "parameters": {"patch": retouch.PATCH, "min_std": retouch.MIN_STD,
                                        "min_distance": retouch.MIN_DISTANCE, "block": retouch.BLOCK,
                                        "z_low": retouch.Z_LOW, "max_flat_share": retouch.MAX_FLAT_SHARE,
                                        "max_repeat_share": retouch.MAX_REPEAT_SHARE,
                                        "max_tiled_share": retouch.MAX_TILED_SHARE,
                                        "rendered_run": retouch.RENDERED_RUN}},
                     "score_features": {k: round(v, 6) for k, v in feats.items()},
                     "component_versions": {"adq": adq.AdqEngine.version,
                                            "splicebuster": sb.engine_version if sb is not None else "",
                                            "copymove": cm.engine_version if cm is not None else ""}})
        return base.AnalysisResult(
            engine=self.name, engine_version=self.version, localization=np.clip(fused, 0, 1).astype(np.float32),
            reliability=np.clip(reliability, 0, 1).astype(np.float32), score=score, score_calibration=cal,
            extras=extras, params=p, provenance=prov, timings=timings, notes=notes, applicable=True)
