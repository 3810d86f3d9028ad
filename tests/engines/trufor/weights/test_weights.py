"""Checkpoint handling: safe loading, layout checks, install, status, download, CLI.

The real release is not available here, so the tests build checkpoints with the exact
layout of the kit's ``state_dict_manifest.tsv`` (all zeros) plus the training
bookkeeping the released file carries (epoch, a NumPy float64 ``best_value``, an
optimizer dict with NumPy numbers).  Expected hashes are injected, since the real ones
cannot match a synthetic file.  The only network use is a local HTTP server on
127.0.0.1.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections import OrderedDict
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

from trufor_desk.cli import main as cli_main
from trufor_desk.cli import weights as cli_weights
from trufor_desk.engines.trufor import weights as w
from trufor_desk.errors import WeightsError

KIT = Path(__file__).resolve().parents[4].parent / "shared" / "trufor-parity"
MANIFEST = KIT / "state_dict_manifest.tsv"

SMALL_SHAPES = {
    "conv.weight": (4, 3, 3, 3),
    "conv.bias": (4,),
    "bn.running_mean": (4,),
    "bn.num_batches_tracked": (),
}

NUMPY1_NAME = b"numpy.core.multiarray\nscalar"
NUMPY2_NAME = b"numpy._core.multiarray\nscalar"


# --------------------------------------------------------------------------- helpers


def make_state(shapes):
    """Zeros for every key; ``num_batches_tracked`` as the 0-d int64 buffer BN keeps."""
    state = OrderedDict()
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.zeros(shape, dtype=torch.int64)
        else:
            state[key] = torch.zeros(shape, dtype=torch.float32)
    return state


def training_extras():
    """What the TruFor training script writes next to ``state_dict`` (NumPy scalars included)."""
    return {
        "epoch": 81,
        "best_value": np.float64(0.8731),
        "best_key": "avg_f1",
        "optimizer": {
            "state": {},
            "param_groups": [
                {
                    "lr": np.float64(1e-4),
                    "weight_decay": np.float32(0.0),
                    "momentum": 0.9,
                    "nesterov": np.bool_(False),
                    "step": np.int64(12345),
                    "params": [0, 1, 2, 3],
                }
            ],
        },
    }


def save_ckpt(path, state, *, extras=True, legacy=False, **more):
    obj = {"state_dict": state}
    if extras:
        obj.update(training_extras())
    obj.update(more)
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path


def rewrite_as_numpy1(src: Path, dst: Path) -> None:
    """Copy a zip-format checkpoint, renaming the scalar reconstructor as NumPy 1.x pickles it.

    The GLOBAL opcode carries its name as newline-terminated text, so the pickle stays
    valid when the name gets one character shorter.
    """
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("/data.pkl"):
                assert NUMPY2_NAME in data
                data = data.replace(NUMPY2_NAME, NUMPY1_NAME)
            zout.writestr(info.filename, data)


def data_pkl(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith("/data.pkl")]
        return zf.read(name)


def make_release_zip(path: Path, ckpt: Path, member: str = w.ZIP_MEMBER) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(ckpt, member)
        zf.writestr("weights/README.txt", "fake release for tests\n")
    return path


def digests(path: Path) -> dict[str, str]:
    data = Path(path).read_bytes()
    return {"md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}


def zip_member_sha256(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return hashlib.sha256(zf.read(w.ZIP_MEMBER)).hexdigest()


def _touch_marker(path):
    """The 'payload' of the malicious test pickles: harmless, but visible if it ever runs."""
    Path(path).write_text("code ran")
    return 0


class _CallsFunction:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (_touch_marker, (self.marker,))


class _CallsSystem:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'echo x > "{self.marker}"',))


def one_error_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Never read or write the real per-user data folder, never inherit TRUFOR_WEIGHTS."""
    monkeypatch.setenv(w.DATA_DIR_ENV_VAR, str(tmp_path / "data"))
    monkeypatch.delenv(w.ENV_VAR, raising=False)


@pytest.fixture(scope="session")
def manifest_shapes():
    if not MANIFEST.is_file():
        pytest.skip(f"parity kit manifest not found at {MANIFEST}")
    shapes = OrderedDict()
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    assert header[:2] == ["key", "shape"]
    for line in lines[1:]:
        if line.strip():
            key, shape = line.split("\t")[:2]
            shapes[key] = tuple(json.loads(shape))
    assert len(shapes) == 952
    return shapes


