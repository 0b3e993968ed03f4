"""``keras.losses``: Keras 3's losses, as functions and classes, in ``jax.numpy``.

The functions (``mean_squared_error``, ``binary_crossentropy``, ...) return one
value per sample, shape ``y_pred.shape[:-1]``, as Keras's do; the classes
(``MeanSquaredError()``, ``BinaryCrossentropy(from_logits=True)``, ...) reduce
them, by default to the mean over the batch (``"sum_over_batch_size"``).
Definitions, clipping (``1e-7``) and defaults are Keras 3's; where Optax has
the loss (cross-entropies on logits, Huber) it is Optax's.

Before a function sees them, ``y_true`` and ``y_pred`` are brought to the same
rank as Keras does (a trailing axis of one added to ``(n,)`` targets against
``(n, 1)`` predictions), so the classic silent broadcast of ``(n,)`` against
``(n, 1)`` into ``(n, n)`` cannot happen.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from approx.keras._subset import missing_name, snake_case

__all__ = [
    "BinaryCrossentropy", "CategoricalCrossentropy", "Hinge", "Huber", "KLDivergence", "LogCosh", "Loss",
    "LossFunctionWrapper", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy", "SquaredHinge",
    "binary_crossentropy", "categorical_crossentropy", "get", "hinge", "huber", "kl_divergence", "log_cosh",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error",
    "poisson", "sparse_categorical_crossentropy", "squared_hinge",
]  # fmt: skip

EPSILON = 1e-7  # Keras's backend.epsilon(): the clip of probabilities, the floor of denominators
REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "none", None)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Keras's rule: when the ranks differ by one and the longer array ends in
    an axis of one, that axis is dropped (or, against a vector, the vector gets one)."""
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def _pair(y_true, y_pred):
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(jnp.float32)
    y_true = jnp.asarray(y_true, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {tuple(y_true.shape)} but y_pred has shape {tuple(y_pred.shape)}; they must match")
    return y_true, y_pred


# -- regression ---------------------------------------------------------------------------
def mean_squared_error(y_true, y_pred):
    """``mean((y_true - y_pred) ** 2, axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(optax.losses.squared_error(y_pred, y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(|y_true - y_pred|, axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return 100.0 * jnp.mean(jnp.abs(y_true - y_pred) / jnp.maximum(jnp.abs(y_true), EPSILON), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(1 + max(y_pred, eps)) - log(1 + max(y_true, eps))) ** 2, axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.square(jnp.log1p(jnp.maximum(y_pred, EPSILON)) - jnp.log1p(jnp.maximum(y_true, EPSILON))), axis=-1)


def poisson(y_true, y_pred):
    """Poisson negative log-likelihood up to a constant: ``mean(y_pred - y_true log(y_pred + eps), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + EPSILON), axis=-1)


def huber(y_true, y_pred, delta: float = 1.0):
    """Quadratic within ``delta`` of the target, linear beyond (Huber 1964); mean over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(optax.losses.huber_loss(y_pred, y_true, delta=delta), axis=-1)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed without overflow."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return jnp.mean(x + jax.nn.softplus(-2.0 * x) - jnp.log(2.0).astype(x.dtype), axis=-1)


def kl_divergence(y_true, y_pred):
    """``sum(y_true log(y_true / y_pred), axis=-1)``, both clipped to ``[eps, 1]``."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = jnp.clip(y_true, EPSILON, 1.0), jnp.clip(y_pred, EPSILON, 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def _hinge_labels(y_true):
    # Keras converts 0/1 labels to -1/1.
    return jnp.where(y_true == 0, -1.0, y_true).astype(y_true.dtype)


def hinge(y_true, y_pred):
    """``mean(max(1 - y_true y_pred, 0), axis=-1)`` with labels in {-1, 1} (0/1 converted)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """``mean(max(1 - y_true y_pred, 0) ** 2, axis=-1)`` with labels in {-1, 1} (0/1 converted)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


