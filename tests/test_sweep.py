import csv
import dataclasses
import json

import jax
import numpy as np
import pytest

from approx.config import ConfigError, SweepConfig
from approx.results import SWEEP_COLUMNS, RunDirError, load_frame, read_rows
from approx.experiments.sweep import run_sweep
from approx.plan import ACCELERATOR_SMALL_WIDTH, SMALL_WIDTH, Run, plan_buckets, small_width
from approx.plots.sweep import plot_error_vs_width

TINY = dict(widths=(1, 4, 16), seeds=2, steps=150, train_points=256, test_points=512)


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    outcome = run_sweep(SweepConfig(**TINY), out)
    assert not list(out.glob("*.png"))  # the runner draws nothing
    plot_error_vs_width(outcome.rows, out / "error_vs_width")
    return out, outcome


def test_rows_manifest_and_figure(tiny_sweep):
    out, outcome = tiny_sweep
    with open(out / "results.csv") as f:
        header = next(csv.reader(f))
    assert tuple(header) == SWEEP_COLUMNS
    rows = read_rows(out / "results.csv")
    assert len(rows) == 6
    assert {(r["width"], r["seed"]) for r in rows} == {(w, s) for w in ("1", "4", "16") for s in ("0", "1")}
    for r in rows:
        assert r["target"] == "sine" and r["activation"] == "sigmoid" and r["diverged"] == "false"
        assert int(r["params"]) == 3 * int(r["width"]) + 1
        assert float(r["test_mse"]) >= 0 and float(r["test_sup"]) ** 2 >= float(r["test_mse"])
        assert float(r["test_l1"]) ** 2 <= float(r["test_mse"]) * (1 + 1e-5)  # Jensen
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("config", "versions", "backend", "device_count", "started", "finished"):
        assert manifest[key] is not None, key
    assert manifest["config"]["widths"] == [1, 4, 16]
    for suffix in (".png", ".pdf"):
        path = out / f"error_vs_width{suffix}"
        assert path.exists() and path.stat().st_size > 10_000
    frame = load_frame(out)
    assert frame["test_mse"].dtype.kind == "f" and len(frame) == 6


def test_error_falls_with_width_in_the_sweep(tiny_sweep):
    _, outcome = tiny_sweep
    med = {s["width"]: s["mse_median"] for s in outcome.summary}
    assert med[16] < 1e-2 * med[1]


def _by_run(path):
    """Rows without timings, by (depth, width, seed)."""
    rows = [{k: v for k, v in r.items() if k != "seconds"} for r in read_rows(path)]
    return sorted(rows, key=lambda r: (int(r["depth"]), int(r["width"]), int(r["seed"])))


@pytest.mark.slow  # quick twins: test_saving_networks_changes_no_number, test_the_process_float64_setting_...
def test_same_config_same_numbers(tiny_sweep, tmp_path):
    out, _ = tiny_sweep
    run_sweep(SweepConfig(**TINY), tmp_path)
    assert _by_run(out / "results.csv") == _by_run(tmp_path / "results.csv")


@pytest.mark.slow  # refusing: test_results.py; resuming to the same rows: test_resume.py (quick)
def test_refuses_to_overwrite_and_resumes(tmp_path):
    cfg = SweepConfig(**(TINY | {"widths": (2, 8)}))
    run_sweep(cfg, tmp_path)
    first = (tmp_path / "results.csv").read_bytes()
    with pytest.raises(RunDirError, match=r"resume=True"):
        run_sweep(cfg, tmp_path)
    # Extending the sweep is a different config: refused, naming the key.
    with pytest.raises(RunDirError, match="widths"):
        run_sweep(SweepConfig(**(TINY | {"widths": (2, 8, 32)})), tmp_path, resume=True)
    with pytest.raises(RunDirError, match="lr"):
        run_sweep(SweepConfig(**(TINY | {"widths": (2, 8), "lr": 0.5})), tmp_path, resume=True)
    # Resume of a finished sweep: nothing to do, file unchanged.
    outcome = run_sweep(cfg, tmp_path, resume=True)
    assert outcome.skipped == 4
    assert (tmp_path / "results.csv").read_bytes() == first


