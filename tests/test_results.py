"""approx.results: saved networks (format, loader, NumPy evaluation) and every
branch of RunDirectory.open, each with its message.

References: the NumPy forward pass is checked against approx's Flax MLP and
against a forward pass written here with ``scipy.special.expit``; the NumPy
activations against approx.models' JAX ones; files are read back with
``np.load(..., allow_pickle=False)``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from scipy.special import expit

import approx.networks as networks
import approx.results as results
from approx.config import ACTIVATION_CHOICES, RESULT_NEUTRAL_KEYS
from approx.models import ACTIVATIONS, MLP
from approx.results import (
    NETWORK_ACTIVATIONS,
    Network,
    NetworkError,
    RunDirectory,
    RunDirError,
    load_network,
    network_path,
    read_network,
    read_rows,
    saved_networks,
    write_network,
)

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ("depth", "width", "seed", "value")
KEYS = ("depth", "width", "seed")
CONFIG = {"lr": 0.01, "steps": 10, "bucket_ratio": 2.0, "save_networks": True}


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def _random_network(dim=3, widths=(5, 4), out=1, activation="tanh", seed=0, dtype=np.float64, meta=None):
    rng = np.random.default_rng(seed)
    sizes = [dim, *widths, out]
    kernels = tuple(rng.normal(size=(a, b)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:]))
    biases = tuple(rng.normal(size=(b,)).astype(dtype) for b in sizes[1:])
    return Network(kernels, biases, activation, meta or {})


# -- the module ------------------------------------------------------------------
def test_results_module_does_not_import_jax():
    # The package's __init__ loads JAX; results.py and the modules it reads (durable, networks) do not.
    code = (
        "import sys, types\n"
        "package = sys.modules['approx'] = types.ModuleType('approx')\n"
        f"package.__path__ = [{str(REPO / 'approx')!r}]\n"
        "import approx.results\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib', 'flax')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- saved networks ----------------------------------------------------------------
def test_numpy_activations_match_the_jax_ones(x64):
    assert set(NETWORK_ACTIVATIONS) == set(ACTIVATIONS)
    assert set(ACTIVATION_CHOICES) <= set(NETWORK_ACTIVATIONS)
    z = np.concatenate([np.linspace(-40, 40, 2001), [-1e3, 1e3, 0.0, np.pi / 2, -np.pi / 2, 1e-9, -1e-9]]).reshape(-1, 8)
    for name, fn in ACTIVATIONS.items():
        np.testing.assert_allclose(NETWORK_ACTIVATIONS[name](z), np.asarray(fn(jnp.asarray(z))), rtol=1e-12, atol=1e-13, err_msg=name)
    # and the sigmoid is the logistic function (an independent formula)
    np.testing.assert_allclose(NETWORK_ACTIVATIONS["sigmoid"](z), expit(z), rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("activation", ACTIVATION_CHOICES)
def test_network_evaluates_like_the_flax_mlp(x64, activation):
    net = _random_network(dim=3, widths=(6, 5), out=2, activation=activation, seed=4)
    abstract = nnx.eval_shape(lambda: MLP(3, [6, 5], 2, activation=activation, key=jax.random.key(0), dtype=jnp.float64))
    graphdef, state = nnx.split(abstract)
    nnx.replace_by_pure_dict(state, net.params)  # .params has the MLP's own structure
    model = nnx.merge(graphdef, state)
    x = np.random.default_rng(5).random((50, 3))
    np.testing.assert_allclose(net(x), np.asarray(model(jnp.asarray(x))), rtol=1e-12, atol=1e-13)
    assert net(x).shape == (50, 2) and net.dim == 3 and net.widths == (6, 5) and net.out_dim == 2


def test_network_evaluates_like_a_forward_pass_written_here():
    net = _random_network(activation="sigmoid", dim=2, widths=(7,))
    x = np.random.default_rng(3).random((40, 2))
    k0, k1 = net.kernels
    b0, b1 = net.biases
    expected = expit(x @ k0 + b0) @ k1 + b1
    got = net(x)
    assert got.shape == (40,)  # one output: (n,), like a target
    np.testing.assert_allclose(got, expected[:, 0], rtol=1e-13)
    np.testing.assert_allclose(net.features(x), expit(x @ k0 + b0), rtol=1e-13)
    with pytest.raises(ValueError, match=r"shape \(n, 2\), got \(40, 3\)"):
        net(np.zeros((40, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_write_and_read_back_a_network(tmp_path, dtype):
    net = _random_network(dtype=dtype, meta={"kind": "sweep", "seed": 3, "width": 5, "depth": 2})
    net = Network(net.kernels, net.biases, net.activation, net.meta, {"snapshots": np.arange(12.0).reshape(3, 4)})
    path = tmp_path / "n" / "a.npz"
    path.parent.mkdir()
    write_network(path, net)
    assert not list(path.parent.glob(".*tmp"))  # no temporary left behind
    with np.load(path, allow_pickle=False) as f:  # plain arrays only
        assert sorted(f.files) == ["bias_0", "bias_1", "bias_2", "kernel_0", "kernel_1", "kernel_2", "meta", "snapshots"]
        assert f["kernel_1"].shape == (5, 4) and f["kernel_1"].dtype == dtype
        meta = json.loads(str(f["meta"]))
    assert meta["format"] == "approx.network" and meta["version"] == 1
    assert meta["activation"] == "tanh" and meta["dim"] == 3 and meta["widths"] == [5, 4] and meta["out_dim"] == 1
    assert meta["dtype"] == np.dtype(dtype).name and meta["seed"] == 3 and meta["kind"] == "sweep"
    back = read_network(path)
    for a, b in zip(back.kernels + back.biases, net.kernels + net.biases):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    np.testing.assert_array_equal(back.extras["snapshots"], net.extras["snapshots"])
    x = np.random.default_rng(0).random((9, 3))
    np.testing.assert_array_equal(back(x), net(x))


def test_load_network_finds_runs_and_names_what_exists(tmp_path):
    for depth, width, seed in [(1, 2, 0), (1, 2, 1), (1, 8, 0), (1, 8, 1), (2, 4, 0)]:
        path = network_path(tmp_path, depth, width, seed)
        path.parent.mkdir(exist_ok=True)
        write_network(path, _random_network(dim=1, widths=(width,) * depth, seed=seed))
    assert network_path(tmp_path, 1, 8, 1) == tmp_path / "networks" / "depth1_width8_seed1.npz"
    assert saved_networks(tmp_path) == [(1, 2, 0), (1, 2, 1), (1, 8, 0), (1, 8, 1), (2, 4, 0)]
    assert load_network(tmp_path, 8, seed=1).widths == (8,)
    assert load_network(tmp_path, 4, depth=2).widths == (4, 4)
    with pytest.raises(NetworkError, match=r"no saved network for depth 1, width 64, seed 0 .*saved: depth 1: widths 2,8 x seeds 0-1; depth 2: widths 4 x seeds 0") as e:
        load_network(tmp_path, 64)
    assert isinstance(e.value, ValueError)
    with pytest.raises(NetworkError, match="holds no saved networks"):
        load_network(tmp_path / "elsewhere", 8)


def test_read_network_refuses_what_is_not_a_network(tmp_path):
    good = _random_network()
    arrays = networks._network_arrays(good)

    def save(name, **changes):
        path = tmp_path / f"{name}.npz"
        np.savez(path, **{k: v for k, v in (arrays | changes).items() if v is not None})
        return path

    with pytest.raises(NetworkError, match="not an approx network file"):
        read_network(save("pickled", snapshots=np.array([{"a": 1}], dtype=object)))  # never unpickled
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(NetworkError, match="not an approx network file"):
        read_network(tmp_path / "text.npz")
    with pytest.raises(NetworkError, match="no readable 'meta'"):
        read_network(save("nometa", meta=None))
    meta = json.loads(str(arrays["meta"]))
    with pytest.raises(NetworkError, match="format version 7; this approx reads versions 1..1"):
        read_network(save("future", meta=np.asarray(json.dumps(meta | {"version": 7}))))
    with pytest.raises(NetworkError, match="format 'other'"):
        read_network(save("other", meta=np.asarray(json.dumps(meta | {"format": "other"}))))
    with pytest.raises(NetworkError, match=r"lacks arrays \['bias_1'\]"):
        read_network(save("missing", bias_1=None))
    with pytest.raises(NetworkError, match="do not fit"):
        read_network(save("shapes", bias_1=np.zeros(3)))
    with pytest.raises(NetworkError, match="unknown activation 'swish'"):
        read_network(save("act", meta=np.asarray(json.dumps(meta | {"activation": "swish"}))))
    with pytest.raises(NetworkError, match="no network file"):
        read_network(tmp_path / "absent.npz")
    with pytest.raises(ValueError, match="dtype object"):
        write_network(tmp_path / "obj.npz", Network(good.kernels, good.biases, "tanh", {}, {"x": np.array([None])}))


# -- the run directory -------------------------------------------------------------
def _store(path, config=CONFIG, kind="sweep", columns=COLUMNS):
    return RunDirectory(path, columns, KEYS, config, kind=kind, neutral_keys=RESULT_NEUTRAL_KEYS)


def _row(width, seed, value=0.5):
    return {"depth": 1, "width": width, "seed": seed, "value": value}


def test_rows_and_networks_are_appended_networks_first(tmp_path, monkeypatch):
    store = _store(tmp_path)
    assert store.open() == set() and not store.resumed
    nets = [_random_network(dim=1, widths=(w,), seed=w) for w in (2, 4)]
    store.append([_row(2, 0), _row(4, 0)], nets)
    assert saved_networks(tmp_path) == [(1, 2, 0), (1, 4, 0)]
    assert [r["width"] for r in read_rows(tmp_path / "results.csv")] == ["2", "4"]
    np.testing.assert_array_equal(load_network(tmp_path, 4).kernels[0], nets[1].kernels[0])

    # A kill after the networks but before the row: the network is there, the row is not ...
    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "append_rows", killed)
    with pytest.raises(KeyboardInterrupt):
        store.append([_row(8, 0)], [_random_network(dim=1, widths=(8,))])
    monkeypatch.undo()
    assert (1, 8, 0) in saved_networks(tmp_path) and len(read_rows(tmp_path / "results.csv")) == 2
    (tmp_path / "networks" / ".depth1_width16_seed0.npz.999.tmp").write_bytes(b"torn")
    (tmp_path / "predictions").mkdir()
    (tmp_path / "predictions" / ".depth1_width16_seed0.npy.999.tmp").write_bytes(b"torn")
    # ... and resuming removes the unfinished run's network and the torn temporary file.
    again = _store(tmp_path)
    assert again.open(resume=True) == {("1", "2", "0"), ("1", "4", "0")} and again.resumed
    assert saved_networks(tmp_path) == [(1, 2, 0), (1, 4, 0)]
    assert not list(tmp_path.glob("**/.*.tmp"))
    with pytest.raises(ValueError, match="1 networks for 2 rows"):
        again.append([_row(8, 0), _row(8, 1)], nets[:1])


def test_open_refuses_a_directory_with_results_unless_resumed(tmp_path):
    _store(tmp_path).open()
    with pytest.raises(RunDirError, match=r"already holds results; continue it with resume=True or choose another output directory \(out\)"):
        _store(tmp_path).open()


def test_open_results_without_manifest(tmp_path):
    (tmp_path / "results.csv").write_text("depth,width,seed,value\n1,2,0,0.5\n")
    with pytest.raises(RunDirError, match="has results.csv but no manifest.json; cannot check it matches"):
        _store(tmp_path).open(resume=True)
    with pytest.raises(RunDirError, match="already holds results"):
        _store(tmp_path).open()


def test_open_header_mismatch(tmp_path):
    _store(tmp_path).open()
    (tmp_path / "results.csv").write_text("depth,width,seed,other\n")
    with pytest.raises(RunDirError, match=r"has columns \['depth', 'width', 'seed', 'other'\], expected \['depth', 'width', 'seed', 'value'\]"):
        _store(tmp_path).open(resume=True)


def test_open_kind_mismatch(tmp_path):
    _store(tmp_path, kind="fmnist").open()
    with pytest.raises(RunDirError, match="holds a 'fmnist' experiment, not 'sweep'"):
        _store(tmp_path).open(resume=True)


def test_open_manifest_that_is_not_json(tmp_path):
    _store(tmp_path).open()
    (tmp_path / "manifest.json").write_text("{ torn")
    with pytest.raises(RunDirError, match=r"manifest.json is not valid JSON; move it away or choose another output directory \(out\)"):
        _store(tmp_path).open(resume=True)
    (tmp_path / "manifest.json").write_bytes(b"\xff\xfe")
    with pytest.raises(RunDirError, match="is not valid JSON"):
        _store(tmp_path).open(resume=True)


def test_open_directory_not_writable(tmp_path, monkeypatch):
    target = tmp_path / "ro"
    target.mkdir()
    monkeypatch.setattr(results.os, "access", lambda path, mode: False)
    with pytest.raises(RunDirError, match=f"output directory {str(target)!r} is not writable"):
        _store(target).open()
    monkeypatch.undo()
    if os.geteuid() != 0:  # root may write anywhere: the real permission check only bites others
        target.chmod(0o555)
        try:
            with pytest.raises(RunDirError, match="is not writable"):
                _store(target).open()
        finally:
            target.chmod(0o755)


def test_open_a_path_that_is_a_file_or_cannot_be_made(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError, match="exists and is not a directory"):
        _store(tmp_path / "file").open()
    with pytest.raises(RunDirError, match="cannot create output directory"):
        _store(tmp_path / "file" / "below").open()


@pytest.mark.parametrize("exists", [False, True])
def test_resume_into_an_empty_directory_starts_afresh(tmp_path, exists):
    path = tmp_path / "new"
    if exists:
        path.mkdir()
    store = _store(path)
    assert store.open(resume=True) == set()
    assert not store.resumed
    manifest = json.loads((path / "manifest.json").read_text())
    assert "resumed" not in manifest and manifest["config"] == CONFIG and manifest["kind"] == "sweep"
    assert (path / "results.csv").read_text() == "depth,width,seed,value\n"


def test_resume_accepts_a_result_neutral_change_and_refuses_a_result_changing_one(tmp_path):
    assert {"bucket_ratio", "max_bucket_runs", "save_networks"} <= RESULT_NEUTRAL_KEYS
    store = _store(tmp_path)
    store.open()
    store.append([_row(2, 0)])
    neutral = CONFIG | {"bucket_ratio": 1.0, "save_networks": False, "max_bucket_runs": 3}
    again = _store(tmp_path, neutral)
    assert again.open(resume=True) == {("1", "2", "0")} and again.resumed
    assert len(json.loads((tmp_path / "manifest.json").read_text())["resumed"]) == 1
    with pytest.raises(RunDirError, match=r"config differs in lr, steps \(lr: recorded 0.01, now 0.02; steps: recorded 10, now 11\)"):
        _store(tmp_path, CONFIG | {"lr": 0.02, "steps": 11}).open(resume=True)
    # a key the recorded config lacks changes results unless it is neutral
    with pytest.raises(RunDirError, match="config differs in dim"):
        _store(tmp_path, CONFIG | {"dim": 2}).open(resume=True)
    assert read_rows(tmp_path / "results.csv") == [{"depth": "1", "width": "2", "seed": "0", "value": "0.5"}]


def test_resume_drops_a_torn_last_line(tmp_path):
    store = _store(tmp_path)
    store.open()
    store.append([_row(2, 0), _row(4, 0)])
    with open(tmp_path / "results.csv", "ab") as f:
        f.write(b"1,8,0,0.2")  # power lost mid-line
    assert _store(tmp_path).open(resume=True) == {("1", "2", "0"), ("1", "4", "0")}
    assert (tmp_path / "results.csv").read_bytes().endswith(b"1,4,0,0.5\n")
