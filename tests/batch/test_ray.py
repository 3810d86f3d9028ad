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


def test_ray_triage_gives_the_rows_of_local_triage(local_ray, tmp_path):
    from tests.batch.test_triage import make_triage_images

    src = make_triage_images(tmp_path / "in", singles=(1,))
    kw = dict(triage=True, triage_top=0.0, triage_promote=("indicated",))
    local = run_batch([src], tmp_path / "local", **kw)
    remote = run_batch([src], tmp_path / "ray", backend="ray", workers=2, **kw)
    assert (remote.triage.by_verdict, remote.triage.by_rank) == (local.triage.by_verdict, local.triage.by_rank) \
        == (2, 0)
    key = (*KEY, "analysis", "triage_score", "triage_verdict", "verdict")
    rows = [sorted(({k: r[k] for k in key} for r in read_results(tmp_path / d)), key=lambda r: r["path"])
            for d in ("local", "ray")]
    assert rows[0] == rows[1]
    assert sorted(r["analysis"] for r in rows[1]) == ["full", "full"] + ["triage (compression history only)"] * 2
    again = run_batch([src], tmp_path / "local", backend="ray", workers=2, **kw)
    assert again.skipped == 4


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


# What Ray 2.60 raised, verbatim (traceback lines shortened), when this driver joined a cluster
# started with RAY_AUTH_MODE=token without giving it the token: a ConnectionError that names
# only the address, raised from the GCS client's RuntimeError that carries the reason.
_GCS_REFUSAL = (
    "Failed to connect to GCS. Last connection error: Traceback (most recent call last):\n"
    '  File "python/ray/includes/common.pxi", line 119, in ray._raylet.check_status\n'
    "ray.exceptions.AuthenticationError: RPC error: InvalidAuthToken: Authentication token is missing "
    "or incorrect. Note: RAY_AUTH_MODE is currently 'disabled' (not 'token'). Ensure that the token for "
    "the cluster is available in a local file (e.g., ~/.ray/auth_token or via RAY_AUTH_TOKEN_PATH) or as "
    "the `RAY_AUTH_TOKEN` environment variable.\n")


def _refused_by_token_auth(**kwargs):
    try:
        raise RuntimeError(_GCS_REFUSAL)
    except RuntimeError as exc:
        raise ConnectionError(f"Failed to connect to Ray cluster at {kwargs.get('address')}") from exc


def _fail_ray_init(monkeypatch, init):
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    for name in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)


def test_a_cluster_that_wants_a_token_says_how_to_give_it(monkeypatch, tmp_path):
    from trufor_desk.errors import UserError

    _fail_ray_init(monkeypatch, _refused_by_token_auth)
    src = make_collection(tmp_path)
    with pytest.raises(UserError) as info:
        run_batch([src], tmp_path / "out", engine="noise", backend="ray", ray_address="10.0.0.7:6379")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("cannot reach the Ray cluster at 10.0.0.7:6379: it uses Ray token authentication")
    for needed in ("RAY_AUTH_MODE=token", "RAY_AUTH_TOKEN=<token>", "RAY_AUTH_TOKEN_PATH", "ray get-auth-token",
                   "https://docs.ray.io/en/latest/ray-security/token-auth.html"):
        assert needed in msg


def test_a_refused_token_is_called_refused(monkeypatch, tmp_path):
    from trufor_desk.errors import UserError

    _fail_ray_init(monkeypatch, _refused_by_token_auth)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", "not-the-clusters-token")
    refused = r"^cannot reach the Ray cluster at h:6379: it refused the authentication token"
    with pytest.raises(UserError, match=refused):
        run_batch([make_collection(tmp_path)], tmp_path / "out", engine="noise", backend="ray", ray_address="h:6379")


def test_token_mode_without_a_token_says_how_to_give_it(monkeypatch, tmp_path):
    """RAY_AUTH_MODE=token with no token anywhere: ray.init raises Ray's own AuthenticationError
    (not a ConnectionError), which must not escape as a traceback."""
    from trufor_desk.errors import UserError

    def no_token(**kwargs):
        raise ray.exceptions.AuthenticationError(
            "Token authentication is enabled but no authentication token was found")

    _fail_ray_init(monkeypatch, no_token)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    with pytest.raises(UserError, match=r"sent no token: run the command with RAY_AUTH_MODE=token"):
        run_batch([make_collection(tmp_path)], tmp_path / "out", engine="noise", backend="ray", ray_address="h:6379")


def test_an_unreachable_cluster_is_not_blamed_on_the_token(monkeypatch, tmp_path):
    from trufor_desk.errors import UserError

    def unreachable(**kwargs):
        try:
            raise RuntimeError("Failed to connect to GCS within 60 seconds. GCS may have been killed.")
        except RuntimeError as exc:
            raise ConnectionError(f"Failed to connect to Ray cluster at {kwargs.get('address')}") from exc

    _fail_ray_init(monkeypatch, unreachable)
    with pytest.raises(UserError) as info:
        run_batch([make_collection(tmp_path)], tmp_path / "out", engine="noise", backend="ray", ray_address="h:6379")
    assert str(info.value) == ("cannot start or reach the Ray cluster at h:6379: "
                               "Failed to connect to Ray cluster at h:6379")


def test_local_ray_workers_start_with_two_malloc_arenas(local_ray):
    """The private Ray's workers inherit MALLOC_ARENA_MAX (glibc reads it at start-up: a Ray worker
    fragmented to 3 GB over ten 12 MP analyses without it), while the driver's environment is left
    as it was."""
    import os

    @local_ray.remote
    def arena_env():
        return os.environ.get("MALLOC_ARENA_MAX")

    assert local_ray.get(arena_env.remote()) == (os.environ.get("MALLOC_ARENA_MAX") or "2")  # a user's own kept
