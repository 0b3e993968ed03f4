"""Fashion-MNIST: MLPs of growing width (and depth) trained by the shared compiled loop.

The universal approximation theorems (Cybenko 1989, Hornik 1991) say a wide
enough sigmoid layer can represent any decision function; this module measures
what width buys on a real classification task. Each ``(depth, width)`` is one
compiled program; its seeds are an ensemble trained together under ``vmap``.

Training is :func:`approx.train.make_epoch_fn`, the loop the core and the
Keras-style front use: one ``lax.scan`` over the shuffled minibatches of an
epoch, one compiled step for every batch, the divergence check once per
epoch. Evaluation (cross-entropy and accuracy on the test set and a training
subset, in chunks to bound memory) is a second program, so that the training
time of an epoch is measured on its own and compares with other frameworks'
training loops; both are compiled before the first epoch, and an epoch is two
dispatches and one host read. The data are put on the device once.

The model is ``784 -> width (x depth) -> 10`` with softmax outputs, trained on
the categorical cross-entropy computed from the logits
(``optax.softmax_cross_entropy_with_integer_labels``, or with smoothed labels),
inputs standardised per pixel with the training set's statistics.

Every run's numbers depend only on its own ``(depth, width, seed)``, the config
and the data (up to float rounding: an ensemble of one and of three seeds may
differ in the last bits): the model key is
``fold_in(fold_in(key(seed), depth), width)``, split into an initialisation key
and a shuffling key; epoch ``e`` shuffles with ``fold_in(shuffle_key, e)``.

Defaults, by measurement (784-256-10 sigmoid, batch 128, 5 epochs, test
accuracy of seeds 0/1/2, CPU float32):

=========================================  ==========================
Adam 2e-3, cosine, raw pixels in [0, 1]     86.9 / 86.9 / 86.9 %
Adam 1e-3, constant, standardised            88.2 / 87.9 / 87.9 %
Adam 1e-3 / 2e-3 / 3e-3, cosine, standard.   87.4 / 88.2 / 88.6 % (seed 0)
**Adam 4e-3, cosine, standardised**          **88.8 / 88.7 / 88.7 %**
Adam 5e-3 / 1e-2, cosine, standardised       88.9 / 87.8 % (seed 0)
+ label smoothing 0.1 / AdamW wd 0.05         88.6-88.9 % (no clear gain)
=========================================  ==========================

Thirty epochs (Adam 2e-3, cosine) reach 89.3 % at width 256, 90.1 % at 1024
and 90.3 % at 2048 with one hidden layer (seed 0); the training accuracy is
then 100 %: the extra width is memorised, not generalised.
"""

from __future__ import annotations

import functools
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from approx.analysis import summarize
from approx.backend import compiler_options, config_precision, on_init_device, to_compute_device
from approx.config import FMNISTConfig
from approx.data.fashion_mnist import FashionMNIST, load_fashion_mnist
from approx.models import INIT_COMPILER_OPTIONS, MLP, count_params
from approx.results import FMNIST_COLUMNS, RunDirectory, append_rows, atomic_write, encode_rows, read_rows
from approx.experiments.sweep import environment, make_mesh
from approx.train import ensemble_vmap, epoch_batches, init_train_state, make_apply, make_epoch_fn, make_optimizer

__all__ = [
    "COLUMNS",
    "HISTORY_COLUMNS",
    "KEY_COLUMNS",
    "IN_DIM",
    "N_CLASSES",
    "FMNISTData",
    "DeviceData",
    "Program",
    "RunResult",
    "FMNISTOutcome",
    "prepare_data",
    "make_program",
    "train_fmnist",
    "run_fmnist",
    "format_table",
    "cross_entropy",
]

IN_DIM = 28 * 28
N_CLASSES = 10
KEY_COLUMNS = ("depth", "width", "seed")
COLUMNS = FMNIST_COLUMNS + (
    "train_accuracy", "best_epoch", "best_test_accuracy", "optimizer", "lr", "batch_size",
)  # fmt: skip
HISTORY_COLUMNS = (
    "depth", "width", "seed", "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds",
    "eval_seconds",
)  # fmt: skip
# ``seconds`` is an epoch's training time and ``eval_seconds`` its evaluation
# time, per seed (an ensemble's time divided by its seeds). ``eval_seconds``
# came later: rows of older runs read back with it empty.
# Keys that do not change any number: resuming with another value is allowed.
NEUTRAL_KEYS = frozenset({"data_dir"})
# Examples per evaluation chunk: bounds the activations held at once to
# seeds x chunk x width floats (4 seeds x 2000 x 2048 x 4 B = 64 MB).
EVAL_CHUNK = 2000
# Pixels near the border are almost always 0; their standard deviation is tiny
# and dividing by it would blow rare non-zero values up by 1000x. Standard
# deviations are floored at this fraction of the mean pixel deviation.
STD_FLOOR = 0.1


