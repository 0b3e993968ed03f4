"""The compiled training loop, shared by sweeps, Fashion-MNIST and the Keras-style front.

A network is split once into its static ``graphdef`` and its parameters (a
pytree); everything below is a pure function of arrays, so a whole run is one
``jax.jit``:

* :func:`make_run_fn` - full-batch (or sampled minibatch) training for a fixed
  number of steps, one ``lax.scan`` over the steps.
* :func:`make_epoch_fn` - one epoch of shuffled minibatches, one ``lax.scan``
  over the batches (Keras's ``fit`` and Fashion-MNIST call it once per epoch).

Both take an *ensemble* axis: parameters, masks and keys carry a leading axis
of size ``E`` (seeds, and widths padded into one bucket) and are ``vmap``ped;
the data are shared. Divergence is detected inside the compiled program,
without any host sync: :func:`make_run_fn` checks every step (once the loss or
a gradient is not finite, a member stops updating, keeps its last finite
parameters and loss, and is flagged); :func:`make_epoch_fn` checks once per
epoch (a member whose epoch ends with non-finite losses or parameters goes
back to where the epoch started, is flagged and stays there), which keeps the
per-step work to the step itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.flatten_util import ravel_pytree

from approx.snapshots import SNAPSHOT_FLOATS_PER_PASS

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "TrainConfig",
    "TrainState",
    "RunResult",
    "RunSnapshots",
    "make_optimizer",
    "make_apply",
    "fit_output_layer",
    "make_run_fn",
    "make_epoch_fn",
    "epoch_batches",
    "graphdef_forward",
    "make_epoch",
    "per_example_losses",
    "per_example_mean",
    "ensemble_vmap",
    "init_train_state",
    "mean_squared_error",
]

OPTIMIZERS = ("adam", "adamw", "sgd", "momentum", "nesterov", "rmsprop", "adagrad", "lbfgs")
SCHEDULES = ("constant", "cosine", "warmup_cosine")
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


def _schedule(learning_rate: float, total_steps: int | None, schedule: str):
    if schedule == "constant" or total_steps is None:
        return learning_rate
    if schedule == "cosine":
        return optax.cosine_decay_schedule(learning_rate, total_steps)
    warmup = max(1, total_steps // 20)
    warmup_cosine = optax.warmup_cosine_decay_schedule(0.0, learning_rate, warmup, total_steps)

    def schedule_fn(count):
        # Optax's linear warmup divides the int32 step count, which JAX does
        # in float32 even with x64 on, and the join then rounds the whole
        # schedule to float32 (a relative 1e-8 off the float64 rate, found by
        # the reference loop in tests/test_train.py). Counting in the default
        # float type keeps x64 runs float64; in float32 the values are the
        # same (counts below 2^24 are exact).
        return warmup_cosine(jnp.asarray(count, jnp.result_type(float)))

    return schedule_fn


def make_optimizer(
    name: str | optax.GradientTransformation,
    learning_rate: float = 1e-3,
    *,
    total_steps: int | None = None,
    schedule: str = "constant",
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """An Optax optimizer by name, or an Optax transformation passed through.

    ``total_steps`` sizes the learning-rate schedule (cosine decays to 0 over
    it). lbfgs uses Optax's zoom line search and ignores the learning rate.
    """
    if isinstance(name, optax.GradientTransformation):
        return name
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}, or an optax transformation")
    name = name.lower()
    lr = _schedule(learning_rate, total_steps, schedule)
    if name == "lbfgs":
        return optax.lbfgs()
    if name == "adamw":
        return optax.adamw(lr, weight_decay=weight_decay)
    builders = {
        "adam": lambda: optax.adam(lr),
        "sgd": lambda: optax.sgd(lr),
        "momentum": lambda: optax.sgd(lr, momentum=0.9),
        "nesterov": lambda: optax.sgd(lr, momentum=0.9, nesterov=True),
        "rmsprop": lambda: optax.rmsprop(lr),
        "adagrad": lambda: optax.adagrad(lr),
    }
    opt = builders[name]()
    if weight_decay:
        opt = optax.chain(optax.add_decayed_weights(weight_decay), opt)
    return opt


def mean_squared_error(y_true: jax.Array, y_pred: jax.Array) -> jax.Array:
    """``mean((y_true - y_pred)^2)``; shapes must agree exactly."""
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shapes differ: y_true {y_true.shape} and y_pred {y_pred.shape}")
    return jnp.mean((y_true - y_pred) ** 2)


def ensemble_vmap(fn: Callable, in_axes: Sequence[int | None]) -> Callable:
    """``jax.vmap(fn, in_axes)`` over an ensemble axis (0 or ``None`` per
    argument), except that an ensemble of one calls ``fn`` on the squeezed
    arguments and adds the axis back to the outputs.

    XLA on CPU lowers some reductions over a batch axis of size one to a
    kernel that runs about 30 times slower (measured: a sum over 1024 points
    of a ``(1, 1024, 256)`` array takes 500 us against 15 us without the
    unit axis), which made a one-seed training 30x slower per network than a
    four-seed one. The ensemble size is static, so the choice is made at
    trace time.
    """
    batched = jax.vmap(fn, in_axes=tuple(in_axes))

    def call(*args):
        sizes = {
            leaf.shape[0]
            for arg, axis in zip(args, in_axes)
            if axis == 0
            for leaf in jax.tree.leaves(arg)
        }
        if sizes != {1}:
            return batched(*args)
        squeezed = [jax.tree.map(lambda a: a[0], arg) if axis == 0 else arg for arg, axis in zip(args, in_axes)]
        return jax.tree.map(lambda a: a[None], fn(*squeezed))

    return call


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


def init_train_state(params, optimizer: optax.GradientTransformation, model_state=None) -> TrainState:
    dtype = jax.tree.leaves(params)[0].dtype
    return TrainState(
        params,
        optimizer.init(params),
        jnp.zeros((), jnp.int32),
        jnp.asarray(jnp.inf, dtype),
        jnp.zeros((), bool),
        model_state,
    )


def _sum_finite(tree) -> jax.Array:
    """Whether the sum of all elements of ``tree`` is finite: false whenever
    an element is NaN or infinite (and, conservatively, when the sum of huge
    finite values overflows). One reduction per leaf, against three for an
    elementwise ``isfinite`` followed by ``all`` on XLA:CPU."""
    return jnp.isfinite(sum(jnp.sum(leaf) for leaf in jax.tree.leaves(tree)))


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
        finite = jnp.isfinite(loss) & _sum_finite(grads)
        ok = finite & _sum_finite(params) & ~state.diverged
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
        # layer: the same arithmetic element by element, in fewer kernels
        # (the sweep's programs compile about 15 % faster).
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
        elif config.batch_size is None:
            # Full batch: no random numbers in the loop (each random call
            # site costs a few tenths of a second of compilation on CPU).
            state, losses = jax.lax.scan(lambda s, _: step(s, x, y), state, None, length=config.steps)
        else:

            def body(state, i):
                idx = jax.random.randint(jax.random.fold_in(key, i), (config.batch_size,), 0, x.shape[0])
                return step(state, x[idx], y[idx])

            state, losses = jax.lax.scan(body, state, jnp.arange(config.steps))
        params = unravel(state.params)
        final = loss_fn(y, apply(params, x, masks))
        final = jnp.where(state.diverged | ~jnp.isfinite(final), state.last_loss, final)
        if snapshots is not None:
            fit, flat, loss = snapshots
            # The last snapshot's loss is the run's final loss (on the full training set).
            loss = jnp.concatenate([loss[:-1], final[None]])
            snapshots = RunSnapshots(fit, jax.vmap(unravel)(flat), loss)
        return RunResult(params, losses, final, state.diverged, snapshots)

    ensemble = ensemble_vmap(one, (0, 0, None, None, 0, None))

    def run(params, masks, x, y, keys, points=None):
        if config.snapshots and points is None:
            raise ValueError(f"a run with {config.snapshots} snapshots needs the points to record the fit at")
        return ensemble(params, masks, x, y, keys, points)

    return jax.jit(run)


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
    ``batch`` snapshots at a time (a forward pass inside the loop compiled
    0.5 s slower per program, for the same run time).
    """
    chunks = config.snapshots
    c, r = divmod(config.steps, chunks)
    full_batch = config.batch_size is None
    dtype = state.last_loss.dtype

    def advance(state, i):
        if full_batch:
            return step(state, x, y)
        idx = jax.random.randint(jax.random.fold_in(key, i), (config.batch_size,), 0, x.shape[0])
        return step(state, x[idx], y[idx])

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
    the given ``order``, a permutation ``(n,)`` drawn elsewhere) and cut into
    ``ceil(n / batch_size)`` batches like Keras, the last one holding the
    remaining ``n mod batch_size`` examples; ``batch_losses``
    ``(n_batches,)`` is each batch's loss over its real examples, before its
    step. The forward pass of step ``i`` receives ``step_keys[i]`` when given
    (any per-step array), else ``fold_in(fold_in(key, 2**31 - 1), i)``.

    Args:
      forward: ``forward(params, model_state, x, key, weights) ->
        (prediction, model_state)`` in training mode; ``key`` is the step's
        random key (dropout), ``weights`` ``(b,)`` marks the batch's real
        examples (1) and its padding (0), for layers that pool over the
        batch (batch normalisation).
      losses: ``losses(y_true, prediction) -> (b,)``, per-example losses
        (see :func:`per_example_losses`); a batch's loss is their weighted
        mean.
      penalty: ``penalty(params) -> scalar`` added to every batch's loss
        (weight regularisation), or ``None``.
      collect: ``collect(prediction) -> (b, ...)``: per-example outputs
        gathered over the epoch, ``(n, ...)`` in the order the examples were
        trained on (``order``; each example's output from the step that
        trained on it, the values Keras's training metrics see), or ``None``.

    All batches run under one ``lax.scan`` of one step: the last, partial
    batch is filled up to ``batch_size`` with examples of weight zero, so
    it has exactly the loss and gradient of the partial batch. A separate
    step for the partial batch would be a second copy of the step in the
    program, and twice its compile time.

    Divergence is checked once per epoch, not per step (a per-step check
    over gradients and parameters with a select over the optimiser state
    costs a fifth of an epoch): a network whose batch losses or parameters
    are not all finite at the end of the epoch goes back to its state at
    the start of the epoch, is flagged ``diverged``, and stays there in later
    epochs. A non-finite gradient or optimiser state shows up there too, as
    it makes the next parameters (and so the next loss) non-finite. ``step``
    counts the optimiser steps kept and ``last_loss`` is the last batch loss
    of the last kept epoch.
    """
    n_batches, batch_size = epoch_batches(n_train, batch_size)

    def objective(params, model_state, xb, yb, wb, key):
        prediction, model_state = forward(params, model_state, xb, key, wb)
        loss = jnp.sum(wb * losses(yb, prediction)) / jnp.sum(wb)
        if penalty is not None:
            loss = loss + penalty(params)
        return loss, (model_state, prediction)

    def epoch(state: TrainState, x, y, key, order=None, step_keys=None):
        dtype = jax.tree.leaves(state.params)[0].dtype
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

        def step(carry, batch):
            params, opt_state, model_state = carry
            i, idx, step_key = batch
            weights = (jnp.arange(batch_size) < n_train - i * batch_size).astype(dtype)
            (loss, (model_state, prediction)), grads = jax.value_and_grad(objective, has_aux=True)(
                params, model_state, x[idx], y[idx], weights, step_key
            )
            out = loss if collect is None else (loss, collect(prediction))
            # The optimiser steps the tree of arrays: stepping one flat vector
            # (ravel_pytree) compiles a quarter faster but copies every
            # parameter twice a step (measured: 784-128-10 epochs at batch 32
            # 60 % slower, and up to 10x with the gathered outputs).
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state, model_state), out

        batches = (jnp.arange(n_batches), order.reshape(n_batches, batch_size), step_keys)
        carry = (state.params, state.opt_state, state.model_state)
        (params, opt_state, model_state), out = jax.lax.scan(step, carry, batches)
        losses_, outputs = (out, None) if collect is None else out
        ok = ~state.diverged & _sum_finite((losses_, params))
        keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, old)  # noqa: E731
        new_state = TrainState(
            params=keep(params, state.params),
            # A member whose epoch failed is frozen from then on (ok needs
            # ~diverged): every later epoch's parameters are discarded, so its
            # optimiser state needs no going back (a select per optimiser
            # array less; it halves the compilation of a small model's epoch).
            opt_state=opt_state,
            step=jnp.where(ok, state.step + n_batches, state.step),
            last_loss=jnp.where(ok, losses_[-1], state.last_loss),
            diverged=~ok,
            model_state=keep(model_state, state.model_state),
        )
        if collect is None:
            return new_state, losses_
        # In training order: whoever needs the data's order has the permutation
        # (a scatter back costs 5 % of a 784-128-10 epoch).
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


def stack_masks(active: Sequence[Sequence[int]], padded: Sequence[int], dtype=jnp.float32):
    """Masks for an ensemble: ``active[e][l]`` live units out of ``padded[l]``.

    Returns a tuple over layers of ``(E, padded[l])`` 0/1 arrays.
    """
    return tuple(
        jnp.stack([(jnp.arange(p) < a[l]).astype(dtype) for a in active]) for l, p in enumerate(padded)
    )
