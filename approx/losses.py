"""Training losses: pure JAX functions ``(y_true, y_pred) -> scalar``.

Every loss is the mean over samples of a per-sample loss and follows the
Keras definition of the same name (``keras.losses``), so that the course's
Keras-style front end reproduces familiar numbers. Where Optax provides the
loss (squared error, the cross-entropies on logits) we call Optax; only what
it lacks (MAE, MAPE, Poisson, the clipped probability paths) is written here.

Shapes are checked with static Python code, so every loss is ``jax.jit``
compatible. There is no silent broadcasting: ``y_true`` of shape ``(n,)``
against ``y_pred`` of shape ``(n, 1)`` would broadcast to ``(n, n)`` and give
a wrong but plausible number, so shapes must agree, with one explicit
Keras-compatible exception for the regression losses (see ``mse``).
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

__all__ = [
    "EPSILON",
    "binary_crossentropy",
    "categorical_crossentropy",
    "get",
    "mae",
    "mape",
    "mse",
    "names",
    "poisson",
    "sparse_categorical_crossentropy",
]

# Keras' ``backend.epsilon()``: the clip used for probabilities and the floor
# of MAPE's denominator, so that our numbers match Keras'.
EPSILON = 1e-7

LossFn = Callable[[jax.Array, jax.Array], jax.Array]


def _as_float(y_true, y_pred) -> tuple[jax.Array, jax.Array]:
    """Converts both arrays to ``y_pred``'s float dtype (default float if int)."""
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(jnp.result_type(float))
    return jnp.asarray(y_true, dtype=y_pred.dtype), y_pred


def _shape_error(loss: str, y_true, y_pred, expected: str) -> ValueError:
    return ValueError(
        f"{loss}: y_true has shape {tuple(y_true.shape)} and y_pred has shape "
        f"{tuple(y_pred.shape)}; expected {expected}"
    )


def _match_regression(loss: str, y_true, y_pred) -> tuple[jax.Array, jax.Array]:
    """Checks shapes of a regression pair, returning float arrays of equal shape.

    Equal shapes pass. The one accepted difference is Keras' common case of
    ``y_true`` with shape ``(n,)`` and ``y_pred`` with shape ``(n, 1)`` (a
    network with one output unit): ``y_true`` is explicitly reshaped to
    ``(n, 1)``. Anything else raises ``ValueError`` naming both shapes.
    """
    y_true, y_pred = _as_float(y_true, y_pred)
    if y_true.shape == y_pred.shape:
        return y_true, y_pred
    if y_true.ndim == 1 and y_pred.shape == (y_true.shape[0], 1):
        return y_true.reshape(y_pred.shape), y_pred
    raise _shape_error(loss, y_true, y_pred, "equal shapes (or (n,) against (n, 1))")


def _is_vector_or_column(a: jax.Array) -> bool:
    """Whether ``a`` has shape ``(n,)`` or ``(n, 1)``."""
    return a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1)


def _match_binary(y_true, y_pred) -> tuple[jax.Array, jax.Array]:
    """Checks shapes for binary cross-entropy, returning arrays of equal shape.

    Equal shapes pass (this includes multi-label ``(n, k)`` targets). A column
    ``(n, 1)`` and a vector ``(n,)`` of the same length are also accepted, in
    either role: ``y_true`` is explicitly reshaped to ``y_pred``'s shape.
    """
    y_true, y_pred = _as_float(y_true, y_pred)
    if y_true.shape == y_pred.shape:
        return y_true, y_pred
    same_length = y_true.shape[:1] == y_pred.shape[:1]
    if same_length and _is_vector_or_column(y_true) and _is_vector_or_column(y_pred):
        return y_true.reshape(y_pred.shape), y_pred
    raise _shape_error(
        "binary_crossentropy", y_true, y_pred, "equal shapes, or (n,) and (n, 1)"
    )


