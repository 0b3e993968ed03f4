"""``keras.utils``: ``to_categorical``, ``set_random_seed``, ``normalize``."""

from __future__ import annotations

import random

import numpy as np

from approx.keras._random import set_global_seed
from approx.keras._subset import missing_name

__all__ = ["normalize", "set_random_seed", "to_categorical"]


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """One-hot rows ``(n, num_classes)`` (float32) from integer labels ``(n,)``
    or ``(n, 1)``, as ``keras.utils.to_categorical``."""
    y = np.asarray(x)
    if y.ndim >= 2 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.size and (not np.all(np.isfinite(y)) or np.any(y != np.round(y)) or y.min() < 0):
        raise ValueError(f"to_categorical needs non-negative integer labels, got values from {y.min()} to {y.max()}")
    labels = y.astype(np.int64)
    k = int(labels.max(initial=-1)) + 1 if num_classes is None else int(num_classes)
    if labels.size and labels.max() >= k:
        raise ValueError(f"labels go up to {labels.max()} but num_classes={k}")
    return np.eye(k, dtype=np.float32)[labels]


def set_random_seed(seed: int) -> None:
    """Restarts approx.keras's random sequence (weights, shuffling, dropout)
    from ``seed``: the same program then gives the same numbers. NumPy's
    and Python's global generators are seeded too, as Keras does, for code
    that draws data with them."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    set_global_seed(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """``x`` divided by its ``order``-norm along ``axis`` (zero vectors stay zero)."""
    x = np.asarray(x, np.float32)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm != 0)


__getattr__ = missing_name("keras.utils", "utilities", __all__)
