"""The Ray backend in local mode gives the rows and files of the local backend."""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'trufor-desk[cluster]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'ray[data]')")

from tests.batch.test_batch import make_collection, read_csv  # noqa: E402
from trufor_desk.batch import read_results, run_batch  # noqa: E402

KEY = ("path", "sha256", "status", "score", "width", "height", "engine", "params", "error")


@pytest.fixture(scope="module")
def local_ray():
    """One private two-CPU Ray for the module (its start-up is most of the cost)."""
    from trufor_desk.batch.ray_backend import init_local_ray

    if ray.is_initialized():
        ray.shutdown()
    init_local_ray(num_cpus=2)
    yield ray
    ray.shutdown()


def _rows(out):
    return sorted(({k: r[k] for k in KEY} for r in read_results(out)), key=lambda r: r["path"])


def test_ray_backend_gives_the_same_rows_as_local(local_ray, tmp_path):
    src = make_collection(tmp_path)
    local = run_batch([src], tmp_path / "local", engine="noise")
    remote = run_batch([src], tmp_path / "ray", engine="noise", backend="ray", workers=2)
    assert (remote.total, remote.ok, remote.errors) == (local.total, local.ok, local.errors) == (6, 4, 2)
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "local")
    assert read_csv(tmp_path / "ray")[0] == read_csv(tmp_path / "local")[0]
    # same file names for the stored analyses, and the CSV in the same (input) order
    assert sorted(p.name for p in (tmp_path / "ray").glob("*.npz")) == \
        sorted(p.name for p in (tmp_path / "local").glob("*.npz"))
    assert [r["path"] for r in read_csv(tmp_path / "ray")[1]] == [r["path"] for r in read_csv(tmp_path / "local")[1]]
    # the backends share one resume rule: Ray on the local folder has nothing left to analyse
    again = run_batch([src], tmp_path / "local", engine="noise", backend="ray", workers=2)
    assert again.skipped == 4 and again.ok == 4
    assert _rows(tmp_path / "local") == _rows(tmp_path / "ray")


def test_missing_ray_is_one_clear_error(monkeypatch, tmp_path):
    import builtins

    from trufor_desk.errors import UserError

    real_import = builtins.__import__

    def no_ray(name, *a, **k):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    src = make_collection(tmp_path)
    with pytest.raises(UserError, match=r"trufor-desk\[cluster\]"):
        run_batch([src], tmp_path / "out", engine="noise", backend="ray")
    assert not (tmp_path / "out").exists()  # refused before touching the output folder