def mse(y_true, y_pred) -> jax.Array:
    """Mean squared error, ``mean((y_true - y_pred) ** 2)``.

    Args:
      y_true: targets, shape ``(n, ...)``.
      y_pred: predictions, the same shape as ``y_true``; as the only exception
        (the Keras case of a one-unit output layer), ``y_true`` of shape
        ``(n,)`` with ``y_pred`` of shape ``(n, 1)`` is reshaped to ``(n, 1)``.

    Returns:
      A scalar: the mean over all entries (over samples and outputs, which
      equals Keras' mean over samples of the per-sample mean over outputs).

    Raises:
      ValueError: if the shapes differ otherwise.
    """
    y_true, y_pred = _match_regression("mse", y_true, y_pred)
    return jnp.mean(optax.losses.squared_error(y_pred, y_true))


def mae(y_true, y_pred) -> jax.Array:
    """Mean absolute error, ``mean(|y_true - y_pred|)``.

    Shapes as in ``mse``: equal, or ``y_true`` ``(n,)`` with ``y_pred``
    ``(n, 1)``. Returns a scalar.
    """
    y_true, y_pred = _match_regression("mae", y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred))


def mape(y_true, y_pred) -> jax.Array:
    """Mean absolute percentage error, as Keras.

    ``100 * mean(|y_true - y_pred| / max(|y_true|, EPSILON))``: a percentage;
    the floor ``EPSILON = 1e-7`` keeps zero targets finite (and huge).

    Shapes as in ``mse``: equal, or ``y_true`` ``(n,)`` with ``y_pred``
    ``(n, 1)``. Returns a scalar.
    """
    y_true, y_pred = _match_regression("mape", y_true, y_pred)
    relative = jnp.abs(y_true - y_pred) / jnp.maximum(jnp.abs(y_true), EPSILON)
    return 100.0 * jnp.mean(relative)


def poisson(y_true, y_pred) -> jax.Array:
    """Poisson negative log-likelihood (up to a constant), as Keras.

    ``mean(y_pred - y_true * log(y_pred + EPSILON))`` for rates ``y_pred > 0``
    and counts ``y_true``; drops the ``log(y_true!)`` term, which does not
    depend on the prediction.

    Shapes as in ``mse``: equal, or ``y_true`` ``(n,)`` with ``y_pred``
    ``(n, 1)``. Returns a scalar.
    """
    y_true, y_pred = _match_regression("poisson", y_true, y_pred)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + EPSILON))


def binary_crossentropy(y_true, y_pred, from_logits: bool = False) -> jax.Array:
    """Binary cross-entropy, ``-mean(y log p + (1 - y) log(1 - p))``.

    With ``from_logits=True``, ``y_pred`` holds logits ``z`` and
    ``p = sigmoid(z)`` is evaluated stably through Optax's
    ``sigmoid_binary_cross_entropy`` (``log p = log_sigmoid(z)``). Otherwise
    ``y_pred`` holds probabilities, clipped to ``[EPSILON, 1 - EPSILON]`` as
    Keras does, so that ``p = 0`` or ``1`` exactly gives a finite loss.

    Args:
      y_true: targets in ``[0, 1]``, shape ``(n,)`` or ``(n, 1)`` (or ``(n, k)``
        for ``k`` independent labels).
      y_pred: probabilities or logits, shape ``(n,)`` or ``(n, 1)`` (or the
        shape of ``y_true``); ``(n,)`` against ``(n, 1)`` is accepted either
        way round and ``y_true`` is reshaped explicitly.
      from_logits: whether ``y_pred`` holds logits.

    Returns:
      A scalar, the mean over samples (and labels).
    """
    y_true, y_pred = _match_binary(y_true, y_pred)
    if from_logits:
        return jnp.mean(optax.losses.sigmoid_binary_cross_entropy(y_pred, y_true))
    p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -jnp.mean(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log1p(-p))


