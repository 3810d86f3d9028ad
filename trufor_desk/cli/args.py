"""Command-line options shared by the commands that run an engine (analyze, batch, report, case)."""

from __future__ import annotations

import argparse


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    """--engine, --weights, --device and --precision, with one meaning everywhere."""
    from trufor_desk.engines.registry import DEFAULT_WEIGHT_FREE, engine_names

    p.add_argument("--engine", default=None, choices=engine_names(),
                   help="detector (default: trufor when weights are installed, else "
                        f"{DEFAULT_WEIGHT_FREE}, which needs no weights)")
    p.add_argument("--weights", metavar="PATH", default=None,
                   help="TruFor checkpoint (default: $TRUFOR_WEIGHTS, then the installed copy)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"),
                   help="TruFor arithmetic: fp32 (default, exact); bf16 (CPU/GPU) and fp16 (GPU) are faster "
                        "and approximate")
    p.add_argument("--band-tokens", type=int, default=None, metavar="N",
                   help="advanced: tokens per band in TruFor's full-resolution stages (memory/speed trade-off)")


def engine_options(args: argparse.Namespace) -> dict:
    """The options :func:`add_engine_arguments` parsed, as ``create_engine`` takes them."""
    return {"weights": args.weights, "device": args.device, "precision": args.precision,
            "band_tokens": getattr(args, "band_tokens", None)}


def engine_from_args(args: argparse.Namespace):
    """The engine every command that analyses builds from the same options (analyze, report,
    case add): the one named, else TruFor when weights resolve, else the weight-free default."""
    from trufor_desk.engines.registry import create_engine, default_engine

    return create_engine(args.engine or default_engine(args.weights), **engine_options(args))


def add_c2pa_trust_argument(p: argparse.ArgumentParser) -> None:
    """--c2pa-trust FILE: the PEM bundle of trust anchors for Content Credentials (none by default)."""
    p.add_argument("--c2pa-trust", metavar="FILE.pem", default=None,
                   help="PEM bundle of CA certificates trusted to sign Content Credentials (C2PA); without it, "
                        "a valid signature is reported as valid but not trusted. Nothing is fetched from the "
                        "network")


def c2pa_trust_from(args: argparse.Namespace):
    """The :class:`~trufor_desk.evidence.provenance.TrustList` named by --c2pa-trust, or None
    (a bad file is one UserError line, before any analysis)."""
    path = getattr(args, "c2pa_trust", None)
    if not path:
        return None
    from trufor_desk.evidence.provenance import load_trust_list

    return load_trust_list(path)
