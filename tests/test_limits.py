"""Runs beyond the machine are refused before any work, with one line that
names the setting, the estimate and the limit; the estimates are checked
against XLA's own memory analysis of the compiled programs."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from approx import limits
from approx import plan
from approx.experiments import buckets
from approx.experiments.sweep_data import make_data
from approx.cli.app import main
from approx.config import FMNISTConfig, SweepConfig
from approx.errors import LimitError
from approx.measure import held_out_points, sup_points
from approx.models import count_params

_COMPILES: list[str] = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, _secs, **_: _COMPILES.append(event) if event.endswith("backend_compile_duration") else None
)


def _refused(argv, tmp_path, capsys) -> str:
    """Runs ``approx ARGV --out DIR`` in this process; returns the error line
    after checking exit status 2, a single ``error:`` line, no folder and
    nothing compiled."""
    out = tmp_path / "never"
    _COMPILES.clear()
    code = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error:"), err
    assert not out.exists(), "the run folder was created before the refusal"
    assert not _COMPILES, f"compiled before refusing: {_COMPILES}"
    return err[0]


# -- the inputs of the report, as a new user types them (an 8 GB machine) -------------------
@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["sweep", "--widths", "10000000"], ["reduce widths", "TB", "8.0 GB available (APPROX_MEMORY_LIMIT=8G)"]),
        (["sweep", "--dim", "100000"], ["or dim or", "GB of memory", "8.0 GB available"]),
        (["sweep", "--train-points", "1000000000"], ["or train_points", "1000000000 train_points", "8.0 GB available"]),
        (["sweep", "--steps", "1000000000000"], ["steps must be an integer in 1..2147483647", "1000000000000"]),
        (["sweep", "--seeds", "100000000"], ["900000000 runs", "100000000 seeds", "at most 1000000"]),
        (["sweep", "--widths", "3000000000"], ["widths must be integers in 1..2147483647", "3000000000"]),
        (["sweep", "--dim", "2", "--widths", "200000"], ["measuring", "reduce widths or test_points"]),
        (["sweep", "--batch-size", "2000000000"], ["or train_points", "2000000000 train_points"]),
        (["fmnist", "--widths", "100000000"], ["reduce widths", "TB", "8.0 GB available"]),
        (
            ["fmnist", "--epochs", "2000000000"],
            ["epochs 2000000000 at batch_size 128", "optimiser steps", "int32 (at most 2147483647)"],
        ),
        (["fmnist", "--seeds", "40000"], ["or seeds", "parameters and adam state (40000 x"]),
        (["fmnist", "--widths", "1,2,4", "--seeds", "400000"], ["1200000 runs"]),
    ],
)
def test_inputs_beyond_the_machine_are_refused_before_any_work(argv, fragments, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("APPROX_MEMORY_LIMIT", "8G")
    line = _refused(argv, tmp_path, capsys)
    for fragment in fragments:
        assert fragment in line, line


def test_a_run_that_fits_is_not_refused(monkeypatch):
    monkeypatch.setenv("APPROX_MEMORY_LIMIT", "8G")
    footprint = limits.check_sweep(SweepConfig())  # the Cybenko demo
    assert 1e6 < footprint.bytes < 1e9
    assert limits.check_fmnist(FMNISTConfig()).bytes < 4e9  # 784-256-10, the README's command


def test_the_memory_limit_names_its_source(monkeypatch):
    monkeypatch.delenv("APPROX_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(limits.os, "sysconf", lambda name: {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 4 * 2**20}[name])
    monkeypatch.setattr(limits, "_cgroup_limit", lambda: None)
    monkeypatch.setattr(limits, "_mapped_bytes", lambda: 3 * 10**9)
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert limits.memory_budget() == limits.Budget(16 * 2**30, "physical memory")
    monkeypatch.setattr(limits, "_cgroup_limit", lambda: 6 * 10**9)
    assert limits.memory_budget() == limits.Budget(6 * 10**9, "cgroup memory limit")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (8 * 10**9, resource.RLIM_INFINITY))
    budget = limits.memory_budget()
    assert budget.bytes == 5 * 10**9 and "ulimit -v" in budget.source and "3.0 GB already mapped" in budget.source
    monkeypatch.setenv("APPROX_MEMORY_LIMIT", "512MiB")
    assert limits.memory_budget() == limits.Budget(512 * 2**20, "APPROX_MEMORY_LIMIT=512MiB")


@pytest.mark.parametrize(
    "text, value",
    [("8G", 8 * 10**9), ("8GB", 8 * 10**9), ("1.5gi", int(1.5 * 2**30)), ("2e9", 2 * 10**9), ("512M", 512 * 10**6)],
)
def test_memory_limit_sizes(text, value, monkeypatch):
    monkeypatch.setenv("APPROX_MEMORY_LIMIT", text)
    assert limits.memory_budget().bytes == value


@pytest.mark.parametrize("text", ["lots", "-1G", "8 X", "0"])
def test_a_bad_memory_limit_is_bad_input(text, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("APPROX_MEMORY_LIMIT", text)
    with pytest.raises(LimitError, match="APPROX_MEMORY_LIMIT must be a size"):
        limits.memory_budget()
    line = _refused(["sweep", "--widths", "2"], tmp_path, capsys)
    assert "APPROX_MEMORY_LIMIT" in line and repr(text) in line


# -- the estimates mirror the code they estimate ----------------------------------------------
def test_counts_mirror_the_sweep():
    # The grouping rules (approx.plan) are the sweep's and the estimate's alike; the counts below are copies.
    for d_in, width, depth, d_out in [(1, 1, 1, 1), (3, 64, 2, 1), (784, 256, 3, 10)]:
        assert limits._mlp_params(d_in, width, depth, d_out) == count_params(d_in, [width] * depth, d_out)
    key = jax.random.key(0)
    for dim, points in [(1, 4096), (2, 1000), (2, 3), (3, 500)]:
        assert limits._held_out_count(points, dim) == held_out_points(key, points, dim).shape[0]
        assert limits._sup_count(dim) == sup_points(key, dim).shape[0] * (2 if dim > 2 else 1)
    from approx.experiments import fmnist

    assert limits._EVAL_CHUNK == fmnist.EVAL_CHUNK
    assert limits._FMNIST_PIXELS == fmnist.IN_DIM and limits._FMNIST_CLASSES == fmnist.N_CLASSES


def _xla_peak(config: SweepConfig) -> int:
    """Arguments + temporaries + outputs of the largest group program of a
    sweep on this device, from XLA's memory analysis of the compiled programs."""
    from approx.targets import resolve_target

    target = resolve_target(config.target, config.dim)
    data = make_data(config, target)
    runs = [plan.Run(d, w, s) for d in config.depths for w in config.widths for s in range(config.seeds)]
    accelerator = jax.default_backend() != "cpu"
    worst = 0
    for bucket in plan.plan_buckets(runs, config.bucket_ratio, 0, plan.small_width(accelerator)):
        size = plan.members_per_call(len(bucket.runs), bucket.width, config.train_points, 1, accelerator=accelerator)
        seeds = np.asarray([r.seed for r in bucket.runs], np.int32)
        actives = np.asarray([r.width for r in bucket.runs], np.int32)
        params, keys = buckets._init_fn(config, bucket.depth, bucket.width)(seeds, actives)
        dtype = np.float64 if config.x64 else np.float32
        masks = plan.padding_masks([r.width for r in bucket.runs[:size]], bucket.width, bucket.depth, dtype)
        program = buckets._bucket_program(config, bucket.depth, bucket.width, target.fn, None)
        args = (
            params,
            keys,
            np.arange(size, dtype=np.int32),
            masks,
            data.x_train,
            data.y_train,
            data.x_test,
            data.y_test,
            data.x_sup,
            data.x_plot if config.snapshot_count else None,  # the snapshots' plotting points
        )
        stats = program.lower(*args).compile().memory_analysis()
        worst = max(worst, stats.argument_size_in_bytes + stats.temp_size_in_bytes + stats.output_size_in_bytes)
    return worst


