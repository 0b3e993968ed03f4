"""The course's three worked examples, end to end: data, a Keras-style fit, metrics, figures.

Each scenario builds its data with ``jax.random`` from one seed, trains a
:class:`approx.keras.Sequential` network, and writes into one directory:

* ``metrics.csv``: ``split,metric,value`` for the train, validation and test
  sets (and, for regression, the error against the noiseless target);
* ``history.csv``: one row per epoch (``loss``, the metrics, ``val_*``);
* ``manifest.json``: the config, package versions, backend, device count,
  start and finish times;
* the figures, PNG and PDF, in English or Spanish.

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

import csv
import dataclasses
import functools
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from approx import metrics as _metrics
from approx.config import MINIBATCH_OPTIMIZERS, ConfigError, config_from_mapping, count
from approx.constraints import Interval, Options, check_fields
from approx.models import ACTIVATIONS
from approx.results import atomic_write, new_manifest
from approx.targets import TARGET_NAMES, make_target
from approx.keras import Sequential
from approx.keras import metrics as _keras_metrics
from approx.keras import optimizers as _optimizers
from approx.keras.layers import Dense
from approx.keras.utils import to_categorical

__all__ = [
    "KINDS",
    "BinaryConfig",
    "MulticlassConfig",
    "RegressionConfig",
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


# -- outcome and files ------------------------------------------------------------------
@dataclass
class ScenarioOutcome:
    """What a run produced: the metric rows, the figures, and where."""

    kind: str
    out: Path
    metrics: list[dict[str, Any]]  # {'split', 'metric', 'value'}
    figures: list[Path]
    seconds: float
    already_complete: bool = False


OUTPUT_FILES = ("manifest.json", "metrics.csv", "history.csv")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    atomic_write(path, (json.dumps(data, indent=2, default=str) + "\n").encode())


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, path)


def _read_metrics(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="") as f:
        return [{"split": r["split"], "metric": r["metric"], "value": float(r["value"])} for r in csv.DictReader(f)]


def _prepare_out(out: Path, kind: str, config_dict: Mapping[str, Any], resume: bool) -> dict | None:
    """Checks the output directory; returns the finished manifest when resuming a complete run."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} exists and is not a directory")
    present = [name for name in OUTPUT_FILES if (out / name).exists()]
    if not present:
        return None
    if not resume:
        raise ConfigError(
            f"output directory {str(out)!r} already holds results ({', '.join(present)}); "
            "pass --resume to continue it or choose another --out"
        )
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None  # an unreadable or missing manifest: run again from the start
    if manifest.get("kind") != kind or manifest.get("config") != dict(config_dict):
        raise ConfigError(
            f"cannot resume {str(out)!r}: it holds a {manifest.get('kind')!r} run with another config; choose another --out"
        )
    if manifest.get("finished") and (out / "metrics.csv").exists():
        return manifest
    return None  # interrupted: a scenario is short, so it simply runs again


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
def _build_model(config, outputs: int, output_activation: str) -> Sequential:
    layers = [Dense(config.units, activation=config.activation) for _ in range(config.layers)]
    return Sequential([*layers, Dense(outputs, activation=output_activation)], seed=config.seed)


def _environment() -> dict[str, Any]:
    return {
        "backend": jax.default_backend(),
        "device_count": jax.device_count(),
        "devices": sorted({d.device_kind for d in jax.devices()}),
    }


