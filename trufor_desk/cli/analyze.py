"""``trufor-desk analyze IMAGE...``: run a detector on images and write one ``.npz`` each.

Each result holds the official TruFor keys (map, conf, score, np++, imgsize) plus provenance;
stdout gets one verdict line per image (or one JSON object with ``--json``), and the file's
Content Credentials (C2PA), read offline against ``--c2pa-trust``: a ``c2pa`` object in the
JSON, a line of their own (beside the verdict, never replacing it) in the text output.  A problem with
one image is one ``error: ...`` line on stderr and the other images still run; missing or bad
weights stop the call (every further image would fail the same way).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from trufor_desk.atomic import output_target, save_npz_atomic
from trufor_desk.cli.args import add_c2pa_trust_argument, add_engine_arguments, c2pa_trust_from, engine_from_args
from trufor_desk.cli.messages import error
from trufor_desk.cli.progress import PercentBar
from trufor_desk.errors import UserError


def add_analyze_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    a = subparsers.add_parser("analyze", help="analyse images and write .npz results",
                              description="Analyse images. Each result is an .npz with the official TruFor "
                                          "keys (map, conf, score, np++, imgsize) plus provenance.")
    a.add_argument("images", nargs="+", metavar="IMAGE")
    add_engine_arguments(a)
    a.add_argument("--out", metavar="FILE.npz|DIR",
                   help="output file (one image) or folder; default: the current directory")
    a.add_argument("--json", action="store_true", help="print one JSON object per image on stdout")
    add_c2pa_trust_argument(a)
    return a


def _outputs_for(images: list[str], out: str | None) -> list[Path]:
    """Where each image's .npz goes; refuses stem collisions and evidence overwrites."""
    if out is not None and out.lower().endswith(".npz") and not Path(out).is_dir():
        if len(images) > 1:
            raise UserError(f"--out {out} names one file but {len(images)} images were given; use a folder")
        targets = [Path(out)]
    else:
        folder = Path(out) if out is not None else Path.cwd()
        if folder.exists() and not folder.is_dir():
            raise UserError(f"--out {out}: exists and is not a folder")
        seen: dict[str, str] = {}
        for img in images:
            stem = Path(img).stem
            if stem in seen:
                raise UserError(f"two inputs would write {stem}.npz: {seen[stem]} and {img}; "
                                "rename one or analyse them separately")
            seen[stem] = img
        targets = [folder / f"{Path(img).stem}.npz" for img in images]
    return [output_target(t, images, ".npz") for t in targets]


def run_analyze(args) -> int:
    from trufor_desk.errors import WeightsError
    from trufor_desk.evidence import open_evidence
    from trufor_desk.evidence.provenance import NOT_PROOF, c2pa_json, findings, headline, read_content_credentials

    targets = _outputs_for(args.images, args.out)
    trust = c2pa_trust_from(args)
    engine = engine_from_args(args)
    failures = 0
    for img, target in zip(args.images, targets):
        bar = PercentBar(Path(img).name)
        try:
            ev = open_evidence(img)
            result = engine.analyze(ev, progress=bar)
            bar.close()
            save_npz_atomic(target, result.to_npz_dict())
        except WeightsError as exc:
            bar.close()
            error(exc)
            return 1  # every further image would fail the same way
        except UserError as exc:
            bar.close()
            error(exc)
            failures += 1
            continue
        except OSError as exc:
            bar.close()
            error(f"{target}: cannot write result ({exc.strerror or exc})")
            failures += 1
            continue
        from trufor_desk.verdict.decision import verdict_for_result

        verdict = verdict_for_result(result)  # the verdict of the saved .npz, at the default thresholds
        summary = result.summary()
        summary["output"] = str(target)
        summary["verdict"] = verdict.to_dict()
        credentials = read_content_credentials(ev.raw, trust)  # beside the verdict, never in it
        summary["c2pa"] = c2pa_json(credentials)
        if args.json:
            print(json.dumps(summary, sort_keys=True), flush=True)
        else:
            conf = f", reliability mean {summary['conf_mean']:.3f}" if "conf_mean" in summary else ""
            print(f"{img}: {verdict.headline} [{verdict.score_text}; map mean {summary['map_mean']:.3f}{conf}] "
                  f"-> {target}", flush=True)
            if credentials.state != "none":  # a plain file stays one line; --json always says
                print(f"{img}: Content Credentials: {headline(credentials)}", flush=True)
            for line in findings(credentials):
                print(f"{img}: finding: {line}", flush=True)
            if credentials.state in ("valid", "untrusted"):
                print(f"{img}: note: {NOT_PROOF}", flush=True)
    return 1 if failures else 0
