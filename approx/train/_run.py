"""The sweeps' run: full-batch (or sampled minibatch) training of an
ensemble for a fixed number of steps, one ``jax.jit`` over a ``lax.scan``."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from approx.snapshots import SNAPSHOT_FLOATS_PER_PASS
from approx.train._ensemble import ensemble_vmap
from approx.train._network import fit_output_layer, make_apply, mean_squared_error
from approx.train._optimizers import OPTIMIZERS, SCHEDULES, make_optimizer
from approx.train._state import TrainState, init_train_state, sum_is_finite

__all__ = ["OUTPUT_INITS", "RunResult", "RunSnapshots", "TrainConfig", "make_run_fn"]

OUTPUT_INITS = ("lstsq", "none")


@dataclass(frozen=True)
class TrainConfig:
    """How to train (hashable: it keys the compiled-program cache).

    Attributes:
      optimizer: an Optax optimizer by name (see ``OPTIMIZERS``).
      learning_rate: peak learning rate (> 0; ignored by lbfgs's line search).
      steps: optimiser steps of a full-batch run.
      schedule: learning-rate schedule over the run.
      batch_size: ``None`` for full batch; else a minibatch drawn per step.
      output_init: ``"lstsq"`` fits the output layer by least squares on the
        initial hidden features before training; ``"none"`` leaves it random.
      weight_decay: decoupled weight decay (adamw) or L2 (others), >= 0.
      snapshots: ``K`` snapshots of the network during training (0: none):
        its values on given points and its parameters at step 0 and at the
        ``K`` steps of :func:`approx.snapshots.snapshot_steps`, the last one
        the final network. At most ``steps``.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-2
    steps: int = 3000
    schedule: str = "constant"
    batch_size: int | None = None
    output_init: str = "lstsq"
    weight_decay: float = 0.0
    snapshots: int = 0

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ValueError(f"learning rate must be > 0, got {self.learning_rate!r}")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise ValueError(f"steps must be an integer >= 1, got {self.steps!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; valid schedules: {', '.join(SCHEDULES)}")
        if self.batch_size is not None and not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError(f"batch size must be an integer >= 1, got {self.batch_size!r}")
        if self.output_init not in OUTPUT_INITS:
            raise ValueError(f"unknown output init {self.output_init!r}; valid: {', '.join(OUTPUT_INITS)}")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise ValueError(f"weight decay must be >= 0, got {self.weight_decay!r}")
        if isinstance(self.snapshots, bool) or not isinstance(self.snapshots, int) or not 0 <= self.snapshots <= self.steps:
            raise ValueError(f"snapshots must be an integer in 0..steps ({self.steps}), got {self.snapshots!r}")


class RunSnapshots(NamedTuple):
    """The network at the ``K + 1`` steps of
    :func:`approx.snapshots.snapshot_steps` (per ensemble member when vmapped)."""

    fit: jax.Array  # (K + 1, P) outputs at the given points (first output)
    params: object  # the parameters' pytree, each leaf with a leading (K + 1) axis
    loss: jax.Array  # (K + 1,) full training loss


class RunResult(NamedTuple):
    """A finished run (per ensemble member when vmapped)."""

    params: object
    losses: jax.Array  # (steps,) training loss before each step
    final_loss: jax.Array  # training loss at the final parameters
    diverged: jax.Array  # bool
    snapshots: RunSnapshots | None = None  # with TrainConfig.snapshots > 0


def _make_step(objective: Callable, optimizer: optax.GradientTransformation, is_lbfgs: bool):
    """One guarded optimiser step: ``(state, *data) -> (state, loss)``."""

    def step(state: TrainState, *data):
        value_fn = lambda p: objective(p, *data)  # noqa: E731
        if is_lbfgs:
            loss, grads = optax.value_and_grad_from_state(value_fn)(state.params, state=state.opt_state)
            updates, opt_state = optimizer.update(
                grads, state.opt_state, state.params, value=loss, grad=grads, value_fn=value_fn
            )
        else:
            loss, grads = jax.value_and_grad(value_fn)(state.params)
            updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        finite = jnp.isfinite(loss) & sum_is_finite(grads)
        ok = finite & sum_is_finite(params) & ~state.diverged
        new_state = TrainState(
            params=jax.tree.map(lambda a, b: jnp.where(ok, a, b), params, state.params),
            # A member whose step failed is frozen from then on (ok needs
            # ~diverged), so its optimiser state needs no guarding: one
            # select per optimiser leaf less in every step of the loop.
            opt_state=opt_state,
            step=state.step + 1,
            last_loss=jnp.where(ok, loss, state.last_loss),
            diverged=state.diverged | ~finite,
        )
        return new_state, loss

    return step


def _member_run(graphdef, config: TrainConfig, loss_fn: Callable) -> Callable:
    """The run of one ensemble member, ``one(params, masks, x, y, key, points)
    -> RunResult``, for :func:`make_run_fn` to ``vmap`` and ``jit``."""
    apply = make_apply(graphdef)
    optimizer = make_optimizer(
        config.optimizer,
        config.learning_rate,
        total_steps=config.steps,
        schedule=config.schedule,
        weight_decay=config.weight_decay,
    )
    is_lbfgs = config.optimizer == "lbfgs"

    def one(params, masks, x, y, key, points):
        if config.output_init == "lstsq":
            params = fit_output_layer(graphdef, params, x, y, masks)

        # The optimiser works on one flat vector rather than one array per
        # layer: the same arithmetic element by element, in fewer kernels,
        # which compiles the sweep's programs faster.
        params, unravel = ravel_pytree(params)

        def objective(p, xb, yb):
            return loss_fn(yb, apply(unravel(p), xb, masks))

        step = _make_step(objective, optimizer, is_lbfgs)

        state = init_train_state(params, optimizer)
        snapshots = None
        if config.snapshots:
            predict = lambda p: apply(unravel(p), points, masks)[:, 0]  # noqa: E731
            widest = max(leaf.shape[-1] for leaf in jax.tree.leaves(unravel(params)))
            batch = max(1, min(config.snapshots + 1, SNAPSHOT_FLOATS_PER_PASS // (points.shape[0] * widest)))
            state, losses, snapshots = _run_in_chunks(step, objective, predict, state, x, y, key, config, batch)
        else:
            state, losses = _scan_steps(step, state, x, y, key, config)
        params = unravel(state.params)
        final = loss_fn(y, apply(params, x, masks))
        final = jnp.where(state.diverged | ~jnp.isfinite(final), state.last_loss, final)
        if snapshots is not None:
            fit, flat, loss = snapshots
            # The last snapshot's loss is the run's final loss (on the full training set).
            loss = jnp.concatenate([loss[:-1], final[None]])
            snapshots = RunSnapshots(fit, jax.vmap(unravel)(flat), loss)
        return RunResult(params, losses, final, state.diverged, snapshots)

    return one


@functools.lru_cache(maxsize=64)
def make_run_fn(graphdef, config: TrainConfig, loss_fn: Callable = mean_squared_error) -> Callable:
    """A jitted ``run(params, masks, x, y, keys, points=None) -> RunResult`` over an ensemble.

    ``params``, ``masks`` (tuple of ``(E, width)``, or ``None``) and ``keys``
    ``(E,)`` carry the ensemble axis; ``x`` ``(n, d)`` and ``y`` ``(n, out)``
    are shared. The whole run (least-squares readout, ``config.steps``
    optimiser steps under ``lax.scan``, the final loss) is one program,
    compiled once per ``(graphdef, config, shapes)``; the factory is cached
    so calling it again returns the same compiled function.

    With ``config.snapshots = K > 0`` the run also returns
    :class:`RunSnapshots`: the network's outputs on ``points`` ``(P, d)``
    and its parameters at step 0 (after the least-squares readout) and
    after each of ``K`` chunks of steps (:func:`approx.snapshots.snapshot_steps`),
    as outputs of the compiled loop (an outer ``lax.scan`` over the chunks of
    an inner loop over their steps): no extra host round trip. With ``K = 0``
    the program is the plain scan over the steps.
    """
    ensemble = ensemble_vmap(_member_run(graphdef, config, loss_fn), (0, 0, None, None, 0, None))

    def run(params, masks, x, y, keys, points=None):
        if config.snapshots and points is None:
            raise ValueError(f"a run with {config.snapshots} snapshots needs the points to record the fit at")
        return ensemble(params, masks, x, y, keys, points)

    return jax.jit(run)


def _minibatch_step(step: Callable, x, y, key, batch_size: int) -> Callable:
    """``advance(state, i)``: step ``i`` on a minibatch of ``batch_size``
    points drawn with replacement by ``fold_in(key, i)``."""

    def advance(state, i):
        idx = jax.random.randint(jax.random.fold_in(key, i), (batch_size,), 0, x.shape[0])
        return step(state, x[idx], y[idx])

    return advance


def _scan_steps(step: Callable, state: TrainState, x, y, key, config: TrainConfig):
    """``config.steps`` steps under one ``lax.scan``: ``(state, losses (steps,))``."""
    if config.batch_size is None:
        # Full batch: no random numbers in the loop (each random call site
        # adds to the compilation).
        return jax.lax.scan(lambda s, _: step(s, x, y), state, None, length=config.steps)
    return jax.lax.scan(_minibatch_step(step, x, y, key, config.batch_size), state, jnp.arange(config.steps))


def _run_in_chunks(
    step: Callable, objective: Callable, predict: Callable, state: TrainState, x, y, key, config: TrainConfig, batch: int
):
    """``config.steps`` steps in ``K = config.snapshots`` chunks, recording the
    network before the first chunk and after each.

    Returns ``(state, losses (steps,), (fit (K+1, P), flat (K+1, n), loss
    (K+1,)))`` with ``fit = predict(flat)`` and ``loss[k]`` the full training
    loss after ``snapshot_steps[k]`` steps (the last entry is left for the
    caller, who has the final loss). Chunk ``k`` runs the steps from ``k c +
    min(k, r)`` up to the next chunk's first, with ``c, r = divmod(steps,
    K)``: ``c`` steps each when ``K`` divides ``steps`` (an inner
    ``lax.scan`` of known length), else ``c + 1`` for the first ``r`` chunks
    (an inner loop of traced length; one copy of the step either way). Each
    step sees what it sees in the plain scan (its index for the minibatch).
    The loop keeps only the parameters; the fits are computed after it,
    ``batch`` snapshots at a time (a forward pass inside the loop made each
    program slower to compile, for the same run time).
    """
    chunks = config.snapshots
    c, r = divmod(config.steps, chunks)
    full_batch = config.batch_size is None
    dtype = state.last_loss.dtype

    if full_batch:
        advance = lambda state, i: step(state, x, y)  # noqa: E731
    else:
        advance = _minibatch_step(step, x, y, key, config.batch_size)

    def record(p):
        # Full batch: the loss after step i is the loss the scan computes before step i + 1.
        loss = jnp.zeros((), dtype) if full_batch else objective(p, x, y)
        return p, loss

    def chunk(carry, k):
        state, losses = carry
        start = k * c + jnp.minimum(k, r)

        def body(j, carry):
            state, losses = carry
            state, loss = advance(state, start + j)
            return state, jax.lax.dynamic_update_index_in_dim(losses, loss, start + j, 0)

        length = c if r == 0 else c + (k < r).astype(jnp.int32)
        state, losses = jax.lax.fori_loop(0, length, body, (state, losses))
        return (state, losses), record(state.params)

    first = record(state.params)
    (state, losses), recorded = jax.lax.scan(chunk, (state, jnp.zeros((config.steps,), dtype)), jnp.arange(chunks))
    flat, loss = (jnp.concatenate([a[None], b]) for a, b in zip(first, recorded))
    fit = jax.lax.map(predict, flat, batch_size=batch)  # after the loop, ``batch`` snapshots at a time
    if full_batch:
        starts = np.arange(chunks) * c + np.minimum(np.arange(chunks), r)
        loss = jnp.concatenate([losses[starts], loss[-1:]])
    return state, losses, (fit, flat, loss)
