"""The dataset scripts in scripts/ (make_uncompressed.py, make_reshared.py) on a tiny
synthetic dataset made here; nothing is read from ../shared."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
N_SOURCES = 12          # 6 authentic + 6 hosts: each kind twice (Telea and NS removals)


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def uncompressed():
    return _load("make_uncompressed")


@pytest.fixture(scope="module")
def reshared():
    return _load("make_reshared")


def _photo(rng: np.random.Generator, h: int = 256, w: int = 384) -> np.ndarray:
    """A stand-in photograph: smooth gradients, noise and a few shapes."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w, yy / h, 0.5 + 0.5 * np.sin(xx / 23.0 + yy / 31.0)], axis=-1)
    img = base * rng.uniform(120, 220, 3) + rng.uniform(0, 30, 3)
    for _ in range(4):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(h // 16, h // 4)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
        y0, x0 = rng.integers(0, h - h // 6), rng.integers(0, w - w // 6)
        img[y0:y0 + rng.integers(h // 25, h // 6), x0:x0 + rng.integers(w // 38, w // 6)] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """real/: 12 JPEGs 384x256; fake/ + mask/: 2 JPEGs with masks (for make_reshared)."""
    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    for sub in ("real", "fake", "mask"):
        (root / sub).mkdir()
    for i in range(N_SOURCES):
        Image.fromarray(_photo(rng)).save(root / "real" / f"Au_syn_{i:04d}.jpg", "JPEG", quality=90)
    for i in range(2):
        Image.fromarray(_photo(rng)).save(root / "fake" / f"Sp_syn_{i:04d}.jpg", "JPEG", quality=85)
        mask = np.zeros((256, 384), np.uint8)
        mask[40 + 30 * i:140, 100:220 + 20 * i] = 255
        Image.fromarray(mask).save(root / "mask" / f"Sp_syn_{i:04d}.png")
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- make_uncompressed

@pytest.fixture(scope="module")
def built(uncompressed, dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("unc")
    counts = uncompressed.build(dataset, out)
    return out, counts, json.loads((out / "manifest.json").read_text())


def test_uncompressed_counts_and_layout(built):
    out, counts, manifest = built
    assert counts == {"authentic": 6, "splice": 2, "copymove": 2, "removal": 2, "skipped": 0}
    assert manifest["counts"] == counts
    fakes = sorted(p.name for p in (out / "fake").iterdir())
    assert fakes == sorted(p.name for p in (out / "mask").iterdir())
    assert len(fakes) == 6 and len(list((out / "real").iterdir())) == 6
    kinds = {e["kind"] for e in manifest["files"]}
    assert kinds == {"authentic", "splice", "copymove", "removal"}
    methods = sorted(e["params"]["method"] for e in manifest["files"] if e["kind"] == "removal")
    assert methods == ["ns", "telea"]


def test_uncompressed_images_and_masks(built):
    out, _, manifest = built
    for p in sorted((out / "real").iterdir()) + sorted((out / "fake").iterdir()):
        with Image.open(p) as im:
            assert im.format == "PNG" and im.mode == "RGB"
            assert im.size in {(192, 128), (128, 85), (96, 64)}   # 384x256 / 2, 3, 4
    for e in manifest["files"]:
        if e["kind"] == "authentic":
            assert e["mask"] is None
            continue
        with Image.open(out / e["image"]) as im, Image.open(out / e["mask"]) as m:
            assert m.format == "PNG" and m.mode == "L" and m.size == im.size == tuple(e["size"])
            mask = np.asarray(m)
        assert set(np.unique(mask)) == {0, 255}
        frac = (mask == 255).mean()
        assert 0.01 <= frac <= 0.40, (e["image"], frac)
        x, y, w, h = e["region"]
        assert w >= 24 and h >= 24
        ys, xs = np.nonzero(mask)
        assert [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1] == [x, y, w, h]


def test_uncompressed_manifest_sources(built, dataset):
    _, _, manifest = built
    names = sorted(p.name for p in (dataset / "real").iterdir())
    real = {e["sources"][0] for e in manifest["files"] if e["kind"] == "authentic"}
    hosts = {e["sources"][0] for e in manifest["files"] if e["kind"] != "authentic"}
    assert real.isdisjoint(hosts)
    assert real == set(names[0::2]) and hosts == set(names[1::2])
    for e in manifest["files"]:
        assert set(e["downscale"]) == set(e["sources"]) and set(e["downscale"].values()) <= {2, 3, 4}
        if e["kind"] == "splice":
            host, donor = e["sources"]
            assert donor != host and donor in names
            assert 0.7 <= e["params"]["scale"] <= 1.4
        if e["kind"] == "copymove":
            p = e["params"]
            assert -10 <= p["angle"] <= 10 and 0.9 <= p["scale"] <= 1.1
            sx, sy, sw, sh = p["source_region"]
            x, y, w, h = e["region"]     # the destination: the only part in the mask
            assert x + w <= sx or sx + sw <= x or y + h <= sy or sy + sh <= y


def test_uncompressed_removal_changes_only_the_mask(uncompressed, built, dataset):
    out, _, manifest = built
    for e in manifest["files"]:
        if e["kind"] != "removal":
            continue
        host = e["sources"][0]
        orig, _ = uncompressed.load_source(dataset / "real" / host)
        fake = np.asarray(Image.open(out / e["image"]))
        mask = np.asarray(Image.open(out / e["mask"])) == 255
        assert np.array_equal(fake[~mask], orig[~mask])
        assert not np.array_equal(fake[mask], orig[mask])


def test_uncompressed_is_deterministic(uncompressed, built, dataset, tmp_path):
    out, _, _ = built
    uncompressed.build(dataset, tmp_path / "again")
    assert _files(tmp_path / "again") == _files(out)


def test_exemplar_fill_fills_only_the_hole(uncompressed):
    rng = np.random.default_rng(1)
    img = _photo(rng, 96, 128)
    hole = np.zeros((96, 128), bool)
    hole[30:60, 40:75] = True
    filled = uncompressed.exemplar_fill(img, hole)
    assert np.array_equal(filled[~hole], img[~hole])
    assert not np.array_equal(filled[hole], img[hole])
    again = uncompressed.exemplar_fill(img, hole)
    assert np.array_equal(again, filled)


def test_uncompressed_limit_and_small_host(uncompressed, tmp_path, capsys):
    data = tmp_path / "data"
    (data / "real").mkdir(parents=True)
    rng = np.random.default_rng(2)
    Image.fromarray(_photo(rng)).save(data / "real" / "a.jpg", "JPEG", quality=90)
    Image.fromarray(_photo(rng, 40, 60)).save(data / "real" / "b_tiny.jpg", "JPEG", quality=90)
    Image.fromarray(_photo(rng)).save(data / "real" / "c.jpg", "JPEG", quality=90)
    assert uncompressed.main([str(data), "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "b_tiny.jpg" in captured.err and "too small" in captured.err
    assert "skipped: 1" in captured.out
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"] == {"authentic": 2, "splice": 0, "copymove": 0, "removal": 0, "skipped": 1}
    assert [s["source"] for s in manifest["skipped"]] == ["b_tiny.jpg"]
    counts = uncompressed.build(data, tmp_path / "one", limit=1)
    assert counts["authentic"] == 1 and sum(counts.values()) == 1


def test_uncompressed_needs_real(uncompressed, tmp_path, capsys):
    assert uncompressed.main([str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "real/" in err and "\n" not in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- make_reshared

@pytest.fixture(scope="module")
def reshared_out(reshared, dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("reshared")
    counts = reshared.build(dataset, out, list(reshared.CONDITIONS))
    return out, counts


def test_reshared_same_counts_per_condition(reshared, reshared_out):
    out, counts = reshared_out
    assert counts == {c: 2 + N_SOURCES for c in reshared.CONDITIONS}
    for cond in reshared.CONDITIONS:
        assert len(list((out / cond / "fake").iterdir())) == 2
        assert len(list((out / cond / "mask").iterdir())) == 2
        assert len(list((out / cond / "real").iterdir())) == N_SOURCES


def test_reshared_crop_offsets(reshared, reshared_out, dataset):
    for i in range(200):
        dy, dx = reshared.crop_offsets(f"x{i}.jpg")
        assert 1 <= dy <= 7 and 1 <= dx <= 7
    out, _ = reshared_out
    for f in sorted((dataset / "fake").iterdir()):
        dy, dx = reshared.crop_offsets(f.name)
        with Image.open(out / "crop_resave90" / "fake" / f"{f.stem}.jpg") as im, \
                Image.open(out / "crop_resave90" / "mask" / f"{f.stem}.png") as m:
            assert im.size == (384 - dx, 256 - dy)
            assert m.size == im.size
            cropped = np.asarray(m)
        with Image.open(dataset / "mask" / f"{f.stem}.png") as m0:
            assert np.array_equal(cropped, np.asarray(m0)[dy:, dx:])
    for cond in ("resave95", "down75_resave75"):
        for f in sorted((out / cond / "fake").iterdir()):
            with Image.open(f) as im, Image.open(out / cond / "mask" / f"{f.stem}.png") as m:
                assert m.size == im.size


def test_reshared_extra_copies(reshared, reshared_out, dataset):
    from trufor_desk.engines.classical._jpeg_common import estimate_quality, jpeg_tables

    out, _ = reshared_out
    f = sorted((dataset / "real").iterdir())[0]
    twice = (out / "twice85_75" / "real" / f"{f.stem}.jpg").read_bytes()
    once = (out / "resave75" / "real" / f"{f.stem}.jpg").read_bytes()
    assert twice != once  # the save at 85 in between changed the pixels
    for data in (twice, once):
        assert abs(estimate_quality(jpeg_tables(data)["luma_q"]) - 75) <= 1
    with Image.open(out / "down50_resave80" / "real" / f"{f.stem}.jpg") as im:
        assert im.size == (192, 128)
    g = sorted((dataset / "fake").iterdir())[0]
    dy, dx = reshared.crop_offsets(g.name)
    with Image.open(out / "crop_resave75" / "fake" / f"{g.stem}.jpg") as im:
        assert im.size == (384 - dx, 256 - dy)


def test_reshared_is_deterministic(reshared, reshared_out, dataset, tmp_path):
    out, _ = reshared_out
    reshared.build(dataset, tmp_path, list(reshared.CONDITIONS))
    assert _files(tmp_path) == _files(out)


def test_reshared_needs_fake(reshared, tmp_path, capsys):
    (tmp_path / "real").mkdir()
    assert reshared.main([str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "fake/" in err and "\n" not in err
