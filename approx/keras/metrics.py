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

import warnings
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from approx.keras import losses as _losses
from approx.keras._subset import missing_name, snake_case, unique_name

__all__ = [
    "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "CategoricalAccuracy", "CategoricalCrossentropy",
    "F1Score", "FBetaScore", "FalseNegatives", "FalsePositives", "KLDivergence", "Mean", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanMetricWrapper", "MeanSquaredError", "MeanSquaredLogarithmicError", "Metric",
    "Poisson", "Precision", "R2Score", "Recall", "RootMeanSquaredError", "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy", "Sum", "TopKCategoricalAccuracy",
    "TrueNegatives", "TruePositives", "binary_accuracy", "categorical_accuracy", "get", "resolve",
    "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy",
]  # fmt: skip


def _same_rank(y_true: np.ndarray, y_pred: np.ndarray):
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred[..., 0]
    return y_true, y_pred


def _arrays(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == 0 or y_pred.ndim == 0 or len(y_true) != len(y_pred):
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must hold the same number of samples")
    return y_true, y_pred


# -- functions (per sample, as Keras's) -----------------------------------------------------
def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """Per sample: the fraction of outputs with ``(y_pred > threshold) == y_true``."""
    y_true, y_pred = _same_rank(*_arrays(y_true, y_pred))
    hits = (y_pred > threshold).astype(np.float64) == y_true
    return hits.reshape(len(hits), -1).mean(axis=1)


def categorical_accuracy(y_true, y_pred):
    """Per sample: 1 where ``argmax(y_true) == argmax(y_pred)``."""
    y_true, y_pred = _arrays(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"categorical accuracy needs one-hot y_true of y_pred's shape, got {y_true.shape} and {y_pred.shape} "
            "(for integer labels use sparse_categorical_accuracy)"
        )
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def _labels(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"sparse metrics need integer labels (n,) for scores (n, classes), got {y_true.shape} and {y_pred.shape}"
        )
    return y_true.astype(np.int64)


def sparse_categorical_accuracy(y_true, y_pred):
    """Per sample: 1 where the integer label equals ``argmax(y_pred)``."""
    y_true, y_pred = _arrays(y_true, y_pred)
    return (_labels(y_true, y_pred) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def _in_top_k(labels: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    target = np.take_along_axis(scores, labels[..., None], axis=-1)
    return (np.sum(scores > target, axis=-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """Per sample: 1 where the true class is among the ``k`` highest scores."""
    y_true, y_pred = _arrays(y_true, y_pred)
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """Per sample: 1 where the integer label is among the ``k`` highest scores."""
    y_true, y_pred = _arrays(y_true, y_pred)
    return _in_top_k(_labels(y_true, y_pred), y_pred, k)


# -- the base class -----------------------------------------------------------------------------
class Metric:
    """Base class: the exact value of a metric over everything it has seen.

    Subclasses define :meth:`compute` ``(y_true, y_pred) -> float`` (or an
    array for per-class results) on whole arrays, and ``direction``
    (``"up"`` when larger is better), which ``EarlyStopping(mode='auto')``
    reads.
    """

    direction = "up"

    def __init__(self, name: str | None = None, dtype=None):
        if name is not None and not isinstance(name, str):
            raise ValueError(f"a metric's name must be a string, got {name!r}")
        # An object made without a name is named as Keras names it: precision,
        # precision_1, ... (keras.backend.clear_session starts again).
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._seen: list[tuple[np.ndarray, np.ndarray]] = []
        self._warned = False

    def compute(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by approx.keras metrics")
        self._seen.append((np.asarray(y_true), np.asarray(y_pred)))

    def result(self):
        if not self._seen:
            return jnp.asarray(0.0)
        y_true = np.concatenate([t for t, _ in self._seen])
        y_pred = np.concatenate([p for _, p in self._seen])
        return jnp.asarray(self.compute(y_true, y_pred))

    def reset_state(self):
        self._seen = []

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def _undefined(self, reason: str) -> float:
        if not self._warned:
            warnings.warn(f"metric {self.name!r} is undefined here ({reason}); it is recorded as NaN", RuntimeWarning, stacklevel=4)
            self._warned = True
        return float("nan")

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class MeanMetricWrapper(Metric):
    """The mean over samples of a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    A function that returns one value for the whole batch is taken as it is
    (its value on the whole epoch's predictions).
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype=None, direction: str | None = None, **kwargs):
        super().__init__(name or getattr(fn, "__name__", "metric"))
        self.fn = fn
        self._fn_kwargs = kwargs
        if direction is not None:
            self.direction = direction

    def compute(self, y_true, y_pred):
        value = self.fn(y_true, y_pred, **self._fn_kwargs)
        return float(np.mean(np.asarray(value, np.float64)))

    def get_config(self) -> dict:
        return {"name": self.name, **self._fn_kwargs}


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
    "Accuracy", lambda t, p: (lambda a, b: (a == b).reshape(len(a), -1).mean(axis=1))(*_same_rank(*_arrays(t, p))),
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
        y_true, y_pred = _same_rank(*_arrays(y_true, y_pred))
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


# -- confusion-matrix metrics ---------------------------------------------------------------
def _binary_pairs(y_true, y_pred, top_k, class_id):
    """Booleans of truth and scores, flattened over samples (and outputs), as Keras
    flattens them (every output is one binary decision)."""
    y_true, y_pred = _same_rank(*_arrays(y_true, y_pred))
    y_pred = y_pred.astype(np.float64)
    if top_k is not None:
        kth = -np.sort(-y_pred, axis=-1)[..., top_k - 1 : top_k]
        y_pred = np.where(y_pred >= kth, y_pred, -np.inf)
    if class_id is not None:
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
    return y_true.ravel() != 0, y_pred.ravel()


class _ThresholdMetric(Metric):
    def __init__(self, thresholds=None, top_k: int | None = None, class_id: int | None = None, name=None, dtype=None):
        super().__init__(name)
        self.thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = -np.inf if top_k is not None and thresholds is None else 0.5
        values = default if thresholds is None else thresholds
        self._thresholds = np.atleast_1d(np.asarray(values, np.float64))
        if np.any((self._thresholds < 0) | (self._thresholds > 1)) and thresholds is not None:
            raise ValueError(f"thresholds must lie in [0, 1], got {thresholds!r}")

    def _counts(self, y_true, y_pred):
        truth, scores = _binary_pairs(y_true, y_pred, self.top_k, self.class_id)
        predicted = scores[None, :] > self._thresholds[:, None]
        tp = np.sum(predicted & truth, axis=1)
        fp = np.sum(predicted & ~truth, axis=1)
        fn = np.sum(~predicted & truth, axis=1)
        tn = np.sum(~predicted & ~truth, axis=1)
        return tp, fp, fn, tn

    def _finish(self, values):
        values = np.asarray(values, np.float64)
        return float(values[0]) if np.ndim(self.thresholds) == 0 or self.thresholds is None else values

    def get_config(self) -> dict:
        return {"name": self.name, "thresholds": self.thresholds, "top_k": self.top_k, "class_id": self.class_id}


def _ratio(num, den):
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


class Precision(_ThresholdMetric):
    """``tp / (tp + fp)`` with predictions ``y_pred > threshold`` (0.5), every
    output a binary decision; 0 when nothing is predicted positive (Keras)."""

    def compute(self, y_true, y_pred):
        tp, fp, _, _ = self._counts(y_true, y_pred)
        return self._finish(_ratio(tp, tp + fp))


class Recall(_ThresholdMetric):
    """``tp / (tp + fn)`` with predictions ``y_pred > threshold`` (0.5); 0 when no positives."""

    def compute(self, y_true, y_pred):
        tp, _, fn, _ = self._counts(y_true, y_pred)
        return self._finish(_ratio(tp, tp + fn))


def _count_metric(name: str, index: int, doc: str):
    def __init__(self, thresholds=None, name=snake_case(name), dtype=None):
        _ThresholdMetric.__init__(self, thresholds, name=name)

    def compute(self, y_true, y_pred):
        return self._finish(self._counts(y_true, y_pred)[index])

    def get_config(self) -> dict:
        return {"name": self.name, "thresholds": self.thresholds}

    return type(name, (_ThresholdMetric,), {"__init__": __init__, "compute": compute, "__doc__": doc, "get_config": get_config})


TruePositives = _count_metric("TruePositives", 0, "Count of positives predicted positive (y_pred > 0.5).")
FalsePositives = _count_metric("FalsePositives", 1, "Count of negatives predicted positive.")
FalseNegatives = _count_metric("FalseNegatives", 2, "Count of positives predicted negative.")
TrueNegatives = _count_metric("TrueNegatives", 3, "Count of negatives predicted negative.")


def _roc_auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """Exact area under the ROC curve: every distinct score a threshold, ties
    counted half (the trapezoid), as ``sklearn.metrics.roc_auc_score``."""
    order = np.argsort(-scores, kind="mergesort")
    scores, truth = scores[order], truth[order]
    ends = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tps = np.cumsum(truth)[ends]
    fps = ends + 1 - tps
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return float(np.trapezoid(tpr, fpr))


def _pr_auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """Exact area under the precision-recall curve as average precision,
    ``sum_k (R_k - R_{k-1}) P_k`` over every distinct threshold
    (``sklearn.metrics.average_precision_score``)."""
    order = np.argsort(-scores, kind="mergesort")
    scores, truth = scores[order], truth[order]
    ends = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tps = np.cumsum(truth)[ends]
    precision = tps / (ends + 1)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


class AUC(Metric):
    """Area under the ROC curve (``curve='ROC'``) or the precision-recall
    curve (``'PR'``), exact (every distinct score is a threshold; Keras
    approximates with ``num_thresholds`` fixed thresholds, accepted here for
    compatibility). ``multi_label=False`` treats every output as one binary
    decision (Keras's default); ``True`` averages per output column
    (weighted by ``label_weights``). ``from_logits=True`` applies a sigmoid
    first."""

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype=None, thresholds=None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights=None, from_logits: bool = False):  # fmt: skip
        super().__init__(name)
        if curve not in ("ROC", "PR"):
            raise ValueError(f"curve must be 'ROC' or 'PR', got {curve!r}")
        self.num_thresholds, self.curve, self.summation_method = num_thresholds, curve, summation_method
        self.multi_label, self.num_labels, self.from_logits = multi_label, num_labels, from_logits
        self.label_weights = None if label_weights is None else np.asarray(label_weights, np.float64)

    def _one(self, truth, scores) -> float | None:
        if truth.all() or not truth.any():
            return None
        return (_roc_auc if self.curve == "ROC" else _pr_auc)(truth, scores)

    def compute(self, y_true, y_pred):
        y_true, y_pred = _same_rank(*_arrays(y_true, y_pred))
        y_pred = y_pred.astype(np.float64)
        if self.from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-y_pred))
        if not self.multi_label:
            value = self._one(y_true.ravel() != 0, y_pred.ravel())
            return self._undefined("only one class occurs in y_true") if value is None else value
        t = y_true.reshape(len(y_true), -1) != 0
        p = y_pred.reshape(len(y_pred), -1)
        values = [self._one(t[:, j], p[:, j]) for j in range(t.shape[1])]
        if any(v is None for v in values):
            return self._undefined("a label column holds only one class")
        weights = np.ones(len(values)) if self.label_weights is None else self.label_weights
        return float(np.sum(weights * np.asarray(values)) / np.sum(weights))

    def get_config(self) -> dict:
        return {"name": self.name, "num_thresholds": self.num_thresholds, "curve": self.curve,
                "multi_label": self.multi_label, "from_logits": self.from_logits}  # fmt: skip


class FBetaScore(Metric):
    """F-beta per class from whole-epoch counts, as ``keras.metrics.FBetaScore``.

    ``y_true`` is one-hot (or binary, ``(n, 1)``); predictions are
    ``y_pred > threshold``, or with ``threshold=None`` the highest score of
    each row. ``average``: ``None`` (one value per class), ``'micro'`` (from
    the summed counts), ``'macro'`` (the unweighted mean) or ``'weighted'``
    (weighted by each class's support). Undefined ratios count as 0.
    """

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str = "fbeta_score", dtype=None):  # fmt: skip
        super().__init__(name)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"average must be None, 'micro', 'macro' or 'weighted', got {average!r}")
        if not (isinstance(beta, (int, float)) and beta > 0):
            raise ValueError(f"beta must be a number > 0, got {beta!r}")
        if threshold is not None and not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be None or in [0, 1], got {threshold!r}")
        self.average, self.beta, self.threshold = average, float(beta), threshold

    def compute(self, y_true, y_pred):
        y_true, y_pred = _arrays(y_true, y_pred)
        if y_true.ndim != 2 or y_true.shape != y_pred.shape:
            raise ValueError(
                f"{type(self).__name__} needs one-hot (or (n, 1) binary) y_true of y_pred's shape, got {y_true.shape} "
                f"and {y_pred.shape} (for integer labels use keras.utils.to_categorical)"
            )
        y_pred = y_pred.astype(np.float64)
        if self.threshold is None:
            predicted = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        truth = y_true.astype(np.float64)
        tp = np.sum(predicted * truth, axis=0)
        fp = np.sum(predicted * (1 - truth), axis=0)
        fn = np.sum(~predicted * truth, axis=0)
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        b2 = self.beta**2
        score = _ratio((1 + b2) * precision * recall, b2 * precision + recall)
        if self.average == "weighted":
            support = truth.sum(axis=0)
            return float(np.sum(score * support) / np.sum(support))
        if self.average == "macro":
            return float(np.mean(score))
        return float(score) if self.average == "micro" else score

    def get_config(self) -> dict:
        return {"name": self.name, "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 (beta = 1) per class from whole-epoch counts, as ``keras.metrics.F1Score``."""

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str = "f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name)

    def get_config(self) -> dict:
        return {"name": self.name, "average": self.average, "threshold": self.threshold}


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