def _clipped_log_probs(y_pred: jax.Array) -> jax.Array:
    """Keras' probability path: renormalise over the last axis, clip, log."""
    p = y_pred / jnp.sum(y_pred, axis=-1, keepdims=True)
    return jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False) -> jax.Array:
    """Categorical cross-entropy with one-hot targets, ``-mean_i sum_c y_ic log p_ic``.

    With ``from_logits=True`` the logits go through Optax's
    ``softmax_cross_entropy`` (a stable log-softmax). Otherwise ``y_pred``
    holds probabilities which, as in Keras, are renormalised to sum to one
    over the last axis and clipped to ``[EPSILON, 1 - EPSILON]``.

    Args:
      y_true: one-hot (or soft) targets, shape ``(n, k)``.
      y_pred: probabilities or logits, shape ``(n, k)``.
      from_logits: whether ``y_pred`` holds logits.

    Returns:
      A scalar, the mean over samples of the per-sample cross-entropy.
    """
    y_true, y_pred = _as_float(y_true, y_pred)
    if y_true.shape != y_pred.shape or y_pred.ndim < 2:
        raise _shape_error(
            "categorical_crossentropy", y_true, y_pred, "equal shapes (n, k)"
        )
    if from_logits:
        return jnp.mean(optax.losses.softmax_cross_entropy(y_pred, y_true))
    return -jnp.mean(jnp.sum(y_true * _clipped_log_probs(y_pred), axis=-1))


def sparse_categorical_crossentropy(
    y_true, y_pred, from_logits: bool = False
) -> jax.Array:
    """Categorical cross-entropy with integer targets, ``-mean_i log p_{i, y_i}``.

    The same loss as ``categorical_crossentropy`` on ``one_hot(y_true)``. With
    ``from_logits=True`` it is Optax's
    ``softmax_cross_entropy_with_integer_labels``; otherwise probabilities
    are renormalised and clipped as in Keras.

    Args:
      y_true: class indices in ``[0, k)``, shape ``(n,)`` or ``(n, 1)`` (the
        trailing unit axis is dropped, as Keras does); cast to ``int32``.
      y_pred: probabilities or logits, shape ``(n, k)``.
      from_logits: whether ``y_pred`` holds logits.

    Returns:
      A scalar, the mean over samples.
    """
    y_pred = jnp.asarray(y_pred)
    labels = jnp.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1:] == (1,):
        labels = labels.reshape(labels.shape[:-1])
    if y_pred.ndim < 2 or labels.shape != y_pred.shape[:-1]:
        raise _shape_error(
            "sparse_categorical_crossentropy",
            jnp.asarray(y_true),
            y_pred,
            "y_true (n,) or (n, 1) with y_pred (n, k)",
        )
    labels = labels.astype(jnp.int32)
    _, y_pred = _as_float(labels, y_pred)
    if from_logits:
        return jnp.mean(
            optax.losses.softmax_cross_entropy_with_integer_labels(y_pred, labels)
        )
    log_p = _clipped_log_probs(y_pred)
    picked = jnp.take_along_axis(log_p, labels[..., None], axis=-1)
    return -jnp.mean(picked)


_REGISTRY: dict[str, LossFn] = {
    "mse": mse,
    "mean_squared_error": mse,
    "mae": mae,
    "mean_absolute_error": mae,
    "mape": mape,
    "mean_absolute_percentage_error": mape,
    "binary_crossentropy": binary_crossentropy,
    "bce": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "cce": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "poisson": poisson,
}


def names() -> list[str]:
    """Every name ``get`` accepts (short and Keras long names), sorted."""
    return sorted(_REGISTRY)


def get(loss: str | LossFn) -> LossFn:
    """Resolves a loss by name (case-insensitive); a callable passes through.

    Args:
      loss: a name from ``names()`` such as ``'mse'`` or
        ``'mean_squared_error'``, or any callable ``(y_true, y_pred) -> scalar``.

    Returns:
      The loss function.

    Raises:
      ValueError: for an unknown name; the message lists the valid names.
      TypeError: if ``loss`` is neither a string nor callable.
    """
    if callable(loss):
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name or a callable, got {loss!r}")
    try:
        return _REGISTRY[loss.lower()]
    except KeyError:
        raise ValueError(
            f"unknown loss {loss!r}; valid names: {', '.join(names())}"
        ) from None