@pytest.fixture(scope="session")
def full_ckpts(manifest_shapes, tmp_path_factory):
    """A manifest-shaped 275 MB checkpoint with training extras, and its NumPy-1.x twin.

    Built once per session; deleted afterwards so repeated runs do not pile up GBs.
    """
    folder = tmp_path_factory.mktemp("full")
    modern = save_ckpt(folder / "trufor_like.pth.tar", make_state(manifest_shapes))
    legacy_names = folder / "trufor_like_numpy1.pth.tar"
    rewrite_as_numpy1(modern, legacy_names)
    yield {"numpy2": modern, "numpy1": legacy_names}
    for path in (modern, legacy_names):
        path.unlink(missing_ok=True)


@pytest.fixture
def small_ckpt(tmp_path):
    return save_ckpt(tmp_path / "small.pth.tar", make_state(SMALL_SHAPES))


@pytest.fixture(scope="module")
def http_root(tmp_path_factory):
    """A local HTTP server on 127.0.0.1 serving one folder; shut down after the module."""
    root = tmp_path_factory.mktemp("www")

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def no_proxy(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- module


def test_module_import_does_not_import_torch():
    code = (
        "import sys; import trufor_desk.engines.trufor.weights, trufor_desk.cli.weights; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[4])
    assert out.stdout.strip() == "False"


def test_constants():
    assert w.OFFICIAL_URL == "https://www.grip.unina.it/download/prog/TruFor/TruFor_weights.zip"
    assert w.OFFICIAL_ZIP_MD5 == "7bee48f3476c75616c3c5721ab256ff8"
    assert w.OFFICIAL_ZIP_SHA256 == "953f1f7eda0dd2c5ece322ae9c185ba1079c1265aa5fdf319ef5a20604d206d8"
    assert w.OFFICIAL_CKPT_SHA256 == "ac1d90e329a72e0d66e8665e123a19e94bfae3209c3ef8a4f9ca3b91578c7844"
    assert w.ZIP_MEMBER == "weights/trufor.pth.tar"
    assert w.ENV_VAR == "TRUFOR_WEIGHTS"


def test_installed_dir_honours_data_dir_env(tmp_path):
    assert w.installed_dir() == tmp_path / "data" / "weights"


# --------------------------------------------------------------------------- loading


def test_full_checkpoint_with_training_extras_loads_strictly(full_ckpts, manifest_shapes):
    assert b"epoch" in data_pkl(full_ckpts["numpy2"])
    assert NUMPY2_NAME in data_pkl(full_ckpts["numpy2"])
    state = w.load_checkpoint(full_ckpts["numpy2"], manifest_shapes)
    assert list(state) == list(manifest_shapes)
    assert all(tuple(t.shape) == manifest_shapes[k] for k, t in state.items())
    nbt = state["backbone.FFMs.0.channel_emb.norm.num_batches_tracked"]
    assert nbt.dtype == torch.int64 and nbt.dim() == 0
    assert sum(t.numel() for t in state.values()) == 68_705_510


def test_numpy1_scalar_name_is_accepted(full_ckpts, manifest_shapes):
    pkl = data_pkl(full_ckpts["numpy1"])
    assert NUMPY1_NAME in pkl and b"numpy._core" not in pkl  # really crafted the 1.x name
    state = w.load_checkpoint(full_ckpts["numpy1"], manifest_shapes)
    assert len(state) == 952


def test_legacy_format_with_numpy1_names_loads(tmp_path):
    path = save_ckpt(tmp_path / "legacy.pth.tar", make_state(SMALL_SHAPES), legacy=True)
    raw = path.read_bytes()
    assert not zipfile.is_zipfile(path) and NUMPY2_NAME in raw
    path.write_bytes(raw.replace(NUMPY2_NAME, NUMPY1_NAME))
    state = w.load_checkpoint(path, SMALL_SHAPES)
    assert list(state) == list(SMALL_SHAPES)


def test_bare_state_dict_is_accepted(tmp_path):
    path = tmp_path / "bare.pt"
    torch.save(make_state(SMALL_SHAPES), path)
    assert list(w.load_checkpoint(path, SMALL_SHAPES)) == list(SMALL_SHAPES)


def test_numpy_arrays_are_not_allow_listed(tmp_path):
    path = save_ckpt(tmp_path / "arr.pt", make_state(SMALL_SHAPES), history=np.arange(3))
    with pytest.raises(WeightsError, match=r"not plain data .*_reconstruct"):
        w.load_checkpoint(path)


def test_code_in_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "marker.txt"
    path = save_ckpt(tmp_path / "evil.pt", make_state(SMALL_SHAPES), hook=_CallsFunction(marker))
    with pytest.raises(WeightsError) as info:
        w.load_checkpoint(path, SMALL_SHAPES)
    message = str(info.value)
    assert "refused" in message and "not plain data" in message and "_touch_marker" in message
    assert "\n" not in message
    assert not marker.exists()
    # The payload is live: an unrestricted load would have run it.
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_os_system_in_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "system_marker.txt"
    path = save_ckpt(tmp_path / "evil_system.pt", make_state(SMALL_SHAPES), hook=_CallsSystem(marker))
    with pytest.raises(WeightsError, match=r"refused .*not plain data.*system"):
        w.load_checkpoint(path)
    assert not marker.exists()


def test_refusal_does_not_leak_allow_list(tmp_path):
    before = set(torch.serialization.get_safe_globals())   # a set in torch: its order is not stable
    w.load_checkpoint(save_ckpt(tmp_path / "ok.pt", make_state(SMALL_SHAPES)))
    assert set(torch.serialization.get_safe_globals()) == before


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_truncated_file(tmp_path, legacy):
    src = save_ckpt(tmp_path / "src.pt", make_state(SMALL_SHAPES), legacy=legacy)
    raw = src.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(raw[: len(raw) * 2 // 3])
    with pytest.raises(WeightsError, match="truncated or corrupt"):
        w.load_checkpoint(cut, SMALL_SHAPES)


def test_full_checkpoint_layout_errors(full_ckpts, manifest_shapes):
    shapes = OrderedDict(manifest_shapes)
    dropped = "detection.0.weight"
    del shapes[dropped]  # the file now has a key the "model" lacks
    shapes["extra_head.weight"] = (3,)  # and the "model" wants one the file lacks
    shapes["dncnn.0.weight"] = (64, 1, 3, 3)  # and one shape differs
    with pytest.raises(WeightsError) as info:
        w.load_checkpoint(full_ckpts["numpy2"], shapes)
    message = str(info.value)
    assert "1 missing key (extra_head.weight)" in message
    assert f"1 unexpected key ({dropped})" in message
    assert "dncnn.0.weight: got [64, 3, 3, 3], expected [64, 1, 3, 3]" in message


def test_missing_key(tmp_path):
    state = make_state(SMALL_SHAPES)
    del state["conv.bias"]
    path = save_ckpt(tmp_path / "missing.pt", state)
    with pytest.raises(WeightsError, match=r"1 missing key \(conv\.bias\)"):
        w.load_checkpoint(path, SMALL_SHAPES)
    assert list(w.load_checkpoint(path)) == [k for k in SMALL_SHAPES if k != "conv.bias"]


def test_many_missing_keys_are_counted_and_previewed(tmp_path):
    path = save_ckpt(tmp_path / "few.pt", make_state({"conv.weight": (4, 3, 3, 3)}))
    shapes = dict(SMALL_SHAPES, **{f"layer{i}.weight": (1,) for i in range(10)})
    with pytest.raises(WeightsError, match=r"13 missing keys \(conv\.bias, .*, \.\.\.\)"):
        w.load_checkpoint(path, shapes)


def test_extra_key(tmp_path):
    state = make_state(SMALL_SHAPES)
    state["head.extra"] = torch.zeros(2)
    path = save_ckpt(tmp_path / "extra.pt", state)
    with pytest.raises(WeightsError, match=r"1 unexpected key \(head\.extra\)"):
        w.load_checkpoint(path, SMALL_SHAPES)


def test_misshaped_key(tmp_path):
    shapes = dict(SMALL_SHAPES, **{"conv.bias": (5,)})
    path = save_ckpt(tmp_path / "shape.pt", make_state(shapes))
    with pytest.raises(WeightsError, match=r"1 wrong shape \(conv\.bias: got \[5\], expected \[4\]\)"):
        w.load_checkpoint(path, SMALL_SHAPES)


def test_non_tensor_value_in_state_dict(tmp_path):
    state = make_state(SMALL_SHAPES)
    state["conv.bias"] = [0.0, 0.0, 0.0, 0.0]
    path = save_ckpt(tmp_path / "list.pt", state)
    with pytest.raises(WeightsError, match=r"1 value that is not a tensor \(conv\.bias: list\)"):
        w.load_checkpoint(path, SMALL_SHAPES)


def test_no_state_dict(tmp_path):
    path = tmp_path / "np.th"
    torch.save({"network": make_state(SMALL_SHAPES), "global_step": 39}, path)
    with pytest.raises(WeightsError, match=r"no 'state_dict' entry \(top-level keys: 'network', 'global_step'\)"):
        w.load_checkpoint(path)


def test_state_dict_not_a_mapping(tmp_path):
    path = tmp_path / "odd.pt"
    torch.save({"state_dict": [torch.zeros(1)]}, path)
    with pytest.raises(WeightsError, match="'state_dict' entry is a list"):
        w.load_checkpoint(path)


@pytest.mark.parametrize(
    "content, pattern",
    [
        (os.urandom(4096).replace(b"\x80", b"\x81").replace(b"PK", b"QK"), "not a PyTorch checkpoint"),
        (b"this is a text file, not weights\n", "not a PyTorch checkpoint"),
        (b"", "is empty"),
        (b"\x80\x02garbage that is not a valid pickle stream at all", "truncated or corrupt"),
    ],
    ids=["random", "text", "empty", "bad-pickle"],
)
def test_not_a_checkpoint(tmp_path, content, pattern):
    path = tmp_path / "weights.pth.tar"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=pattern):
        w.load_checkpoint(path, SMALL_SHAPES)


def test_zip_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.txt", "hello")
    with pytest.raises(WeightsError, match="zip archive but not a PyTorch checkpoint"):
        w.load_checkpoint(path)


def test_release_zip_given_to_loader_gets_a_hint(tmp_path, small_ckpt):
    release = make_release_zip(tmp_path / "TruFor_weights.zip", small_ckpt)
    with pytest.raises(WeightsError, match="release zip.*weights install"):
        w.load_checkpoint(release)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        w.load_checkpoint(tmp_path / "nope.pth.tar")
    with pytest.raises(WeightsError, match="not a file"):
        w.load_checkpoint(tmp_path)


# --------------------------------------------------------------------------- install


def test_install_from_release_zip_verified(tmp_path, small_ckpt):
    release = make_release_zip(tmp_path / "TruFor_weights.zip", small_ckpt)
    before = release.read_bytes()
    mtime = release.stat().st_mtime_ns
    d = digests(release)
    record = w.install_weights(
        release,
        expected_zip_md5=d["md5"],
        expected_zip_sha256=d["sha256"],
        expected_ckpt_sha256=digests(small_ckpt)["sha256"],
    )
    installed = w.installed_dir() / "trufor.pth.tar"
    assert installed.read_bytes() == small_ckpt.read_bytes()
    assert release.read_bytes() == before and release.stat().st_mtime_ns == mtime
    assert record["verified"] is True and record["mismatches"] == []
    assert record["sha256"] == digests(small_ckpt)["sha256"]
    assert record["size"] == small_ckpt.stat().st_size
    assert record["source"] == str(release.resolve())
    assert record["zip_md5"] == d["md5"] and record["source_kind"] == "release-zip"
    assert record["installed_at"].endswith("+00:00")
    sidecar = json.loads((w.installed_dir() / "trufor.json").read_text())
    assert sidecar == record
    assert sorted(p.name for p in w.installed_dir().iterdir()) == ["trufor.json", "trufor.pth.tar"]
    assert list(w.load_checkpoint(installed, SMALL_SHAPES)) == list(SMALL_SHAPES)


def test_install_bare_checkpoint_verified(tmp_path, small_ckpt):
    before = small_ckpt.read_bytes()
    dest = tmp_path / "elsewhere"
    record = w.install_weights(small_ckpt, expected_ckpt_sha256=digests(small_ckpt)["sha256"], dest_dir=dest)
    assert record["verified"] is True and record["source_kind"] == "checkpoint"
    assert (dest / "trufor.pth.tar").read_bytes() == before
    assert small_ckpt.read_bytes() == before
    assert "zip_md5" not in record


def test_install_zip_hash_mismatch_refused_then_forced(tmp_path, small_ckpt):
    release = make_release_zip(tmp_path / "TruFor_weights.zip", small_ckpt)
    before = release.read_bytes()
    with pytest.raises(WeightsError) as info:
        w.install_weights(release)  # official hashes cannot match the fake release
    message = str(info.value)
    assert "not the published TruFor release" in message
    assert f"zip MD5 is {digests(release)['md5']}, expected {w.OFFICIAL_ZIP_MD5}" in message
    assert "--force" in message and "\n" not in message
    assert not (w.installed_dir() / "trufor.pth.tar").exists()
    assert not any(w.installed_dir().iterdir())  # no temp files left behind

    record = w.install_weights(release, force=True)
    assert record["verified"] is False
    assert len(record["mismatches"]) == 3  # zip MD5, zip SHA-256, checkpoint SHA-256
    assert (w.installed_dir() / "trufor.pth.tar").read_bytes() == small_ckpt.read_bytes()
    assert json.loads((w.installed_dir() / "trufor.json").read_text())["verified"] is False
    assert release.read_bytes() == before


def test_install_checkpoint_hash_mismatch_refused_then_forced(tmp_path, small_ckpt):
    with pytest.raises(WeightsError, match=r"checkpoint SHA-256 is [0-9a-f]{64}, expected 0{64}"):
        w.install_weights(small_ckpt, expected_ckpt_sha256="0" * 64)
    assert not (w.installed_dir() / "trufor.pth.tar").exists()
    record = w.install_weights(small_ckpt, expected_ckpt_sha256="0" * 64, force=True)
    assert record["verified"] is False
    assert (w.installed_dir() / "trufor.pth.tar").exists()


def test_install_replaces_previous_copy(tmp_path, small_ckpt):
    w.install_weights(small_ckpt, force=True)
    other = save_ckpt(tmp_path / "other.pt", make_state(SMALL_SHAPES), extras=False)
    record = w.install_weights(other, expected_ckpt_sha256=digests(other)["sha256"])
    assert (w.installed_dir() / "trufor.pth.tar").read_bytes() == other.read_bytes()
    assert record["verified"] is True


def test_install_refuses_broken_checkpoint_even_with_matching_hash(tmp_path):
    bad = tmp_path / "bad.pth.tar"
    bad.write_bytes(b"not weights at all")
    with pytest.raises(WeightsError, match="not a PyTorch checkpoint"):
        w.install_weights(bad, expected_ckpt_sha256=digests(bad)["sha256"], force=True)
    assert not any(w.installed_dir().iterdir())


def test_install_refuses_unsafe_checkpoint(tmp_path):
    marker = tmp_path / "marker.txt"
    evil = save_ckpt(tmp_path / "evil.pt", make_state(SMALL_SHAPES), hook=_CallsFunction(marker))
    with pytest.raises(WeightsError, match="refused"):
        w.install_weights(evil, force=True)
    assert not marker.exists()
    assert not (w.installed_dir() / "trufor.pth.tar").exists()


def test_install_zip_without_member(tmp_path, small_ckpt):
    other = make_release_zip(tmp_path / "other.zip", small_ckpt, member="trufor.pth.tar")
    with pytest.raises(WeightsError, match="zip archive without weights/trufor.pth.tar"):
        w.install_weights(other, force=True)


def test_install_truncated_release_zip(tmp_path, small_ckpt):
    release = make_release_zip(tmp_path / "TruFor_weights.zip", small_ckpt)
    cut = tmp_path / "TruFor_weights_cut.zip"
    cut.write_bytes(release.read_bytes()[:-200])  # like an interrupted download
    with pytest.raises(WeightsError, match="truncated or corrupt"):
        w.install_weights(cut, force=True)
    assert not any(w.installed_dir().iterdir())


def test_install_missing_source(tmp_path):
    with pytest.raises(WeightsError, match="file not found"):
        w.install_weights(tmp_path / "nothing.zip")


# --------------------------------------------------------------------------- resolve / status


def test_resolution_order(tmp_path, monkeypatch, small_ckpt):
    assert w.resolve_weights(None) == (None, "none")
    w.install_weights(small_ckpt, force=True)
    installed = w.installed_dir() / "trufor.pth.tar"
    assert w.resolve_weights(None) == (installed, "installed")
    env_file = save_ckpt(tmp_path / "env.pt", make_state(SMALL_SHAPES))
    monkeypatch.setenv("TRUFOR_WEIGHTS", str(env_file))
    assert w.resolve_weights(None) == (env_file, "TRUFOR_WEIGHTS")
    assert w.resolve_weights(str(small_ckpt)) == (small_ckpt, "--weights")


def test_named_path_that_does_not_exist(tmp_path, monkeypatch, small_ckpt):
    w.install_weights(small_ckpt, force=True)  # must not silently fall back to it
    missing = tmp_path / "missing.pth.tar"
    with pytest.raises(WeightsError, match=f"--weights not found: {missing}"):
        w.resolve_weights(str(missing))
    monkeypatch.setenv("TRUFOR_WEIGHTS", str(missing))
    with pytest.raises(WeightsError, match=r"\$TRUFOR_WEIGHTS not found"):
        w.resolve_weights(None)


def test_status_not_installed():
    status = w.weights_status()
    assert status["path"] is None and status["source"] == "none"
    assert status["exists"] is False and status["verified"] is False
    assert status["state"] == "not installed"


def test_status_reports_full_sha256(small_ckpt):
    w.install_weights(small_ckpt, force=True)
    status = w.weights_status()
    assert status["source"] == "installed" and status["exists"] is True
    assert status["sha256"] == digests(small_ckpt)["sha256"] and len(status["sha256"]) == 64
    assert status["size"] == small_ckpt.stat().st_size
    assert status["verified"] is False
    assert status["state"] == "unverified: SHA-256 differs from the official release"
    assert status["record"]["source"] == str(small_ckpt.resolve())

    explicit = w.weights_status(str(small_ckpt))
    assert explicit["source"] == "--weights" and explicit["path"] == str(small_ckpt)
    assert "record" not in explicit


def test_status_verified_when_hash_matches(monkeypatch, small_ckpt):
    monkeypatch.setattr(w.status, "OFFICIAL_CKPT_SHA256", digests(small_ckpt)["sha256"])  # read there
    status = w.weights_status(str(small_ckpt))
    assert status["verified"] is True and status["state"] == "verified official release"


# --------------------------------------------------------------------------- download


def test_download_success(http_root, no_proxy, tmp_path, small_ckpt):
    root, base = http_root
    release = make_release_zip(root / "TruFor_weights.zip", small_ckpt)
    d = digests(release)
    seen = []
    record = w.download_weights(
        f"{base}/TruFor_weights.zip",
        expected_zip_md5=d["md5"],
        expected_zip_sha256=d["sha256"],
        expected_ckpt_sha256=zip_member_sha256(release),
        progress=lambda done, total: seen.append((done, total)),
        timeout=10,
    )
    assert record["verified"] is True and record["source"] == f"{base}/TruFor_weights.zip"
    assert record["zip_sha256"] == d["sha256"]
    assert (w.installed_dir() / "trufor.pth.tar").read_bytes() == small_ckpt.read_bytes()
    assert seen[0] == (0, release.stat().st_size)
    assert seen[-1] == (release.stat().st_size, release.stat().st_size)
    assert sorted(p.name for p in w.installed_dir().iterdir()) == ["trufor.json", "trufor.pth.tar"]


def test_download_md5_mismatch_refused(http_root, no_proxy, small_ckpt):
    root, base = http_root
    release = make_release_zip(root / "TruFor_weights.zip", small_ckpt)
    d = digests(release)
    with pytest.raises(WeightsError) as info:
        w.download_weights(
            f"{base}/TruFor_weights.zip",
            expected_zip_md5="0" * 32,
            expected_zip_sha256=d["sha256"],
            expected_ckpt_sha256=zip_member_sha256(release),
            timeout=10,
        )
    assert f"MD5 is {d['md5']}, expected {'0' * 32}" in str(info.value)
    assert "nothing installed" in str(info.value)
    assert not any(w.installed_dir().iterdir())  # temp download removed too


def test_download_http_404_is_one_line(http_root, no_proxy):
    _, base = http_root
    with pytest.raises(WeightsError) as info:
        w.download_weights(f"{base}/missing.zip", timeout=10)
    message = str(info.value)
    assert message.startswith("download failed: HTTP 404") and "\n" not in message
    assert not any(w.installed_dir().iterdir())


def test_download_rejects_non_http_url(tmp_path):
    with pytest.raises(WeightsError, match="only http"):
        w.download_weights(f"file://{tmp_path}/x.zip")


# --------------------------------------------------------------------------- CLI


def test_cli_install_bad_file_prints_one_error(tmp_path, capsys):
    bad = tmp_path / "bad.pth.tar"
    bad.write_text("definitely not a checkpoint\n")
    rc = cli_main(["weights", "install", str(bad)])
    captured = capsys.readouterr()
    assert rc != 0
    line = one_error_line(captured.err)
    assert "not a PyTorch checkpoint" in line
    assert captured.out == ""


def test_cli_install_unverified_without_force_fails(small_ckpt, capsys):
    rc = cli_main(["weights", "install", str(small_ckpt)])
    captured = capsys.readouterr()
    assert rc == 1
    assert "does not contain the official TruFor checkpoint" in one_error_line(captured.err)


def test_cli_install_force_then_status(small_ckpt, capsys):
    assert cli_main(["weights", "install", str(small_ckpt), "--force"]) == 0
    captured = capsys.readouterr()
    assert "installed" in captured.out and "verified: no" in captured.out
    assert captured.err.startswith("warning: ")

    sha = digests(small_ckpt)["sha256"]
    assert cli_main(["weights", "status"]) == 0
    out = capsys.readouterr().out
    assert sha in out and "source:   installed" in out
    assert "unverified: SHA-256 differs from the official release" in out

    assert cli_main(["weights", "status", "--json", "--weights", str(small_ckpt)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["sha256"] == sha and status["source"] == "--weights"


def test_cli_status_not_installed(capsys):
    assert cli_main(["weights", "status"]) == 0
    assert "not installed" in capsys.readouterr().out


def test_cli_status_missing_weights_path(tmp_path, capsys):
    rc = cli_main(["weights", "status", "--weights", str(tmp_path / "gone.pth.tar")])
    assert rc == 1
    assert "not found" in one_error_line(capsys.readouterr().err)


def test_cli_download_404(http_root, no_proxy, capsys):
    _, base = http_root
    rc = cli_main(["weights", "download", "--url", f"{base}/nothing.zip"])
    captured = capsys.readouterr()
    assert rc == 1
    assert "HTTP 404" in one_error_line(captured.err)


def test_cli_download_success_prints_record(http_root, no_proxy, monkeypatch, small_ckpt, capsys):
    root, base = http_root
    release = make_release_zip(root / "TruFor_weights.zip", small_ckpt)
    d = digests(release)
    monkeypatch.setattr(w, "download_weights", functools.partial(
        w.download_weights,
        expected_zip_md5=d["md5"],
        expected_zip_sha256=d["sha256"],
        expected_ckpt_sha256=zip_member_sha256(release),
    ))
    rc = cli_main(["weights", "download", "--url", f"{base}/TruFor_weights.zip"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "verified: yes" in captured.out
    assert captured.err == ""  # stderr is not a terminal: no progress bar


def test_plain_progress_without_tqdm(monkeypatch):
    import io

    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `from tqdm import tqdm` fail
    stream = io.StringIO()
    bar = cli_weights._Progress(stream)
    for done in (0, 1 << 20, 3 << 20, 4 << 20):
        bar(done, 4 << 20)
    bar.close()
    text = stream.getvalue()
    assert "4.0 / 4.0 MiB (100%)" in text and text.endswith("\n")


def test_cli_keeps_a_global_weights_option():
    """A --weights set on the main parser must survive the status subparser's defaults."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--weights")
    sub = parser.add_subparsers(dest="command")
    cli_weights.add_weights_parser(sub)
    args = parser.parse_args(["--weights", "x.pth", "weights", "status"])
    assert args.weights == "x.pth" and args.command == "weights" and args.weights_command == "status"


def test_a_checkpoint_that_is_not_the_release_is_refused_with_a_typed_error(tmp_path):
    """The window asks before forcing it: it branches on the type, not on the message's words."""
    from trufor_desk.errors import NotOfficialWeights

    with pytest.raises(NotOfficialWeights) as info:
        w.install_weights(save_ckpt(tmp_path / "tuned.pth.tar", make_state(SMALL_SHAPES)),
                          expected_ckpt_sha256="0" * 64, dest_dir=tmp_path / "data")
    assert "--force" in str(info.value) and "--force" not in info.value.reason
