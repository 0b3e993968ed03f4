"""Confusion-matrix metrics, exact on a whole epoch: precision, recall, the
four counts, AUC (every distinct score a threshold) and the F-scores."""

from __future__ import annotations

import numpy as np

from approx.keras._metric import Metric, same_rank, sample_arrays
from approx.keras._subset import snake_case
from approx.metrics import roc_auc

__all__ = [
    "AUC", "F1Score", "FBetaScore", "FalseNegatives", "FalsePositives", "Precision", "Recall", "TrueNegatives",
    "TruePositives",
]  # fmt: skip


def _binary_pairs(y_true, y_pred, top_k, class_id):
    """Booleans of truth and scores, flattened over samples (and outputs), as Keras
    flattens them (every output is one binary decision)."""
    y_true, y_pred = same_rank(*sample_arrays(y_true, y_pred))
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
    counted half (the trapezoid), as ``sklearn.metrics.roc_auc_score``
    (:func:`approx.metrics.roc_auc`)."""
    return roc_auc(truth.astype(np.int64), scores)


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
        y_true, y_pred = same_rank(*sample_arrays(y_true, y_pred))
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
        y_true, y_pred = sample_arrays(y_true, y_pred)
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
