"""A Flax NNX network as pure functions of its parameters: the forward pass,
the least-squares readout, and the squared error the sweeps train on."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["fit_output_layer", "make_apply", "mean_squared_error"]


def mean_squared_error(y_true: jax.Array, y_pred: jax.Array) -> jax.Array:
    """``mean((y_true - y_pred)^2)``; shapes must agree exactly."""
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shapes differ: y_true {y_true.shape} and y_pred {y_pred.shape}")
    return jnp.mean((y_true - y_pred) ** 2)


def make_apply(graphdef) -> Callable:
    """``apply(params, x, masks=None) -> (batch, out)``, pure in ``params``."""

    def apply(params, x, masks=None):
        return nnx.merge(graphdef, params)(x, masks)

    return apply


def fit_output_layer(graphdef, params, x, y, masks=None):
    """Least-squares output layer on the current hidden features.

    Solves ``min_{a, c} ||H a + c - y||^2`` with ``H`` the last hidden layer's
    outputs on the training points (SVD-based ``lstsq``; masked units are
    zero columns and get zero weight). For fixed hidden units this is the
    best output layer there is, so training starts from the random-features
    solution instead of a random readout. ``y`` is ``(n, out)``.
    """
    model = nnx.merge(graphdef, params)
    h = model.features(x, masks)
    design = jnp.concatenate([h, jnp.ones((h.shape[0], 1), h.dtype)], axis=1)
    coef, *_ = jnp.linalg.lstsq(design, y)
    kernel, bias = coef[:-1], coef[-1]
    if masks is not None:
        kernel = kernel * masks[-1][:, None]
    model.layers[-1].kernel[...] = kernel.astype(h.dtype)
    model.layers[-1].bias[...] = bias.astype(h.dtype)
    return nnx.state(model)
