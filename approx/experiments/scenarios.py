"""The course's three worked examples: data, a Keras-style fit, metrics and records.

Each scenario builds its data with ``jax.random`` from one seed, trains a
:class:`approx.keras.Sequential` network, and writes into one run directory
(:class:`approx.results.RunDirectory`):

* ``metrics.csv``: ``split,metric,value`` for the train, validation and test
  sets (and, for regression, the error against the noiseless target);
* ``history.csv``: one row per epoch (``loss``, the metrics, ``val_*``);
* ``manifest.json``: the config, package versions, backend, device count,
  start and finish times;
* the figures, PNG and PDF, in English or Spanish, which
  :func:`approx.plots.scenarios.plot_scenario` draws from the returned fit.

The scenarios:

1. ``binary``: two classes in ``[0, 1]^2`` (two interleaved moons or two
   concentric circles), a sigmoid output and binary cross-entropy; figures:
   decision regions with the data, the ROC curve with its AUC.
2. ``multiclass``: several classes in ``[0, 1]^2`` (Gaussian blobs or spiral
   arms), a softmax output and categorical cross-entropy on one-hot targets;
   figures: class regions, confusion matrix.
3. ``regression``: a 1-D target of :mod:`approx.targets` plus Gaussian noise,
   a linear output and MSE; figures: the fit against the target, and (for
   every scenario) the training curves.

The networks are Cybenko's and Hornik's: one (or more) hidden layers of
bounded or ReLU units, which can approximate any continuous decision
function or target on the square (Cybenko, 1989; Hornik, 1991).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from approx.config import ConfigError, config_from_mapping
from approx.config import MINIBATCH_OPTIMIZERS, count
from approx.constraints import Interval, Options, check_fields
from approx.experiments.runloop import environment
from approx.models import ACTIVATIONS
from approx.targets import TARGET_NAMES, make_target
from approx.keras import Sequential
from approx.keras import metrics as _keras_metrics
from approx.keras import optimizers as _optimizers
from approx.keras.layers import Dense
from approx.keras.utils import to_categorical
from approx.metrics import confusion_matrix
from approx.results import RunDirectory, write_rows

__all__ = [
    "KINDS",
    "BinaryConfig",
    "MulticlassConfig",
    "RegressionConfig",
    "ScenarioFit",
    "ScenarioOutcome",
    "config_for",
    "format_metrics",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "run_scenario",
]

HIDDEN_ACTIVATIONS = tuple(a for a in ACTIVATIONS if a != "softmax")
# Keras's optimizers by name, and SGD with (Nesterov) momentum 0.9.
OPTIMIZER_NAMES = MINIBATCH_OPTIMIZERS


def _optimizer(name: str, lr: float) -> _optimizers.Optimizer:
    if name in ("momentum", "nesterov"):
        return _optimizers.SGD(lr, momentum=0.9, nesterov=name == "nesterov")
    return _optimizers.get(name).from_config({**_optimizers.get(name).get_config(), "learning_rate": lr})
BINARY_DATASETS = ("moons", "circles")
MULTICLASS_DATASETS = ("blobs", "spirals")


# -- configs ----------------------------------------------------------------------------
# What each setting may be (approx.constraints), checked on creation and read by the TOML loader.
_COMMON_SETTINGS = {
    "layers": count(1),
    "units": count(1),
    "activation": Options(HIDDEN_ACTIVATIONS),
    "epochs": count(1),
    "batch_size": count(1),
    "optimizer": Options(OPTIMIZER_NAMES),
    "lr": Interval(float, 0, None, closed="neither"),
    "n_samples": count(10),
    "n_test": count(10),
    "noise": Interval(float, 0, None),
    "validation_split": Interval(float, 0, 0.9),
    "seed": count(0),
}
# The palette has eight colours: one per class.
_CLASSES = Interval(int, 2, 8, why="the palette's colours")


@dataclass(frozen=True)
class _Common:
    """Settings every scenario shares (the network, the fit, the data size)."""

    layers: int = 1  # hidden Dense layers
    units: int = 16  # units in each hidden layer
    activation: str = "tanh"  # hidden activation (approx.models.ACTIVATIONS, not softmax)
    epochs: int = 100
    batch_size: int = 32
    optimizer: str = "adam"  # adam, adamw, sgd, momentum, nesterov, rmsprop, adagrad
    lr: float = 0.01  # learning rate
    n_samples: int = 600  # labelled points; the last validation_split of them validate
    n_test: int = 400  # fresh points from the same distribution, for the test metrics
    noise: float = 0.05  # Gaussian noise standard deviation, in the data's units
    validation_split: float = 0.2  # held out from the end, as Keras
    seed: int = 0  # data, initialisation and shuffling

    SETTINGS = _COMMON_SETTINGS  # what each field may be (not a field: no annotation)

    def __post_init__(self):
        check_fields(self, self.SETTINGS)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class BinaryConfig(_Common):
    """Two classes on the unit square; a sigmoid unit and binary cross-entropy."""

    # Glorot-initialised tanh networks often stall at the linear boundary on moons this
    # small; 64 ReLU units separate them for every seed tried (0-4).
    units: int = 64
    activation: str = "relu"
    epochs: int = 400
    lr: float = 0.02
    noise: float = 0.03
    dataset: str = "moons"  # moons or circles

    SETTINGS = _COMMON_SETTINGS | {"dataset": Options(BINARY_DATASETS)}


@dataclass(frozen=True)
class MulticlassConfig(_Common):
    """``classes`` classes on the unit square; softmax and categorical cross-entropy."""

    units: int = 32
    noise: float = 0.09
    n_samples: int = 900
    n_test: int = 600
    dataset: str = "blobs"  # blobs or spirals
    classes: int = 3  # number of classes, 2..8

    SETTINGS = _COMMON_SETTINGS | {"dataset": Options(MULTICLASS_DATASETS), "classes": _CLASSES}

    def __post_init__(self):
        super().__post_init__()
        if self.n_samples < 2 * self.classes or self.n_test < self.classes:
            raise ConfigError(f"n_samples and n_test are too small for {self.classes} classes")


@dataclass(frozen=True)
class RegressionConfig(_Common):
    """A 1-D target from approx.targets plus noise; a linear output and MSE."""

    units: int = 32
    activation: str = "sigmoid"
    epochs: int = 1000
    lr: float = 0.03
    n_samples: int = 1000
    n_test: int = 500
    noise: float = 0.02
    target: str = "nielsen"  # a name in approx.targets.TARGET_NAMES

    SETTINGS = _COMMON_SETTINGS | {"target": Options(TARGET_NAMES)}


KINDS: dict[str, type] = {"binary": BinaryConfig, "multiclass": MulticlassConfig, "regression": RegressionConfig}


def config_for(kind: str, settings: Mapping[str, Any], where: str = "config"):
    """The config of scenario ``kind`` from a mapping (unknown keys and bad types raise ConfigError)."""
    if kind not in KINDS:
        raise ConfigError(f"unknown scenario kind {kind!r}; valid: {', '.join(KINDS)}")
    try:
        return config_from_mapping(KINDS[kind], settings, where)
    except TypeError as e:
        raise ConfigError(str(e)) from None


# -- data sets on [0, 1]^2 ----------------------------------------------------------------
def _balanced_labels(key: jax.Array, n: int, classes: int) -> jax.Array:
    """Labels ``0..classes-1`` in equal shares (``arange(n) % classes``), in random order."""
    return jax.random.permutation(key, jnp.arange(n) % classes)


def _to_square(points: jax.Array, key: jax.Array, noise: float) -> jax.Array:
    noisy = points + noise * jax.random.normal(key, points.shape, points.dtype)
    return jnp.clip(noisy, 0.0, 1.0)


@functools.partial(jax.jit, static_argnames=("n",))
def make_moons(key: jax.Array, n: int, noise: float = 0.05) -> tuple[jax.Array, jax.Array]:
    """Two interleaved half circles scaled into ``[0, 1]^2``: ``(x (n, 2), labels (n,))``.

    The shape of scikit-learn's ``make_moons`` (upper moon ``(cos t, sin t)``,
    lower moon ``(1 - cos t, 1/2 - sin t)``, ``t`` uniform in ``[0, pi]``),
    scaled by 0.26 about the square's centre; ``noise`` is the standard
    deviation of Gaussian noise added after scaling, and points are clipped to
    the square. Classes alternate, so they are balanced.
    """
    k_label, k_t, k_noise = jax.random.split(key, 3)
    labels = _balanced_labels(k_label, n, 2)
    t = jax.random.uniform(k_t, (n,), minval=0.0, maxval=jnp.pi)
    upper = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    lower = jnp.stack([1.0 - jnp.cos(t), 0.5 - jnp.sin(t)], axis=1)
    raw = jnp.where((labels == 0)[:, None], upper, lower)
    centre = jnp.array([[0.5, 0.25]])
    return _to_square(0.5 + 0.26 * (raw - centre), k_noise, noise), labels.astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("n",))
def make_circles(key: jax.Array, n: int, noise: float = 0.05, factor: float = 0.5) -> tuple[jax.Array, jax.Array]:
    """Two concentric circles of radii 0.4 (class 0) and ``0.4 * factor`` (class 1)
    about ``(1/2, 1/2)``, with Gaussian noise of standard deviation ``noise``."""
    k_label, k_t, k_noise = jax.random.split(key, 3)
    labels = _balanced_labels(k_label, n, 2)
    t = jax.random.uniform(k_t, (n,), minval=0.0, maxval=2 * jnp.pi)
    radius = jnp.where(labels == 0, 0.4, 0.4 * factor)
    raw = 0.5 + radius[:, None] * jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    return _to_square(raw, k_noise, noise), labels.astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("n", "classes"))
def make_blobs(key: jax.Array, n: int, classes: int = 3, noise: float = 0.06) -> tuple[jax.Array, jax.Array]:
    """``classes`` round Gaussian blobs of standard deviation ``noise`` whose
    centres sit evenly on a circle of radius 0.28 about ``(1/2, 1/2)``."""
    k_label, k_noise = jax.random.split(key)
    labels = _balanced_labels(k_label, n, classes)
    angle = 2 * jnp.pi * labels / classes + jnp.pi / 2
    centres = 0.5 + 0.28 * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
    return _to_square(centres, k_noise, noise), labels.astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("n", "classes"))
def make_spirals(key: jax.Array, n: int, classes: int = 3, noise: float = 0.02) -> tuple[jax.Array, jax.Array]:
    """``classes`` interleaved spiral arms about ``(1/2, 1/2)``: arm ``c`` is
    ``r = 0.05 + 0.4 t``, ``theta = 2 pi c / classes + 1.75 pi t``, ``t``
    uniform in ``[0, 1]``, plus Gaussian noise of standard deviation ``noise``."""
    k_label, k_t, k_noise = jax.random.split(key, 3)
    labels = _balanced_labels(k_label, n, classes)
    t = jax.random.uniform(k_t, (n,))
    radius = 0.05 + 0.4 * t
    theta = 2 * jnp.pi * labels / classes + 1.75 * jnp.pi * t
    raw = 0.5 + radius[:, None] * jnp.stack([jnp.cos(theta), jnp.sin(theta)], axis=1)
    return _to_square(raw, k_noise, noise), labels.astype(jnp.int32)


def _classification_data(config, key):
    """Training and test sets: one draw of ``n_samples + n_test`` points, split."""
    n = config.n_samples + config.n_test
    if isinstance(config, BinaryConfig):
        make = make_moons if config.dataset == "moons" else make_circles
        x, labels = make(key, n, config.noise)
    else:
        make = make_blobs if config.dataset == "blobs" else make_spirals
        x, labels = make(key, n, config.classes, config.noise)
    x, labels = np.asarray(x, np.float32), np.asarray(labels)
    cut = config.n_samples
    return (x[:cut], labels[:cut]), (x[cut:], labels[cut:])


# -- outcome and records -----------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ScenarioFit:
    """A scenario's fitted model and what its figures show.

    ``x_train``, ``y_train`` are the labelled points (the last
    ``validation_split`` of them validated), ``x_test``, ``y_test`` the fresh
    test points: class labels for ``binary`` and ``multiclass``, target values
    plus noise for ``regression``. ``scores`` (binary) are the test points'
    predicted probabilities, ``confusion`` (multiclass) the test set's counts
    ``[true, predicted]``, ``target`` (regression) the noiseless function.
    """

    metrics: list[dict[str, Any]]  # {'split', 'metric', 'value'}
    history: Any  # approx.keras.callbacks.History
    model: Sequential
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    scores: np.ndarray | None = None
    confusion: np.ndarray | None = None
    target: Callable | None = None


@dataclass
class ScenarioOutcome:
    """What a run produced: the metric rows and where; ``fit`` the fitted
    model and data (``None`` when the run was already complete, whose
    recorded ``figures`` are listed)."""

    kind: str
    out: Path
    metrics: list[dict[str, Any]]  # {'split', 'metric', 'value'}
    seconds: float
    already_complete: bool = False
    fit: ScenarioFit | None = None
    figures: list[Path] = field(default_factory=list)


METRIC_COLUMNS = ("split", "metric", "value")


def format_metrics(rows: Sequence[Mapping[str, Any]]) -> str:
    """The metric table as text: one row per metric, one column per split."""
    splits = list(dict.fromkeys(r["split"] for r in rows))
    names = list(dict.fromkeys(r["metric"] for r in rows))
    values = {(r["split"], r["metric"]): r["value"] for r in rows}
    width = max([len("metric"), *map(len, names)]) + 2
    lines = ["metric".ljust(width) + "".join(s.rjust(12) for s in splits)]
    for name in names:
        cells = [f"{values[(s, name)]:.4g}" if (s, name) in values else "" for s in splits]
        lines.append(name.ljust(width) + "".join(c.rjust(12) for c in cells))
    return "\n".join(lines)



# -- running -----------------------------------------------------------------------------
def _build_sequential(config, outputs: int, output_activation: str) -> Sequential:
    layers = [Dense(config.units, activation=config.activation) for _ in range(config.layers)]
    return Sequential([*layers, Dense(outputs, activation=output_activation)], seed=config.seed)



def run_scenario(
    kind: str,
    config,
    out: str | Path,
    *,
    resume: bool = False,
    description: str = "",
) -> ScenarioOutcome:
    """Runs scenario ``kind`` with ``config`` into ``out`` (see the module
    docstring); it draws nothing (:func:`approx.plots.scenarios.plot_scenario`
    draws from the outcome's ``fit``).

    The run directory is :class:`approx.results.RunDirectory`'s: a folder
    that holds results is refused (``RunDirError``, a ``ValueError``) unless
    ``resume``; with ``resume`` the config must be the same, a finished run is
    reported as complete and an interrupted one runs again.
    """
    if kind not in KINDS or not isinstance(config, KINDS[kind]):
        raise ConfigError(f"scenario {kind!r} needs a {KINDS.get(kind, object).__name__}, got {type(config).__name__}")
    out = Path(out)
    t0 = time.time()
    store = RunDirectory(out, METRIC_COLUMNS, ("split", "metric"), config.to_dict(), kind=kind, csv_name="metrics.csv")
    finished = store.finished_manifest() if resume else None
    if finished is not None:
        rows = [{"split": r["split"], "metric": r["metric"], "value": float(r["value"])} for r in store.rows()]
        figures = [Path(p) for p in finished.get("figures", [])]
        return ScenarioOutcome(kind, out, rows, 0.0, already_complete=True, figures=figures)
    if store.open(resume=resume, environment=environment() | {"description": description}):
        write_rows(store.csv_path, METRIC_COLUMNS, [])  # an interrupted run: a scenario is short, so it runs again
    runner = {"binary": _run_binary, "multiclass": _run_multiclass, "regression": _run_regression}[kind]
    fit = runner(config)
    store.append(fit.metrics)
    history = fit.history
    keys = list(history.history)
    epochs = [{"epoch": e, **{k: history.history[k][e - 1] for k in keys}} for e in range(1, len(history.epoch) + 1)]
    write_rows(out / "history.csv", ("epoch", *keys), epochs)
    store.finish(fit_seconds=round(sum(history.seconds), 3))
    return ScenarioOutcome(kind, out, fit.metrics, time.time() - t0, fit=fit)


def _fit(model: Sequential, config, x, y):
    return model.fit(
        x, y, batch_size=config.batch_size, epochs=config.epochs, verbose=0,
        validation_split=config.validation_split, seed=config.seed,
    )  # fmt: skip


def _split_rows(model: Sequential, sets: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> list[dict[str, Any]]:
    rows = []
    for split, (x, y) in sets.items():
        for metric, value in model.evaluate(x, y, return_dict=True, verbose=0).items():
            rows.append({"split": split, "metric": metric, "value": value})
    return rows


def _train_val(config, x, y) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The train and validation sets as ``fit`` splits them (the last fraction validates)."""
    split_at = math.floor(len(x) * (1.0 - config.validation_split))
    sets = {"train": (x[:split_at], y[:split_at])}
    if config.validation_split and split_at < len(x):
        sets["validation"] = (x[split_at:], y[split_at:])
    return sets




def _run_binary(config: BinaryConfig) -> ScenarioFit:
    (x, labels), (x_test, labels_test) = _classification_data(config, jax.random.key(config.seed))
    x, y, x_test, y_test = (np.asarray(a, np.float32) for a in (x, labels, x_test, labels_test))
    model = _build_sequential(config, 1, "sigmoid")
    model.compile(
        optimizer=_optimizer(config.optimizer, config.lr), loss="binary_crossentropy",
        metrics=["accuracy", "precision", "recall", _keras_metrics.F1Score(average="micro", threshold=0.5, name="f1"), "auc"],
    )  # fmt: skip
    history = _fit(model, config, x, y)
    rows = _split_rows(model, {**_train_val(config, x, y), "test": (x_test, y_test)})
    scores = model.predict(x_test, verbose=0)[:, 0]
    return ScenarioFit(rows, history, model, x, y, x_test, y_test, scores=scores)


def _run_multiclass(config: MulticlassConfig) -> ScenarioFit:
    (x, labels), (x_test, labels_test) = _classification_data(config, jax.random.key(config.seed))
    x, x_test = np.asarray(x, np.float32), np.asarray(x_test, np.float32)
    labels, labels_test = np.asarray(labels), np.asarray(labels_test)
    y, y_test = to_categorical(labels, config.classes), to_categorical(labels_test, config.classes)
    model = _build_sequential(config, config.classes, "softmax")
    model.compile(
        optimizer=_optimizer(config.optimizer, config.lr), loss="categorical_crossentropy",
        metrics=["accuracy", _keras_metrics.F1Score(average="macro", name="f1")],
    )  # fmt: skip
    history = _fit(model, config, x, y)
    rows = _split_rows(model, {**_train_val(config, x, y), "test": (x_test, y_test)})
    cm = confusion_matrix(labels_test, model.predict(x_test, verbose=0), num_classes=config.classes)
    return ScenarioFit(rows, history, model, x, labels, x_test, labels_test, confusion=cm)


def _run_regression(config: RegressionConfig) -> ScenarioFit:
    target = make_target(config.target, 1)
    key = jax.random.key(config.seed)

    @functools.partial(jax.jit, static_argnums=1)  # one program, not one per operation
    def noisy(k, n):
        k_x, k_noise = jax.random.split(k)
        x = jax.random.uniform(k_x, (n, 1))
        return x, target(x) + config.noise * jax.random.normal(k_noise, (n,))

    x, y = (np.asarray(a, np.float32) for a in noisy(key, config.n_samples + config.n_test))
    (x, y), (x_test, y_test) = (
        (x[: config.n_samples], y[: config.n_samples]),
        (x[config.n_samples :], y[config.n_samples :]),
    )
    model = _build_sequential(config, 1, "linear")
    model.compile(optimizer=_optimizer(config.optimizer, config.lr), loss="mse", metrics=["mae"])
    history = _fit(model, config, x, y)
    rows = _split_rows(model, {**_train_val(config, x, y), "test": (x_test, y_test)})
    # The approximation error proper: against the noiseless target on a fine grid.
    grid = np.linspace(0.0, 1.0, 2001, dtype=np.float32)[:, None]
    error = model.predict(grid, verbose=0)[:, 0] - np.asarray(target(jnp.asarray(grid)))
    rows += [
        {"split": "target", "metric": "mse", "value": float(np.mean(error**2))},
        {"split": "target", "metric": "sup_error", "value": float(np.max(np.abs(error)))},
    ]
    return ScenarioFit(rows, history, model, x, y, x_test, y_test, target=target)