def run_scenario(
    kind: str,
    config,
    out: str | Path,
    *,
    lang: str = "en",
    resume: bool = False,
    description: str = "",
) -> ScenarioOutcome:
    """Runs scenario ``kind`` with ``config`` into ``out`` (see the module docstring).

    Raises ``ConfigError`` (a ``ValueError``) if ``out`` already holds results
    and ``resume`` is false; with ``resume``, a finished run is reported as
    complete and an interrupted one runs again.
    """
    from approx.plots.style import LANGS

    if kind not in KINDS or not isinstance(config, KINDS[kind]):
        raise ConfigError(f"scenario {kind!r} needs a {KINDS.get(kind, object).__name__}, got {type(config).__name__}")
    if lang not in LANGS:
        raise ConfigError(f"unknown language {lang!r}; valid: {', '.join(LANGS)}")
    out = Path(out)
    t0 = time.time()
    finished = _prepare_out(out, kind, config.to_dict(), resume)
    if finished is not None:
        figures = [Path(p) for p in finished.get("figures", [])]
        return ScenarioOutcome(kind, out, _read_metrics(out / "metrics.csv"), figures, 0.0, already_complete=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create output directory {str(out)!r}: {e.strerror}") from None
    manifest = new_manifest(kind, config.to_dict(), description=description, lang=lang, **_environment())
    _write_json(out / "manifest.json", manifest)

    runner = {"binary": _run_binary, "multiclass": _run_multiclass, "regression": _run_regression}[kind]
    rows, history, figures = runner(config, out, lang)

    _write_csv(
        out / "metrics.csv", ("split", "metric", "value"), [(r["split"], r["metric"], repr(r["value"])) for r in rows]
    )
    keys = list(history.history)
    epochs = range(1, len(history.epoch) + 1)
    _write_csv(
        out / "history.csv", ("epoch", *keys), [(e, *(repr(history.history[k][e - 1]) for k in keys)) for e in epochs]
    )
    manifest.update(
        figures=[str(p) for p in figures],
        finished=_now(),
        wall_seconds=round(time.time() - t0, 3),
        fit_seconds=round(sum(history.seconds), 3),
    )
    _write_json(out / "manifest.json", manifest)
    return ScenarioOutcome(kind, out, rows, figures, time.time() - t0)


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


def _run_binary(config: BinaryConfig, out: Path, lang: str):
    (x, labels), (x_test, labels_test) = _classification_data(config, jax.random.key(config.seed))
    x, y, x_test, y_test = (np.asarray(a, np.float32) for a in (x, labels, x_test, labels_test))
    model = _build_model(config, 1, "sigmoid")
    model.compile(
        optimizer=_optimizer(config.optimizer, config.lr), loss="binary_crossentropy",
        metrics=["accuracy", "precision", "recall", _keras_metrics.F1Score(average="micro", threshold=0.5, name="f1"), "auc"],
    )  # fmt: skip
    history = _fit(model, config, x, y)
    rows = _split_rows(model, {**_train_val(config, x, y), "test": (x_test, y_test)})
    scores = model.predict(x_test, verbose=0)[:, 0]
    figures = []
    figures += plot_decision_regions(model, x_test, y_test.astype(int), out / "decision_regions", lang=lang)
    figures += plot_roc(y_test, scores, out / "roc_curve", lang=lang)
    figures += plot_training_curves(history.history, out / "training_curves", lang=lang)
    return rows, history, figures


def _run_multiclass(config: MulticlassConfig, out: Path, lang: str):
    (x, labels), (x_test, labels_test) = _classification_data(config, jax.random.key(config.seed))
    x, x_test = np.asarray(x, np.float32), np.asarray(x_test, np.float32)
    labels, labels_test = np.asarray(labels), np.asarray(labels_test)
    y, y_test = to_categorical(labels, config.classes), to_categorical(labels_test, config.classes)
    model = _build_model(config, config.classes, "softmax")
    model.compile(
        optimizer=_optimizer(config.optimizer, config.lr), loss="categorical_crossentropy",
        metrics=["accuracy", _keras_metrics.F1Score(average="macro", name="f1")],
    )  # fmt: skip
    history = _fit(model, config, x, y)
    rows = _split_rows(model, {**_train_val(config, x, y), "test": (x_test, y_test)})
    cm = _metrics.confusion_matrix(labels_test, model.predict(x_test, verbose=0), num_classes=config.classes)
    figures = []
    figures += plot_decision_regions(
        model, x_test, labels_test, out / "class_regions", lang=lang, title_key="scn_class_regions"
    )
    figures += plot_confusion_matrix(cm, out / "confusion_matrix", lang=lang)
    figures += plot_training_curves(history.history, out / "training_curves", lang=lang)
    return rows, history, figures


def _run_regression(config: RegressionConfig, out: Path, lang: str):
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
    model = _build_model(config, 1, "linear")
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
    figures = []
    figures += plot_regression_fit(model, target, x, y, out / "regression_fit", lang=lang)
    figures += plot_training_curves(history.history, out / "training_curves", lang=lang)
    return rows, history, figures


# -- figures -----------------------------------------------------------------------------
_SCENARIO_TEXT = {
    "en": {
        "scn_x1": "$x_1$",
        "scn_x2": "$x_2$",
        "scn_class": "class {c}",
        "scn_regions": "Decision regions (test points)",
        "scn_class_regions": "Class regions (test points)",
        "scn_boundary": "p = 0.5",
        "scn_roc": "ROC curve (test set)",
        "scn_fpr": "false positive rate",
        "scn_tpr": "true positive rate",
        "scn_auc": "network, AUC = {auc:.3f}",
        "scn_chance": "chance",
        "scn_confusion": "Confusion matrix (test set)",
        "scn_true": "true class",
        "scn_pred": "predicted class",
        "scn_fit": "Fit against the target",
        "scn_target": "target f(x)",
        "scn_network": "network",
        "scn_data": "training data",
        "scn_x": "x",
        "scn_y": "y",
        "scn_curves": "Training curves",
        "scn_epoch": "epoch",
        "scn_train": "train {name}",
        "scn_val": "validation {name}",
        "scn_metric_loss": "loss",
        "scn_metric_accuracy": "accuracy",
        "scn_metric_mae": "mean absolute error",
    },
    "es": {
        "scn_x1": "$x_1$",
        "scn_x2": "$x_2$",
        "scn_class": "clase {c}",
        "scn_regions": "Regiones de decisión (puntos de prueba)",
        "scn_class_regions": "Regiones de cada clase (puntos de prueba)",
        "scn_boundary": "p = 0,5",
        "scn_roc": "Curva ROC (conjunto de prueba)",
        "scn_fpr": "tasa de falsos positivos",
        "scn_tpr": "tasa de verdaderos positivos",
        "scn_auc": "red, AUC = {auc:.3f}",
        "scn_chance": "azar",
        "scn_confusion": "Matriz de confusión (conjunto de prueba)",
        "scn_true": "clase real",
        "scn_pred": "clase predicha",
        "scn_fit": "Ajuste frente a la función objetivo",
        "scn_target": "objetivo f(x)",
        "scn_network": "red",
        "scn_data": "datos de entrenamiento",
        "scn_x": "x",
        "scn_y": "y",
        "scn_curves": "Curvas de entrenamiento",
        "scn_epoch": "época",
        "scn_train": "{name} de entrenamiento",
        "scn_val": "{name} de validación",
        "scn_metric_loss": "pérdida",
        "scn_metric_accuracy": "exactitud",
        "scn_metric_mae": "error absoluto medio",
    },
}


def _plotting():
    """The shared lecture style, with this module's labels registered."""
    from approx.plots import style as plots

    plots.register_text(_SCENARIO_TEXT)
    return plots


def _metric_label(key: str, lang: str) -> str:
    """A history key as a figure label (``loss``, ``accuracy`` and ``mae`` translated)."""
    return _SCENARIO_TEXT[lang].get(f"scn_metric_{key}", key)


def _fmt_auc(text: str, lang: str) -> str:
    return text.replace(".", ",") if lang == "es" else text


def plot_decision_regions(
    model, x, labels, stem, *, lang: str = "en", resolution: int = 200, title_key: str = "scn_regions"
) -> list[Path]:
    """The classes the fitted ``model`` predicts over ``[0, 1]^2``, with the points ``x``.

    One sigmoid output: regions split at ``p = 0.5`` (drawn), shaded by ``p``.
    Several softmax outputs: each region takes its class's colour.
    """
    plots = _plotting()
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    axis = np.linspace(0.0, 1.0, resolution, dtype=np.float32)
    g1, g2 = np.meshgrid(axis, axis)
    probs = model.predict(np.stack([g1.ravel(), g2.ravel()], axis=1), verbose=0)
    k = max(2, probs.shape[1])
    colors = list(plots.PALETTE[:k])
    with plots.lecture_style():
        fig, ax = plt.subplots(figsize=(6.4, 6))
        if probs.shape[1] == 1:
            p = probs[:, 0].reshape(g1.shape)
            ax.contourf(g1, g2, p, levels=np.linspace(0, 1, 11), cmap=_two_colour_map(colors), alpha=0.35)
            ax.contour(g1, g2, p, levels=[0.5], colors="0.2", linewidths=2)
            ax.plot([], [], color="0.2", label=plots.text("scn_boundary", lang))
        else:
            region = probs.argmax(axis=1).reshape(g1.shape)
            ax.contourf(g1, g2, region, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(colors), alpha=0.3)
        markers = "osD^v<>p"
        for c in range(k):
            mine = labels == c
            ax.scatter(x[mine, 0], x[mine, 1], s=18, color=colors[c], marker=markers[c], edgecolors="white",
                       linewidths=0.4, label=plots.text("scn_class", lang, c=c))  # fmt: skip
        ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal")
        ax.set_xlabel(plots.text("scn_x1", lang))
        ax.set_ylabel(plots.text("scn_x2", lang))
        ax.set_title(plots.text(title_key, lang))
        ax.grid(False)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
        return plots.save_figure(fig, stem)


def _two_colour_map(colors):
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("approx_binary", [colors[0], "white", colors[1]])


def plot_roc(y_true, scores, stem, *, lang: str = "en") -> list[Path]:
    """The ROC curve of binary ``scores`` against ``y_true``, its AUC in the legend."""
    plots = _plotting()
    import matplotlib.pyplot as plt

    fpr, tpr, _ = _metrics.roc_curve(y_true, scores)
    auc = _metrics.roc_auc(y_true, scores)
    with plots.lecture_style():
        fig, ax = plt.subplots(figsize=(6, 6))
        ax.plot([0, 1], [0, 1], ":", color="0.5", label=plots.text("scn_chance", lang))
        ax.step(
            fpr, tpr, where="post", color=plots.PALETTE[0], label=_fmt_auc(plots.text("scn_auc", lang, auc=auc), lang)
        )
        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), aspect="equal")
        ax.set_xlabel(plots.text("scn_fpr", lang))
        ax.set_ylabel(plots.text("scn_tpr", lang))
        ax.set_title(plots.text("scn_roc", lang))
        ax.legend(loc="lower right")
        return plots.save_figure(fig, stem)


