"""Minibatch epochs: one epoch of shuffled batches, one ``lax.scan`` over the
batches (Keras's ``fit`` and Fashion-MNIST call it once per epoch).

Divergence is checked once per epoch, not per step (a per-step check over
gradients and parameters, with a select over the optimiser state, would add
to every step a sizeable share of its work): a network whose batch losses or
parameters are not all finite at the end of the epoch goes back to its state
at the start of the epoch, is flagged ``diverged``, and stays there in later
epochs. A non-finite gradient or optimiser state shows up there too, as it
makes the next parameters (and so the next loss) non-finite.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from approx.train._ensemble import ensemble_vmap
from approx.train._network import make_apply
from approx.train._state import TrainState, sum_is_finite

__all__ = ["epoch_batches", "graphdef_forward", "make_epoch", "make_epoch_fn", "per_example_losses", "per_example_mean"]


def per_example_losses(loss_fn: Callable) -> Callable:
    """``losses(y_true, y_pred) -> (b,)``: ``loss_fn``'s value on each sample alone.

    approx's losses follow Keras's contract: a mean over samples of a
    per-sample loss (Keras's ``sum_over_batch_size`` reduction). Evaluating
    ``loss_fn`` on each sample (``vmap`` over batches of one) recovers the
    per-sample losses for any such function, named or user-written.
    """

    def one(y_true, y_pred):
        return loss_fn(y_true[None], y_pred[None])

    return jax.vmap(one)


def per_example_mean(loss_fn: Callable) -> Callable:
    """``weighted(y_true, y_pred, weights) -> scalar``: the weighted mean over
    samples of ``loss_fn``'s value on each sample alone (see
    :func:`per_example_losses`), so that a batch padded with zero-weight
    samples has exactly the loss and gradient of the unpadded batch.
    ``weights`` is ``(b,)`` with a positive sum.
    """
    losses = per_example_losses(loss_fn)

    def weighted(y_true, y_pred, weights):
        return jnp.sum(weights * losses(y_true, y_pred)) / jnp.sum(weights)

    return weighted


def epoch_batches(n_train: int, batch_size: int) -> tuple[int, int]:
    """``(n_batches, batch_size)`` of an epoch: ``ceil(n / batch_size)``
    batches, the batch size capped at ``n``."""
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    if n_train < 1:
        raise ValueError(f"an epoch needs at least one example, got {n_train}")
    batch_size = min(batch_size, n_train)
    return -(-n_train // batch_size), batch_size


def graphdef_forward(graphdef) -> Callable:
    """The :func:`make_epoch` forward of a Flax NNX network: ``graphdef``
    applied to the parameters; no randomness, no model state."""
    apply = make_apply(graphdef)

    def forward(params, model_state, x, key, weights):
        del key, weights
        return apply(params, x), model_state

    return forward


def _epoch_objective(forward: Callable, losses: Callable, penalty: Callable | None) -> Callable:
    """``objective(params, model_state, xb, yb, wb, key) -> (loss, (model_state,
    prediction))``: the weighted mean of the per-example losses of a batch,
    plus the penalty."""

    def objective(params, model_state, xb, yb, wb, key):
        prediction, model_state = forward(params, model_state, xb, key, wb)
        loss = jnp.sum(wb * losses(yb, prediction)) / jnp.sum(wb)
        if penalty is not None:
            loss = loss + penalty(params)
        return loss, (model_state, prediction)

    return objective


def _epoch_order(key, order, step_keys, n_train: int, n_batches: int, batch_size: int, shuffle: bool):
    """The examples' order over the epoch, ``(n_batches * batch_size,)`` with
    the last batch filled up, and the forward pass's per-step keys."""
    if order is None:
        order = jax.random.permutation(key, n_train) if shuffle else jnp.arange(n_train)
    # Fill the last batch with examples from the start of the order (real,
    # finite data) and weigh them zero.
    order = jnp.concatenate([order, order[: n_batches * batch_size - n_train]])
    if step_keys is None:
        # Randomness inside the forward pass (dropout) comes from a key of
        # its own, so that the shuffling is the same with and without it.
        step_root = jax.random.fold_in(key, 0x7FFFFFFF)
        step_keys = jax.vmap(lambda i: jax.random.fold_in(step_root, i))(jnp.arange(n_batches))
    return order, step_keys


def _batch_step(objective, optimizer, collect, batch_size: int, n_train: int, x, y, dtype) -> Callable:
    """The scan body of an epoch: ``step((params, opt_state, model_state),
    (i, idx, step_key)) -> (carry, loss or (loss, collected))``."""

    def step(carry, batch):
        params, opt_state, model_state = carry
        i, idx, step_key = batch
        weights = (jnp.arange(batch_size) < n_train - i * batch_size).astype(dtype)
        (loss, (model_state, prediction)), grads = jax.value_and_grad(objective, has_aux=True)(
            params, model_state, x[idx], y[idx], weights, step_key
        )
        out = loss if collect is None else (loss, collect(prediction))
        # The optimiser steps the tree of arrays: stepping one flat vector
        # (ravel_pytree) compiles faster but copies every parameter twice a
        # step, which makes minibatch epochs much slower (and more so with
        # the gathered outputs).
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, model_state), out

    return step


