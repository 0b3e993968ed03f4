"""Backend-dependent choices: XLA options and where initial parameters are drawn.

The tests run on the CPU, where both are no-ops; the accelerator paths are
exercised by pretending (a GPU backend name, a second host device standing
in for the accelerator)."""

import os
import subprocess
import sys
import textwrap

import jax
import pytest

from approx import backend


@pytest.fixture
def fresh_options():
    backend.compiler_options.cache_clear()
    yield
    backend.compiler_options.cache_clear()


def test_options_and_init_device_follow_the_backend(fresh_options):
    # The suite runs wherever JAX_PLATFORMS points (the CPU by default).
    x = jax.numpy.ones(3)
    if jax.default_backend() == "cpu":  # no options, no copies
        assert backend.compiler_options() == {}
        assert backend.init_device() == jax.local_devices()[0]
        assert backend.to_compute_device(x) is x
    else:  # parameters drawn on the host, the autotuner off on a GPU
        assert backend.init_device().platform == "cpu"
        with backend.on_init_device():
            y = jax.numpy.ones(3)
        assert y.devices() == {jax.devices("cpu")[0]}
        assert backend.to_compute_device(y).devices() == {jax.local_devices()[0]}
        if jax.default_backend() == "gpu":
            assert backend.compiler_options() == backend.GPU_COMPILER_OPTIONS


def test_gpu_options_are_tried_once_and_dropped_when_unknown(fresh_options, monkeypatch):
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert backend.compiler_options() == backend.GPU_COMPILER_OPTIONS  # this XLA knows the option
    backend.compiler_options.cache_clear()
    monkeypatch.setattr(backend, "GPU_COMPILER_OPTIONS", {"xla_no_such_option": False})
    assert backend.compiler_options() == {}


@pytest.mark.slow
def test_parameters_drawn_elsewhere_give_the_same_sweep(tmp_path):
    # Device 1 of two host devices stands in for the host CPU of an
    # accelerator machine: data and initial parameters are built there and
    # copied to device 0, which trains. The numbers must not change.
    script = textwrap.dedent(
        """
        import json, sys
        import jax
        from approx import SweepConfig, backend, run_sweep
        from approx.experiments import sweep as sweep_module
        if sys.argv[1] == "elsewhere":
            backend.init_device = lambda: jax.devices()[1]
        sweep_module.make_mesh = lambda: None  # one compute device: device 0
        config = SweepConfig(target="sine", widths=(2, 8), seeds=2, steps=50, train_points=64, test_points=128)
        out = run_sweep(config, sys.argv[2])
        print(json.dumps([[r["width"], r["seed"], r["test_mse"], r["train_loss"]] for r in out.rows]))
        """
    )
    env = os.environ | {"XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    outputs = []
    for where in ("here", "elsewhere"):
        proc = subprocess.run(
            [sys.executable, "-c", script, where, str(tmp_path / where)], capture_output=True, text=True, env=env, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout.strip().splitlines()[-1])
    assert outputs[0] == outputs[1]


@pytest.mark.slow
def test_every_program_compiles_with_the_gpu_options(tmp_path):
    # XLA on the CPU accepts the GPU option, so pretending to be on a GPU
    # compiles every program of a sweep, a Fashion-MNIST run and the
    # Keras-style front with it: options given to a jit that ends up nested
    # inside another are an error.
    script = textwrap.dedent(
        """
        import sys
        import jax
        jax.default_backend = lambda: "gpu"
        import numpy as np
        from approx import Dense, Sequential, SweepConfig, backend, run_sweep
        from approx.config import FMNISTConfig
        from approx.data.fashion_mnist import CLASS_NAMES, FashionMNIST
        from approx.experiments.fmnist import prepare_data, train_fmnist
        assert backend.compiler_options() == backend.GPU_COMPILER_OPTIONS
        out = run_sweep(SweepConfig(widths=(2, 300), seeds=1, steps=5, train_points=32, test_points=64), sys.argv[1])
        assert len(out.rows) == 2 and len(out.summary) == 2
        rng = np.random.default_rng(0)
        images = lambda n: rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = lambda n: (np.arange(n) % 10).astype(np.int32)
        dataset = FashionMNIST(images(256), labels(256), images(100), labels(100), CLASS_NAMES, "synthetic")
        config = FMNISTConfig(widths=(8,), epochs=1, seeds=1, batch_size=64, train_eval_examples=128)
        result = train_fmnist(config, prepare_data(config, dataset), 1, 8)
        assert np.isfinite(result.history["test_loss"]).all()
        model = Sequential()
        model.add(Dense(4, activation="sigmoid"))
        model.add(Dense(1))
        model.compile(loss="mse", optimizer="adam", metrics=["mae"])
        x = rng.uniform(size=(40, 2)).astype(np.float32)
        history = model.fit(x, x.sum(axis=1), batch_size=8, epochs=2, validation_split=0.25, verbose=0)
        model.evaluate(x, x.sum(axis=1), verbose=0)
        model.predict(x, verbose=0)
        print("ok")
        """
    )
    env = os.environ | {"JAX_PLATFORMS": "cpu", "APPROX_NO_CACHE": "1"}
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "sweep")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")
