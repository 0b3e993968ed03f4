"""``keras.metrics``: Keras 3's metrics, computed exactly on a whole epoch's predictions.

Keras accumulates a metric batch by batch while the weights move and, for
AUC, over 200 fixed thresholds. approx's compiled epoch gathers every
training example's prediction (made at the step that trained on it, as
Keras's batches see them) and the metrics are computed once per epoch on the
host from all of them, exactly: accuracy and error metrics give the values
Keras gives (their batch accumulation is an exact count or mean), while AUC
uses every distinct score as a threshold (the exact area, what
``sklearn.metrics.roc_auc_score`` computes), and precision, recall and F1
are exact ratios of whole-epoch counts.

Standalone use follows Keras: ``m = AUC(); m.update_state(y, p);
m.result()``; ``m(y, p)`` updates and returns the result; ``reset_state()``
starts again. Names: a metric given as a string is recorded under that
string (``'mse'`` -> ``history['mse']``); an object under its ``name``
(Keras's defaults: ``BinaryAccuracy()`` -> ``'binary_accuracy'``, ``AUC()``
-> ``'auc'``); ``'accuracy'``/``'acc'`` becomes binary, categorical or sparse
categorical accuracy from the loss's targets and the output's shape, as in
Keras's ``compile``.

A metric that is undefined on the data (AUC when only one class occurs)
gives NaN and says so once, in a ``RuntimeWarning`` naming the metric and
the reason; it never becomes NaN silently.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from approx.keras import losses as _losses
from approx.keras._confusion import (
    AUC,
    F1Score,
    FalseNegatives,
    FalsePositives,
    FBetaScore,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)  # fmt: skip
from approx.keras._metric import MeanMetricWrapper, Metric, integer_labels, same_rank, sample_arrays
from approx.keras._subset import missing_name, snake_case

__all__ = [
    "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "CategoricalAccuracy", "CategoricalCrossentropy",
    "F1Score", "FBetaScore", "FalseNegatives", "FalsePositives", "KLDivergence", "Mean", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanMetricWrapper", "MeanSquaredError", "MeanSquaredLogarithmicError", "Metric",
    "Poisson", "Precision", "R2Score", "Recall", "RootMeanSquaredError", "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy", "Sum", "TopKCategoricalAccuracy",
    "TrueNegatives", "TruePositives", "binary_accuracy", "categorical_accuracy", "get", "resolve",
    "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy",
]  # fmt: skip


# -- functions (per sample, as Keras's) -----------------------------------------------------
def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """Per sample: the fraction of outputs with ``(y_pred > threshold) == y_true``."""
    y_true, y_pred = same_rank(*sample_arrays(y_true, y_pred))
    hits = (y_pred > threshold).astype(np.float64) == y_true
    return hits.reshape(len(hits), -1).mean(axis=1)


def categorical_accuracy(y_true, y_pred):
    """Per sample: 1 where ``argmax(y_true) == argmax(y_pred)``."""
    y_true, y_pred = sample_arrays(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"categorical accuracy needs one-hot y_true of y_pred's shape, got {y_true.shape} and {y_pred.shape} "
            "(for integer labels use sparse_categorical_accuracy)"
        )
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """Per sample: 1 where the integer label equals ``argmax(y_pred)``."""
    y_true, y_pred = sample_arrays(y_true, y_pred)
    return (integer_labels(y_true, y_pred) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def _in_top_k(labels: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    target = np.take_along_axis(scores, labels[..., None], axis=-1)
    return (np.sum(scores > target, axis=-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """Per sample: 1 where the true class is among the ``k`` highest scores."""
    y_true, y_pred = sample_arrays(y_true, y_pred)
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """Per sample: 1 where the integer label is among the ``k`` highest scores."""
    y_true, y_pred = sample_arrays(y_true, y_pred)
    return _in_top_k(integer_labels(y_true, y_pred), y_pred, k)


class Mean(Metric):
    """The mean of the values given to ``update_state(values)``."""

    def __init__(self, name: str = "mean", dtype=None):
        super().__init__(name)

    def update_state(self, values, sample_weight=None):
        super().update_state(np.ravel(values), np.ravel(values), sample_weight)

    def compute(self, y_true, y_pred):
        return float(np.mean(y_true))


class Sum(Mean):
    """The sum of the values given to ``update_state(values)``."""

    def __init__(self, name: str = "sum", dtype=None):
        super().__init__(name)

    def compute(self, y_true, y_pred):
        return float(np.sum(y_true))


def _wrapper(name: str, fn: Callable, doc: str, direction: str = "up", **defaults):
    def __init__(self, *args, name=snake_case(name), dtype=None, **kwargs):
        options = dict(defaults)
        options.update(zip(defaults, args))
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected argument(s) {', '.join(sorted(unknown))}")
        options.update(kwargs)
        MeanMetricWrapper.__init__(self, fn, name=name, **options)

    return type(name, (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc, "direction": direction})


Accuracy = _wrapper(
    "Accuracy", lambda t, p: (lambda a, b: (a == b).reshape(len(a), -1).mean(axis=1))(*same_rank(*sample_arrays(t, p))),
    "The fraction of predictions equal to the targets (exact equality).",
)  # fmt: skip
BinaryAccuracy = _wrapper("BinaryAccuracy", binary_accuracy, "Binary accuracy at ``threshold`` (0.5).", threshold=0.5)
CategoricalAccuracy = _wrapper("CategoricalAccuracy", categorical_accuracy, "Accuracy with one-hot targets.")
SparseCategoricalAccuracy = _wrapper(
    "SparseCategoricalAccuracy", sparse_categorical_accuracy, "Accuracy with integer labels."
)
TopKCategoricalAccuracy = _wrapper(
    "TopKCategoricalAccuracy", top_k_categorical_accuracy, "Top-k accuracy, one-hot targets.", k=5
)
SparseTopKCategoricalAccuracy = _wrapper(
    "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy, "Top-k accuracy, integer labels.", k=5
)


def _loss_metric(name: str, fn: Callable, **defaults):
    def host_fn(y_true, y_pred, **kwargs):
        return np.asarray(fn(jnp.asarray(y_true), jnp.asarray(y_pred), **kwargs))

    host_fn.__name__ = fn.__name__
    return _wrapper(name, host_fn, f"The mean over samples of ``keras.losses.{fn.__name__}``.", "down", **defaults)


MeanSquaredError = _loss_metric("MeanSquaredError", _losses.mean_squared_error)
MeanAbsoluteError = _loss_metric("MeanAbsoluteError", _losses.mean_absolute_error)
MeanAbsolutePercentageError = _loss_metric("MeanAbsolutePercentageError", _losses.mean_absolute_percentage_error)
MeanSquaredLogarithmicError = _loss_metric("MeanSquaredLogarithmicError", _losses.mean_squared_logarithmic_error)
Poisson = _loss_metric("Poisson", _losses.poisson)
KLDivergence = _loss_metric("KLDivergence", _losses.kl_divergence)
BinaryCrossentropy = _loss_metric(
    "BinaryCrossentropy", _losses.binary_crossentropy, from_logits=False, label_smoothing=0.0
)
CategoricalCrossentropy = _loss_metric(
    "CategoricalCrossentropy", _losses.categorical_crossentropy, from_logits=False, label_smoothing=0.0
)
SparseCategoricalCrossentropy = _loss_metric(
    "SparseCategoricalCrossentropy", _losses.sparse_categorical_crossentropy, from_logits=False
)


class RootMeanSquaredError(Metric):
    """``sqrt(mean((y_true - y_pred) ** 2))`` over the whole set."""

    direction = "down"

    def __init__(self, name: str = "root_mean_squared_error", dtype=None):
        super().__init__(name)

    def compute(self, y_true, y_pred):
        return float(np.sqrt(np.mean(np.asarray(MeanSquaredError().compute(y_true, y_pred)))))


class R2Score(Metric):
    """The coefficient of determination ``1 - SS_res / SS_tot`` per output,
    averaged (``class_aggregation='uniform_average'``, Keras's default),
    weighted by variance (``'variance_weighted_average'``) or per output (``None``)."""

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0, name: str = "r2_score", dtype=None):
        super().__init__(name)
        if class_aggregation not in ("uniform_average", "variance_weighted_average", None):
            raise ValueError(f"class_aggregation must be 'uniform_average', 'variance_weighted_average' or None, got {class_aggregation!r}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors

    def compute(self, y_true, y_pred):
        y_true, y_pred = same_rank(*sample_arrays(y_true, y_pred))
        t = y_true.reshape(len(y_true), -1).astype(np.float64)
        p = y_pred.reshape(len(y_pred), -1).astype(np.float64)
        ss_res = np.sum((t - p) ** 2, axis=0)
        ss_tot = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
        if np.any(ss_tot == 0):
            return self._undefined("the targets are constant")
        r2 = 1.0 - ss_res / ss_tot
        if self.num_regressors:
            n = len(t)
            r2 = 1.0 - (1.0 - r2) * (n - 1) / (n - self.num_regressors - 1)
        if self.class_aggregation is None:
            return r2
        if self.class_aggregation == "variance_weighted_average":
            return float(np.sum(r2 * ss_tot) / np.sum(ss_tot))
        return float(np.mean(r2))


# -- names --------------------------------------------------------------------------------------
_CLASSES = (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, Precision, Recall, AUC, F1Score, FBetaScore, TruePositives, FalsePositives,
    FalseNegatives, TrueNegatives, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, RootMeanSquaredError, R2Score, Poisson, KLDivergence, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, Mean, Sum,
)  # fmt: skip
_BY_NAME: dict[str, type] = {c.__name__: c for c in _CLASSES} | {snake_case(c.__name__): c for c in _CLASSES}
_BY_NAME |= {
    "mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError, "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "f_beta_score": FBetaScore, "auc": AUC, "r2_score": R2Score,
}  # fmt: skip
_FUNCTIONS = {
    binary_accuracy: BinaryAccuracy, categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy, top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
    _losses.mean_squared_error: MeanSquaredError, _losses.mean_absolute_error: MeanAbsoluteError,
    _losses.mean_absolute_percentage_error: MeanAbsolutePercentageError, _losses.poisson: Poisson,
}  # fmt: skip
ACCURACY_NAMES = ("accuracy", "acc")


def names() -> list[str]:
    return sorted({*_BY_NAME, *ACCURACY_NAMES})


def get(identifier) -> Metric:
    """A :class:`Metric` from a Keras name (``'mse'``, ``'auc'``,
    ``'BinaryAccuracy'``, ...), a class, an instance or a callable
    ``fn(y_true, y_pred)`` (its mean over samples, recorded under
    ``fn.__name__``). ``'accuracy'`` here is exact equality; :func:`resolve`
    picks the right accuracy from the data, as ``compile`` does."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown metric {identifier!r}; valid metrics: {', '.join(names())}, or a callable")
        metric = cls()  # as Keras: made with its default name, then recorded under the string given
        metric.name = identifier
        return metric
    if callable(identifier):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]()
        return MeanMetricWrapper(identifier)
    raise ValueError(f"a metric must be a name, a keras.metrics.Metric or a callable, got {identifier!r}")


