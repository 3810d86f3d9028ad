"""Every engine tells the same provenance story (issue 11, section 2).

Each registered engine (iterated from the registry, so an engine added later is covered
without touching this file) analyses the same small JPEG; its ``.npz`` is written with
``np.savez`` and read back with ``allow_pickle=False``.  Every one must carry exactly the
``prov_*`` keys of :data:`PROVENANCE_KEYS`, as strings, with the image's digests and the
versions of the libraries that computed it.  TruFor runs on the parity kit's synthetic
weights and is skipped, saying so, where the kit is absent.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import kit_available, natural_image
from trufor_desk import __version__
from trufor_desk.engines.base import PROVENANCE_KEYS, AnalysisResult, add_details, standard_provenance
from trufor_desk.engines.registry import ENGINES, create_engine, is_available
from trufor_desk.evidence import open_evidence

EXPECTED = {f"prov_{k}" for k in PROVENANCE_KEYS}
VERSIONS = ("app_version", "python_version", "numpy_version", "scipy_version", "opencv_version",
            "pillow_version")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("provenance") / "scene.jpg"
    Image.fromarray(natural_image(96, 128, seed=11)).save(path, "JPEG", quality=90)
    return path


@pytest.fixture(scope="module")
def stored(image, tmp_path_factory, request):
    """Engine name -> (result, arrays of its .npz reloaded without pickle), computed once."""
    cache: dict[str, tuple[AnalysisResult, dict[str, np.ndarray]]] = {}
    out = tmp_path_factory.mktemp("npz")

    def get(name: str):
        if name not in cache:
            info = ENGINES[name]
            if not is_available(name):
                pytest.skip(f"engine {name!r} is registered but its module is not in this build")
            options = {}
            if info.requires_weights:
                if not kit_available():
                    pytest.skip(f"{name}: needs weights; the parity kit's synthetic weights are not here")
                options = {"weights": request.getfixturevalue("synth_weights"), "device": "cpu"}
            result = create_engine(name, **options).analyze(open_evidence(image))
            np.savez(out / f"{name}.npz", **result.to_npz_dict())
            with np.load(out / f"{name}.npz", allow_pickle=False) as z:
                cache[name] = (result, {k: z[k] for k in z.files})
        return cache[name]

    return get


@pytest.mark.parametrize("name", list(ENGINES))
def test_engine_npz_has_exactly_the_standard_provenance(name, stored, image):
    _, arrays = stored(name)
    prov_keys = {k for k in arrays if k.startswith("prov_")}
    assert prov_keys == EXPECTED, (f"{name}: missing {sorted(EXPECTED - prov_keys)}, "
                                   f"unexpected {sorted(prov_keys - EXPECTED)}")
    for key in prov_keys:
        assert arrays[key].dtype.kind == "U" and arrays[key].ndim == 0, key  # strings, "" when n/a
    data = image.read_bytes()
    assert str(arrays["prov_image_sha256"]) == hashlib.sha256(data).hexdigest()
    assert str(arrays["prov_image_md5"]) == hashlib.md5(data).hexdigest()
    assert str(arrays["prov_image_path"]) == str(image)
    assert str(arrays["prov_image_format"]) == "JPEG"
    assert str(arrays["prov_decoder"]).startswith("Pillow ")
    for key in VERSIONS:
        assert str(arrays[f"prov_{key}"]), f"{name}: prov_{key} is empty"
    assert str(arrays["prov_app_version"]) == __version__
    if importlib.util.find_spec("torch") is not None:
        assert str(arrays["prov_torch_version"])
    assert str(arrays["prov_method"]), f"{name}: no method reference"
    assert str(arrays["prov_device"]) and str(arrays["prov_platform"])
    details = str(arrays["prov_engine_details_json"])
    assert details == "" or isinstance(json.loads(details), dict)


@pytest.mark.parametrize("name", list(ENGINES))
def test_weights_keys_say_whether_weights_were_used(name, stored):
    result, arrays = stored(name)
    sha, precision = str(arrays["prov_weights_sha256"]), str(arrays["prov_precision"])
    if ENGINES[name].requires_weights:
        assert len(sha) == 64 and precision in ("fp32", "bf16", "fp16")
        assert str(arrays["prov_weights_verified"]) in ("true", "false")
    else:
        assert sha == "" and precision == "" and str(arrays["prov_weights_path"]) == ""
        assert str(arrays["prov_device"]) == "cpu"


@pytest.mark.parametrize("name", list(ENGINES))
def test_stored_provenance_reads_back_unchanged(name, stored):
    result, arrays = stored(name)
    back = AnalysisResult.from_npz_dict(arrays)
    assert back.provenance == result.provenance
    assert back.engine == result.engine and back.score_calibration == result.score_calibration


def test_all_engines_write_the_same_keys(stored):
    """The same set for every engine, side by side (the registry decides which engines)."""
    sets = {}
    for name in ENGINES:
        if not is_available(name) or (ENGINES[name].requires_weights and not kit_available()):
            continue
        sets[name] = frozenset(k for k in stored(name)[1] if k.startswith("prov_"))
    assert len(sets) >= 2
    assert len(set(sets.values())) == 1, {n: sorted(s ^ frozenset(EXPECTED)) for n, s in sets.items()}


def test_standard_provenance_of_bare_pixels_has_every_key_empty_where_unknown():
    prov = standard_provenance(np.zeros((8, 8, 3), np.uint8))
    assert tuple(prov) == PROVENANCE_KEYS
    assert all(isinstance(v, str) for v in prov.values())
    assert prov["image_sha256"] == prov["image_md5"] == prov["image_path"] == prov["decoder"] == ""
    assert prov["numpy_version"] == np.__version__


def test_details_go_into_one_key():
    prov = standard_provenance(None, details={"keypoints": np.int64(3)})
    add_details(prov, regions=[{"affine": np.eye(2)}])
    assert tuple(prov) == PROVENANCE_KEYS
    assert json.loads(prov["engine_details_json"]) == {"keypoints": 3, "regions": [{"affine": [[1, 0], [0, 1]]}]}


def test_extra_versions_are_recorded_by_distribution_name():
    prov = standard_provenance(None, extra_versions=("numpy", "no-such-distribution-xyz"))
    assert prov["other_versions"] == f"numpy {np.__version__}; no-such-distribution-xyz (not installed)"


def test_recording_versions_imports_nothing_heavy():
    """A weight-free analysis must not pay for importing torch just to name its version."""
    code = ("import sys\nfrom trufor_desk.engines.base import standard_provenance\n"
            "p = standard_provenance(None)\n"
            "print(sorted(m for m in ('torch', 'cv2', 'scipy') if m in sys.modules), bool(p['torch_version']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == "[]", out
    if importlib.util.find_spec("torch") is not None:
        assert out.strip().endswith("True")
