"""Checks of the data given to ``fit``, ``evaluate`` and ``predict``, on the
host before anything is compiled, and the row padding that lets prediction
programs be shared."""

from __future__ import annotations

import numbers

import numpy as np

from approx.constraints import Interval
from approx.keras import _engine
from approx.keras import losses as _losses
from approx.keras._subset import NotInSubsetError

__all__ = ["VERBOSE", "as_array", "check_targets", "pad_rows", "prediction_rows"]

VERBOSE = (0, 1, 2, "auto")


def _check_int(name: str, value, minimum: int) -> int:
    Interval(numbers.Integral, minimum).check(name, value)  # NumPy's integers too
    return int(value)


def as_array(a, what: str) -> np.ndarray:
    """``a`` as a float32 NumPy array of samples, or a clear error (missing,
    not numeric, empty, or holding NaN or infinite values)."""
    if a is None:
        raise ValueError(f"{what} is missing")
    if isinstance(a, dict) or type(a).__module__.startswith(("tensorflow", "torch")) and not hasattr(a, "__array__"):
        raise NotInSubsetError(f"{what} must be an array (NumPy, JAX or a list); approx.keras does not read {type(a).__name__}")
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{what} must be a numeric array, got {type(a).__name__} ({e})") from None
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{what} must hold numbers, got dtype {arr.dtype}")
    if arr.ndim == 0 or len(arr) == 0:
        raise ValueError(f"{what} holds no samples (shape {arr.shape})")
    out = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(out)):
        bad = int(np.sum(~np.isfinite(out)))
        raise ValueError(f"{what} contains {bad} NaN or infinite value(s) (or values too large for float32); clean the data first")
    return out


def prediction_rows(n: int) -> int:
    """Rows a prediction program is compiled for: ``n`` rounded up to a power
    of two (at least 32), or to whole chunks, so that calls on sets of
    similar sizes share one program."""
    if n > _engine.CHUNK:
        return -(-n // _engine.CHUNK) * _engine.CHUNK
    return max(32, 1 << (n - 1).bit_length())


def pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    """``a`` with zero rows appended up to ``rows``."""
    return a if len(a) == rows else np.concatenate([a, np.zeros((rows - len(a), *a.shape[1:]), a.dtype)])


def check_targets(y: np.ndarray, out: tuple, loss, what: str = "y") -> np.ndarray:
    """The targets ``y`` as the loss reads them for a model of output shape
    ``out`` (``(None, ...)``): integer labels for the sparse cross-entropy,
    ``(n, 1)`` for 1-D regression targets; a clear error when their shape or
    range does not fit the loss."""
    k = out[-1]
    if isinstance(loss, _losses.SparseCategoricalCrossentropy):
        labels = y[..., 0] if (y.ndim == len(out) and y.shape[-1] == 1) else y
        if labels.shape[1:] != out[1:-1]:
            raise ValueError(
                f"sparse_categorical_crossentropy needs integer labels of shape {(None, *out[1:-1])}; {what} has shape "
                f"{(None, *y.shape[1:])} (for one-hot targets use categorical_crossentropy)"
            )
        if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() > k - 1:
            raise ValueError(
                f"labels out of range: {what} holds values from {labels.min():g} to {labels.max():g}, but the model "
                f"outputs {k} classes (integer labels 0..{k - 1})"
            )
        return labels
    if y.ndim == 1 and len(out) == 2:
        y = y[:, None]
    if isinstance(loss, _losses.CategoricalCrossentropy) and y.shape[-1] == 1 and k > 1:
        raise ValueError(
            f"categorical_crossentropy needs one-hot targets of shape (None, {k}); {what} holds integer labels of "
            f"shape {(None, *y.shape[1:])}: use loss='sparse_categorical_crossentropy', or "
            f"keras.utils.to_categorical({what}, {k})"
        )
    if tuple(y.shape[1:]) != tuple(out[1:]):
        raise ValueError(f"the model outputs shape {out}; {what} has shape {(None, *y.shape[1:])}; they must match")
    if isinstance(loss, (_losses.BinaryCrossentropy, _losses.CategoricalCrossentropy)) and not loss.from_logits:
        if y.min() < 0 or y.max() > 1:
            raise ValueError(f"labels out of range: {loss.name} needs targets in [0, 1], got {y.min():g}..{y.max():g}")
    return y