# -- classification -----------------------------------------------------------------------
def binary_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1):
    """``-mean(y log p + (1 - y) log(1 - p), axis=-1)``.

    Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` as Keras does; with
    ``from_logits=True`` the logits go through Optax's stable
    ``sigmoid_binary_cross_entropy``. ``label_smoothing`` moves the labels
    towards 1/2: ``y (1 - a) + a / 2``.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        return jnp.mean(optax.losses.sigmoid_binary_cross_entropy(y_pred, y_true), axis=axis)
    p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -jnp.mean(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log1p(-p), axis=axis)


def _check_classes(y_true, y_pred, loss: str):
    if y_pred.ndim < 2 or y_true.shape != y_pred.shape:
        raise ValueError(
            f"{loss} needs one-hot targets of the predictions' shape (n, classes); got y_true {tuple(y_true.shape)} "
            f"and y_pred {tuple(y_pred.shape)} (for integer labels use sparse_categorical_crossentropy, or "
            "keras.utils.to_categorical)"
        )


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1):
    """``-sum(y log p, axis=-1)`` for one-hot (or soft) targets.

    Probabilities are renormalised to sum to one and clipped to
    ``[1e-7, 1 - 1e-7]`` as Keras does; with ``from_logits=True`` the logits
    go through Optax's ``softmax_cross_entropy`` (a stable log-softmax).
    ``label_smoothing`` ``a`` gives targets ``y (1 - a) + a / classes``.
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true, y_pred.dtype if jnp.issubdtype(y_pred.dtype, jnp.floating) else jnp.float32)
    _check_classes(y_true, y_pred, "categorical_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]
    if from_logits:
        return optax.losses.softmax_cross_entropy(y_pred, y_true, axis=axis)
    p = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    return -jnp.sum(y_true * jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON)), axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False, ignore_class=None, axis: int = -1):
    """``-log p[label]`` for integer labels ``(n,)`` (or ``(n, 1)``) and scores ``(n, classes)``.

    Probabilities are renormalised and clipped as Keras does; with
    ``from_logits=True`` it is Optax's
    ``softmax_cross_entropy_with_integer_labels``.
    """
    if ignore_class is not None:
        raise ValueError("ignore_class is not supported by approx.keras; drop those samples from the data instead")
    y_pred = jnp.asarray(y_pred)
    labels = jnp.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = jnp.squeeze(labels, -1)
    if y_pred.ndim < 2 or labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"sparse_categorical_crossentropy needs integer labels (n,) and scores (n, classes); got y_true "
            f"{tuple(jnp.shape(y_true))} and y_pred {tuple(y_pred.shape)} (for one-hot targets use categorical_crossentropy)"
        )
    labels = labels.astype(jnp.int32)
    if from_logits:
        return optax.losses.softmax_cross_entropy_with_integer_labels(y_pred, labels, axis=axis)
    p = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    log_p = jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))
    return -jnp.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]


# -- classes ------------------------------------------------------------------------------
class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None) -> scalar``.

    Subclasses define :meth:`call`, the per-sample values. ``reduction``:
    ``"sum_over_batch_size"`` (default; the sum of the per-sample values,
    weighted, over their count), ``"mean"`` (the same), ``"sum"``, or
    ``"none"`` (no reduction).
    """

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {', '.join(map(str, REDUCTIONS))}, got {reduction!r}")
        self.name = name or snake_case(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        if sample_weight is not None:
            weights = jnp.broadcast_to(jnp.reshape(jnp.asarray(sample_weight, values.dtype), values.shape[:1] + (1,) * (values.ndim - 1)), values.shape)
            values = values * weights
        if self.reduction in (None, "none"):
            return values
        total = jnp.sum(values)
        return total if self.reduction == "sum" else total / values.size

    def _key(self):
        return (type(self), self.reduction, tuple(sorted(self.get_config().items())))

    def __eq__(self, other):
        return type(other) is type(self) and other._key() == self._key()

    def __hash__(self):
        return hash(self._key())

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class LossFunctionWrapper(Loss):
    """A loss from a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn: Callable, reduction="sum_over_batch_size", name: str | None = None, dtype=None, **kwargs):
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(jnp.asarray(y_true), jnp.asarray(y_pred))
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _key(self):
        return (type(self), self.fn, self.reduction, tuple(sorted(self._fn_kwargs.items())))

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction, **self._fn_kwargs}


def _loss_class(name: str, fn: Callable, doc: str, default_name: str | None = None, **defaults):
    """A Keras loss class over ``fn`` whose keyword options default to ``defaults``."""

    def __init__(self, *args, reduction="sum_over_batch_size", name=default_name or snake_case(name), dtype=None, **kwargs):
        options = dict(defaults)
        for key, value in zip(defaults, args):
            options[key] = value
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected argument(s) {', '.join(sorted(unknown))}; "
                f"it takes {', '.join(defaults) or 'no options'}"
            )
        options.update(kwargs)
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, **options)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction, **self._fn_kwargs}

    @property
    def from_logits(self) -> bool:
        return bool(self._fn_kwargs.get("from_logits", False))

    namespace = {"__init__": __init__, "__doc__": doc, "get_config": get_config}
    if "from_logits" in defaults:
        namespace["from_logits"] = from_logits
    return type(name, (LossFunctionWrapper,), namespace)


