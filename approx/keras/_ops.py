"""The layers' ops: the pure functions the compiled training and prediction
programs call.

An op is a small frozen dataclass ``op(weights, x, training, key, mask) -> (y,
weights)``: ``weights`` a tuple in the layer's creation order (the returned one
carrying updated batch-normalisation statistics), ``key`` the step's random
key, ``mask`` ``(batch,)`` the real examples of a padded batch. Ops compare by
value, so models of the same structure share compiled programs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from approx.keras import activations as _activations
from approx.models import affine

__all__ = [
    "ActivationOp", "BatchNormOp", "DenseOp", "DropoutOp", "FlattenOp", "MapOp", "Op", "ReluOp", "RescalingOp",
    "ReshapeOp",
]  # fmt: skip


class Op:
    """A layer's computation. An ``activation`` field names a final activation that a
    cross-entropy may absorb (the loss is then computed from the logits
    ``pre(...)``, stably); ``random`` says whether it needs a key."""

    random = False

    def pre(self, weights, x, training, key, mask):
        return self(weights, x, training, key, mask)


@dataclass(frozen=True)
class DenseOp(Op):
    activation: Callable
    use_bias: bool

    def pre(self, weights, x, training, key, mask):
        return affine(x, weights[0], weights[1] if self.use_bias else None), weights

    def __call__(self, weights, x, training, key, mask):
        z, weights = self.pre(weights, x, training, key, mask)
        return self.activation(z), weights


@dataclass(frozen=True)
class ActivationOp(Op):
    activation: Callable

    def pre(self, weights, x, training, key, mask):
        return x, weights

    def __call__(self, weights, x, training, key, mask):
        return self.activation(x), weights


@dataclass(frozen=True)
class MapOp(Op):
    """A fixed function of the input (no weights, not absorbed by a loss)."""

    fn: Callable

    def __call__(self, weights, x, training, key, mask):
        return self.fn(x), weights


@dataclass(frozen=True)
class FlattenOp(Op):
    def __call__(self, weights, x, training, key, mask):
        return x.reshape(x.shape[0], -1), weights


@dataclass(frozen=True)
class ReshapeOp(Op):
    target_shape: tuple

    def __call__(self, weights, x, training, key, mask):
        return x.reshape(x.shape[0], *self.target_shape), weights


@dataclass(frozen=True)
class RescalingOp(Op):
    scale: float | tuple
    offset: float | tuple

    def __call__(self, weights, x, training, key, mask):
        return x * jnp.asarray(self.scale, x.dtype) + jnp.asarray(self.offset, x.dtype), weights


@dataclass(frozen=True)
class ReluOp(Op):
    max_value: float | None
    negative_slope: float
    threshold: float

    def __call__(self, weights, x, training, key, mask):
        return _activations.relu(x, self.negative_slope, self.max_value, self.threshold), weights


@dataclass(frozen=True)
class DropoutOp(Op):
    rate: float
    noise_shape: tuple | None
    random = True

    def __call__(self, weights, x, training, key, mask):
        if not training or self.rate == 0:
            return x, weights
        keep = 1.0 - self.rate
        shape = x.shape if self.noise_shape is None else tuple(
            d if n is None else n for d, n in zip(x.shape, self.noise_shape)
        )  # fmt: skip
        kept = jax.random.bernoulli(key, keep, shape)
        return jnp.where(kept, x / keep, jnp.zeros((), x.dtype)), weights


@dataclass(frozen=True)
class BatchNormOp(Op):
    axis: int
    momentum: float
    epsilon: float
    center: bool
    scale: bool
    frozen: bool

    def __call__(self, weights, x, training, key, mask):
        gamma = weights[0] if self.scale else None
        beta = weights[int(self.scale)] if self.center else None
        moving_mean, moving_var = weights[-2], weights[-1]
        axis = self.axis % x.ndim
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        reduce = tuple(i for i in range(x.ndim) if i != axis)
        if training and not self.frozen:
            # Statistics of the batch's real examples only (a padded batch weighs its padding 0).
            w = mask.reshape((-1,) + (1,) * (x.ndim - 1)) * jnp.ones_like(x)
            count = jnp.sum(w, axis=reduce)
            mean = jnp.sum(w * x, axis=reduce) / count
            var = jnp.sum(w * jnp.square(x - mean.reshape(shape)), axis=reduce) / count
            m = self.momentum
            new = (*weights[:-2], moving_mean * m + mean * (1 - m), moving_var * m + var * (1 - m))
        else:
            mean, var, new = moving_mean, moving_var, weights
        y = (x - mean.reshape(shape)) * jax.lax.rsqrt(var.reshape(shape) + self.epsilon)
        if gamma is not None:
            y = y * gamma.reshape(shape)
        if beta is not None:
            y = y + beta.reshape(shape)
        return y, new
