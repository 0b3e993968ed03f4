"""``keras.datasets.fashion_mnist``: the official files, checked, as Keras returns them."""

from __future__ import annotations

import numpy as np

from approx.data import load_fashion_mnist

__all__ = ["load_data"]


def load_data():
    """``((x_train, y_train), (x_test, y_test))``: ``uint8`` images
    ``(60000, 28, 28)`` and ``(10000, 28, 28)``, ``uint8`` labels 0..9.

    The files come from ``APPROX_DATA_DIR``, Debian's
    ``/usr/share/datasets/fashion-mnist``, the user cache or the official
    mirror, each checked against its official SHA-256
    (:func:`approx.data.load_fashion_mnist`). The arrays are fresh copies.
    """
    data = load_fashion_mnist()
    return (
        (np.array(data.x_train), data.y_train.astype(np.uint8)),
        (np.array(data.x_test), data.y_test.astype(np.uint8)),
    )
