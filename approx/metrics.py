"""Evaluation metrics on whole-epoch predictions, computed on the host.

Unlike ``approx.losses`` these are not differentiated or jitted: they run once
per epoch on gathered predictions, so they are plain NumPy. They accept JAX
or NumPy arrays and return Python floats (or NumPy arrays for curves and
matrices). Each follows the scikit-learn function of the same meaning
(``sklearn.metrics``); the differences are documented where they exist.

Conventions for classification inputs (``n`` samples, ``k`` classes):

* ``y_true``: integer labels of shape ``(n,)`` or ``(n, 1)``, or one-hot rows
  of shape ``(n, k)`` (decoded by argmax).
* ``y_pred``: scores or labels. A float vector ``(n,)`` or column ``(n, 1)``
  holds binary scores (probabilities, or logits with ``threshold=0``); the
  predicted class is ``y_pred > threshold``, as ``keras.metrics.BinaryAccuracy``.
  A matrix ``(n, k)`` with ``k >= 2`` holds per-class scores (or one-hot
  predictions); the predicted class is the argmax over the last axis. An
  integer or boolean vector already holds predicted labels.
"""

from collections.abc import Callable

import numpy as np

__all__ = [
    "accuracy",
    "confusion_matrix",
    "f1_score",
    "get",
    "mae",
    "mape",
    "mse",
    "name_of",
    "names",
    "precision",
    "recall",
    "roc_auc",
    "roc_curve",
]

# The floor of MAPE's denominator, Keras' ``backend.epsilon()`` as in
# ``approx.losses.mape``.
EPSILON = 1e-7

MetricFn = Callable[..., float]


# --- input checks and label decoding -------------------------------------


def _check_lengths(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    """Raises ``ValueError`` unless both arrays have the same number of samples."""
    if y_true.ndim == 0 or y_pred.ndim == 0:
        raise ValueError(
            "y_true and y_pred must be arrays of samples, got shapes "
            f"{y_true.shape} and {y_pred.shape}"
        )
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} samples but y_pred has {len(y_pred)}"
        )
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred hold no samples")


def _as_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Converts to NumPy and checks the sample counts agree."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    _check_lengths(y_true, y_pred)
    return y_true, y_pred


def _columns(a: np.ndarray) -> int:
    """Number of classes a matrix ``(n, k)`` encodes, ``k >= 2``; else 0."""
    if a.ndim > 2:
        raise ValueError(f"expected shape (n,), (n, 1) or (n, k), got {a.shape}")
    return a.shape[1] if a.ndim == 2 and a.shape[1] > 1 else 0


def _integer_labels(a: np.ndarray, role: str) -> np.ndarray:
    """Validates a vector ``(n,)`` of non-negative integral values; returns int64."""
    if a.dtype == bool:
        return a.astype(np.int64)
    if not np.all(np.isfinite(a)) or np.any(a != np.round(a)) or np.any(a < 0):
        raise ValueError(f"{role} labels must be non-negative integers")
    return a.astype(np.int64)


def _true_labels(y_true: np.ndarray) -> np.ndarray:
    """Class labels ``(n,)`` from labels ``(n,)``/``(n, 1)`` or one-hot ``(n, k)``."""
    if _columns(y_true):
        return np.argmax(y_true, axis=-1)
    return _integer_labels(y_true.reshape(len(y_true)), "y_true")


def _predicted_labels(y_pred: np.ndarray, threshold: float) -> np.ndarray:
    """Predicted classes ``(n,)`` from scores or labels (see the module doc)."""
    if _columns(y_pred):
        return np.argmax(y_pred, axis=-1)
    y_pred = y_pred.reshape(len(y_pred))
    if np.issubdtype(y_pred.dtype, np.integer) or y_pred.dtype == bool:
        return _integer_labels(y_pred, "y_pred")
    return (y_pred > threshold).astype(np.int64)


