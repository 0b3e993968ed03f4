"""``keras.ops``: Keras's array functions for custom losses and metrics, as ``jax.numpy``.

Keras 3's ``ops`` follow NumPy's names, so this module hands out
``jax.numpy``'s functions (``ops.mean``, ``ops.square``, ``ops.log``,
``ops.clip``, ...) plus the few Keras-only names (``convert_to_tensor``,
``cast``, the activations). A custom loss written with ``keras.ops`` runs
unchanged inside approx's compiled training step.
"""

import jax
import jax.numpy as jnp
import numpy as np

from approx.keras import activations as _activations


def convert_to_tensor(x, dtype=None, sparse=None):
    return jnp.asarray(x, dtype)


def cast(x, dtype):
    return jnp.asarray(x).astype(dtype)


def convert_to_numpy(x):

    return np.asarray(x)


def sigmoid(x):
    return _activations.sigmoid(x)


def relu(x):
    return jax.nn.relu(x)


def softmax(x, axis=-1):
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return jax.nn.log_softmax(x, axis=axis)


def softplus(x):
    return jax.nn.softplus(x)


def one_hot(x, num_classes, axis=-1, dtype=None):
    return jax.nn.one_hot(x, num_classes, axis=axis, dtype=dtype or jnp.float32)


def __getattr__(name: str):
    if not name.startswith("_") and hasattr(jnp, name):
        return getattr(jnp, name)
    raise AttributeError(f"keras.ops.{name} is not available in approx.keras (keras.ops maps to jax.numpy)")