def plot_confusion_matrix(cm, stem, *, lang: str = "en") -> list[Path]:
    """Counts ``cm[true, predicted]``, shaded by each true class's share."""
    plots = _plotting()
    import matplotlib.pyplot as plt

    cm = np.asarray(cm)
    k = cm.shape[0]
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    with plots.lecture_style():
        fig, ax = plt.subplots(figsize=(1.2 * k + 3.5, 1.2 * k + 3))
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if share[i, j] > 0.6 else "black")
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xlabel(plots.text("scn_pred", lang))
        ax.set_ylabel(plots.text("scn_true", lang))
        ax.set_title(plots.text("scn_confusion", lang))
        ax.grid(False)
        return plots.save_figure(fig, stem)


def plot_regression_fit(model, target: Callable, x, y, stem, *, lang: str = "en") -> list[Path]:
    """The fitted ``model`` against the noiseless ``target`` on ``[0, 1]``, with the training data."""
    plots = _plotting()
    import matplotlib.pyplot as plt

    grid = np.linspace(0.0, 1.0, 1001, dtype=np.float32)[:, None]
    with plots.lecture_style():
        fig, ax = plt.subplots(figsize=(8, 5))
        ax.scatter(x[:, 0], np.reshape(y, -1), s=6, color="0.65", alpha=0.6, label=plots.text("scn_data", lang))
        ax.plot(
            grid[:, 0],
            np.asarray(target(jnp.asarray(grid))),
            color=plots.PALETTE[0],
            label=plots.text("scn_target", lang),
        )
        ax.plot(
            grid[:, 0], model.predict(grid, verbose=0)[:, 0], "--", color=plots.PALETTE[1], label=plots.text("scn_network", lang)
        )
        ax.set_xlim(0, 1)
        ax.set_xlabel(plots.text("scn_x", lang))
        ax.set_ylabel(plots.text("scn_y", lang))
        ax.set_title(plots.text("scn_fit", lang))
        ax.legend(loc="best")
        return plots.save_figure(fig, stem)


