"""What the lecture figures compare trained networks with (approx.experiments.comparisons).

References: closed forms (the staircase at its cell centres, its O(1/n) sup
error, the sawtooth), scikit-learn's least squares on features of networks
built here from the sweep's documented model key, and each network refined
alone at its own width (no padding, no grouping).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sklearn.linear_model import LinearRegression

from approx.config import SweepConfig
from approx.experiments.comparisons import (
    random_feature_errors,
    refined_errors,
    staircase_network,
    telgarsky_sawtooth,
    unit_terms,
)
from approx.experiments.sweep import make_data, run_sweep
from approx.measure import make_measure_fn
from approx.models import MLP
from approx.results import load_network
from approx.targets import make_target
from approx.train import TrainConfig, make_run_fn


# -- constructions -------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [4, 16, 64])
def test_staircase_construction_matches_cell_values(n):
    """G(x) at each cell centre is f there, to the sigmoids' tails."""
    f = lambda t: np.sin(3 * t)
    a, w, b = staircase_network(f, n)
    centres = (np.arange(n) + 0.5) / n
    g = unit_terms(a, w, b, centres).sum(axis=0)
    np.testing.assert_allclose(g, f(centres), atol=1e-5)


def test_staircase_sup_error_falls_like_one_over_n():
    """For a Lipschitz f the construction's sup error is O(1/n): here ~ L / (2n) with L = 1 for f(x) = x."""
    x = np.linspace(0.0, 1.0, 20001)
    errors = []
    for n in (4, 16, 64):
        a, w, b = staircase_network(lambda t: t, n)
        errors.append(np.max(np.abs(unit_terms(a, w, b, x).sum(axis=0) - x)))
    assert errors[0] > errors[1] > errors[2]
    for n, e in zip((4, 16, 64), errors):
        assert 0.4 / n < e < 0.6 / n


def test_staircase_rejects_zero_units():
    with pytest.raises(ValueError, match="n must be >= 1"):
        staircase_network(np.sin, 0)


def test_unit_terms_are_a_sigmoid_network_written_out():
    a, w, b = np.array([0.5, -2.0]), np.array([3.0, -1.0]), np.array([0.1, 0.4])
    x = np.linspace(0.0, 1.0, 7)
    expected = [a[j] / (1.0 + np.exp(-(w[j] * x + b[j]))) for j in range(2)]
    np.testing.assert_allclose(unit_terms(a, w, b, x), expected, rtol=1e-6)


def test_telgarsky_network_is_the_sawtooth():
    target = make_target("sawtooth")
    k = int(target.constants["compositions"])
    forward, params = telgarsky_sawtooth(k)
    assert params == 6 * k + 1
    x = np.linspace(0.0, 1.0, 4097)
    t = x.copy()
    for _ in range(k):
        t = 1.0 - np.abs(2.0 * t - 1.0)
    np.testing.assert_allclose(forward(x), t, atol=1e-12)


# -- random features -----------------------------------------------------------------------------
TINY = SweepConfig(target="sine", widths=(2, 5), seeds=2, steps=5, train_points=64, test_points=128)


@pytest.mark.slow
def test_random_features_fit_the_sweeps_initial_hidden_layer():
    """Each entry is scikit-learn's least-squares readout on the hidden
    layer of an unpadded MLP drawn with the sweep's model key
    ``fold_in(fold_in(key(seed), depth), width)``."""
    target = make_target("sine")
    got = random_feature_errors(TINY, (2, 5), 2, target)
    data = make_data(TINY, target)
    expected = np.empty((2, 2))
    for i, width in enumerate((2, 5)):
        for seed in range(2):
            key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), 1), width)
            model = MLP(
                1, [width], 1, activation=TINY.activation, init=TINY.init, slope_scale=TINY.slope_scale, key=key
            )
            h_train = np.asarray(model.features(data.x_train), np.float64)
            h_test = np.asarray(model.features(data.x_test), np.float64)
            fit = LinearRegression().fit(h_train, np.asarray(data.y_train, np.float64)[:, 0])
            expected[i, seed] = np.mean((fit.predict(h_test) - np.asarray(data.y_test, np.float64)) ** 2)
    assert got.shape == (2, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-4)


# -- L-BFGS from the sweep's networks ---------------------------------------------------------------
def _refined_alone(config, run_dir, target, width, seed, steps):
    """One saved network refined at its own width (no padding, no mask), float64."""
    data = make_data(config, target)
    net = load_network(run_dir, width, seed)
    model = nnx.eval_shape(
        lambda: MLP(1, [width], 1, activation=config.activation, key=jax.random.key(0), dtype=jnp.float64)
    )
    graphdef, state = nnx.split(model)
    nnx.replace_by_pure_dict(state, jax.tree.map(lambda a: jnp.asarray(a, jnp.float64)[None], net.params))
    x, y = jnp.asarray(data.x_train, jnp.float64), jnp.asarray(data.y_train, jnp.float64)
    masks = (jnp.ones((1, width), jnp.float64),)
    run = make_run_fn(graphdef, TrainConfig(optimizer="lbfgs", steps=steps))
    result = run(state, masks, x, y, jax.random.split(jax.random.key(0), 1))
    measure = make_measure_fn(graphdef, target.fn, 1)
    x_test, y_test = jnp.asarray(data.x_test, jnp.float64), jnp.asarray(data.y_test, jnp.float64)
    return float(measure(result.params, masks, x_test, y_test, jnp.asarray(data.x_sup, jnp.float64))["test_mse"][0])


@pytest.mark.slow
def test_refined_errors_equal_each_network_refined_alone(tmp_path):
    """Padding to the bucket's width and masking change nothing but rounding:
    every entry equals its network refined alone; and L-BFGS lowers the
    sweep's test error on this smooth target."""
    target = make_target("sine")
    rows = run_sweep(TINY, tmp_path, target=target).rows
    got = refined_errors(TINY, tmp_path, target, lbfgs_steps=20)
    assert got.shape == (2, 2)
    with jax.enable_x64(True):
        alone = np.array([[_refined_alone(TINY, tmp_path, target, w, s, 20) for s in range(2)] for w in (2, 5)])
    np.testing.assert_allclose(got, alone, rtol=1e-6, atol=1e-12)
    adam = np.array([[float(r["test_mse"]) for r in rows if int(r["width"]) == w] for w in (2, 5)])
    assert np.all(got < adam)