_SWEEPS = [
    pytest.param(dict(widths=(16,), seeds=2, train_points=256), id="one-width"),
    pytest.param(dict(widths=(1, 4, 16, 64, 256), seeds=2, train_points=512), id="buckets", marks=pytest.mark.slow),
    pytest.param(dict(widths=(64,), seeds=2, dim=50, test_points=2000), id="dim-50", marks=pytest.mark.slow),
    pytest.param(dict(widths=(48,), seeds=2, depths=(3,)), id="depth-3", marks=pytest.mark.slow),
    pytest.param(dict(widths=(512,), seeds=1, dim=2), id="sup-grid-2d", marks=pytest.mark.slow),
    pytest.param(dict(widths=(32,), seeds=3, optimizer="lbfgs"), id="lbfgs", marks=pytest.mark.slow),
    pytest.param(
        dict(widths=(64,), seeds=2, train_points=256, batch_size=2048), id="big-batch", marks=pytest.mark.slow
    ),
    pytest.param(
        dict(widths=(128,), seeds=2, train_points=256, dim=1000, test_points=512), id="dim-1000", marks=pytest.mark.slow
    ),
]


@pytest.mark.parametrize("settings", _SWEEPS)
def test_sweep_estimate_bounds_xla_memory_analysis(settings):
    # Never below what XLA says the largest program holds, and not so far
    # above that sensible runs would be refused.
    config = SweepConfig(steps=5, **{"train_points": 1024} | settings)
    xla = _xla_peak(config)
    estimate = limits.sweep_footprint(config, accelerator=jax.default_backend() != "cpu").bytes
    assert xla <= estimate <= 4 * xla, (estimate, xla, estimate / xla)