def plot_training_curves(history: Mapping[str, Sequence[float]], stem, *, lang: str = "en") -> list[Path]:
    """Training and validation loss per epoch (log scale when positive) and, in a
    second panel, one metric (accuracy if recorded, else the first)."""
    plots = _plotting()
    import matplotlib.pyplot as plt

    metric_keys = [k for k in history if k != "loss" and not k.startswith("val_")]
    shown = ["loss"] + (["accuracy" if "accuracy" in metric_keys else metric_keys[0]] if metric_keys else [])
    with plots.lecture_style():
        fig, axes = plt.subplots(1, len(shown), figsize=(6.5 * len(shown), 4.8), squeeze=False)
        for ax, key in zip(axes[0], shown):
            name = _metric_label(key, lang)
            values = np.asarray(history[key], float)
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, color=plots.PALETTE[0], label=plots.text("scn_train", lang, name=name))
            if f"val_{key}" in history:
                val = np.asarray(history[f"val_{key}"], float)
                ax.plot(epochs, val, "--", color=plots.PALETTE[1], label=plots.text("scn_val", lang, name=name))
            if key == "loss" and np.all(values > 0) and np.all(np.asarray(history.get("val_loss", [1.0])) > 0):
                ax.set_yscale("log")
            ax.set_xlabel(plots.text("scn_epoch", lang))
            ax.set_ylabel(name)
            ax.legend(loc="best")
        fig.suptitle(plots.text("scn_curves", lang))
        fig.tight_layout()
        return plots.save_figure(fig, stem)
