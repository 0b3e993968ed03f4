"""The state that flows through the compiled loops, and the finiteness test
that guards it."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

__all__ = ["TrainState", "init_train_state", "sum_is_finite"]


class TrainState(NamedTuple):
    """What flows through the loop: parameters, optimiser state, the step,
    the last finite loss, whether the run has diverged, and the variables a
    forward pass updates without gradients (``model_state``: batch
    normalisation's moving statistics; ``None`` for most networks)."""

    params: object
    opt_state: object
    step: jax.Array
    last_loss: jax.Array
    diverged: jax.Array
    model_state: object = None


def init_train_state(params, optimizer: optax.GradientTransformation, model_state=None) -> TrainState:
    """The state before the first step: ``optimizer``'s initial state, step 0,
    an infinite last loss, not diverged."""
    dtype = jax.tree.leaves(params)[0].dtype
    return TrainState(
        params,
        optimizer.init(params),
        jnp.zeros((), jnp.int32),
        jnp.asarray(jnp.inf, dtype),
        jnp.zeros((), bool),
        model_state,
    )


def sum_is_finite(tree) -> jax.Array:
    """Whether the sum of all elements of ``tree`` is finite: false whenever
    an element is NaN or infinite (and, conservatively, when the sum of huge
    finite values overflows). One reduction per leaf, against three for an
    elementwise ``isfinite`` followed by ``all`` on XLA:CPU."""
    return jnp.isfinite(sum(jnp.sum(leaf) for leaf in jax.tree.leaves(tree)))
