"""Fashion-MNIST training: the compiled programs of one ``(depth, width)`` and the epoch loop.

The model is ``784 -> width (x depth) -> 10`` with softmax outputs, trained on
the categorical cross-entropy computed from the logits. Training is
:func:`approx.train.make_epoch_fn`, the loop the core and the Keras-style
front use: one ``lax.scan`` over the shuffled minibatches of an epoch, every
seed of a width in one ``vmap``ped ensemble. Evaluation (cross-entropy and
accuracy on the test set and a training subset, in chunks to bound memory) is
a second program, so that the training time of an epoch is measured on its
own; both are compiled before the first epoch, and an epoch is two
dispatches and one host read.

The model key of a run is ``fold_in(fold_in(key(seed), depth), width)``,
split into an initialisation key and a shuffling key; epoch ``e`` shuffles
with ``fold_in(shuffle_key, e)``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from approx.backend import compiler_options, on_init_device, to_compute_device
from approx.config import FMNISTConfig
from approx.experiments.fmnist_data import IN_DIM, N_CLASSES, DeviceData, FMNISTData
from approx.models import INIT_COMPILER_OPTIONS, MLP
from approx.train import ensemble_vmap, epoch_batches, init_train_state, make_apply, make_epoch_fn, make_optimizer

__all__ = [
    "HISTORY_NAMES", "FMNISTResult", "EvalMetrics", "Program", "compile_program", "cross_entropy", "make_program",
    "train_fmnist",
]  # fmt: skip


def cross_entropy(labels: jax.Array, logits: jax.Array, label_smoothing: float = 0.0) -> jax.Array:
    """Mean categorical cross-entropy of softmax(logits) against integer labels.

    ``labels`` ``(b,)`` and ``logits`` ``(b, classes)``; computed from the
    logits by a log-sum-exp (never ``log(softmax)``). With ``label_smoothing``
    ``a`` the target is ``(1 - a) one_hot + a / classes`` (Szegedy et al. 2016).
    """
    if labels.shape != logits.shape[:-1]:
        raise ValueError(
            f"labels {labels.shape} do not match logits {logits.shape}; expected labels (b,) and logits (b, k)"
        )
    if label_smoothing == 0:
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))
    target = optax.smooth_labels(jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype), label_smoothing)
    return jnp.mean(optax.softmax_cross_entropy(logits, target))


class EvalMetrics(NamedTuple):
    """Per ensemble member after an epoch's evaluation (each ``(E,)``, predictions ``(E, m)``)."""

    train_loss: jax.Array  # cross-entropy on the training evaluation subset
    train_correct: jax.Array  # int32 counts
    test_loss: jax.Array
    test_correct: jax.Array
    predictions: jax.Array  # (E, all evaluated examples): training subset, then test


class Program(NamedTuple):
    """The compiled pieces of one ``(depth, width)``.

    ``init(seeds) -> (states, keys)``: vmapped :class:`~approx.train.TrainState`
    and shuffling keys for ``seeds`` ``(E,)`` int32.
    ``train(states, keys, epoch, data) -> (states, batch_loss)``: one epoch of
    training (``epoch`` an int32 scalar array; ``batch_loss`` ``(E,)`` the
    mean of the epoch's finite batch losses). The input ``states`` are
    donated: their buffers become the output's, and they cannot be read after.
    ``evaluate(params, data) -> EvalMetrics``: the training subset and the test set.
    Training and evaluation are separate programs so that each is timed on
    its own; both are compiled ahead of the first epoch
    (``train.lower(...).compile()``).
    """

    graphdef: object
    init: Callable
    train: Callable
    evaluate: Callable
    n_batches: int


def _model(in_dim: int, depth: int, width: int, activation: str, key, dtype) -> MLP:
    return MLP(in_dim, [width] * depth, N_CLASSES, activation=activation, init="default", key=key, dtype=dtype)


def _evaluate_one(apply, params, xs, ys, ws):
    """Mean cross-entropy and number of correct predictions for each
    weighting in ``ws`` ``(sets, chunks, c)``, one chunk at a time, and every
    prediction. Counts are integers, so accuracies are exact ratios."""

    def body(carry, batch):
        x, y, w = batch
        logits = apply(params, x)
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, y)
        pred = jnp.argmax(logits, axis=-1).astype(jnp.int32)
        hits = (w > 0) & (pred == y)[None, :]
        return (carry[0] + w @ nll, carry[1] + jnp.sum(hits, axis=1, dtype=jnp.int32)), pred

    init = (jnp.zeros(ws.shape[0], xs.dtype), jnp.zeros(ws.shape[0], jnp.int32))
    (loss, correct), preds = jax.lax.scan(body, init, (xs, ys, jnp.swapaxes(ws, 0, 1)))
    return loss / jnp.sum(ws, axis=(1, 2)), correct, preds.reshape(-1)


