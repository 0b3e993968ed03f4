"""Ceilings: what the same arithmetic reaches on this machine when nothing but
the arithmetic runs, measured in the process that runs the workloads.

* :func:`sigmoid_layer_ceiling` - the sweep's rate (FLOP/s) as one sigmoid
  layer as wide as all the sweep's units together, on the same points;
* :func:`dense_mlp_ceiling` - a Fashion-MNIST network's forward and backward
  on 8192 examples at once;
* :func:`matmul_epoch_seconds` - the floor of a minibatch epoch: its matrix
  products alone, at the epoch's batch size.

A workload's ``fraction`` is its achieved rate over its ceiling.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from approx.bench.flops import fmnist_flops_per_example, mlp_flops_per_point_unit
from approx.models import sigmoid

__all__ = ["best_seconds", "dense_mlp_ceiling", "matmul_epoch_seconds", "sigmoid_layer_ceiling"]


def best_seconds(fn, *args, repeats: int = 3) -> float:
    """Best wall time of ``fn(*args)`` over ``repeats`` calls, after a warm-up
    call that compiles it."""
    jax.block_until_ready(fn(*args))
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


def _descent(loss: Callable, repeats: int) -> Callable:
    """A jitted ``run(params)``: ``repeats`` gradient steps of ``loss`` under
    one ``lax.scan``, so that dispatch does not count."""

    @jax.jit
    def run(p):
        def body(p, _):
            g = jax.grad(loss)(p)
            return jax.tree.map(lambda a, b: a - 1e-3 * b, p, g), None

        return jax.lax.scan(body, p, None, length=repeats)[0]

    return run


def sigmoid_layer_ceiling(units: int, points: int, d: int = 1, repeats: int = 200) -> float:
    """GFLOP/s of one large fused forward+backward (plus an SGD update) of a
    sigmoid layer with ``units`` hidden units on ``points`` points, repeated
    under ``lax.scan`` so that dispatch does not count."""
    key = jax.random.key(0)
    x = jax.random.uniform(key, (points, d))
    y = jnp.sin(6.0 * x[:, 0])
    w = jax.random.normal(key, (d, units)) * 10
    params = {"w": w, "b": -jnp.sum(w * 0.5, axis=0), "a": jnp.zeros((units,)), "c": jnp.zeros(())}

    def loss(p):
        # The same fused broadcast form as approx.models.Affine for small fan-in.
        z = x[:, 0:1] * p["w"][0][None, :]
        for i in range(1, d):
            z = z + x[:, i : i + 1] * p["w"][i][None, :]
        h = sigmoid(z + p["b"][None, :])
        return jnp.mean((h @ p["a"] + p["c"] - y) ** 2)

    seconds = best_seconds(_descent(loss, repeats), params)
    return units * points * repeats * mlp_flops_per_point_unit(d) / seconds / 1e9


def dense_mlp_ceiling(in_dim: int, width: int, out_dim: int, batch: int = 8192, repeats: int = 10) -> float:
    """GFLOP/s of a large fused forward+backward of an ``in-width-out`` MLP."""
    key = jax.random.key(0)
    x = jax.random.normal(key, (batch, in_dim))
    y = jax.random.randint(key, (batch,), 0, out_dim)
    params = {
        "w1": jax.random.normal(key, (in_dim, width)) / math.sqrt(in_dim),
        "b1": jnp.zeros((width,)),
        "w2": jax.random.normal(key, (width, out_dim)) / math.sqrt(width),
        "b2": jnp.zeros((out_dim,)),
    }

    def loss(p):
        h = jax.nn.sigmoid(x @ p["w1"] + p["b1"][None, :])
        logits = h @ p["w2"] + p["b2"][None, :]
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))

    seconds = best_seconds(_descent(loss, repeats), params)
    return fmnist_flops_per_example(in_dim, width, out_dim) * batch * repeats / seconds / 1e9


def matmul_epoch_seconds(n: int, batch: int, in_dim: int, width: int, out_dim: int, repeats: int = 5) -> float:
    """Best time of an epoch's matrix products alone: for each of the
    ``ceil(n / batch)`` batches, the forward products of an
    ``in-width-out`` network and the backward ones that
    :func:`~approx.bench.flops.fmnist_flops_per_example` counts, under one
    ``lax.scan`` with nothing else (no activation, loss or optimiser). The
    floor a training epoch at this batch size cannot beat on this machine."""
    steps = -(-n // batch)
    x = jax.random.normal(jax.random.key(0), (steps, batch, in_dim))
    w1 = jax.random.normal(jax.random.key(1), (in_dim, width)) / math.sqrt(in_dim)
    w2 = jax.random.normal(jax.random.key(2), (width, out_dim)) / math.sqrt(width)

    @jax.jit
    def run(w1, w2, x):
        def body(carry, xb):
            w1, w2 = carry
            h = xb @ w1
            z = h @ w2
            gh = z @ w2.T
            return (w1 - 1e-9 * (xb.T @ gh), w2 - 1e-9 * (h.T @ z)), None

        return jax.lax.scan(body, (w1, w2), x)[0]

    return best_seconds(run, w1, w2, x, repeats=repeats)