# -- data ----------------------------------------------------------------------
class DeviceData(NamedTuple):
    """The arrays an epoch reads, on the device (a pytree argument of the jit).

    ``x_train`` ``(n, 784)`` and ``y_train`` ``(n,)`` are the training set.
    The training evaluation subset and the test set are cut into chunks of
    equal size and stacked, training chunks first: ``x_eval``
    ``(chunks, c, 784)``, ``y_eval`` ``(chunks, c)``; ``w_eval``
    ``(2, chunks, c)`` weighs each example 1 in its own set (row 0 training,
    row 1 test) and 0 elsewhere and on the padding, so one scan evaluates both.
    """

    x_train: jax.Array
    y_train: jax.Array
    x_eval: jax.Array
    y_eval: jax.Array
    w_eval: jax.Array


@dataclass(frozen=True, eq=False)
class FMNISTData:
    """Prepared Fashion-MNIST: device arrays and what the host needs to report.

    Attributes:
      device: the :class:`DeviceData`.
      n_train, n_test: examples used for training and testing.
      n_train_eval: training examples evaluated after each epoch.
      y_test: ``(n_test,)`` host copy of the test labels.
      test_offset: index of the first test example in the flattened chunks.
      mean, std: ``(784,)`` the input standardisation (0 and 1 when off).
      source: where the files were read from.
    """

    device: DeviceData
    n_train: int
    n_test: int
    n_train_eval: int
    y_test: np.ndarray
    test_offset: int
    mean: np.ndarray
    std: np.ndarray
    source: str


