"""``keras.initializers``: how weights start, by Keras's names and classes.

Each built-in initializer is a frozen dataclass that turns uniform draws into
its distribution: ``sample(u, shape)`` with ``u`` uniform in (0, 1) of the
weight's shape (a normal is ``ndtri(u)``; a normal truncated at two standard
deviations is ``ndtri(Phi(-2) + u (Phi(2) - Phi(-2)))``, the inverse-CDF
method). A model draws *one* uniform vector for all its new weights, from an
explicit ``jax.random`` key, and every initializer transforms its slice: one
random-number call site per model instead of one per weight, because each
call site adds noticeably to XLA's compilation on a CPU.
``init(key, shape, dtype)`` draws one weight on its own.

Definitions and defaults are Keras 3's (``GlorotUniform``: ``U(-l, l)``,
``l = sqrt(6 / (fan_in + fan_out))``; ``HeNormal``: a truncated normal of
variance ``2 / fan_in``, ...). An initializer given a ``seed`` gives the same
values wherever it is used, as in Keras. A function ``fn(shape, dtype=None)``
(Keras's signature for a custom initializer) is called as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr, ndtri

from approx.keras._subset import missing_name, snake_case

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity", "Initializer", "LecunNormal",
    "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
    "Zeros", "get", "serialize", "uniform_draw",
]  # fmt: skip

# Standard deviation of a standard normal truncated to [-2, 2]: dividing by it
# gives the asked variance, as Keras and jax.nn.initializers do.
TRUNCATED_STD = 0.87962566103423978


def uniform_draw(key, shape, dtype=jnp.float32):
    """Uniform values in the open interval (0, 1) (never 0: ``ndtri(0)`` is ``-inf``)."""
    return jax.random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)


def _truncated_standard_normal(u):
    lo, hi = ndtr(jnp.asarray(-2.0, u.dtype)), ndtr(jnp.asarray(2.0, u.dtype))
    return jnp.clip(ndtri(lo + u * (hi - lo)), -2.0, 2.0)


def _fans(shape) -> tuple[float, float]:
    """Keras's fans: the last axis is fan-out, the one before fan-in, the rest a receptive field."""
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class Initializer:
    """Base class. ``random`` says whether :meth:`sample` reads its uniforms."""

    random = True
    seed: int | None = None

    def sample(self, u, shape, dtype=jnp.float32):
        raise NotImplementedError

    def __call__(self, key, shape, dtype=jnp.float32):
        key = key if self.seed is None else jax.random.key(self.seed)
        u = uniform_draw(key, shape, dtype) if self.random else None
        return self.sample(u, tuple(shape), dtype)

    def get_config(self) -> dict:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


@dataclass(frozen=True)
class Zeros(Initializer):
    random = False

    def sample(self, u, shape, dtype=jnp.float32):
        return jnp.zeros(shape, dtype)


@dataclass(frozen=True)
class Ones(Initializer):
    random = False

    def sample(self, u, shape, dtype=jnp.float32):
        return jnp.ones(shape, dtype)


@dataclass(frozen=True)
class Constant(Initializer):
    value: float = 0.0
    random = False

    def sample(self, u, shape, dtype=jnp.float32):
        return jnp.full(shape, self.value, dtype)


@dataclass(frozen=True)
class RandomNormal(Initializer):
    mean: float = 0.0
    stddev: float = 0.05
    seed: int | None = None

    def sample(self, u, shape, dtype=jnp.float32):
        return (self.mean + self.stddev * ndtri(u)).astype(dtype)


@dataclass(frozen=True)
class RandomUniform(Initializer):
    minval: float = -0.05
    maxval: float = 0.05
    seed: int | None = None

    def sample(self, u, shape, dtype=jnp.float32):
        return (self.minval + (self.maxval - self.minval) * u).astype(dtype)


@dataclass(frozen=True)
class TruncatedNormal(Initializer):
    """A normal truncated at two standard deviations (Keras's definition)."""

    mean: float = 0.0
    stddev: float = 0.05
    seed: int | None = None

    def sample(self, u, shape, dtype=jnp.float32):
        return (self.mean + self.stddev * _truncated_standard_normal(u)).astype(dtype)


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

    def sample(self, u, shape, dtype=jnp.float32):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return (limit * (2.0 * u - 1.0)).astype(dtype)
        if self.distribution == "truncated_normal":
            return (math.sqrt(variance) / TRUNCATED_STD * _truncated_standard_normal(u)).astype(dtype)
        return (math.sqrt(variance) * ndtri(u)).astype(dtype)


def _scaled(name: str, scale: float, mode: str, distribution: str, doc: str):
    def __init__(self, seed: int | None = None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}

    cls = type(name, (VarianceScaling,), {"__init__": __init__, "__doc__": doc, "get_config": get_config})
    return dataclass(frozen=True, init=False)(cls)


GlorotUniform = _scaled("GlorotUniform", 1.0, "fan_avg", "uniform", "Glorot and Bengio (2010): U(-l, l), l = sqrt(6 / (fan_in + fan_out)).")
GlorotNormal = _scaled("GlorotNormal", 1.0, "fan_avg", "truncated_normal", "Glorot normal: variance 2 / (fan_in + fan_out).")
HeNormal = _scaled("HeNormal", 2.0, "fan_in", "truncated_normal", "He et al. (2015): variance 2 / fan_in.")
HeUniform = _scaled("HeUniform", 2.0, "fan_in", "uniform", "He uniform: U(-l, l), l = sqrt(6 / fan_in).")
LecunNormal = _scaled("LecunNormal", 1.0, "fan_in", "truncated_normal", "LeCun et al. (1998): variance 1 / fan_in.")
LecunUniform = _scaled("LecunUniform", 1.0, "fan_in", "uniform", "LeCun uniform: U(-l, l), l = sqrt(3 / fan_in).")


@dataclass(frozen=True)
class Orthogonal(Initializer):
    """An orthogonal matrix (the Q of a normal matrix's QR), times ``gain``."""

    gain: float = 1.0
    seed: int | None = None

    def sample(self, u, shape, dtype=jnp.float32):
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = ndtri(u).reshape(max(rows, cols), min(rows, cols)) if rows != cols else ndtri(u).reshape(rows, cols)
        q, r = jnp.linalg.qr(a)
        q = q * jnp.sign(jnp.diagonal(r))[None, :]
        q = q if rows >= cols else q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).astype(dtype)


@dataclass(frozen=True)
class Identity(Initializer):
    gain: float = 1.0
    random = False

    def sample(self, u, shape, dtype=jnp.float32):
        if len(shape) != 2:
            raise ValueError(f"the identity initializer needs a 2-D shape, got {shape}")
        return self.gain * jnp.eye(*shape, dtype=dtype)


_CLASSES = (
    Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, GlorotUniform,
    GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal, Identity,
)  # fmt: skip
_BY_NAME = {snake_case(c.__name__): c for c in _CLASSES}
_BY_NAME |= {c.__name__: c for c in _CLASSES}


def get(identifier):
    """An initializer from a name (``'glorot_uniform'``, ``'he_normal'``,
    ``'zeros'``, ...), a class, an instance, a config dict, or a function
    ``fn(shape, dtype=None)``."""
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
    if isinstance(identifier, Initializer) or callable(identifier):
        return identifier
    raise ValueError(f"initializer must be a name, an Initializer or a function fn(shape, dtype), got {identifier!r}")


def serialize(initializer) -> dict | str:
    if isinstance(initializer, Initializer):
        return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
    return getattr(initializer, "__name__", "custom")


__getattr__ = missing_name("keras.initializers", "initializers", [c.__name__ for c in _CLASSES])
