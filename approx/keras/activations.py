"""``keras.activations``: activation functions by Keras's names, in ``jax.numpy``.

Each function follows Keras 3's definition and defaults (``gelu`` exact, not
tanh-approximated; ``leaky_relu`` with slope 0.2; ``hard_sigmoid`` as
``relu6(x + 3) / 6``). ``sigmoid`` is evaluated as ``0.5 tanh(x / 2) + 0.5``,
the same function, which XLA on CPU runs faster than ``1 / (1 + exp(-x))``
and which never overflows (see :func:`approx.models.sigmoid`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from approx.keras._subset import missing_name
from approx.models import sigmoid as _fast_sigmoid

__all__ = [
    "elu", "exponential", "gelu", "get", "hard_sigmoid", "hard_silu", "hard_swish", "leaky_relu", "linear",
    "log_softmax", "mish", "relu", "relu6", "selu", "serialize", "deserialize", "sigmoid", "silu", "softmax",
    "softplus", "softsign", "swish", "tanh",
]  # fmt: skip


def linear(x):
    """The identity, ``f(x) = x``."""
    return x


def sigmoid(x):
    """``1 / (1 + exp(-x))``."""
    return _fast_sigmoid(x)


def tanh(x):
    return jnp.tanh(x)


def relu(x, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0):
    """``max(x, 0)``; Keras's options: a slope below ``threshold``, a cap at ``max_value``."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return jax.nn.relu(x)
    y = jnp.where(x >= threshold, x, negative_slope * (x - threshold))
    return y if max_value is None else jnp.minimum(y, max_value)


def leaky_relu(x, negative_slope: float = 0.2):
    return jax.nn.leaky_relu(x, negative_slope)


def relu6(x):
    return jax.nn.relu6(x)


def elu(x, alpha: float = 1.0):
    return jax.nn.elu(x, alpha)


def selu(x):
    return jax.nn.selu(x)


def softplus(x):
    return jax.nn.softplus(x)


def softsign(x):
    return jax.nn.soft_sign(x)


def silu(x):
    """``x * sigmoid(x)`` (also called swish)."""
    return jax.nn.silu(x)


swish = silu


def gelu(x, approximate: bool = False):
    """The Gaussian error linear unit, exact by default (Keras's default)."""
    return jax.nn.gelu(x, approximate=approximate)


def exponential(x):
    return jnp.exp(x)


def hard_sigmoid(x):
    """``relu6(x + 3) / 6``, Keras 3's piecewise-linear sigmoid."""
    return jax.nn.relu6(x + 3.0) / 6.0


def hard_silu(x):
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def mish(x):
    return x * jnp.tanh(jax.nn.softplus(x))


def softmax(x, axis: int = -1):
    """``exp(x) / sum(exp(x))`` over ``axis`` (the last by default)."""
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x, axis: int = -1):
    return jax.nn.log_softmax(x, axis=axis)


_BY_NAME: dict[str, Callable] = {
    "linear": linear, "sigmoid": sigmoid, "tanh": tanh, "relu": relu, "leaky_relu": leaky_relu, "relu6": relu6,
    "elu": elu, "selu": selu, "softplus": softplus, "softsign": softsign, "silu": silu, "swish": swish,
    "gelu": gelu, "exponential": exponential, "hard_sigmoid": hard_sigmoid, "hard_silu": hard_silu,
    "hard_swish": hard_swish, "mish": mish, "softmax": softmax, "log_softmax": log_softmax,
}  # fmt: skip
_NAMES = {fn: name for name, fn in _BY_NAME.items()}
_NAMES[silu] = "silu"
_NAMES[hard_silu] = "hard_silu"


def get(identifier: str | Callable | None) -> Callable:
    """An activation by Keras name (``None`` is linear) or a callable passed through.

    Raises ``ValueError`` for an unknown name, listing the valid ones.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier.lower())
        if fn is None:
            raise ValueError(f"unknown activation {identifier!r}; valid activations: {', '.join(sorted(_BY_NAME))}")
        return fn
    if callable(identifier):
        return identifier
    raise ValueError(f"activation must be a name ({', '.join(sorted(_BY_NAME))}) or a callable, got {identifier!r}")


def serialize(activation: Callable) -> str:
    """The Keras name of a built-in activation; a custom function's ``__name__``."""
    return _NAMES.get(activation, getattr(activation, "__name__", "custom"))


def deserialize(name: str, custom_objects: dict | None = None) -> Callable:
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return get(name)


def is_builtin(activation: Callable) -> bool:
    return activation in _NAMES


__getattr__ = missing_name("keras.activations", "activations", _BY_NAME)
