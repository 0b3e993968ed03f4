"""The base of every metric (:class:`Metric`, exact over all it has seen),
the mean of a per-sample function (:class:`MeanMetricWrapper`), and the
checks of ``(y_true, y_pred)`` the metrics share."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from approx.keras._subset import snake_case, unique_name

__all__ = ["MeanMetricWrapper", "Metric", "integer_labels", "same_rank", "sample_arrays"]


def same_rank(y_true: np.ndarray, y_pred: np.ndarray):
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred[..., 0]
    return y_true, y_pred


def sample_arrays(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == 0 or y_pred.ndim == 0 or len(y_true) != len(y_pred):
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must hold the same number of samples")
    return y_true, y_pred


def integer_labels(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"sparse metrics need integer labels (n,) for scores (n, classes), got {y_true.shape} and {y_pred.shape}"
        )
    return y_true.astype(np.int64)



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