def test_resume_completes_a_partial_sweep(tmp_path):
    cfg = SweepConfig(**(TINY | {"widths": (2, 8)}))
    run_sweep(cfg, tmp_path)
    lines = (tmp_path / "results.csv").read_bytes().splitlines(keepends=True)
    # Keep header + the width-2 rows, plus a torn half line as a crash would leave.
    kept = b"".join(lines[:3]) + lines[3][:10]
    (tmp_path / "results.csv").write_bytes(kept)
    run_sweep(cfg, tmp_path, resume=True)
    rows = read_rows(tmp_path / "results.csv")
    assert len(rows) == 4
    assert len({(r["width"], r["seed"]) for r in rows}) == 4
    assert (tmp_path / "results.csv").read_bytes().startswith(b"".join(lines[:3]))


def test_bucket_plan():
    runs = [Run(1, w, s) for w in (1, 2, 4, 8, 16, 32, 64, 128, 256) for s in range(4)]
    buckets = plan_buckets(runs, 2.0)
    assert [b.width for b in buckets] == [32, 128, 256]
    assert sum(len(b.runs) for b in buckets) == 36
    assert [b.width for b in plan_buckets(runs, 1.0)] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    split = plan_buckets(runs, 1.0, max_members=3)
    assert all(len(b.runs) <= 3 for b in split) and sum(len(b.runs) for b in split) == 36
    # On an accelerator every width up to 256 shares one program; wider ones pair up by ratio.
    assert [b.width for b in plan_buckets(runs, 2.0, small=ACCELERATOR_SMALL_WIDTH)] == [256]
    wide = [Run(1, w, 0) for w in (1, 64, 256, 512, 1024, 2048, 4096)]
    assert [b.width for b in plan_buckets(wide, 2.0, small=ACCELERATOR_SMALL_WIDTH)] == [256, 1024, 4096]
    assert small_width(accelerator=False) == SMALL_WIDTH and small_width(accelerator=True) == ACCELERATOR_SMALL_WIDTH


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"widths": (0, 2)}, "widths"),
        ({"widths": ()}, "widths"),
        ({"steps": 0}, "steps"),
        ({"lr": -1.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"dim": 0}, "dim"),
        ({"seeds": 0}, "seeds"),
        ({"data_seed": 2**31}, "data_seed must be an integer in 0..2147483647"),
        ({"target": "nope"}, "valid: sine"),
        ({"activation": "swish"}, "valid: sigmoid"),
        ({"optimizer": "adamm"}, "valid: adam"),
    ],
)
def test_bad_config_names_the_value(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SweepConfig(**kwargs)


def test_slope_fit_on_the_sweep(tiny_sweep):
    _, outcome = tiny_sweep
    assert outcome.slope is not None and outcome.slope.slope < 0
    assert np.isfinite(outcome.slope.intercept)


def test_members_per_call_keeps_arrays_in_cache():
    from approx.plan import members_per_call as _members_per_call

    # W1's buckets fit one call; 32 seeds of width 64 on 1024 points take two.
    assert _members_per_call(24, 32, 1024) == 24
    assert _members_per_call(4, 256, 1024) == 4
    assert _members_per_call(32, 64, 1024) == 16
    assert _members_per_call(36, 64, 1024) == 12  # equal slices: one program
    assert _members_per_call(3, 4096, 1024) == 1
    assert _members_per_call(5, 4096, 1024, multiple=2) == 2
    assert _members_per_call(36, 64, 1024, accelerator=True) == 36  # accelerators take the whole ensemble


def test_a_bucket_split_into_calls_gives_the_same_runs(tiny_sweep, tmp_path, monkeypatch):
    import approx.plan

    # 6 members x 256 points x 16 units; a cap of 2 members per call: 3 calls.
    monkeypatch.setattr(approx.plan, "CPU_FLOATS_PER_CALL", 2 * 256 * 16)
    out, _ = tiny_sweep
    run_sweep(SweepConfig(**TINY), tmp_path)
    a, b = _by_run(out / "results.csv"), _by_run(tmp_path / "results.csv")
    assert [(r["width"], r["seed"]) for r in a] == [(r["width"], r["seed"]) for r in b]
    for ra, rb in zip(a, b):
        # float32 and another ensemble size: rounding differs, the runs do not.
        np.testing.assert_allclose(float(ra["test_mse"]), float(rb["test_mse"]), rtol=5e-2)


# -- every reported number against NumPy on the saved networks -------------------
def _sine_np(x):
    """approx's ``sine`` target written again in NumPy."""
    return np.sum(np.sin(2 * np.pi * x) + 0.5 * np.sin(6 * np.pi * x), axis=1) / np.sqrt(x.shape[1])


def _grid_np(m, dim, midpoints):
    axis = (np.arange(m) + 0.5) / m if midpoints else np.linspace(0.0, 1.0, m)
    return np.stack([a.ravel() for a in np.meshgrid(*([axis] * dim), indexing="ij")], axis=1)


REFERENCE_SWEEPS = {
    # widths 5 and 12 train padded to 12 in one program with width 1: the saved networks are cut back
    "d1": dict(dim=1, widths=(1, 5, 12), seeds=2, steps=60, train_points=128, test_points=300),
    "d2": dict(dim=2, widths=(3, 7), depths=(2,), seeds=1, steps=60, train_points=128, test_points=400),
    "d3": dict(dim=3, widths=(4,), seeds=2, steps=60, train_points=128, test_points=500),
}


@pytest.fixture(scope="module")
def reference_sweep(tmp_path_factory):
    """``get(name)``: the float64 sweep ``REFERENCE_SWEEPS[name]``, its
    directory and data, run on first use (float64: run_sweep scopes it to
    the sweep; make_data needs it here too)."""
    from approx.experiments.sweep import make_data
    from approx.targets import make_target

    cache = {}

    def get(name):
        if name not in cache:
            config = SweepConfig(**REFERENCE_SWEEPS[name], x64=True)
            path = tmp_path_factory.mktemp(name)
            run_sweep(config, path)
            with jax.enable_x64(True):
                data = make_data(config, make_target("sine", config.dim))
                arrays = {k: np.asarray(getattr(data, k)) for k in ("x_train", "y_train", "x_test", "y_test", "x_sup")}
            cache[name] = (config, path, dataclasses.replace(data, **arrays))
        return cache[name]

    return get


# d1 runs in the quick suite (about 4 s); two hidden layers (d2) and the d > 2
# sup search (d3) compile for 8-10 s each and run with -m slow.
@pytest.mark.parametrize("name", ["d1", pytest.param("d2", marks=pytest.mark.slow), pytest.param("d3", marks=pytest.mark.slow)])
def test_reported_errors_equal_numpy_on_the_saved_networks(reference_sweep, name):
    from approx.results import load_network

    config, path, data = reference_sweep(name)
    dim = config.dim
    rows = read_rows(path / "results.csv")
    assert len(rows) == len(config.widths) * len(config.depths) * config.seeds
    # The same points as the sweep's, rebuilt in NumPy where they are grids.
    if dim <= 2:
        x_test = _grid_np(max(2, round(config.test_points ** (1 / dim))), dim, midpoints=True)
        x_sup = _grid_np(16385 if dim == 1 else 257, dim, midpoints=False)
        np.testing.assert_allclose(data.x_test, x_test, atol=1e-15)
    else:
        x_test, x_sup = data.x_test, data.x_sup  # uniform random points drawn by JAX
    np.testing.assert_allclose(data.y_test, _sine_np(x_test), rtol=1e-12, atol=1e-12)
    for r in rows:
        net = load_network(path, int(r["width"]), seed=int(r["seed"]), depth=int(r["depth"]))
        assert net.widths == (int(r["width"]),) * int(r["depth"]) and net.dim == dim
        assert net.activation == r["activation"] and net.kernels[0].dtype == np.float64
        assert net.meta["seed"] == int(r["seed"]) and net.meta["target"] == "sine"
        assert int(r["params"]) == sum(k.size + b.size for k, b in zip(net.kernels, net.biases))
        err = net(x_test) - _sine_np(x_test)
        np.testing.assert_allclose(float(r["test_mse"]), np.mean(err**2), rtol=1e-10)
        np.testing.assert_allclose(float(r["test_l1"]), np.mean(np.abs(err)), rtol=1e-10)
        train_err = net(data.x_train) - _sine_np(data.x_train)
        np.testing.assert_allclose(float(r["train_loss"]), np.mean(train_err**2), rtol=1e-10)
        gap = np.abs(net(x_sup) - _sine_np(x_sup))
        sup_at = net.extras["sup_at"]
        if dim <= 2:
            np.testing.assert_allclose(float(r["test_sup"]), gap.max(), rtol=1e-10)
            np.testing.assert_allclose(sup_at, x_sup[np.argmax(gap)], atol=1e-15)
        else:
            # The ascent's certificate: a point of the cube where |f - g| is the reported sup ...
            assert np.all((0 <= sup_at) & (sup_at <= 1))
            at = np.abs(net(sup_at[None]) - _sine_np(sup_at[None]))[0]
            np.testing.assert_allclose(float(r["test_sup"]), at, rtol=1e-10)
            # ... no worse than its 4096 starting points (approx.measure is checked against a dense search in test_measure).
            assert float(r["test_sup"]) >= gap.max()
            assert r["sup_method"] == "ascent 4096 pts x 50 steps"


def test_float32_errors_agree_with_numpy_to_float32_rounding(tiny_sweep):
    from approx.results import load_network

    out, _ = tiny_sweep
    x_test = _grid_np(512, 1, midpoints=True)
    x_sup = _grid_np(16385, 1, midpoints=False)
    for r in read_rows(out / "results.csv"):
        net = load_network(out, int(r["width"]), seed=int(r["seed"]))
        assert net.kernels[0].dtype == np.float32
        err = net(x_test) - _sine_np(x_test)
        np.testing.assert_allclose(float(r["test_mse"]), np.mean(err**2), rtol=2e-4)
        np.testing.assert_allclose(float(r["test_l1"]), np.mean(np.abs(err)), rtol=2e-4)
        # float32 grid points and values: about 1e-7 in x times slopes of f up to 16, plus rounding of f and g
        np.testing.assert_allclose(float(r["test_sup"]), np.abs(net(x_sup) - _sine_np(x_sup)).max(), rtol=1e-4, atol=1e-5)


def test_saving_networks_changes_no_number(tiny_sweep, tmp_path):
    from approx.results import saved_networks

    out, _ = tiny_sweep
    assert saved_networks(out) == [(1, w, s) for w in (1, 4, 16) for s in (0, 1)]
    run_sweep(SweepConfig(**TINY, save_networks=False), tmp_path)
    assert _by_run(out / "results.csv") == _by_run(tmp_path / "results.csv")  # bit for bit
    assert not (tmp_path / "networks").exists()


def test_the_process_float64_setting_changes_no_float32_number(tiny_sweep, tmp_path):
    """The config alone decides the precision: a float32 sweep run while the
    caller has float64 on gives the numbers of one run without, and the
    caller's setting comes back (and a float64 sweep leaves it off)."""
    out, _ = tiny_sweep
    with jax.enable_x64(True):
        run_sweep(SweepConfig(**TINY, save_networks=False), tmp_path / "a")
        assert jax.config.jax_enable_x64
    assert _by_run(out / "results.csv") == _by_run(tmp_path / "a" / "results.csv")
    run_sweep(SweepConfig(**{**TINY, "widths": (4,), "seeds": 1}, x64=True, save_networks=False), tmp_path / "b")
    assert not jax.config.jax_enable_x64
    assert json.loads((tmp_path / "b" / "manifest.json").read_text())["x64"] is True


# -- training snapshots ---------------------------------------------------------------
def test_saved_snapshots_are_the_networks_fits_during_training(tiny_sweep):
    from approx.results import load_network
    from approx.snapshots import flat_params, network_at, plot_points, snapshot_steps, snapshots_of
    from approx.experiments.buckets import _init_fn
    from approx.experiments.sweep import make_data
    from approx.targets import make_target

    out, _ = tiny_sweep
    config = SweepConfig(**TINY)
    assert config.snapshot_count == 40
    x_train = np.asarray(make_data(config, make_target("sine")).x_train, np.float64)
    for r in read_rows(out / "results.csv"):
        width, seed = int(r["width"]), int(r["seed"])
        net = load_network(out, width, seed=seed)
        snaps = snapshots_of(net)
        np.testing.assert_array_equal(snaps.steps, snapshot_steps(150, 40))
        np.testing.assert_array_equal(snaps.x, plot_points(1).astype(np.float32))
        assert snaps.fit.shape == (41, 257) and snaps.params.shape == (41, 3 * width + 1)
        # The last snapshot is the saved network, bit for bit.
        np.testing.assert_array_equal(snaps.params[-1], flat_params(net))
        # Every fit is its snapshot's parameters evaluated (NumPy, float64) at the plotting points.
        for k in range(41):
            at = network_at(net, snaps, k)
            # float32 sums of terms a_j sigma(.) up to sum |a_j| (the least-squares readout's terms cancel)
            scale = np.abs(at.kernels[-1]).sum() + np.abs(at.biases[-1]).sum()
            np.testing.assert_allclose(snaps.fit[k], at(snaps.x), rtol=0, atol=1e-6 * scale)
            train_mse = np.mean((at(x_train) - _sine_np(x_train)) ** 2)
            np.testing.assert_allclose(snaps.loss[k], train_mse, rtol=2e-3, atol=1e-7)
        assert float(r["train_loss"]) == snaps.loss[-1]
        # Step 0 is the initial network: the hidden layer as drawn (by the
        # sweep, at the widest width), the least-squares readout on it.
        init, _ = _init_fn(config, 1, 16)(np.array([seed]), np.array([width]))
        first = network_at(net, snaps, 0)
        np.testing.assert_array_equal(first.kernels[0], np.asarray(init["layers"][0]["kernel"][0])[:, :width])
        np.testing.assert_array_equal(first.biases[0], np.asarray(init["layers"][0]["bias"][0])[:width])
        h = first.features(x_train)
        design = np.concatenate([h, np.ones((len(h), 1))], axis=1)
        # jnp.linalg.lstsq's cut-off for small singular values, in float32
        rcond = np.finfo(np.float32).eps * max(design.shape)
        coef, *_ = np.linalg.lstsq(design, _sine_np(x_train), rcond=rcond)
        best = np.mean((design @ coef - _sine_np(x_train)) ** 2)
        got = np.mean((first(x_train) - _sine_np(x_train)) ** 2)
        np.testing.assert_allclose(got, best, rtol=1e-4)


def test_snapshots_change_no_number_and_a_sweep_resumes_with_another_count(tiny_sweep, tmp_path):
    from approx.config import RESULT_NEUTRAL_KEYS
    from approx.results import load_network
    from approx.snapshots import snapshots_of

    out, _ = tiny_sweep  # 40 snapshots
    run_sweep(SweepConfig(**TINY, snapshots=0), tmp_path)
    assert _by_run(out / "results.csv") == _by_run(tmp_path / "results.csv")  # bit for bit
    for w in (1, 4, 16):
        net = load_network(tmp_path, w, 1)
        assert snapshots_of(net) is None and set(net.extras) == {"sup_at"}
    # Another count is no other experiment: resuming with it is allowed (a key that changes results is not).
    assert "snapshots" in RESULT_NEUTRAL_KEYS
    outcome = run_sweep(SweepConfig(**TINY, snapshots=7), tmp_path, resume=True)
    assert outcome.skipped == 6
    with pytest.raises(RunDirError, match="lr"):
        run_sweep(SweepConfig(**TINY, snapshots=7, lr=0.02), tmp_path, resume=True)


def test_toml_and_option_spellings_of_the_snapshots(tmp_path, capsys):
    import argparse

    from approx.cli.app import main
    from approx.cli.sweep import sweep_settings

    args = argparse.Namespace(config=None, out=str(tmp_path), lang=None, widths=None, depth=None, snapshots=None)
    assert sweep_settings(args, {"explorer": False})[0].snapshots == 0
    assert sweep_settings(args, {"no_explorer": True})[0].snapshots == 0
    assert sweep_settings(args, {"explorer": True})[0].snapshots == 40
    assert sweep_settings(args, {"snapshots": 12})[0].snapshots == 12
    # An option overrides the file under either spelling.
    assert sweep_settings(argparse.Namespace(**(vars(args) | {"snapshots": 0})), {"snapshots": 12})[0].snapshots == 0
    assert sweep_settings(argparse.Namespace(**(vars(args) | {"snapshots": 5})), {"explorer": False})[0].snapshots == 5
    for argv, fragment in [
        (["--snapshots", "-1"], "snapshots must be a non-negative integer (0: none), got -1"),
        (["--snapshots", "1001"], "snapshots must be at most 1000, got 1001"),
        (["--steps", "10", "--snapshots", "11"], "snapshots must be at most steps (10)"),
        (["--snapshots", "many"], "invalid int value: 'many'"),
        (["--no-explorer", "--snapshots", "3"], "not allowed with argument --no-explorer"),
    ]:
        assert main(["sweep", *argv, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error:") and fragment in err[0], err
    path = tmp_path / "e.toml"
    path.write_text("explorer = 'no'\n")
    assert main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "explorer must be true or false, got 'no'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_padding_masks_mark_each_run_s_own_units():
    from approx.plan import padding_masks

    masks = padding_masks([1, 3, 4], 4, 2, np.float64)
    expected = np.array([[1, 0, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], np.float64)
    assert len(masks) == 2
    for m in masks:
        assert m.dtype == np.float64
        np.testing.assert_array_equal(m, expected)