def resolve(identifier, y_true_shape: tuple, y_pred_shape: tuple) -> Metric:
    """What ``compile(metrics=[identifier])`` records, once the data's shapes
    are known: ``'accuracy'``/``'acc'`` become binary accuracy for one output,
    sparse categorical accuracy for integer labels, categorical accuracy for
    one-hot targets (Keras's ``compile_utils.get_metric``), named as given."""
    if isinstance(identifier, str) and identifier.lower() in ACCURACY_NAMES:
        is_binary = y_pred_shape[-1] == 1
        is_sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)
        cls = BinaryAccuracy if is_binary else SparseCategoricalAccuracy if is_sparse else CategoricalAccuracy
        return cls(name=identifier)
    metric = get(identifier)
    metric.reset_state()
    return metric


def check_name(identifier) -> None:
    """Raises for an unknown metric at ``compile`` time (before any data)."""
    if not (isinstance(identifier, str) and identifier.lower() in ACCURACY_NAMES):
        get(identifier)


def serialize(metric) -> dict | str:
    if isinstance(metric, str):
        return metric
    if type(metric) is MeanMetricWrapper:
        return {"class_name": "function", "config": metric.name}
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config, custom_objects: dict | None = None):
    if isinstance(config, str):
        return config
    name, options = config.get("class_name"), config.get("config")
    custom_objects = custom_objects or {}
    if name == "function":
        if options in custom_objects:
            return custom_objects[options]
        raise ValueError(
            f"the model was compiled with a custom metric {options!r}: pass it to load_model(..., custom_objects="
            f"{{{options!r}: fn}}), or load with compile=False"
        )
    cls = custom_objects.get(name) or _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"unknown metric class {name!r} in the saved model")
    return cls(**options)


__getattr__ = missing_name("keras.metrics", "metrics", [c.__name__ for c in _CLASSES])
