"""``keras.datasets``: Fashion-MNIST, from approx's verified loader."""

from approx.keras._subset import missing_name
from approx.keras.datasets import fashion_mnist

__all__ = ["fashion_mnist"]

__getattr__ = missing_name("keras.datasets", "data sets", __all__)
