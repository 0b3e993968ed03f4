"""The compiled programs behind ``Sequential``: one epoch, an evaluation, a prediction.

A model reaches these as a :class:`Structure` (its layers' ops, which weights
train, their regularizers: all hashable, so equal structures share programs)
and pytrees of arrays: ``params`` (the trained weights) and ``state`` (the
others: frozen layers, batch-normalisation statistics), each a tuple over
layers of tuples of arrays. Every program is a pure function under one
``jax.jit``:

* :func:`fit_program` - one epoch of :func:`approx.train.make_epoch` (shuffle,
  ``lax.scan`` over the minibatches, the divergence check) fused with the
  validation set's loss and outputs; the training examples' outputs, gathered
  during the epoch, come back for the metrics.
* :func:`evaluate_program` - loss and outputs on a data set, in chunks.
* :func:`predict_program` - outputs, in chunks.

A sigmoid (softmax) output followed by a binary (categorical) cross-entropy
on probabilities is trained and evaluated from the logits, with the loss's
``from_logits`` form: the same function, without the ``exp`` overflow or the
``1e-7`` clip of probabilities.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax

from approx import train as _train
from approx.backend import compiler_options
from approx.keras import activations as _activations
from approx.keras import losses as _losses
from approx.keras._random import make_key
from approx.keras.optimizers import set_learning_rate

# Rows evaluated at once by evaluate/predict (and the validation set in fit):
# bounds the activations held in memory; a set this small or smaller is one pass.
CHUNK = 8192


@dataclass(frozen=True)
class Structure:
    """What a compiled program needs to know of a model (hashable)."""

    ops: tuple  # one Op per layer
    trainable: tuple  # per layer, per weight: whether fit trains it
    regularizers: tuple  # per layer, per weight: a regularizer or None

    def split(self, values):
        """``(params, state)`` from per-layer tuples of all weights."""
        params = tuple(tuple(v for v, t in zip(vs, ts) if t) for vs, ts in zip(values, self.trainable))
        state = tuple(tuple(v for v, t in zip(vs, ts) if not t) for vs, ts in zip(values, self.trainable))
        return params, state

    def merge(self, params, state):
        """Per-layer tuples of all weights, in creation order."""
        out = []
        for p, s, ts in zip(params, state, self.trainable):
            p, s = iter(p), iter(s)
            out.append(tuple(next(p) if t else next(s) for t in ts))
        return tuple(out)

    @property
    def random_layers(self) -> int:
        """How many layers draw random numbers in training (dropout)."""
        return sum(op.random for op in self.ops)

    @property
    def output_activation(self) -> Callable | None:
        return getattr(self.ops[-1], "activation", None) if self.ops else None


@dataclass(frozen=True)
class LossPlan:
    """The loss a program minimises and what it is applied to.

    ``loss`` is the user's :class:`~approx.keras.losses.Loss`; when
    ``fused``, the model's last activation is left out of the forward pass
    and ``logits_loss`` (the ``from_logits=True`` form) is applied instead.
    """

    loss: object
    logits_loss: object = None

    @property
    def fused(self) -> bool:
        return self.logits_loss is not None

    def per_example(self) -> Callable:
        """``losses(y_true, prediction) -> (b,)``."""
        loss = self.logits_loss if self.fused else self.loss

        def losses(y_true, y_pred):
            values = loss.call(y_true, y_pred)
            if values.ndim == 0:  # a custom loss that returns the batch mean
                return _train.per_example_losses(lambda t, p: loss.call(t, p))(y_true, y_pred)
            return values.reshape(values.shape[0], -1).mean(axis=1) if values.ndim > 1 else values

        return losses


_FUSABLE = {
    _losses.BinaryCrossentropy: (_activations.sigmoid,),
    _losses.CategoricalCrossentropy: (_activations.softmax,),
    _losses.SparseCategoricalCrossentropy: (_activations.softmax,),
}


def plan_loss(loss, structure: Structure) -> LossPlan:
    """Fuses a cross-entropy on probabilities with the sigmoid or softmax
    that produced them (see the module docstring)."""
    activations = _FUSABLE.get(type(loss), ())
    if structure.output_activation in activations and not loss.from_logits:
        options = {k: v for k, v in loss.get_config().items() if k not in ("name", "reduction")}
        return LossPlan(loss, type(loss)(**{**options, "from_logits": True}))
    return LossPlan(loss)


def make_forward(structure: Structure, fused: bool) -> Callable:
    """``forward(params, state, x, keys, mask, training) -> (out, state)``; with
    ``fused`` the last layer's activation is not applied (``out`` are logits).
    ``keys`` ``(R, 2)`` holds the key data of the ``R`` random layers (dropout),
    in order, or is ``None`` at inference."""
    n = len(structure.ops)

    def forward(params, state, x, keys, mask, training):
        weights = structure.merge(params, state)
        new, r = [], 0
        for i, (op, w) in enumerate(zip(structure.ops, weights)):
            k = None
            if op.random and keys is not None:
                k, r = make_key(keys[r]), r + 1
            call = op.pre if (fused and i == n - 1) else op
            x, w = call(w, x, training, k, mask)
            new.append(w)
        _, new_state = structure.split(tuple(new))
        return x, new_state

    return forward


def make_penalty(structure: Structure) -> Callable | None:
    """``penalty(params) -> scalar``: the regularizers of the trained weights."""
    pairs = [
        (i, j)
        for i, (ts, rs) in enumerate(zip(structure.trainable, structure.regularizers))
        for j, (t, r) in enumerate(zip(ts, rs))
        if t and r is not None
    ]
    if not pairs:
        return None

    def penalty(params):
        total = 0.0
        for i, j in pairs:
            index = sum(structure.trainable[i][:j])  # position among the layer's trained weights
            total = total + structure.regularizers[i][j](params[i][index])
        return total

    return penalty


def _chunked(fn: Callable, n: int, chunk: int) -> Callable:
    """``run(x, *rest) -> fn`` over rows of ``x`` in chunks of ``chunk``,
    results concatenated; the last chunk ends at row ``n`` (overlapping the
    one before it rather than padding the data)."""
    if n <= chunk:
        return lambda *args: fn(*args, 0)
    count = -(-n // chunk)
    starts = jnp.minimum(jnp.arange(count) * chunk, n - chunk)

    def run(*args):
        def one(start):
            sliced = [jax.lax.dynamic_slice_in_dim(a, start, chunk) for a in args]
            return fn(*sliced, start)

        out = jax.lax.map(one, starts)
        # Chunk i holds rows starts[i]..starts[i]+chunk; keep each row once.
        tail = n - (count - 1) * chunk
        return jax.tree.map(
            lambda a: jnp.concatenate([a[:-1].reshape(-1, *a.shape[2:]), a[-1][chunk - tail :]]), out
        )

    return run


def make_evaluate(structure: Structure, plan: LossPlan, n: int) -> Callable:
    """``evaluate(params, state, x, y) -> (loss, outputs)``: the mean loss over
    the ``n`` examples (plus the regularizers, as Keras) and the outputs."""
    forward = make_forward(structure, plan.fused)
    losses = plan.per_example()
    penalty = make_penalty(structure)
    activation = structure.output_activation if plan.fused else None
    chunk = min(n, CHUNK)

    def part(params, state, x, y, start):
        out, _ = forward(params, state, x, None, None, False)
        values = losses(y, out)
        if activation is not None:
            out = activation(out)
        return values, out

    def evaluate(params, state, x, y):
        values, outputs = _chunked(lambda x, y, s: part(params, state, x, y, s), n, chunk)(x, y)
        loss = jnp.mean(values)
        if penalty is not None:
            loss = loss + penalty(params)
        return loss, outputs

    return evaluate


@functools.lru_cache(maxsize=64)
def evaluate_program(structure: Structure, plan: LossPlan, n: int) -> Callable:
    return jax.jit(make_evaluate(structure, plan, n), compiler_options=compiler_options())


@functools.lru_cache(maxsize=64)
def predict_program(structure: Structure, n: int, training: bool = False) -> Callable:
    """``predict(params, state, x, keys) -> outputs``; ``training`` runs
    dropout with the key data ``keys`` ``(R, 2)`` (folded with each chunk's start)."""
    forward = make_forward(structure, False)

    def part(params, state, x, keys, start):
        mask = jnp.ones(x.shape[:1], x.dtype)
        if not training:
            return forward(params, state, x, None, mask, False)[0]
        keys = jax.vmap(lambda k: jax.random.key_data(jax.random.fold_in(make_key(k), start)))(keys)
        return forward(params, state, x, keys, mask, True)[0]

    def predict(params, state, x, keys):
        return _chunked(lambda x, s: part(params, state, x, keys, s), n, min(n, CHUNK))(x)

    return jax.jit(predict, compiler_options=compiler_options())


@functools.lru_cache(maxsize=64)
def fit_program(
    structure: Structure,
    optimizer: optax.GradientTransformation,
    plan: LossPlan,
    batch_size: int,
    n: int,
    shuffle: bool,
    outputs: bool,
    n_val: int,
) -> Callable:
    """``run(state, x, y, order, step_keys, x_val, y_val) -> (state, out)``: one epoch.

    ``state`` is an :class:`approx.train.TrainState` whose ``params`` and
    ``model_state`` are the model's trained and other weights; ``order`` is
    the epoch's permutation of the training examples and ``step_keys``
    ``(n_batches, R, 2)`` the key data of each step's random layers (both
    drawn on the host). ``out``: ``loss`` (the batch losses' mean weighted by
    batch size, as Keras's progress bar ends an epoch), ``diverged``, with
    ``outputs`` the training examples' outputs ``(n, ...)`` in ``order``,
    with ``n_val > 0`` the validation ``val_loss`` (and ``val_outputs``).
    """
    forward = make_forward(structure, plan.fused)
    activation = structure.output_activation if plan.fused else None

    def train_forward(params, state, x, key, weights):
        return forward(params, state, x, key, weights, True)

    collect = None
    if outputs:
        collect = activation if activation is not None else (lambda out: out)
    epoch = _train.make_epoch(
        train_forward, optimizer, plan.per_example(), batch_size, n, shuffle,
        penalty=make_penalty(structure), collect=collect,
    )  # fmt: skip
    n_batches, size = _train.epoch_batches(n, batch_size)
    sizes = np.asarray([size] * (n_batches - 1) + [n - size * (n_batches - 1)], np.float32)
    evaluate = make_evaluate(structure, plan, n_val) if n_val else None

    def run(state, x, y, order, step_keys, x_val, y_val):
        result = epoch(state, x, y, None, order=order, step_keys=step_keys)
        state, batch_losses = result[0], result[1]
        out = {"loss": jnp.dot(batch_losses, jnp.asarray(sizes, batch_losses.dtype)) / n, "diverged": state.diverged}
        if outputs:
            out["outputs"] = result[2]
        if evaluate is not None:
            out["val_loss"], val_outputs = evaluate(state.params, state.model_state, x_val, y_val)
            if outputs:
                out["val_outputs"] = val_outputs
        return state, out

    return jax.jit(run, compiler_options=compiler_options())


@functools.lru_cache(maxsize=64)
def init_state_program(optimizer: optax.GradientTransformation) -> Callable:
    """``(params, model_state, learning_rate) -> TrainState``, compiled once per optimizer."""

    def init(params, model_state, learning_rate):
        state = _train.init_train_state(params, optimizer, model_state)
        if learning_rate is not None:
            state = state._replace(opt_state=set_learning_rate(state.opt_state, learning_rate))
        return state

    return jax.jit(init)


def clear_programs() -> None:
    """Drops every cached program (``keras.backend.clear_session``)."""
    for factory in (evaluate_program, predict_program, fit_program, init_state_program):
        factory.cache_clear()