def _num_classes(y_true, y_pred, true_labels, pred_labels) -> int:
    """Classes implied by the inputs: matrix columns or the largest label + 1.

    Returns at least 2, so that labels in ``{0, 1}`` count as binary.
    """
    columns = {c for c in (_columns(y_true), _columns(y_pred)) if c}
    if len(columns) > 1:
        raise ValueError(
            f"y_true has {_columns(y_true)} columns but y_pred has {_columns(y_pred)}"
        )
    largest = max(true_labels.max(initial=0), pred_labels.max(initial=0)) + 1
    return max(2, largest, *columns)


def _decode(y_true, y_pred, threshold: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Checks inputs; returns true labels, predicted labels and the class count."""
    y_true, y_pred = _as_pair(y_true, y_pred)
    true_labels = _true_labels(y_true)
    pred_labels = _predicted_labels(y_pred, threshold)
    k = _num_classes(y_true, y_pred, true_labels, pred_labels)
    return true_labels, pred_labels, k


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den == 0`` (sklearn's ``zero_division``
    default value, without its warning)."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


# --- classification -------------------------------------------------------


def accuracy(y_true, y_pred, threshold: float = 0.5) -> float:
    """Fraction of samples whose predicted class equals the true class.

    Args:
      y_true: labels ``(n,)``/``(n, 1)`` or one-hot ``(n, k)``.
      y_pred: binary scores ``(n,)``/``(n, 1)`` (class ``y_pred > threshold``),
        class scores ``(n, k)`` (argmax) or integer labels ``(n,)``.
      threshold: decision threshold for binary scores.

    Returns:
      ``mean(true_class == predicted_class)``, as ``sklearn.metrics.accuracy_score``.
    """
    true_labels, pred_labels, _ = _decode(y_true, y_pred, threshold)
    return float(np.mean(true_labels == pred_labels))


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as class ``j``.

    Rows are true classes and columns predicted classes, as
    ``sklearn.metrics.confusion_matrix``. Unlike sklearn, rows and columns
    are indexed by the class ids ``0 .. num_classes - 1`` even when a class
    never occurs (sklearn's ``labels=range(num_classes)``).

    Args:
      y_true: labels ``(n,)``/``(n, 1)`` or one-hot ``(n, k)``.
      y_pred: scores or labels, as in ``accuracy`` (binary scores use the
        threshold 0.5).
      num_classes: ``k``; inferred from the columns or the largest label if None.

    Returns:
      An int64 array of shape ``(k, k)``.
    """
    true_labels, pred_labels, inferred = _decode(y_true, y_pred, 0.5)
    k = inferred if num_classes is None else num_classes
    if k < inferred:
        raise ValueError(
            f"num_classes={num_classes} but the inputs hold {inferred} classes"
        )
    flat = np.bincount(k * true_labels + pred_labels, minlength=k * k)
    return flat.reshape(k, k)


def _per_class_counts(y_true, y_pred, threshold):
    """True positives, predicted and true counts per class, and the class count."""
    true_labels, pred_labels, k = _decode(y_true, y_pred, threshold)
    cm = confusion_matrix(true_labels, pred_labels, num_classes=k)
    return np.diag(cm), cm.sum(axis=0), cm.sum(axis=1), k


def _average(per_class, predicted, actual, k: int) -> float:
    """Binary: the score of class 1. Several classes: the macro average over
    the classes that occur in ``y_true`` or the predictions, as sklearn."""
    if k == 2:
        return float(per_class[1])
    present = (predicted + actual) > 0
    return float(np.mean(per_class[present]))


def precision(y_true, y_pred, threshold: float = 0.5) -> float:
    """Precision ``tp / (tp + fp)``: of the samples predicted positive, how many are.

    Binary (class 1 positive) for two classes or one-column scores, and the
    unweighted (macro) mean over classes otherwise, as
    ``sklearn.metrics.precision_score`` with ``average='binary'`` or
    ``'macro'``; a class never predicted scores 0 (sklearn's default
    ``zero_division``, without the warning). Inputs as in ``accuracy``.
    """
    tp, predicted, actual, k = _per_class_counts(y_true, y_pred, threshold)
    return _average(_safe_divide(tp, predicted), predicted, actual, k)


def recall(y_true, y_pred, threshold: float = 0.5) -> float:
    """Recall ``tp / (tp + fn)``: of the positive samples, how many are found.

    Binary or macro-averaged, zero when undefined; see ``precision``.
    """
    tp, predicted, actual, k = _per_class_counts(y_true, y_pred, threshold)
    return _average(_safe_divide(tp, actual), predicted, actual, k)


def f1_score(y_true, y_pred, threshold: float = 0.5) -> float:
    """F1 ``2 tp / (2 tp + fp + fn)``, the harmonic mean of precision and recall.

    Binary or macro-averaged (the mean of per-class F1, as sklearn), zero
    when undefined; see ``precision``.
    """
    tp, predicted, actual, k = _per_class_counts(y_true, y_pred, threshold)
    return _average(_safe_divide(2 * tp, predicted + actual), predicted, actual, k)


def _binary_targets_and_scores(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels ``(n,)`` in {0, 1} and positive-class scores ``(n,)``.

    ``y_score`` may be ``(n,)``, ``(n, 1)`` or ``(n, 2)`` (column 1 is the
    positive class). Raises ``ValueError`` unless both classes occur.
    """
    y_true, y_score = _as_pair(y_true, y_score)
    columns = _columns(y_score)
    if columns > 2:
        raise ValueError(f"roc_curve needs binary scores, got shape {y_score.shape}")
    scores = y_score[:, 1] if columns == 2 else y_score.reshape(len(y_score))
    labels = _true_labels(y_true)
    if np.any(labels > 1):
        raise ValueError("roc_curve needs binary labels in {0, 1}")
    if labels.min() == labels.max():
        raise ValueError(
            f"the ROC curve is undefined: only class {labels[0]} occurs in y_true"
        )
    return labels, scores.astype(np.float64)


def roc_curve(y_true, y_score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Receiver operating characteristic: every threshold, ties handled exactly.

    Sorting the scores in decreasing order, each distinct score ``t`` gives
    one point ``(fpr, tpr)`` = fractions of negatives and positives with
    score ``>= t``; the curve starts at ``(0, 0)`` with threshold ``+inf``.
    This is ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``.

    Args:
      y_true: binary labels ``(n,)``/``(n, 1)`` or one-hot ``(n, 2)``; both
        classes must occur (sklearn warns and returns NaN, we raise).
      y_score: positive-class scores ``(n,)``/``(n, 1)``, or ``(n, 2)``.

    Returns:
      ``(fpr, tpr, thresholds)``, float64 arrays of length ``m + 1`` for
      ``m`` distinct scores; thresholds decrease from ``+inf``.
    """
    labels, scores = _binary_targets_and_scores(y_true, y_score)
    order = np.argsort(scores, kind="mergesort")[::-1]
    scores, labels = scores[order], labels[order]
    # The last index of each run of equal scores: tied samples cross the
    # threshold together, so only the end of a run is a point of the curve.
    last_of_run = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tps = np.cumsum(labels)[last_of_run]
    fps = last_of_run + 1 - tps
    fpr = np.r_[0.0, fps / fps[-1]]
    tpr = np.r_[0.0, tps / tps[-1]]
    return fpr, tpr, np.r_[np.inf, scores[last_of_run]]


def _binary_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Trapezoidal area under the full ROC curve of binary labels ``(n,)``."""
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(np.trapezoid(tpr, fpr))


def roc_auc(y_true, y_score) -> float:
    """Area under the ROC curve, the trapezoidal rule on the full curve.

    Binary scores ``(n,)``, ``(n, 1)`` or ``(n, 2)``: the area under
    ``roc_curve`` (ties contribute half, as the trapezoid does). Score
    matrices ``(n, k)`` with ``k >= 3``: one-vs-rest macro average, the mean
    over classes ``c`` of the AUC of ``(y_true == c, y_score[:, c])``, as
    ``sklearn.metrics.roc_auc_score(multi_class='ovr', average='macro')``
    (which also insists that rows sum to one; we do not).

    Args:
      y_true: labels ``(n,)``/``(n, 1)`` or one-hot ``(n, k)``; every class
        must occur.
      y_score: scores as above.

    Returns:
      The area in ``[0, 1]``.
    """
    y_true, y_score = _as_pair(y_true, y_score)
    k = _columns(y_score)
    if k <= 2:
        return _binary_auc(y_true, y_score)
    labels = _true_labels(y_true)
    if _columns(y_true) not in (0, k) or labels.max() >= k:
        raise ValueError(
            f"y_true with shape {y_true.shape} and labels up to {labels.max()} "
            f"does not fit y_score with {k} class columns"
        )
    return float(np.mean([_binary_auc(labels == c, y_score[:, c]) for c in range(k)]))


# --- regression -------------------------------------------------------------


def _regression_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Float arrays of equal shape; ``(n,)`` against ``(n, 1)`` is flattened."""
    y_true, y_pred = _as_pair(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        if y_true.size != len(y_true) or y_pred.size != len(y_pred):
            raise ValueError(
                f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}"
            )
        y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
    return y_true.astype(np.float64), y_pred.astype(np.float64)


def mse(y_true, y_pred) -> float:
    """Mean squared error ``mean((y_true - y_pred) ** 2)`` over all entries.

    Shapes ``(n, ...)`` must agree, except that ``(n,)`` and ``(n, 1)`` mix.
    """
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return float(np.mean((y_true - y_pred) ** 2))


def mae(y_true, y_pred) -> float:
    """Mean absolute error ``mean(|y_true - y_pred|)``; shapes as in ``mse``."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error, as Keras (and ``approx.losses.mape``).

    ``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7))``; shapes as in ``mse``.
    """
    y_true, y_pred = _regression_pair(y_true, y_pred)
    relative = np.abs(y_true - y_pred) / np.maximum(np.abs(y_true), EPSILON)
    return float(100.0 * np.mean(relative))


# --- registry ---------------------------------------------------------------

# name -> (function, history key). The key is what a History records.
_REGISTRY: dict[str, tuple[MetricFn, str]] = {
    "accuracy": (accuracy, "accuracy"),
    "acc": (accuracy, "accuracy"),
    "precision": (precision, "precision"),
    "recall": (recall, "recall"),
    "f1": (f1_score, "f1_score"),
    "f1_score": (f1_score, "f1_score"),
    "auc": (roc_auc, "auc"),
    "roc_auc": (roc_auc, "auc"),
    "mse": (mse, "mse"),
    "mean_squared_error": (mse, "mse"),
    "mae": (mae, "mae"),
    "mean_absolute_error": (mae, "mae"),
    "mape": (mape, "mape"),
    "mean_absolute_percentage_error": (mape, "mape"),
}
_KEYS: dict[MetricFn, str] = {fn: key for fn, key in _REGISTRY.values()}


def names() -> list[str]:
    """Every name ``get`` accepts, sorted."""
    return sorted(_REGISTRY)


def _lookup(name: str) -> tuple[MetricFn, str]:
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown metric {name!r}; valid names: {', '.join(names())}"
        ) from None


def get(metric: str | MetricFn) -> MetricFn:
    """Resolves a metric by name (case-insensitive); a callable passes through.

    Raises:
      ValueError: for an unknown name; the message lists the valid names.
      TypeError: if ``metric`` is neither a string nor callable.
    """
    if callable(metric):
        return metric
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a name or a callable, got {metric!r}")
    return _lookup(metric)[0]


def name_of(metric: str | MetricFn) -> str:
    """The history key of a metric: ``'acc'`` and ``accuracy`` give
    ``'accuracy'``, ``'f1'`` gives ``'f1_score'``, ``'roc_auc'`` gives
    ``'auc'``, a long name its short one; another callable its ``__name__``.
    """
    if isinstance(metric, str):
        return _lookup(metric)[1]
    get(metric)
    if metric in _KEYS:
        return _KEYS[metric]
    return getattr(metric, "__name__", type(metric).__name__)