def _kept_if_finite(state: TrainState, params, opt_state, model_state, losses, n_batches: int) -> TrainState:
    """The state after an epoch, or the state before it for a member whose
    batch losses or parameters are not all finite (flagged ``diverged``)."""
    ok = ~state.diverged & sum_is_finite((losses, params))
    keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, old)  # noqa: E731
    return TrainState(
        params=keep(params, state.params),
        # A member whose epoch failed is frozen from then on (ok needs
        # ~diverged): every later epoch's parameters are discarded, so its
        # optimiser state needs no going back (a select per optimiser
        # array less, which roughly halves the compilation of a small
        # model's epoch).
        opt_state=opt_state,
        step=jnp.where(ok, state.step + n_batches, state.step),
        last_loss=jnp.where(ok, losses[-1], state.last_loss),
        diverged=~ok,
        model_state=keep(model_state, state.model_state),
    )


def make_epoch(
    forward: Callable,
    optimizer: optax.GradientTransformation,
    losses: Callable,
    batch_size: int,
    n_train: int,
    shuffle: bool = True,
    *,
    penalty: Callable | None = None,
    collect: Callable | None = None,
) -> Callable:
    """One epoch of minibatch training of one network, as a pure function.

    ``epoch(state, x, y, key, order=None, step_keys=None) -> (state,
    batch_losses)``, or ``(state, batch_losses, outputs)`` with ``collect``.
    The training set (on the device) is permuted with ``key`` (or taken in
    ``order``, a permutation ``(n,)``) and cut into ``ceil(n / batch_size)``
    batches like Keras, the last one holding the remaining examples; all
    run under one ``lax.scan`` of one step, the last batch filled up with
    examples of weight zero (exactly the loss and gradient of the partial
    batch, without a second copy of the step to compile). ``batch_losses``
    ``(n_batches,)`` is each batch's loss over its real examples, before its
    step. Step ``i``'s forward receives ``step_keys[i]`` when given, else
    ``fold_in(fold_in(key, 2**31 - 1), i)``. Divergence: see the module.

    ``forward(params, model_state, x, key, weights) -> (prediction,
    model_state)`` runs in training mode (``weights`` ``(b,)``: 1 for real
    examples, 0 for padding, for layers that pool over the batch);
    ``losses(y_true, prediction) -> (b,)`` are per-example losses
    (:func:`per_example_losses`); ``penalty(params)`` is added to every
    batch's loss; ``collect(prediction) -> (b, ...)`` gathers per-example
    outputs over the epoch, ``(n, ...)`` in training order (the values
    Keras's training metrics see). ``step`` counts the optimiser steps kept
    and ``last_loss`` is the last batch loss of the last kept epoch.
    """
    n_batches, batch_size = epoch_batches(n_train, batch_size)
    objective = _epoch_objective(forward, losses, penalty)

    def epoch(state: TrainState, x, y, key, order=None, step_keys=None):
        dtype = jax.tree.leaves(state.params)[0].dtype
        order, step_keys = _epoch_order(key, order, step_keys, n_train, n_batches, batch_size, shuffle)
        step = _batch_step(objective, optimizer, collect, batch_size, n_train, x, y, dtype)
        batches = (jnp.arange(n_batches), order.reshape(n_batches, batch_size), step_keys)
        carry = (state.params, state.opt_state, state.model_state)
        (params, opt_state, model_state), out = jax.lax.scan(step, carry, batches)
        losses_, outputs = (out, None) if collect is None else out
        new_state = _kept_if_finite(state, params, opt_state, model_state, losses_, n_batches)
        if collect is None:
            return new_state, losses_
        # In training order: whoever needs the data's order has the
        # permutation (a scatter back would cost a share of every epoch).
        return new_state, losses_, outputs.reshape(n_batches * batch_size, *outputs.shape[2:])[:n_train]

    return epoch


@functools.lru_cache(maxsize=64)
def make_epoch_fn(
    graphdef,
    optimizer: optax.GradientTransformation,
    loss_fn: Callable,
    batch_size: int,
    n_train: int,
    shuffle: bool = True,
) -> Callable:
    """A jitted ``epoch(states, x, y, keys) -> (states, batch_losses)`` over an ensemble.

    :func:`make_epoch` for a Flax NNX network (``graphdef``) and a loss
    ``loss_fn(y_true, y_pred) -> scalar`` that is a mean over samples,
    ``vmap``ped over the members of ``states`` (a vmapped
    :class:`TrainState`) and ``keys`` ``(E,)``; the data are shared.
    ``batch_losses`` is ``(E, n_batches)``.
    """
    one = make_epoch(graphdef_forward(graphdef), optimizer, per_example_losses(loss_fn), batch_size, n_train, shuffle)
    return jax.jit(ensemble_vmap(one, (0, None, None, 0)))