@functools.lru_cache(maxsize=32)
def _program(
    depth: int,
    width: int,
    activation: str,
    optimizer: str,
    lr: float,
    schedule: str,
    weight_decay: float,
    label_smoothing: float,
    epochs: int,
    batch_size: int,
    n_train: int,
    x64: bool,
) -> Program:
    dtype = jnp.float64 if x64 else jnp.float32
    graphdef = nnx.graphdef(nnx.eval_shape(lambda: _model(IN_DIM, depth, width, activation, jax.random.key(0), dtype)))
    n_batches, _ = epoch_batches(n_train, batch_size)
    opt = make_optimizer(optimizer, lr, total_steps=epochs * n_batches, schedule=schedule, weight_decay=weight_decay)
    loss_fn = functools.partial(cross_entropy, label_smoothing=label_smoothing)
    run_epoch = make_epoch_fn(graphdef, opt, loss_fn, batch_size, n_train)
    apply = make_apply(graphdef)
    evaluate_one = functools.partial(_evaluate_one, apply)

    def init_one(seed):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), depth), width)
        model_key, shuffle_key = jax.random.split(key)
        params = nnx.state(_model(IN_DIM, depth, width, activation, model_key, dtype))
        return init_train_state(params, opt), shuffle_key

    def train(states, keys, index, data: DeviceData):
        epoch_keys = jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, index)
        states, batch_losses = run_epoch(states, data.x_train, data.y_train, epoch_keys)
        finite = jnp.where(jnp.isfinite(batch_losses), batch_losses, jnp.nan)
        return states, jnp.nanmean(finite, axis=1)

    def evaluate(params, data: DeviceData):
        loss, correct, preds = ensemble_vmap(evaluate_one, (0, None, None, None))(
            params, data.x_eval, data.y_eval, data.w_eval
        )
        return EvalMetrics(loss[:, 0], correct[:, 0], loss[:, 1], correct[:, 1], preds)

    return Program(graphdef, jax.jit(jax.vmap(init_one)), jax.jit(train, donate_argnums=0), jax.jit(evaluate), n_batches)


def make_program(config: FMNISTConfig, depth: int, width: int, n_train: int) -> Program:
    """The cached :class:`Program` for ``(depth, width)`` under ``config``.

    Only the settings that shape the computation key the cache, so configs
    that differ in, say, their list of widths share compiled programs.
    """
    return _program(
        depth,
        width,
        config.activation,
        config.optimizer,
        float(config.lr),
        config.schedule,
        float(config.weight_decay),
        float(config.label_smoothing),
        config.epochs,
        config.batch_size,
        n_train,
        config.x64,
    )


class Compiled(NamedTuple):
    """A :class:`Program`'s pieces compiled for one ensemble, its initial
    states and keys, and the seconds each part took."""

    states: object
    keys: jax.Array
    train: Callable
    evaluate: Callable
    parts: dict[str, float]  # init, train, evaluate


@dataclass
class FMNISTResult:
    """One ``(depth, width)`` trained for every seed in ``seeds``.

    ``history`` maps ``batch_loss``, ``train_loss``, ``train_accuracy``,
    ``test_loss`` and ``test_accuracy`` to ``(epochs, E)`` arrays;
    ``predictions`` is ``(E, n_test)`` at the end. ``compile_seconds`` is the
    initialisation plus the ahead-of-time compilation of both programs
    (``compile_parts`` splits it); ``epoch_seconds`` and ``eval_seconds`` are
    the training and the evaluation time of each epoch, for all seeds.
    """

    depth: int
    width: int
    seeds: tuple[int, ...]
    params: object
    history: dict[str, np.ndarray]
    predictions: np.ndarray
    diverged: np.ndarray
    compile_seconds: float
    epoch_seconds: list[float]
    eval_seconds: list[float] = field(default_factory=list)
    compile_parts: dict[str, float] = field(default_factory=dict)


HISTORY_NAMES = ("batch_loss", "train_loss", "train_accuracy", "test_loss", "test_accuracy")


