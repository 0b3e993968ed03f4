"""What lies outside the course subset fails at once, with one message naming what is supported.

``approx.keras`` mirrors Keras 3's public layout for the subset a first course
uses. A name Keras has and approx does not (``layers.Conv2D``,
``keras.Model(inputs, outputs)``) raises :class:`NotInSubsetError` where it is
used, naming what the module offers, instead of an ``AttributeError`` from
deep inside a fit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["NotInSubsetError", "missing_name", "snake_case", "unique_name"]


class NotInSubsetError(AttributeError, NotImplementedError):
    """A Keras name outside approx's course subset (an ``AttributeError``, so
    ``hasattr`` and ``getattr(..., default)`` keep working)."""


def missing_name(module: str, what: str, supported: Iterable[str]):
    """A module ``__getattr__`` that refuses unknown public names clearly."""
    listed = ", ".join(sorted(supported))

    def __getattr__(name: str):
        if name.startswith("_"):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        raise NotInSubsetError(
            f"{module}.{name} is not part of approx.keras (Keras 3's names for a first course on dense "
            f"networks); supported {what}: {listed}"
        )

    return __getattr__


def snake_case(name: str) -> str:
    """``'BinaryAccuracy'`` -> ``'binary_accuracy'``, as Keras names objects."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


_COUNTS: dict[str, int] = {}


def unique_name(base: str) -> str:
    """``dense``, ``dense_1``, ``dense_2``, ... per process, as Keras names layers."""
    n = _COUNTS.get(base, 0)
    _COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def reset_names() -> None:
    """Starts the layer-name counters again (``keras.backend.clear_session``)."""
    _COUNTS.clear()
