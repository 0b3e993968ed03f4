"""Error measures of a fitted network ``g`` against a target ``f`` on ``[0, 1]^d``.

* ``test_mse``: mean of ``(f - g)^2`` over held-out points, an estimate of the
  squared L2 error for the uniform measure (a midpoint grid for ``d <= 2``,
  uniform random points otherwise).
* ``test_l1``: mean of ``|f - g|`` over the same points.
* ``test_sup``: the sup norm ``max |f - g|``. On a dense grid for ``d <= 2``;
  in higher dimension a grid is out of reach, so many random points are each
  refined by projected gradient ascent on ``|f - g|`` (a lower bound on the
  true sup that tightens with the number of points and steps). The method
  used is recorded in every row (``sup_method``).
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from approx.targets import grid, sample_uniform

__all__ = ["held_out_points", "sup_method", "sup_points", "make_measure_fn", "SUP_ASCENT_STEPS"]

SUP_ASCENT_STEPS = 50


def held_out_points(key: jax.Array, n: int, dim: int, dtype=jnp.float32) -> jax.Array:
    """Held-out points: a midpoint grid of about ``n`` points for ``d <= 2``
    (exact quadrature for the uniform measure as the grid refines), else
    ``n`` uniform random points."""
    if dim <= 2:
        per_axis = max(2, round(n ** (1.0 / dim)))
        return grid(per_axis, dim, midpoints=True, dtype=dtype)
    return sample_uniform(key, n, dim, dtype)


_SUP_RANDOM_POINTS = 4096


def sup_points(key: jax.Array, dim: int, dtype=jnp.float32) -> jax.Array:
    """Points for the sup norm: a grid for ``d <= 2``, else random starting
    points that :func:`make_measure_fn` refines by gradient ascent."""
    if dim == 1:
        return grid(16385, 1, dtype=dtype)
    if dim == 2:
        return grid(257, 2, dtype=dtype)
    return sample_uniform(key, _SUP_RANDOM_POINTS, dim, dtype)


def sup_method(dim: int) -> str:
    """How :func:`sup_points` and the measure estimate the sup norm."""
    if dim == 1:
        return "grid 16385"
    if dim == 2:
        return "grid 257x257"
    return f"ascent {_SUP_RANDOM_POINTS} pts x {SUP_ASCENT_STEPS} steps"


@functools.lru_cache(maxsize=64)
def make_measure_fn(graphdef, target_fn: Callable, dim: int) -> Callable:
    """A jitted ``measure(params, masks, x_test, y_test, x_sup)`` returning a
    dict of ``(E,)`` arrays ``test_mse``, ``test_l1``, ``test_sup`` for an
    ensemble, and ``sup_at`` ``(E, d)``, a point of ``[0, 1]^d`` where
    ``|f - g|`` equals ``test_sup``. That point is the certificate that the
    estimate is a lower bound of the true sup (it is a value of ``|f - g|`` on
    the cube); tests evaluate the saved network there. Members are measured
    one after another (``lax.map``) so that memory stays that of one network
    on the largest point set."""

    def one(args):
        params, masks, x_test, y_test, x_sup = args
        model = nnx.merge(graphdef, params)

        def g(x):
            return model(x, masks)[:, 0]

        err = g(x_test) - y_test
        if dim <= 2:
            both = x_sup
        else:
            gap = lambda x: jnp.sum(jnp.abs(g(x) - target_fn(x)))  # noqa: E731
            step = 0.5 / SUP_ASCENT_STEPS

            def ascend(x, _):
                grad = jax.grad(gap)(x)
                return jnp.clip(x + step * jnp.sign(grad), 0.0, 1.0), None

            refined, _ = jax.lax.scan(ascend, x_sup, None, length=SUP_ASCENT_STEPS)
            both = jnp.concatenate([x_sup, refined])
        gaps = jnp.abs(g(both) - target_fn(both))
        at = jnp.argmax(gaps)
        return {"test_mse": jnp.mean(err**2), "test_l1": jnp.mean(jnp.abs(err)), "test_sup": gaps[at], "sup_at": both[at]}

    def measure(params, masks, x_test, y_test, x_sup):
        return jax.lax.map(lambda pm: one((pm[0], pm[1], x_test, y_test, x_sup)), (params, masks))

    return jax.jit(measure)