def compile_program(program: Program, members: Sequence[int], data: FMNISTData, mesh=None) -> Compiled:
    """Initial states for the seeds ``members`` (spread over ``mesh``'s
    devices when given) and both programs compiled ahead of time for them."""
    t0 = time.perf_counter()
    seed_array = np.asarray(members, np.int32)
    # Unoptimised code for the one-off initialisation (quicker to compile; it
    # rounds differently: about 4 % of the initial weights differ from an
    # optimised build's in the last bit), on the host's CPU also when
    # training runs on an accelerator.
    with on_init_device():
        init = program.init.lower(jax.ShapeDtypeStruct(seed_array.shape, jnp.int32))
        states, keys = init.compile(compiler_options=INIT_COMPILER_OPTIONS)(seed_array)
    if mesh is not None:
        sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("ensemble"))
        states, keys = jax.device_put((states, keys), sharding)
    else:
        states, keys = to_compute_device((states, keys))
    jax.block_until_ready(states)
    t1 = time.perf_counter()
    index = jnp.zeros((), jnp.int32)
    train = program.train.lower(states, keys, index, data.device).compile(compiler_options=compiler_options())
    t2 = time.perf_counter()
    evaluate = program.evaluate.lower(states.params, data.device).compile(compiler_options=compiler_options())
    t3 = time.perf_counter()
    return Compiled(states, keys, train, evaluate, {"init": t1 - t0, "train": t2 - t1, "evaluate": t3 - t2})


def train_fmnist(
    config: FMNISTConfig,
    data: FMNISTData,
    depth: int,
    width: int,
    seeds: Sequence[int] | None = None,
    *,
    mesh: jax.sharding.Mesh | None = None,
    on_epoch: Callable[[int, dict, float], None] | None = None,
) -> FMNISTResult:
    """Trains ``784 -> width^depth -> 10`` for ``config.epochs`` epochs, every
    seed at once, and evaluates after each epoch.

    ``on_epoch(epoch, metrics, seconds)`` is called with the host copies of
    the epoch's ``(E,)`` metrics and its training plus evaluation seconds.
    Compilation (ahead of time, before the first epoch) is timed apart from
    the epochs, and each epoch's training apart from its evaluation: the
    host waits for the trained parameters (no copy) before it starts the
    evaluation, whose results are the epoch's one host read.
    """
    seeds = tuple(range(config.seeds)) if seeds is None else tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    members = list(seeds)
    if mesh is not None:  # an ensemble that divides evenly over the devices; copies are dropped
        members += [members[-1]] * ((-len(members)) % mesh.devices.size)
    c = compile_program(make_program(config, depth, width, data.n_train), members, data, mesh)
    n, states = len(seeds), c.states
    history = {k: np.zeros((config.epochs, n)) for k in HISTORY_NAMES}
    train_s, eval_s = [], []
    metrics = None
    for e in range(config.epochs):
        t = time.perf_counter()
        states, batch_loss = c.train(states, c.keys, jnp.asarray(e, jnp.int32), data.device)
        jax.block_until_ready(states)
        t_mid = time.perf_counter()
        metrics = c.evaluate(states.params, data.device)
        values, diverged = _epoch_values(data, n, batch_loss, states.diverged, metrics)
        train_s.append(t_mid - t)
        eval_s.append(time.perf_counter() - t_mid)
        for k in HISTORY_NAMES:
            history[k][e] = values[k]
        if on_epoch is not None:
            on_epoch(e + 1, values | {"diverged": diverged}, train_s[-1] + eval_s[-1])
    predictions = np.asarray(jax.device_get(metrics.predictions))[:n, data.test_offset : data.test_offset + data.n_test]
    diverged = np.asarray(jax.device_get(states.diverged))[:n]
    params = jax.tree.map(lambda a: a[:n], states.params)
    compile_s = sum(c.parts.values())
    return FMNISTResult(depth, width, seeds, params, history, predictions, diverged, compile_s, train_s, eval_s, c.parts)


def _epoch_values(data: FMNISTData, n: int, batch_loss, diverged, metrics: EvalMetrics) -> tuple[dict, np.ndarray]:
    """The epoch's metrics of the first ``n`` members, read from the device
    in one host read; and which members have diverged."""
    fields = (metrics.train_loss, metrics.train_correct, metrics.test_loss, metrics.test_correct)
    host = jax.device_get((batch_loss, diverged, *fields))
    batch, diverged, train_loss, train_correct, test_loss, test_correct = (np.asarray(v)[:n] for v in host)
    values = {
        "batch_loss": batch,
        "train_loss": train_loss,
        "train_accuracy": train_correct / data.n_train_eval,
        "test_loss": test_loss,
        "test_accuracy": test_correct / data.n_test,
    }
    return values, diverged