def _eval_chunks(sets: Sequence[tuple[np.ndarray, np.ndarray]], chunk: int):
    """Stacks evaluation sets as equal chunks; returns ``x, y, w`` and each set's offset."""
    size = max(1, min(chunk, max(len(y) for _, y in sets)))
    xs, ys, offsets, start = [], [], [], 0
    for x, y in sets:
        n = len(y)
        pad = -(-n // size) * size - n
        xs.append(np.concatenate([x, np.zeros((pad, x.shape[1]), x.dtype)]))
        ys.append(np.concatenate([y, np.zeros(pad, y.dtype)]))
        offsets.append(start)
        start += n + pad
    total = start
    w = np.zeros((len(sets), total), xs[0].dtype)
    for k, (_, y) in enumerate(sets):
        w[k, offsets[k] : offsets[k] + len(y)] = 1
    x = np.concatenate(xs).reshape(total // size, size, -1)
    return x, np.concatenate(ys).reshape(total // size, size), w.reshape(len(sets), total // size, size), offsets


def prepare_data(
    config: FMNISTConfig,
    dataset: FashionMNIST | None = None,
    *,
    sharding: jax.sharding.Sharding | None = None,
) -> FMNISTData:
    """Loads (unless given), subsets, flattens and standardises the data and
    puts it on the device once.

    Standardisation is per pixel, ``(x - mean) / max(std, STD_FLOOR * mean(std))``
    with the statistics of the training examples used (LeCun et al., "Efficient
    BackProp", 1998: inputs with zero mean and unit variance condition the
    first layer's Hessian). Raises :class:`~approx.data.DataError` (a
    ``ValueError``) when the files are missing or bad.
    """
    if dataset is None:
        dataset = load_fashion_mnist(config.data_dir)
    dtype = np.float64 if config.x64 else np.float32
    n_train = config.train_subset or len(dataset.y_train)
    n_test = config.test_subset or len(dataset.y_test)
    if n_train > len(dataset.y_train) or n_test > len(dataset.y_test):
        raise ValueError(
            f"train_subset/test_subset must be at most {len(dataset.y_train)}/{len(dataset.y_test)}, "
            f"got {config.train_subset}/{config.test_subset}"
        )
    # In place: each whole-array temporary of the training set is 188 MB.
    x_train = dataset.x_train[:n_train].reshape(n_train, IN_DIM).astype(dtype)
    x_train /= dtype(255)
    x_test = dataset.x_test[:n_test].reshape(n_test, IN_DIM).astype(dtype)
    x_test /= dtype(255)
    y_train = np.asarray(dataset.y_train[:n_train], np.int32)
    y_test = np.asarray(dataset.y_test[:n_test], np.int32)
    if config.standardize:
        mean = x_train.mean(axis=0)
        std = x_train.std(axis=0)
        std = np.maximum(std, STD_FLOOR * std.mean()).astype(dtype)
    else:
        mean, std = np.zeros(IN_DIM, dtype), np.ones(IN_DIM, dtype)
    for x in (x_train, x_test):
        x -= mean
        x /= std
    n_eval = min(config.train_eval_examples or n_train, n_train)
    x_eval, y_eval, w_eval, offsets = _eval_chunks([(x_train[:n_eval], y_train[:n_eval]), (x_test, y_test)], EVAL_CHUNK)
    device = DeviceData(x_train, y_train, x_eval, y_eval, w_eval)
    device = jax.device_put(device, sharding) if sharding is not None else jax.device_put(device)
    return FMNISTData(device, n_train, n_test, n_eval, y_test, offsets[1], mean, std, dataset.source)


# -- the compiled program ------------------------------------------------------
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


class Metrics(NamedTuple):
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
    ``evaluate(params, data) -> Metrics``: the training subset and the test set.
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
        return Metrics(loss[:, 0], correct[:, 0], loss[:, 1], correct[:, 1], preds)

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


@dataclass
class RunResult:
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


def train_fmnist(
    config: FMNISTConfig,
    data: FMNISTData,
    depth: int,
    width: int,
    seeds: Sequence[int] | None = None,
    *,
    mesh: jax.sharding.Mesh | None = None,
    on_epoch: Callable[[int, dict, float], None] | None = None,
) -> RunResult:
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
    program = make_program(config, depth, width, data.n_train)
    t0 = time.perf_counter()
    seed_array = np.asarray(members, np.int32)
    # Unoptimised code for the one-off initialisation (0.35 s to compile
    # instead of 0.53 s for 784-256-10; it rounds differently: about 4 % of
    # the initial weights differ from an optimised build's in the last bit),
    # on the host's CPU also when training runs on an accelerator.
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
    parts = {"init": t1 - t0, "train": t2 - t1, "evaluate": t3 - t2}

    n = len(seeds)
    names = ("batch_loss", "train_loss", "train_accuracy", "test_loss", "test_accuracy")
    history = {k: np.zeros((config.epochs, n)) for k in names}
    train_s, eval_s = [], []
    metrics = None
    for e in range(config.epochs):
        t = time.perf_counter()
        states, batch_loss = train(states, keys, jnp.asarray(e, jnp.int32), data.device)
        jax.block_until_ready(states)
        t_mid = time.perf_counter()
        metrics = evaluate(states.params, data.device)
        fields = (metrics.train_loss, metrics.train_correct, metrics.test_loss, metrics.test_correct)
        host = jax.device_get((batch_loss, states.diverged, *fields))  # the epoch's one host read
        train_s.append(t_mid - t)
        eval_s.append(time.perf_counter() - t_mid)
        batch, diverged, train_loss, train_correct, test_loss, test_correct = (np.asarray(v)[:n] for v in host)
        values = {
            "batch_loss": batch,
            "train_loss": train_loss,
            "train_accuracy": train_correct / data.n_train_eval,
            "test_loss": test_loss,
            "test_accuracy": test_correct / data.n_test,
        }
        for k in names:
            history[k][e] = values[k]
        if on_epoch is not None:
            on_epoch(e + 1, values | {"diverged": diverged}, train_s[-1] + eval_s[-1])
    predictions = np.asarray(jax.device_get(metrics.predictions))[:n, data.test_offset : data.test_offset + data.n_test]
    diverged = np.asarray(jax.device_get(states.diverged))[:n]
    params = jax.tree.map(lambda a: a[:n], states.params)
    return RunResult(depth, width, seeds, params, history, predictions, diverged, t3 - t0, train_s, eval_s, parts)


# -- the sweep -----------------------------------------------------------------
@dataclass
class FMNISTOutcome:
    """What :func:`run_fmnist` did."""

    out_dir: Path
    rows: list[dict[str, str]]
    summary: list[dict]
    skipped: int = 0
    diverged: int = 0
    compile_seconds: float = 0.0
    run_seconds: float = 0.0  # training epochs
    eval_seconds: float = 0.0  # evaluation after each epoch
    wall_seconds: float = 0.0


def _reset_history(path: Path, done: set[tuple[str, ...]]) -> None:
    """Keeps the header and the rows of finished runs (a run interrupted after
    its history but before its result row is trained again)."""
    kept = [{c: "" for c in HISTORY_COLUMNS} | r for r in read_rows(path) if tuple(r[k] for k in KEY_COLUMNS) in done]
    data = (",".join(HISTORY_COLUMNS) + "\n").encode() + encode_rows(HISTORY_COLUMNS, kept)
    atomic_write(path, data)


def predictions_path(out_dir: str | Path, depth: int, width: int, seed: int) -> Path:
    """Where a run's test-set predictions (``uint8`` class indices) are kept."""
    return Path(out_dir) / "predictions" / f"depth{depth}_width{width}_seed{seed}.npy"


def _rows(config: FMNISTConfig, result: RunResult, share: float) -> tuple[list[dict], list[dict]]:
    h = result.history
    rows, hist = [], []
    for i, seed in enumerate(result.seeds):
        key = {"depth": result.depth, "width": result.width, "seed": seed}
        for e in range(config.epochs):
            hist.append(
                key
                | {
                    "epoch": e + 1,
                    "train_loss": float(h["train_loss"][e, i]),
                    "train_accuracy": float(h["train_accuracy"][e, i]),
                    "test_loss": float(h["test_loss"][e, i]),
                    "test_accuracy": float(h["test_accuracy"][e, i]),
                    "seconds": round(result.epoch_seconds[e] / len(result.seeds), 6),
                    "eval_seconds": round(result.eval_seconds[e] / len(result.seeds), 6),
                }
            )
        best = int(np.argmax(h["test_accuracy"][:, i]))
        rows.append(
            key
            | {
                "activation": config.activation,
                "epochs": config.epochs,
                "train_loss": float(h["train_loss"][-1, i]),
                "test_loss": float(h["test_loss"][-1, i]),
                "test_accuracy": float(h["test_accuracy"][-1, i]),
                "params": count_params(IN_DIM, [result.width] * result.depth, N_CLASSES),
                "diverged": bool(result.diverged[i]),
                "seconds": round(share, 6),
                "train_accuracy": float(h["train_accuracy"][-1, i]),
                "best_epoch": best + 1,
                "best_test_accuracy": float(h["test_accuracy"][best, i]),
                "optimizer": config.optimizer,
                "lr": float(config.lr),
                "batch_size": config.batch_size,
            }
        )
    return rows, hist


@config_precision
def run_fmnist(
    config: FMNISTConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: Callable[[str], None] | None = None,
    dataset: FashionMNIST | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FMNISTOutcome:
    """Runs (or resumes) a Fashion-MNIST width sweep into ``out_dir``.

    Writes ``results.csv`` (a row per finished run, :data:`COLUMNS`),
    ``history.csv`` (a row per run and epoch, :data:`HISTORY_COLUMNS`),
    ``predictions/`` (each run's test predictions), ``manifest.json``; it draws
    nothing (:func:`approx.plots.fmnist.plot_fmnist` does). The data and the output directory are checked before anything
    is compiled; ``resume`` trains only the ``(depth, width, seed)`` runs
    not yet in ``results.csv``. When ``should_stop()`` turns true, the sweep
    stops before the next ``(depth, width)`` (the finished ones written) and
    raises ``KeyboardInterrupt``.

    Each ``(depth, width)`` writes its history rows, then its predictions
    (atomically), then its result rows, which mark its runs finished; a
    resumed sweep drops the history of unfinished runs and trains them again
    with the same seeds together, so its rows equal an uninterrupted run's
    bit for bit on the same machine.
    """

    report = progress or (lambda msg: None)
    t_start = time.perf_counter()
    if dataset is None:
        dataset = load_fashion_mnist(config.data_dir)
    mesh = make_mesh()
    replicated = None if mesh is None else jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    data = prepare_data(config, dataset, sharding=replicated)
    store = RunDirectory(out_dir, COLUMNS, KEY_COLUMNS, config.to_dict(), kind="fmnist", neutral_keys=NEUTRAL_KEYS)
    done = store.open(resume=resume, environment=environment() | {"data_source": dataset.source})
    out = Path(out_dir)
    history_path = out / "history.csv"
    _reset_history(history_path, done)
    plan = [
        (depth, width, [s for s in range(config.seeds) if (str(depth), str(width), str(s)) not in done])
        for depth in config.depths
        for width in config.widths
    ]
    plan = [p for p in plan if p[2]]
    skipped = config.seeds * len(config.widths) * len(config.depths) - sum(len(p[2]) for p in plan)
    if skipped:
        report(f"resuming: {skipped} runs already recorded, {sum(len(p[2]) for p in plan)} to go")
    compile_s = run_s = eval_s = 0.0
    log = []
    try:
        for i, (depth, width, seeds) in enumerate(plan, 1):
            if should_stop is not None and should_stop():
                raise KeyboardInterrupt
            tag = f"[{i}/{len(plan)}] depth {depth}, width {width}"

            def on_epoch(epoch, m, secs, tag=tag):
                report(
                    f"{tag}, epoch {epoch}/{config.epochs}: test accuracy {np.median(m['test_accuracy']):.4f}, "
                    f"test loss {np.median(m['test_loss']):.4f} ({secs:.2f} s)"
                )

            result = train_fmnist(config, data, depth, width, seeds, mesh=mesh, on_epoch=on_epoch)
            train_s, test_s = sum(result.epoch_seconds), sum(result.eval_seconds)
            rows, hist = _rows(config, result, train_s / len(seeds))
            for j, seed in enumerate(seeds):
                path = predictions_path(out, depth, width, seed)
                path.parent.mkdir(exist_ok=True)
                buf = io.BytesIO()  # written whole or not at all, before the row that marks the run finished
                np.save(buf, result.predictions[j].astype(np.uint8))
                atomic_write(path, buf.getvalue())
            append_rows(history_path, HISTORY_COLUMNS, hist)
            store.append(rows)  # the row marks the run finished: written last
            compile_s += result.compile_seconds
            run_s += train_s
            eval_s += test_s
            log.append(
                {"depth": depth, "width": width, "seeds": list(seeds),
                 "compile_s": round(result.compile_seconds, 3), "run_s": round(train_s, 3), "eval_s": round(test_s, 3),
                 "compile_parts_s": {k: round(v, 3) for k, v in result.compile_parts.items()}}
            )  # fmt: skip
            report(
                f"{tag}: {len(seeds)} seed(s), compile {result.compile_seconds:.1f} s, "
                f"train {train_s:.1f} s, evaluate {test_s:.1f} s"
            )
    except KeyboardInterrupt:
        store.update_manifest(interrupted=True, programs=log)
        raise
    all_rows = store.rows()
    outcome = FMNISTOutcome(
        out_dir=out,
        rows=all_rows,
        summary=summarize_rows(all_rows),
        skipped=skipped,
        diverged=sum(r["diverged"] == "true" for r in all_rows),
        compile_seconds=compile_s,
        run_seconds=run_s,
        eval_seconds=eval_s,
    )
    outcome.wall_seconds = time.perf_counter() - t_start
    store.finish(
        compile_seconds=round(compile_s, 3),
        run_seconds=round(run_s, 3),
        eval_seconds=round(eval_s, 3),
        programs=log,
        diverged=outcome.diverged,
        interrupted=False,
    )
    return outcome


def summarize_rows(rows: Sequence[dict]) -> list[dict]:
    """Median, min and max test accuracy over seeds per ``(depth, width)``."""
    acc = summarize(rows, ("depth", "width"), "test_accuracy")
    loss = {(s["depth"], s["width"]): s["median"] for s in summarize(rows, ("depth", "width"), "test_loss")}
    return [
        {
            "depth": int(s["depth"]),
            "width": int(s["width"]),
            "accuracy_median": s["median"],
            "accuracy_min": s["min"],
            "accuracy_max": s["max"],
            "loss_median": loss.get((s["depth"], s["width"]), float("nan")),
            "runs": s["count"],
        }
        for s in acc
    ]


def format_table(summary: Sequence[dict]) -> str:
    """The console table: depth, width, test accuracy (median, min-max), test loss."""
    head = "depth   width   test accuracy (min-max)   test loss   runs"
    lines = [head, "-" * len(head)]
    for s in summary:
        lines.append(
            f"{s['depth']:>5}  {s['width']:>6}   {100 * s['accuracy_median']:>6.2f} %"
            f" ({100 * s['accuracy_min']:.2f}-{100 * s['accuracy_max']:.2f})  {s['loss_median']:>9.4f}   {s['runs']:>4}"
        )
    return "\n".join(lines)