@pytest.mark.slow
@pytest.mark.parametrize(
    "n_train, n_test, settings",
    [
        (2048, 1000, dict(widths=(64,), seeds=1)),
        (2048, 1000, dict(widths=(256,), seeds=3)),
        (2048, 1000, dict(widths=(128,), seeds=2, depths=(2,), optimizer="sgd")),
        (4096, 2000, dict(widths=(1024,), seeds=2, batch_size=1024)),
    ],
)
def test_fmnist_estimate_bounds_xla_memory_analysis(n_train, n_test, settings):
    import jax.numpy as jnp

    from approx.data.fashion_mnist import CLASS_NAMES, FashionMNIST
    from approx.experiments.fmnist import make_program, prepare_data

    rng = np.random.default_rng(0)
    images = lambda n: rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)  # noqa: E731
    labels = lambda n: (np.arange(n) % 10).astype(np.uint8)  # noqa: E731
    dataset = FashionMNIST(images(n_train), labels(n_train), images(n_test), labels(n_test), CLASS_NAMES, "synthetic")
    config = FMNISTConfig(epochs=1, train_eval_examples=n_test, **settings)
    data = prepare_data(config, dataset)
    xla = 0
    for depth in config.depths:
        for width in config.widths:
            program = make_program(config, depth, width, data.n_train)
            states, keys = program.init(np.arange(config.seeds, dtype=np.int32))
            train = program.train.lower(states, keys, jnp.zeros((), jnp.int32), data.device).compile()
            evaluate = program.evaluate.lower(states.params, data.device).compile()
            for stats in (train.memory_analysis(), evaluate.memory_analysis()):
                held = stats.argument_size_in_bytes + stats.temp_size_in_bytes + stats.output_size_in_bytes
                xla = max(xla, held - stats.alias_size_in_bytes)
    estimate = limits.fmnist_footprint(config, n_train=n_train, n_test=n_test).bytes
    assert xla <= estimate <= 5 * xla, (estimate, xla, estimate / xla)


def test_accelerators_group_more_and_are_checked_against_device_memory(monkeypatch):
    # On an accelerator every width up to 256 shares one program and a group
    # runs whole, so the same sweep needs more at once; a device's memory is
    # a second budget.
    config = SweepConfig(widths=(1, 2, 4, 8, 16, 32, 64, 128, 256), seeds=64)
    cpu = limits.sweep_footprint(config, accelerator=False)
    gpu = limits.sweep_footprint(config, accelerator=True)
    assert gpu.bytes > cpu.bytes
    monkeypatch.setenv("APPROX_MEMORY_LIMIT", "1T")
    monkeypatch.setattr(limits, "device_budget", lambda: limits.Budget(10**6, "memory of a pretend GPU"))
    with pytest.raises(LimitError, match=r"1\.0 MB available \(memory of a pretend GPU\)"):
        limits.check_sweep(config, devices=1, accelerator=True)
    limits.check_sweep(config, devices=1, accelerator=False)  # the host's terabyte is enough