MeanSquaredError = _loss_class("MeanSquaredError", mean_squared_error, "Mean of squared errors.")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", mean_absolute_error, "Mean of absolute errors.")
MeanAbsolutePercentageError = _loss_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error, "Mean absolute percentage error (in %)."
)
MeanSquaredLogarithmicError = _loss_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error, "Mean squared logarithmic error."
)
Poisson = _loss_class("Poisson", poisson, "Poisson negative log-likelihood (rates y_pred > 0, counts y_true).")
Huber = _loss_class("Huber", huber, "Huber loss with threshold delta (default 1).", "huber_loss", delta=1.0)
LogCosh = _loss_class("LogCosh", log_cosh, "Logarithm of the hyperbolic cosine of the error.")
KLDivergence = _loss_class("KLDivergence", kl_divergence, "Kullback-Leibler divergence of y_pred from y_true.")
Hinge = _loss_class("Hinge", hinge, "Hinge loss for labels in {-1, 1} (0/1 converted).")
SquaredHinge = _loss_class("SquaredHinge", squared_hinge, "Squared hinge loss for labels in {-1, 1} (0/1 converted).")
BinaryCrossentropy = _loss_class(
    "BinaryCrossentropy", binary_crossentropy, "Binary cross-entropy on probabilities or (from_logits=True) logits.",
    from_logits=False, label_smoothing=0.0, axis=-1,
)  # fmt: skip
CategoricalCrossentropy = _loss_class(
    "CategoricalCrossentropy", categorical_crossentropy, "Cross-entropy with one-hot targets.",
    from_logits=False, label_smoothing=0.0, axis=-1,
)  # fmt: skip
SparseCategoricalCrossentropy = _loss_class(
    "SparseCategoricalCrossentropy", sparse_categorical_crossentropy, "Cross-entropy with integer labels.",
    from_logits=False, ignore_class=None, axis=-1,
)  # fmt: skip
# SparseCategoricalCrossentropy's labels keep their rank (Keras does not expand them).
SparseCategoricalCrossentropy.call = lambda self, y_true, y_pred: self.fn(y_true, y_pred, **self._fn_kwargs)

_CLASSES = (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Poisson, Huber,
    LogCosh, KLDivergence, Hinge, SquaredHinge, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)  # fmt: skip
_FUNCTIONS = {
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error, "MSE": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error, "mape": mean_absolute_percentage_error,
    "MAPE": mean_absolute_percentage_error, "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error, "poisson": poisson,
    "huber": huber, "log_cosh": log_cosh, "kl_divergence": kl_divergence, "kld": kl_divergence,
    "KLD": kl_divergence, "hinge": hinge, "squared_hinge": squared_hinge,
    "binary_crossentropy": binary_crossentropy, "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}  # fmt: skip
_CLASS_OF = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError, poisson: Poisson, huber: Huber,
    log_cosh: LogCosh, kl_divergence: KLDivergence, hinge: Hinge, squared_hinge: SquaredHinge,
    binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
}  # fmt: skip
# Resolved against the data's shapes at the first fit, as Keras does.
SHAPE_RESOLVED = ("crossentropy", "ce")


def names() -> list[str]:
    return sorted({*_FUNCTIONS, *(c.__name__ for c in _CLASSES), *SHAPE_RESOLVED})


def get(identifier) -> Loss:
    """A :class:`Loss` from a name (Keras's: ``'mse'``, ``'binary_crossentropy'``,
    ``'MeanSquaredError'``, ...), a Loss instance or class, or a callable.

    A built-in function becomes its class (so ``'mse'`` and
    ``MeanSquaredError()`` are the same loss); another callable
    ``fn(y_true, y_pred)`` is wrapped: its value per sample (or, if it
    returns a scalar, per batch) is what is minimised.
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return _CLASS_OF[_FUNCTIONS[identifier]](name=identifier)
        cls = next((c for c in _CLASSES if identifier in (c.__name__, snake_case(c.__name__))), None)
        if cls is None:
            raise ValueError(f"unknown loss {identifier!r}; valid losses: {', '.join(names())}, or a callable")
        return cls()
    if callable(identifier):
        if identifier in _CLASS_OF:
            return _CLASS_OF[identifier]()
        return LossFunctionWrapper(identifier)
    raise ValueError(f"loss must be a name, a keras.losses.Loss or a callable, got {identifier!r}")


def resolve_crossentropy(identifier: str, y_true_shape, y_pred_shape) -> Loss:
    """``'crossentropy'``/``'ce'`` against the data, as Keras: binary for one
    output, sparse for integer labels, categorical for one-hot targets."""
    is_binary = y_pred_shape[-1] == 1
    is_sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)
    cls = BinaryCrossentropy if is_binary else SparseCategoricalCrossentropy if is_sparse else CategoricalCrossentropy
    return cls(name=identifier)


def serialize(loss: Loss) -> dict:
    if type(loss) is LossFunctionWrapper:
        return {"class_name": "function", "config": getattr(loss.fn, "__name__", "custom")}
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Loss:
    name, options = config.get("class_name"), config.get("config")
    custom_objects = custom_objects or {}
    if name == "function":
        if options in custom_objects:
            return LossFunctionWrapper(custom_objects[options])
        raise ValueError(
            f"the model was compiled with a custom loss {options!r}: pass it to load_model(..., custom_objects="
            f"{{{options!r}: fn}}), or load with compile=False"
        )
    cls = custom_objects.get(name) or next((c for c in _CLASSES if c.__name__ == name), None)
    if cls is None:
        raise ValueError(f"unknown loss class {name!r} in the saved model")
    return cls(**options)


__getattr__ = missing_name("keras.losses", "losses", [c.__name__ for c in _CLASSES] + list(_FUNCTIONS))
