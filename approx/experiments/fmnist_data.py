"""Fashion-MNIST prepared for training: subset, flattened, standardised, on the device once.

Inputs are standardised per pixel with the training set's statistics (LeCun
et al., "Efficient BackProp", 1998). The evaluation sets (a training subset
and the test set) are cut into equal chunks and stacked so that one compiled
scan evaluates both after every epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import jax
import numpy as np

from approx.config import FMNISTConfig
from approx.data.fashion_mnist import FashionMNIST, load_fashion_mnist

__all__ = ["EVAL_CHUNK", "IN_DIM", "N_CLASSES", "DeviceData", "FMNISTData", "prepare_data"]

IN_DIM = 28 * 28
N_CLASSES = 10
# Examples per evaluation chunk: bounds the activations held at once to
# seeds x chunk x width floats (4 seeds x 2000 x 2048 x 4 B = 64 MB).
EVAL_CHUNK = 2000
# Pixels near the border are almost always 0; their standard deviation is tiny
# and dividing by it would blow rare non-zero values up by 1000x. Standard
# deviations are floored at this fraction of the mean pixel deviation.
STD_FLOOR = 0.1


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

