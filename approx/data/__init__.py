"""Data sets: Fashion-MNIST (IDX files, verified against the official checksums)."""

from approx.data.fashion_mnist import (
    CLASS_NAMES,
    CLASS_NAMES_ES,
    DataError,
    FashionMNIST,
    load_fashion_mnist,
)

__all__ = [
    "CLASS_NAMES",
    "CLASS_NAMES_ES",
    "DataError",
    "FashionMNIST",
    "load_fashion_mnist",
]
