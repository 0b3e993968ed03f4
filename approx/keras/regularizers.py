"""``keras.regularizers``: weight penalties added to the loss (Keras 3's definitions).

``L2(l2)`` adds ``l2 * sum(w ** 2)`` (no factor 1/2), ``L1(l1)`` adds
``l1 * sum(|w|)``, ``L1L2`` both. They are frozen dataclasses: the penalty
of every regularised weight is part of the compiled training step.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from approx.keras._subset import missing_name

__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l1_l2", "l2", "serialize"]


class Regularizer:
    def get_config(self) -> dict:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True)
class L1L2(Regularizer):
    l1: float = 0.0
    l2: float = 0.0

    def __post_init__(self):
        for name in ("l1", "l2"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")

    def __call__(self, w):
        total = jnp.zeros((), w.dtype)
        if self.l1:
            total = total + self.l1 * jnp.sum(jnp.abs(w))
        if self.l2:
            total = total + self.l2 * jnp.sum(jnp.square(w))
        return total


@dataclass(frozen=True, init=False)
class L1(L1L2):
    def __init__(self, l1: float = 0.01):
        L1L2.__init__(self, l1=l1, l2=0.0)

    def get_config(self) -> dict:
        return {"l1": self.l1}


@dataclass(frozen=True, init=False)
class L2(L1L2):
    def __init__(self, l2: float = 0.01):
        L1L2.__init__(self, l1=0.0, l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


l1 = L1
l2 = L2


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:  # noqa: F811 (Keras's names)
    return L1L2(l1=l1, l2=l2)


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": l1_l2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    """A regularizer from ``None``, a name (``'l2'``), a config dict or an instance/callable."""
    if identifier is None or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"unknown regularizer {identifier!r}; valid regularizers: l1, l2, l1_l2")
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(identifier.get("class_name", ""))
        if cls is None:
            raise ValueError(f"unknown regularizer config {identifier!r}")
        return cls(**identifier.get("config", {}))
    raise ValueError(f"regularizer must be None, a name (l1, l2, l1_l2) or a callable, got {identifier!r}")


def serialize(regularizer):
    if regularizer is None:
        return None
    if isinstance(regularizer, L1L2):
        return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
    return getattr(regularizer, "__name__", "custom")


__getattr__ = missing_name("keras.regularizers", "regularizers", ["L1", "L2", "L1L2", "l1", "l2", "l1_l2"])
