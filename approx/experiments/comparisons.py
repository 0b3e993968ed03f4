"""What the lecture figures set trained networks against.

- **Cybenko's construction** (1989, drawn as Nielsen's visual proof draws it):
  a staircase of ``n`` steep sigmoids, no training (:func:`staircase_network`,
  evaluated term by term with :func:`unit_terms`).
- **Telgarsky's network** (2016): a deep, narrow ReLU network that is exact on
  the sawtooth (:func:`telgarsky_sawtooth`).
- **Random features**: the sweep's initial hidden layer kept fixed, only the
  output layer fit by least squares (:func:`random_feature_errors`).
- **The best error found**: a sweep's trained networks polished by L-BFGS in
  float64 (:func:`refined_errors`).

Every network here is the width sweep's own (:mod:`approx.experiments.sweep`):
its training data (:func:`~approx.experiments.sweep.make_data`), its
initialisation (:func:`~approx.experiments.sweep.initial_params`, the model key
``fold_in(fold_in(key(seed), depth), width)``), its buckets
(:func:`~approx.experiments.sweep.plan_buckets`) and its saved networks. A
trained network of a figure is therefore the network of the sweep run with the
same settings, width and seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from approx.config import SweepConfig
from approx.experiments.sweep import Run, SweepData, initial_params, make_data, plan_buckets, small_width
from approx.measure import make_measure_fn
from approx.models import MLP, affine, count_params, get_activation, sigmoid
from approx.results import load_network
from approx.targets import Target
from approx.train import TrainConfig, make_run_fn, mean_squared_error, stack_masks

__all__ = ["random_feature_errors", "refined_errors", "staircase_network", "telgarsky_sawtooth", "unit_terms"]


# -- constructions, without training ---------------------------------------------------------------
def staircase_network(f: Callable[[np.ndarray], np.ndarray], n: int, steepness: float = 40.0):
    """A sum of ``n`` steep sigmoids approximating ``f`` on ``[0, 1]``, no training.

    The construction of Cybenko's (1989) proof as Nielsen draws it: cut
    ``[0, 1]`` into ``n`` cells of width ``1/n``, take ``f`` at each cell's
    centre, ``v_k = f((k + 1/2) / n)``, and build the staircase

        G(x) = v_0 sigma(s (x + 1/n)) + sum_{k=1}^{n-1} (v_k - v_{k-1}) sigma(s (x - k/n)),

    whose first unit is ~1 on the whole interval and whose unit ``k`` climbs
    from cell ``k-1``'s value to cell ``k``'s at the cell boundary. With slope
    ``s = steepness * n`` each step rises within a small fraction of a cell,
    so ``sup |f - G|`` is about the oscillation of ``f`` over half a cell:
    ``O(1/n)`` for a Lipschitz ``f``.

    Returns ``(a, w, b)``, each ``(n,)``: ``G(x) = sum_j a_j sigma(w_j x + b_j)``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    centres = (np.arange(n) + 0.5) / n
    values = np.asarray(f(centres), float)
    a = np.concatenate([values[:1], np.diff(values)])
    s = steepness * n
    thresholds = np.concatenate([[-1.0 / n], np.arange(1, n) / n])
    return a, np.full(n, s), -s * thresholds


def unit_terms(a, w, b, x, activation: Callable = sigmoid) -> np.ndarray:
    """``(n_units, len(x))`` terms ``a_j act(w_j x + b_j)`` of a one-hidden-layer
    network on 1-D points ``x``; their sum (plus the output bias) is the network."""
    z = np.asarray(w)[:, None] * np.asarray(x)[None, :] + np.asarray(b)[:, None]
    return np.asarray(a)[:, None] * np.asarray(activation(jnp.asarray(z)))


def telgarsky_sawtooth(k: int):
    """Telgarsky's (2016) ReLU network for the tent map composed ``k`` times:
    depth ``k``, width 2, ``6k + 1`` parameters, exact on [0, 1].

    One layer computes ``tent(t) = 2 relu(t) - 4 relu(t - 1/2)``; the next
    layer's weights absorb the combination. Returns ``(forward, params)``.
    """
    w_in, b_in = np.array([1.0, 1.0]), np.array([0.0, -0.5])
    combine = np.array([2.0, -4.0])

    def forward(x):
        h = np.maximum(np.outer(x, w_in) + b_in, 0.0)
        for _ in range(k - 1):
            t = h @ combine
            h = np.maximum(np.outer(t, w_in) + b_in, 0.0)
        return h @ combine

    return forward, count_params(1, [2] * k, 1)


