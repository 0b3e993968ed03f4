"""``keras.initializers``: how weights start, by Keras's names and classes.

Each initializer is a frozen dataclass ``init(key, shape, dtype) -> array``
drawn from an explicit ``jax.random`` key (the model's key folded with the
layer and the weight; an initializer given a ``seed`` uses ``key(seed)``, so
it gives the same values wherever it is used, as in Keras). The definitions
and defaults are Keras 3's; the variance-scaling family is
``jax.nn.initializers.variance_scaling``, which computes fans and truncates
normals (at two standard deviations, rescaled to the asked variance) as Keras
does.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from approx.keras._subset import missing_name, snake_case

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity", "Initializer", "LecunNormal",
    "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
    "Zeros", "get", "serialize",
]  # fmt: skip


class Initializer:
    """Base class: ``__call__(key, shape, dtype)``; ``seed`` fixes the values."""

    seed: int | None = None

    def _key(self, key):
        return key if self.seed is None else jax.random.key(self.seed)

    def get_config(self) -> dict:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


@dataclass(frozen=True)
class Zeros(Initializer):
    def __call__(self, key, shape, dtype=jnp.float32):
        return jnp.zeros(shape, dtype)


@dataclass(frozen=True)
class Ones(Initializer):
    def __call__(self, key, shape, dtype=jnp.float32):
        return jnp.ones(shape, dtype)


@dataclass(frozen=True)
class Constant(Initializer):
    value: float = 0.0

    def __call__(self, key, shape, dtype=jnp.float32):
        return jnp.full(shape, self.value, dtype)


@dataclass(frozen=True)
class RandomNormal(Initializer):
    mean: float = 0.0
    stddev: float = 0.05
    seed: int | None = None

    def __call__(self, key, shape, dtype=jnp.float32):
        return self.mean + self.stddev * jax.random.normal(self._key(key), shape, dtype)


@dataclass(frozen=True)
class RandomUniform(Initializer):
    minval: float = -0.05
    maxval: float = 0.05
    seed: int | None = None

    def __call__(self, key, shape, dtype=jnp.float32):
        return jax.random.uniform(self._key(key), shape, dtype, self.minval, self.maxval)


@dataclass(frozen=True)
class TruncatedNormal(Initializer):
    """Normal values redrawn beyond two standard deviations (Keras's definition)."""

    mean: float = 0.0
    stddev: float = 0.05
    seed: int | None = None

    def __call__(self, key, shape, dtype=jnp.float32):
        return self.mean + self.stddev * jax.random.truncated_normal(self._key(key), -2.0, 2.0, shape, dtype)


@dataclass(frozen=True)
class VarianceScaling(Initializer):
    """Variance ``scale / fan`` (``fan_in``, ``fan_out`` or ``fan_avg``), drawn
    from a truncated normal, a normal or a uniform distribution."""

    scale: float = 1.0
    mode: str = "fan_in"
    distribution: str = "truncated_normal"
    seed: int | None = None

    def __post_init__(self):
        if self.mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg', got {self.mode!r}")
        if self.distribution not in ("truncated_normal", "untruncated_normal", "normal", "uniform"):
            raise ValueError(
                f"distribution must be 'truncated_normal', 'untruncated_normal' or 'uniform', got {self.distribution!r}"
            )

    def __call__(self, key, shape, dtype=jnp.float32):
        distribution = "untruncated_normal" if self.distribution == "normal" else self.distribution
        init = jax.nn.initializers.variance_scaling(self.scale, self.mode, distribution)
        return init(self._key(key), shape, dtype)


def _scaled(name: str, scale: float, mode: str, distribution: str, doc: str):
    def __init__(self, seed: int | None = None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    cls = type(name, (VarianceScaling,), {"__init__": __init__, "__doc__": doc})
    cls = dataclass(frozen=True, init=False)(cls)

    def get_config(self) -> dict:
        return {"seed": self.seed}

    cls.get_config = get_config
    return cls


GlorotUniform = _scaled("GlorotUniform", 1.0, "fan_avg", "uniform", "Glorot and Bengio (2010): U(-l, l), l = sqrt(6 / (fan_in + fan_out)).")
GlorotNormal = _scaled("GlorotNormal", 1.0, "fan_avg", "truncated_normal", "Glorot normal: variance 2 / (fan_in + fan_out).")
HeNormal = _scaled("HeNormal", 2.0, "fan_in", "truncated_normal", "He et al. (2015): variance 2 / fan_in.")
HeUniform = _scaled("HeUniform", 2.0, "fan_in", "uniform", "He uniform: U(-l, l), l = sqrt(6 / fan_in).")
LecunNormal = _scaled("LecunNormal", 1.0, "fan_in", "truncated_normal", "LeCun et al. (1998): variance 1 / fan_in.")
LecunUniform = _scaled("LecunUniform", 1.0, "fan_in", "uniform", "LeCun uniform: U(-l, l), l = sqrt(3 / fan_in).")


@dataclass(frozen=True)
class Orthogonal(Initializer):
    gain: float = 1.0
    seed: int | None = None

    def __call__(self, key, shape, dtype=jnp.float32):
        return jax.nn.initializers.orthogonal(self.gain)(self._key(key), shape, dtype)


@dataclass(frozen=True)
class Identity(Initializer):
    gain: float = 1.0

    def __call__(self, key, shape, dtype=jnp.float32):
        if len(shape) != 2:
            raise ValueError(f"the identity initializer needs a 2-D shape, got {shape}")
        return self.gain * jnp.eye(*shape, dtype=dtype)


_CLASSES = (
    Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, GlorotUniform,
    GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal, Identity,
)  # fmt: skip
_BY_NAME = {snake_case(c.__name__): c for c in _CLASSES}
_BY_NAME |= {c.__name__: c for c in _CLASSES}


def get(identifier) -> Initializer:
    """An initializer from a name (``'glorot_uniform'``, ``'he_normal'``,
    ``'zeros'``, ...), a class, an instance, a config dict or a callable
    ``(key, shape, dtype) -> array``."""
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _BY_NAME.get(identifier.lower())
        if cls is None:
            valid = sorted(snake_case(c.__name__) for c in _CLASSES)
            raise ValueError(f"unknown initializer {identifier!r}; valid initializers: {', '.join(valid)}")
        return cls()
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(identifier.get("class_name", ""))
        if cls is None:
            raise ValueError(f"unknown initializer config {identifier!r}")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"initializer must be a name, an Initializer or a callable, got {identifier!r}")


def serialize(initializer) -> dict | str:
    if isinstance(initializer, Initializer):
        return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
    return getattr(initializer, "__name__", "custom")


__getattr__ = missing_name("keras.initializers", "initializers", [c.__name__ for c in _CLASSES])
