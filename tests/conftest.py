"""Shared fixtures: the parity kit in ../shared, synthetic checkpoints made by the kit's
own generator (cached outside the repository), and small images made here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.c2pa_fixtures import c2pa_files  # noqa: F401 (the signed Content Credentials files, per session)

REPO = Path(__file__).resolve().parents[1]
KIT = REPO.parent / "shared" / "trufor-parity"
PROFILES = {
    # name: (generator arguments, key in measurements.json -> weights_sha256)
    "synthetic": ([], "default"),
    "realnp": (["--noiseprint", "noiseprint++.th"], "default+real_noiseprint"),
    "lnprobe": (["--profile", "lnprobe"], "lnprobe"),
}


def kit_available() -> bool:
    return (KIT / "state_dict_manifest.tsv").is_file()


requires_kit = pytest.mark.skipif(not kit_available(), reason=f"parity kit not found at {KIT}")


@pytest.fixture(scope="session")
def kit() -> Path:
    if not kit_available():
        pytest.skip(f"parity kit not found at {KIT}")
    return KIT


def _cache_dir() -> Path:
    d = Path(os.environ.get("TRUFOR_TEST_CACHE", Path.home() / ".cache" / "trufor-desk-tests"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def synthetic_checkpoint(profile: str) -> Path:
    """Path to the kit checkpoint for ``profile``, generated once and cached.

    The generator prints a digest of every tensor; it must equal the one the kit
    records, so a cached file is only reused if its recorded digest still matches.
    """
    if not kit_available():
        pytest.skip(f"parity kit not found at {KIT}")
    args, digest_key = PROFILES[profile]
    expected = json.loads((KIT / "measurements.json").read_text())["weights_sha256"][digest_key]
    out = _cache_dir() / f"trufor_{profile}.pth.tar"
    marker = out.with_suffix(".json")
    if out.is_file() and marker.is_file():
        rec = json.loads(marker.read_text())
        if rec.get("sha256") == expected and rec.get("size") == out.stat().st_size:
            return out
    proc = subprocess.run([sys.executable, "synthetic_weights.py", "--manifest", "state_dict_manifest.tsv",
                           "--out", str(out), *args], cwd=KIT, capture_output=True, text=True, check=True)
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    assert rec["sha256"] == expected, f"generator digest {rec['sha256']} != kit {expected}"
    rec["size"] = out.stat().st_size
    marker.write_text(json.dumps(rec))
    return out


@pytest.fixture(scope="session")
def synth_weights() -> Path:
    return synthetic_checkpoint("synthetic")


@pytest.fixture(scope="session")
def weights_for():
    return synthetic_checkpoint


def natural_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth colour pattern plus sensor-like noise, uint8 (H, W, 3)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([128 + 60 * np.sin(x / 37 + c) + 40 * np.cos(y / 53 - c) for c in range(3)], -1)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture
def make_png(tmp_path):
    from PIL import Image

    def make(name: str = "img.png", h: int = 96, w: int = 80, seed: int = 0) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(natural_image(h, w, seed)).save(p)
        return p

    return make