# -- random features -----------------------------------------------------------------------------
def random_feature_errors(config: SweepConfig, widths: Sequence[int], seeds: int, target: Target) -> np.ndarray:
    """Test MSE ``(len(widths), seeds)`` of random-features fits.

    The hidden layer is the sweep's initial one for ``(width, seed)`` (one
    hidden layer, the sweep's initialisation and data), kept fixed; only the
    output layer is fit, by least squares in float64 on each run's own
    ``width`` features. These are the networks a sweep starts training from,
    before its own least-squares readout.
    """
    data = make_data(config, target)
    runs = [Run(1, w, s) for w in widths for s in range(seeds)]
    init = initial_params(config, 1, max(widths), runs)
    if init is None:
        raise ValueError(
            f"the initial parameters of {len(runs)} runs of widths up to {max(widths)} exceed the memory budget"
        )
    layer = nnx.to_pure_dict(init.params)["layers"][0]
    kernels, biases = layer["kernel"], layer["bias"]  # (E, d, W), (E, W)
    act = get_activation(config.activation)
    features = jax.jit(jax.vmap(lambda k, b, x: act(affine(x, k, b)), in_axes=(0, 0, None)))
    h_train = np.asarray(features(kernels, biases, data.x_train), np.float64)
    h_test = np.asarray(features(kernels, biases, data.x_test), np.float64)
    y_train = np.asarray(data.y_train, np.float64)[:, 0]
    y_test = np.asarray(data.y_test, np.float64)
    errors = np.empty(len(runs))
    for j, r in enumerate(runs):
        i = init.index[(r.width, r.seed)]
        design = np.concatenate([h_train[i, :, : r.width], np.ones((len(y_train), 1))], axis=1)
        coef, *_ = np.linalg.lstsq(design, y_train, rcond=None)
        errors[j] = np.mean((h_test[i, :, : r.width] @ coef[:-1] + coef[-1] - y_test) ** 2)
    return errors.reshape(len(widths), seeds)


# -- the best error found: L-BFGS from the sweep's networks -------------------------------------------
def _to_float64(data: SweepData) -> SweepData:
    """The same points and values, cast to float64 (call under ``jax.enable_x64``)."""
    return jax.tree.map(lambda a: jnp.asarray(a, jnp.float64) if isinstance(a, jax.Array) else a, data)


def _padded_state(config: SweepConfig, depth: int, width: int, networks: Sequence):
    """The graphdef of a float64 MLP of ``width`` units per layer, and the
    networks' parameters zero-padded to it and stacked on a leading ensemble
    axis (padded units are masked: they output zero and never move)."""
    model = nnx.eval_shape(
        lambda: MLP(
            config.dim, [width] * depth, 1, activation=config.activation, key=jax.random.key(0), dtype=jnp.float64
        )
    )
    graphdef, state = nnx.split(model)
    shapes = nnx.to_pure_dict(state)

    def stacked(*leaves_and_shape):
        *leaves, shape = leaves_and_shape
        pad = [[(0, n - m) for m, n in zip(a.shape, shape.shape)] for a in leaves]
        return jnp.asarray(np.stack([np.pad(a, p) for a, p in zip(leaves, pad)]), jnp.float64)

    pure = jax.tree.map(stacked, *(net.params for net in networks), shapes)
    nnx.replace_by_pure_dict(state, pure)
    return graphdef, state


def refined_errors(config: SweepConfig, run_dir: str | Path, target: Target, lbfgs_steps: int) -> np.ndarray:
    """Test MSE ``(len(depths) * len(widths), seeds)`` of the networks that
    the sweep ``config`` saved in ``run_dir``, each further trained by
    ``lbfgs_steps`` steps of L-BFGS (after a least-squares readout) in float64
    on the sweep's training points, measured on its test points.

    Runs are grouped as the sweep grouped them (:func:`plan_buckets`): one
    compiled program per bucket, padded and masked. Row ``i`` is
    ``(depth, width) = (depths[i // len(widths)], widths[i % len(widths)])``.
    """
    runs = [Run(d, w, s) for d in config.depths for w in config.widths for s in range(config.seeds)]
    data32 = make_data(config, target)
    train = TrainConfig(optimizer="lbfgs", steps=lbfgs_steps)
    errors: dict[Run, float] = {}
    with jax.enable_x64(True):
        data = _to_float64(data32)
        for bucket in plan_buckets(runs, config.bucket_ratio, config.max_bucket_runs, small_width(jax.default_backend() != "cpu")):
            networks = [load_network(run_dir, r.width, r.seed, r.depth) for r in bucket.runs]
            graphdef, params = _padded_state(config, bucket.depth, bucket.width, networks)
            masks = stack_masks([[r.width] * r.depth for r in bucket.runs], [bucket.width] * bucket.depth, jnp.float64)
            keys = jax.random.split(jax.random.key(0), len(bucket.runs))
            result = make_run_fn(graphdef, train, mean_squared_error)(params, masks, data.x_train, data.y_train, keys)
            measure = make_measure_fn(graphdef, target.fn, config.dim)
            mse = measure(result.params, masks, data.x_test, data.y_test, data.x_sup)["test_mse"]
            errors.update(zip(bucket.runs, np.asarray(mse).tolist()))
    return np.array([errors[r] for r in runs]).reshape(-1, config.seeds)
