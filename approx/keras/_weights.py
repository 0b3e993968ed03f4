"""Layer weights: :class:`Variable` (a weight's host-side value and settings)
and the compiled draw of initial values."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from approx.backend import on_init_device, to_compute_device
from approx.keras import initializers as _initializers
from approx.keras._random import make_key
from approx.models import INIT_COMPILER_OPTIONS

__all__ = ["ASSIGNMENTS", "FLOATX", "Variable", "clear_init_programs", "draw_weights"]

FLOATX = jnp.float32
ASSIGNMENTS = [0]  # bumped by every Variable.assign: fit notices weights set by a callback


class Variable:
    """A layer's weight: its name, shape, whether training changes it, and its value.

    ``numpy()`` returns a copy as a NumPy array; ``assign(value)`` replaces
    the value (same shape); ``np.asarray(variable)`` works too.
    """

    def __init__(self, layer, name: str, shape: tuple[int, ...], initializer, trainable: bool, regularizer):
        self.layer = layer
        self.name = name
        self.shape = tuple(shape)
        self.dtype = "float32"
        self.initializer = initializer
        self._trainable = bool(trainable)
        self.regularizer = regularizer
        self._value: jax.Array | None = None

    @property
    def path(self) -> str:
        return f"{self.layer.name}/{self.name}"

    @property
    def trainable(self) -> bool:
        """Trained by ``fit``: declared trainable and its layer not frozen."""
        return self._trainable and self.layer.trainable

    @property
    def value(self) -> jax.Array:
        if self._value is None:
            raise ValueError(f"{self.path} has no value yet: the model is built at its first fit, predict or build()")
        return self._value

    def numpy(self) -> np.ndarray:
        return np.array(self.value)

    def assign(self, value) -> None:
        value = np.asarray(value, np.float32)
        if value.shape != self.shape:
            raise ValueError(f"{self.path} has shape {self.shape}; the value given has shape {value.shape}")
        self._value = jnp.asarray(value)
        ASSIGNMENTS[0] += 1

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, trainable={self.trainable}>"


def draw_weights(layers: Sequence, key: np.ndarray) -> None:
    """Gives every weight of ``layers`` its initial value.

    One compiled program (cached by the weights' initializers and shapes, run
    on the host: :func:`approx.backend.on_init_device`) draws one uniform
    vector from ``key`` for all of them, and each built-in initializer
    transforms its slice (see :mod:`approx.keras.initializers`); a seeded
    initializer draws from its own seed, and a function ``fn(shape, dtype)``
    is called as it is.
    """
    specs = tuple(tuple((v.initializer, v.shape) for v in layer._variables) for layer in layers)
    if not any(specs):
        return
    values = _init_program(specs)(key)
    for layer, layer_values in zip(layers, values):
        for variable, value in zip(layer._variables, layer_values):
            if not isinstance(variable.initializer, _initializers.Initializer):
                value = jnp.asarray(np.asarray(variable.initializer(variable.shape, "float32"), np.float32))
                if value.shape != variable.shape:
                    raise ValueError(f"the initializer of {variable.path} returned shape {value.shape}, not {variable.shape}")
            variable._value = value


_INIT_CACHE: dict = {}


def clear_init_programs() -> None:
    """Drops the compiled draws of initial weights (``keras.backend.clear_session``)."""
    _INIT_CACHE.clear()


def _init_program(specs: tuple) -> Callable:
    """``run(key) -> values``: the compiled draw of ``specs``' weights, cached."""
    if specs in _INIT_CACHE:
        return _INIT_CACHE[specs]
    shared = [
        (i, j, math.prod(shape))
        for i, layer_specs in enumerate(specs)
        for j, (init, shape) in enumerate(layer_specs)
        if isinstance(init, _initializers.Initializer) and init.random and init.seed is None
    ]
    total = sum(size for _, _, size in shared)

    def draw(data):
        u = _initializers.uniform_draw(make_key(data), (total,), FLOATX) if total else None
        slices, offset = {}, 0
        for i, j, size in shared:
            slices[i, j] = u[offset : offset + size]
            offset += size
        out = []
        for i, layer_specs in enumerate(specs):
            values = []
            for j, (init, shape) in enumerate(layer_specs):
                if not isinstance(init, _initializers.Initializer):
                    values.append(jnp.zeros(shape, FLOATX))  # a function, called on the host after
                elif (i, j) in slices:
                    values.append(init.sample(slices[i, j].reshape(shape), shape, FLOATX))
                else:
                    values.append(init(None, shape, FLOATX))  # seeded, or not random
            out.append(tuple(values))
        return tuple(out)

    compiled = []

    def run(data):
        with on_init_device():
            if not compiled:
                compiled.append(jax.jit(draw).lower(data).compile(compiler_options=INIT_COMPILER_OPTIONS))
            values = compiled[0](data)
        return to_compute_device(values)

    _INIT_CACHE[specs] = run
    return run
