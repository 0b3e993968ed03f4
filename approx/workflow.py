"""The course's four steps, Keras-style, on the compiled training loop.

A notebook written for Keras ports by changing its import line::

    from approx import Sequential, Dense

    model = Sequential()
    model.add(Dense(5, activation='sigmoid'))
    model.add(Dense(1, activation='linear'))
    model.compile(loss='mse', optimizer='adam')
    history = model.fit(X, y, batch_size=32, epochs=100)

Underneath, the layers become one Flax NNX module, split once into its static
``graphdef`` and its parameters, and every epoch of ``fit`` is one compiled
call of :func:`approx.train.make_epoch_fn` (a ``lax.scan`` over shuffled
minibatches, the data kept on the device), fused with the end-of-epoch
predictions that the metrics and the validation loss need. A ``fit`` traces
and compiles once; its epochs only run.

Keras semantics followed (Keras 3, ``keras.Model.fit``):

* ``batch_size=None`` means 32; the last batch of an epoch is smaller (it is
  padded with zero-weight samples, so its loss and gradient are those of its
  real samples: the loss must be a mean over samples of per-sample losses,
  as Keras's losses are).
* ``history['loss']`` is the mean of the epoch's batch losses weighted by batch
  size (what Keras's progress bar shows at the end of an epoch).
* ``validation_split`` holds out the *last* fraction of the samples, before
  any shuffling; ``validation_data`` takes precedence over it.
* Initialisation is Keras's default: Glorot-uniform kernels, zero biases.
* Optimizer names take Keras's default learning rates.

Where we differ, on purpose:

* Metrics on the training data are computed once per epoch over the *whole*
  training set's predictions at the end of the epoch, not averaged over
  batches while the parameters move (a batch average is wrong for F1 and
  AUC, which are not means over samples).
* A sigmoid output with ``binary_crossentropy`` and a softmax output with
  ``categorical_crossentropy`` or ``sparse_categorical_crossentropy`` are
  trained on the last layer's pre-activation (logits): the loss is the same
  function, evaluated stably (``log_sigmoid``, ``log_softmax``) instead of
  through clipped probabilities. The values agree with Keras's except where
  Keras clips probabilities at ``1e-7``.
* Integer labels with ``categorical_crossentropy`` raise ``ValueError``
  (Keras fails on the shape too) naming the two fixes: one-hot targets
  (:func:`to_categorical`) or ``sparse_categorical_crossentropy``.
* One-dimensional ``X`` of shape ``(n,)`` is read as one feature ``(n, 1)``,
  as ``tf.keras`` did.
* Randomness is explicit: ``Sequential(seed=0)`` seeds the initialisation and
  ``fit(seed=...)`` the shuffling, so a notebook run twice gives the same
  numbers.
* ``evaluate`` and ``predict`` are silent by default (``verbose=0``).
"""

from __future__ import annotations

import functools
import itertools
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from approx import losses as _losses
from approx import metrics as _metrics
from approx import train as _train
from approx.backend import compiler_options, on_init_device, to_compute_device
from approx.models import ACTIVATIONS, INIT_COMPILER_OPTIONS, Affine, activation_name, get_activation

__all__ = ["KERAS_LEARNING_RATES", "OPTIMIZER_NAMES", "Dense", "History", "Input", "Sequential", "to_categorical"]

# Keras's default learning rates for its optimizers by name (keras.optimizers.*).
KERAS_LEARNING_RATES = {
    "adam": 1e-3,
    "adamw": 1e-3,
    "sgd": 1e-2,
    "momentum": 1e-2,
    "nesterov": 1e-2,
    "rmsprop": 1e-3,
    "adagrad": 1e-3,
}
OPTIMIZER_NAMES = tuple(KERAS_LEARNING_RATES)
# keras.optimizers.AdamW's default decoupled weight decay.
_KERAS_ADAMW_DECAY = 0.004
DEFAULT_BATCH_SIZE = 32
VERBOSE_CHOICES = (0, 1, 2, "auto")


# -- layers ------------------------------------------------------------------------------
class Input:
    """The input's shape, Keras 3 style: ``Sequential([Input(shape=(2,)), Dense(...)])``.

    Optional: without it the input size is read from ``X`` at the first ``fit``.
    """

    def __init__(self, shape: Sequence[int] | int):
        self.shape = _feature_shape(shape, "Input shape")

    def __repr__(self) -> str:
        return f"Input(shape={self.shape})"


def _feature_shape(shape, what: str) -> tuple[int]:
    shape = (shape,) if isinstance(shape, int) and not isinstance(shape, bool) else tuple(shape)
    if len(shape) != 1 or isinstance(shape[0], bool) or not isinstance(shape[0], int) or shape[0] < 1:
        raise ValueError(
            f"{what} must be (features,) with features >= 1 (Dense layers take flat vectors), got {shape!r}"
        )
    return shape


class Dense:
    """A fully connected layer, ``activation(x @ kernel + bias)``.

    Args:
      units: output size, an integer >= 1.
      activation: ``None`` (linear), a name (``'sigmoid'``, ``'tanh'``,
        ``'relu'``, ``'softmax'``, ``'linear'``, ... see
        ``approx.models.ACTIVATIONS``) or a callable on arrays.
      name: the layer's name in ``summary()`` (default ``dense``, ``dense_1``, ...).
      input_dim, input_shape: the input size, as old Keras accepted on the
        first layer; otherwise inferred at the first ``fit``.

    The kernel is ``(fan_in, units)`` Glorot-uniform, the bias zeros (Keras's
    defaults). After the model is built, ``get_weights()`` returns
    ``[kernel, bias]`` as NumPy arrays.
    """

    def __init__(
        self,
        units: int,
        activation: str | Callable | None = None,
        *,
        name: str | None = None,
        input_dim: int | None = None,
        input_shape: Sequence[int] | None = None,
    ):
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense units must be an integer >= 1, got {units!r}")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"layer name must be a string, got {name!r}")
        self.units = int(units)
        self.activation = get_activation(activation)  # raises listing the valid names
        self.activation_name = activation_name(activation)
        self.name = name
        self.input_shape = None
        if input_dim is not None:
            self.input_shape = _feature_shape(input_dim, "input_dim")
        if input_shape is not None:
            self.input_shape = _feature_shape(input_shape, "input_shape")
        self._model: Sequential | None = None
        self._index = -1

    def get_weights(self) -> list[np.ndarray]:
        """``[kernel (fan_in, units), bias (units,)]`` once the model is built."""
        if self._model is None or not self._model.built:
            raise ValueError(
                "this layer has no weights yet: its model is built at the first fit (or model.build(input_dim))"
            )
        return self._model.get_weights()[2 * self._index : 2 * self._index + 2]

    def __repr__(self) -> str:
        return f"Dense({self.units}, activation={self.activation_name!r})"


class _Network(nnx.Module):
    """The Dense stack as one NNX module; ``__call__`` returns the *logits*.

    ``__call__(x, masks=None)`` maps ``(batch, in)`` to the last layer's
    pre-activation ``(batch, units)`` (the signature :mod:`approx.train`
    calls); the output activation is applied by the caller, so that the
    training objective can use logits (see the module docstring).
    """

    def __init__(self, sizes: Sequence[int], hidden_activations: Sequence[Callable], *, key: jax.Array):
        # Keras's defaults: Glorot-uniform kernels, U(-l, l) with l = sqrt(6 / (fan_in + fan_out))
        # (Glorot and Bengio, 2010), zero biases. Affine is approx.models' layer, which
        # computes small fan-ins as fused broadcast products (faster than a dot on CPU).
        glorot = nnx.initializers.glorot_uniform()
        self.layers = nnx.List(
            [
                Affine(glorot(jax.random.fold_in(key, i), (a, b), jnp.float32), jnp.zeros((b,), jnp.float32))
                for i, (a, b) in enumerate(itertools.pairwise(sizes))
            ]
        )
        self.hidden_activations = tuple(hidden_activations)

    def __call__(self, x: jax.Array, masks=None) -> jax.Array:
        del masks  # no padded units here
        for layer, act in zip(self.layers[:-1], self.hidden_activations):
            x = act(layer(x))
        return self.layers[-1](x)


# -- history -----------------------------------------------------------------------------
class History:
    """What ``fit`` returns, as ``keras.callbacks.History``.

    Attributes:
      history: ``{'loss': [...], '<metric>': [...], 'val_loss': [...], ...}``,
        one float per epoch.
      epoch: the epoch indices, ``[0, 1, ..., epochs - 1]``.
      params: ``{'epochs', 'steps', 'batch_size', 'samples', 'verbose'}``.
      seconds: host time per epoch (the first includes the compilation).
        With ``verbose=0`` and no metrics nothing waits for an epoch to
        finish (JAX dispatches asynchronously), so these are dispatch times
        and the work is waited for at the end of ``fit``.
    """

    def __init__(self, keys: Sequence[str], params: Mapping[str, Any]):
        self.history: dict[str, list[float]] = {k: [] for k in keys}
        self.epoch: list[int] = []
        self.params = dict(params)
        self.seconds: list[float] = []

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def to_categorical(y, num_classes: int | None = None) -> np.ndarray:
    """One-hot rows ``(n, k)`` (float32) from integer labels ``(n,)`` or ``(n, 1)``,
    as ``keras.utils.to_categorical``."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or (y.size and (not np.all(np.isfinite(y)) or np.any(y != np.round(y)) or y.min() < 0)):
        raise ValueError(f"to_categorical needs non-negative integer labels of shape (n,), got shape {y.shape}")
    labels = y.astype(np.int64)
    k = int(labels.max(initial=-1)) + 1 if num_classes is None else int(num_classes)
    if labels.size and labels.max() >= k:
        raise ValueError(f"labels go up to {labels.max()} but num_classes={k}")
    return np.eye(k, dtype=np.float32)[labels]


# -- compiled pieces (cached: equal arguments share one compiled program) ----------------
def _named_optimizer(name: str, learning_rate: float | None) -> optax.GradientTransformation:
    lr = KERAS_LEARNING_RATES[name] if learning_rate is None else float(learning_rate)
    return _cached_optimizer(name, lr)


@functools.lru_cache(maxsize=64)
def _cached_optimizer(name: str, lr: float) -> optax.GradientTransformation:
    # One object per (name, lr): the compiled epoch is cached on the optimizer
    # object, so two models compiled alike share one program.
    decay = _KERAS_ADAMW_DECAY if name == "adamw" else 0.0
    return _train.make_optimizer(name, lr, weight_decay=decay)


_SIGMOIDS = (ACTIVATIONS["sigmoid"], jax.nn.sigmoid)
_SOFTMAXES = (ACTIVATIONS["softmax"], jax.nn.softmax)
_FROM_LOGITS = {
    _losses.binary_crossentropy: _SIGMOIDS,
    _losses.categorical_crossentropy: _SOFTMAXES,
    _losses.sparse_categorical_crossentropy: _SOFTMAXES,
}


@functools.lru_cache(maxsize=64)
def _make_objective(loss_fn: Callable, output_activation: Callable) -> tuple[Callable, bool]:
    """``objective(y_true, logits)`` and whether it works on logits directly.

    A cross-entropy after the activation it inverts (sigmoid with binary,
    softmax with categorical) is evaluated from the logits: ``log p`` becomes
    ``log_sigmoid(z)`` or ``log_softmax(z)``, the same function without the
    overflow of ``exp`` or the ``1e-7`` clip of probabilities.
    """
    if any(output_activation is act for act in _FROM_LOGITS.get(loss_fn, ())):
        return functools.partial(loss_fn, from_logits=True), True

    def objective(y_true, logits):
        return loss_fn(y_true, output_activation(logits))

    return objective, False


def _batch_weights(n: int, batch_size: int) -> np.ndarray:
    """Sizes of the batches of one epoch, as :func:`approx.train.make_epoch_fn` cuts them."""
    n_batches, size = _train.epoch_batches(n, batch_size)
    return np.array([size] * (n_batches - 1) + [n - size * (n_batches - 1)], np.float32)


@functools.lru_cache(maxsize=64)
def _make_init(sizes: tuple[int, ...], hidden_activations: tuple[Callable, ...]):
    """``(graphdef, init)``: the network's structure and ``init(seed) -> params``.

    The parameters are drawn by one compiled program (not one per
    initialiser operation), compiled without LLVM's optimisations and run on
    :func:`approx.backend.init_device`; they come back on the default device."""

    def draw(key):
        return nnx.split(_Network(sizes, hidden_activations, key=key))[1]

    abstract = nnx.eval_shape(lambda: _Network(sizes, hidden_activations, key=jax.random.key(0)))
    jitted = jax.jit(draw, compiler_options=INIT_COMPILER_OPTIONS)

    def init(seed: int):
        with on_init_device():
            params = jitted(jax.random.key(seed))
        return to_compute_device(params)

    return nnx.split(abstract)[0], init


@functools.lru_cache(maxsize=64)
def _make_init_state(optimizer) -> Callable:
    """A jitted ``params -> TrainState`` with the ensemble axis of one that ``make_epoch_fn`` expects."""

    def init(params):
        stacked = jax.tree.map(lambda a: a[None], params)
        return jax.vmap(lambda p: _train.init_train_state(p, optimizer))(stacked)

    return jax.jit(init)


@functools.lru_cache(maxsize=64)
def _make_fit_epoch(
    graphdef, optimizer, objective, output_activation, batch_size, n_train, shuffle, with_outputs, with_validation
):
    """A jitted ``run(states, x, y, key, epoch, x_val, y_val) -> (states, out)``.

    One epoch of :func:`approx.train.make_epoch_fn` on an ensemble of one,
    followed in the same program by the end-of-epoch outputs on the whole
    training set (for the metrics) and the validation loss and outputs.
    ``out['loss']`` is the batch losses' mean weighted by batch size.
    """
    epoch_fn = _train.make_epoch_fn(graphdef, optimizer, objective, batch_size, n_train, shuffle)
    apply = _train.make_apply(graphdef)
    weights = _batch_weights(n_train, batch_size)

    def run(states, x, y, key, epoch, x_val, y_val):
        states, batch_losses = epoch_fn(states, x, y, jax.random.fold_in(key, epoch)[None])
        out = {"loss": jnp.dot(batch_losses[0], weights) / n_train, "diverged": states.diverged[0]}
        params = jax.tree.map(lambda a: a[0], states.params)
        if with_outputs:
            out["outputs"] = output_activation(apply(params, x))
        if with_validation:
            logits = apply(params, x_val)
            out["val_loss"] = objective(y_val, logits)
            if with_outputs:
                out["val_outputs"] = output_activation(logits)
        return states, out

    return jax.jit(run, compiler_options=compiler_options())


@functools.lru_cache(maxsize=64)
def _make_forward(graphdef, output_activation) -> Callable:
    apply = _train.make_apply(graphdef)
    return jax.jit(lambda params, x: output_activation(apply(params, x)), compiler_options=compiler_options())


@functools.lru_cache(maxsize=64)
def _make_evaluate(graphdef, objective, output_activation) -> Callable:
    apply = _train.make_apply(graphdef)

    def evaluate(params, x, y):
        logits = apply(params, x)
        return objective(y, logits), output_activation(logits)

    return jax.jit(evaluate, compiler_options=compiler_options())


# -- input checks ------------------------------------------------------------------------
def _as_float_array(a, what: str) -> np.ndarray:
    if isinstance(a, (jax.Array, np.ndarray)) or hasattr(a, "__array__") or isinstance(a, (list, tuple)):
        try:
            arr = np.asarray(a)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{what} must be a numeric array, got {type(a).__name__} ({e})") from None
    else:
        raise ValueError(f"{what} must be an array (NumPy, JAX, list), got {type(a).__name__}")
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{what} must hold real numbers, got dtype {arr.dtype}")
    out = arr.astype(np.float32)
    if out.size and not np.all(np.isfinite(out)):
        bad = int(np.sum(~np.isfinite(out)))
        raise ValueError(
            f"{what} contains {bad} NaN or infinite value(s) (or values too large for float32); clean the data first"
        )
    return out


def _check_inputs(x, what: str = "X") -> np.ndarray:
    x = _as_float_array(x, what)
    if x.ndim == 1:
        x = x[:, None]  # one feature, as tf.keras read 1-D inputs
    if x.ndim != 2:
        hint = f"; flatten it first: {what}.reshape(len({what}), -1)" if x.ndim > 2 else ""
        raise ValueError(f"{what} must have shape (n_samples, n_features) (or (n_samples,)), got {x.shape}{hint}")
    if x.shape[0] == 0:
        raise ValueError(f"{what} holds no samples")
    return x


class Sequential:
    """A stack of :class:`Dense` layers with Keras's ``compile``/``fit``/``evaluate``/``predict``.

    Args:
      layers: optional list of :class:`Dense` (an :class:`Input` first may
        fix the input size).
      seed: seeds the initialisation (Glorot-uniform kernels from
        ``fold_in(key(seed), layer)``) and, when ``fit`` is given no seed,
        the shuffling. Default 0: the same notebook gives the same numbers.
      name: shown by ``summary()``.

    The input size is inferred at the first ``fit`` (or ``predict``) from
    ``X.shape[1]``, or taken from ``Input(shape=(d,))``, ``Dense(...,
    input_dim=d)`` or ``build(d)``. The network is then fixed; later data must
    have the same number of features.
    """

    def __init__(self, layers: Iterable[Dense | Input] | None = None, *, seed: int = 0, name: str = "sequential"):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        self.seed = int(seed)
        self.name = name
        self._layers: list[Dense] = []
        self._input_shape: tuple[int] | None = None
        self._graphdef = None
        self._params = None
        self._train_state = None
        self._compiled: dict[str, Any] | None = None
        self._fits = 0
        self.history: History | None = None
        for layer in layers or ():
            self.add(layer)

    # -- structure -----------------------------------------------------------------------
    def add(self, layer: Dense | Input) -> None:
        """Appends a layer (or sets the input shape with an :class:`Input`)."""
        if self.built:
            raise ValueError("cannot add layers to a model that is already built; create a new Sequential")
        if isinstance(layer, Input):
            if self._layers:
                raise ValueError("Input must come before the first Dense layer")
            self._input_shape = layer.shape
            return
        if not isinstance(layer, Dense):
            raise ValueError(f"Sequential takes Dense layers (and an optional Input first), got {layer!r}")
        if layer._model is not None:
            raise ValueError(f"layer {layer!r} already belongs to a model; create a new Dense")
        if layer.input_shape is not None:
            if self._layers:
                raise ValueError("input_dim/input_shape is only meaningful on the first layer")
            self._input_shape = layer.input_shape
        layer._model, layer._index = self, len(self._layers)
        if layer.name is None:
            taken = {l.name for l in self._layers}
            layer.name = next(n for n in ("dense", *(f"dense_{i}" for i in range(1, 10_000))) if n not in taken)
        self._layers.append(layer)

    @property
    def layers(self) -> list[Dense]:
        return list(self._layers)

    @property
    def built(self) -> bool:
        return self._graphdef is not None

    @property
    def input_dim(self) -> int | None:
        return None if self._input_shape is None else self._input_shape[0]

    def build(self, input_dim: int | Sequence[int]) -> None:
        """Creates the parameters for inputs of ``input_dim`` features (done by the first fit)."""
        if isinstance(input_dim, (tuple, list)) and len(input_dim) == 2 and input_dim[0] is None:
            input_dim = input_dim[1:]  # Keras's (None, d)
        shape = _feature_shape(input_dim, "input shape")
        if self.built:
            if shape != self._input_shape:
                raise ValueError(f"the model is built for {self.input_dim} input features, not {shape[0]}")
            return
        if not self._layers:
            raise ValueError("the model has no layers; add Dense layers first")
        if self._input_shape is not None and shape != self._input_shape:
            raise ValueError(
                f"the model was declared with {self.input_dim} input features, but the data have {shape[0]}"
            )
        self._input_shape = shape
        sizes = (shape[0], *(l.units for l in self._layers))
        self._graphdef, init = _make_init(sizes, tuple(l.activation for l in self._layers[:-1]))
        self._params = init(self.seed)
        self._train_state = None

    def _ensure_built(self, x: np.ndarray) -> None:
        if not self.built:
            self.build(x.shape[1])
        elif x.shape[1] != self.input_dim:
            raise ValueError(f"the model takes {self.input_dim} input features, but X has {x.shape[1]} columns")

    # -- weights -------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """``[kernel_0, bias_0, kernel_1, bias_1, ...]`` as NumPy arrays (kernels ``(fan_in, units)``)."""
        if not self.built:
            raise ValueError("the model is not built yet: fit it, or call build(input_dim)")
        out = []
        for i in range(len(self._layers)):
            layer = self._params["layers"][i]
            out += [np.asarray(layer["kernel"][...]), np.asarray(layer["bias"][...])]
        return out

    def set_weights(self, weights: Sequence) -> None:
        """Replaces the parameters (shapes as ``get_weights``); the optimizer state restarts."""
        current = self.get_weights()
        if len(weights) != len(current):
            raise ValueError(f"expected {len(current)} arrays (kernel and bias per layer), got {len(weights)}")
        model = nnx.merge(self._graphdef, self._params)
        for i, (new, old) in enumerate(zip(weights, current)):
            new = np.asarray(new, np.float32)
            if new.shape != old.shape:
                raise ValueError(f"weight {i} must have shape {old.shape}, got {new.shape}")
            variable = model.layers[i // 2].kernel if i % 2 == 0 else model.layers[i // 2].bias
            variable[...] = jnp.asarray(new)
        self._params = nnx.state(model)
        self._train_state = None

    def count_params(self) -> int:
        """``sum (fan_in + 1) * units`` over layers."""
        if self.input_dim is None:
            raise ValueError("the number of parameters depends on the input size, unknown until the first fit")
        sizes = [self.input_dim, *(l.units for l in self._layers)]
        return sum((a + 1) * b for a, b in itertools.pairwise(sizes))

    def summary(self, print_fn: Callable[[str], Any] | None = None) -> None:
        """Prints the layers, their output shapes and parameter counts, as Keras.

        ``print_fn`` receives the whole table as one string (default ``print``).
        Before the input size is known, the first layer's count shows ``?``.
        """
        rows = [("Layer (type)", "Output Shape", "Activation", "Param #")]
        fan_in = self.input_dim
        for layer in self._layers:
            count = "?" if fan_in is None else f"{(fan_in + 1) * layer.units:,}"
            rows.append((f"{layer.name} (Dense)", f"(None, {layer.units})", layer.activation_name, count))
            fan_in = layer.units
        widths = [max(len(r[i]) for r in rows) + 3 for i in range(4)]
        line = "-" * sum(widths)

        def fmt(r):
            return "".join(c.ljust(w) for c, w in zip(r[:3], widths)) + r[3].rjust(widths[3] - 3)

        lines = [f'Model: "{self.name}"', line, fmt(rows[0]), "=" * len(line)]
        lines += [fmt(r) for r in rows[1:]] or ["(no layers)"]
        lines.append(line)
        if self.input_dim is None:
            lines.append("Total params: ? (the input size is set by the first fit, Input(shape=...) or build(d))")
        else:
            total = self.count_params()
            lines += [f"Total params: {total:,}", f"Trainable params: {total:,}", "Non-trainable params: 0"]
        (print_fn or print)("\n".join(lines))

    # -- compile -------------------------------------------------------------------------
    def compile(
        self,
        optimizer: str | optax.GradientTransformation | Callable = "rmsprop",
        loss: str | Callable | None = None,
        metrics: Sequence[str | Callable] | str | Callable | None = None,
        *,
        learning_rate: float | None = None,
    ) -> None:
        """Chooses the optimizer, the loss and the metrics (checked here, by name).

        Args:
          optimizer: a name in ``OPTIMIZER_NAMES`` (Keras's default learning
            rates: adam, adamw, rmsprop, adagrad 1e-3; sgd, momentum,
            nesterov 1e-2; Optax's other defaults), an Optax
            ``GradientTransformation`` (e.g. ``optax.adam(1e-2)``), or a
            factory called with the learning rate (e.g. ``optax.adam``).
          loss: a name from ``approx.losses.names()`` (``'mse'``,
            ``'binary_crossentropy'``, ...) or a callable
            ``(y_true, y_pred) -> scalar`` in ``jax.numpy``; ``y_true`` arrives
            as float32 ``(batch, m)`` (1-D targets become a column) and
            ``y_pred`` as ``(batch, units)``, after the output activation.
          metrics: names from ``approx.metrics.names()`` or callables
            ``(y_true, y_pred) -> float`` (NumPy arrays in, called on the whole
            set's predictions once per epoch).
          learning_rate: overrides the learning rate of a named optimizer or factory.

        Compiling again keeps the weights and restarts the optimizer state.
        """
        if learning_rate is not None and (
            isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not learning_rate > 0
        ):
            raise ValueError(f"learning_rate must be a number > 0, got {learning_rate!r}")
        opt = self._resolve_optimizer(optimizer, learning_rate)
        if loss is None:
            raise ValueError(f"compile needs a loss: a name ({', '.join(_losses.names())}) or a callable")
        loss_fn = _losses.get(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, str) or callable(metrics):
            metrics = [metrics]
        resolved = []
        for m in metrics:
            fn = _metrics.get(m)  # raises listing the valid names
            resolved.append((_metrics.name_of(m), fn, not isinstance(m, str) and m not in _METRIC_FUNCTIONS))
        keys = [k for k, _, _ in resolved]
        if "loss" in keys or len(set(keys)) != len(keys):
            raise ValueError(f"metric names must be distinct and not 'loss', got {keys}")
        self._compiled = {"optimizer": opt, "loss": loss_fn, "metrics": tuple(resolved)}
        self._train_state = None

    @staticmethod
    def _resolve_optimizer(optimizer, learning_rate) -> optax.GradientTransformation:
        if isinstance(optimizer, optax.GradientTransformation):
            if learning_rate is not None:
                raise ValueError(
                    "learning_rate applies to a named optimizer or a factory, not to an optax transformation"
                )
            return optimizer
        if isinstance(optimizer, str):
            name = optimizer.lower()
            if name not in KERAS_LEARNING_RATES:
                raise ValueError(
                    f"unknown optimizer {optimizer!r}; valid optimizers: {', '.join(OPTIMIZER_NAMES)}, "
                    "or an optax transformation"
                )
            return _named_optimizer(name, learning_rate)
        if callable(optimizer):
            opt = optimizer(1e-3 if learning_rate is None else learning_rate)
            if not isinstance(opt, optax.GradientTransformation):
                raise ValueError(f"optimizer factory {optimizer!r} did not return an optax transformation")
            return opt
        raise ValueError(
            f"optimizer must be a name ({', '.join(OPTIMIZER_NAMES)}), an optax transformation "
            f"or a factory, got {optimizer!r}"
        )

    def _require_compiled(self, what: str) -> dict[str, Any]:
        if self._compiled is None:
            raise RuntimeError(f"call model.compile(optimizer=..., loss=...) before {what}")
        return self._compiled

    @property
    def metrics_names(self) -> list[str]:
        compiled = self._require_compiled("metrics_names")
        return ["loss", *(k for k, _, _ in compiled["metrics"])]

    # -- data checks -----------------------------------------------------------------------
    def _check_targets(self, y, n: int, what: str = "y", x_name: str = "X") -> np.ndarray:
        """``y`` as float32 ``(n, m)``, checked against the loss and the output layer."""
        y = _as_float_array(y, what)
        given = y.shape
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2:
            raise ValueError(f"{what} must have shape (n_samples,) or (n_samples, n_outputs), got {y.shape}")
        if y.shape[0] != n:
            raise ValueError(f"{x_name} has {n} samples (rows) but {what} has {y.shape[0]}; they must match")
        loss_fn, k = self._compiled["loss"], self._layers[-1].units
        m, lo, hi = y.shape[1], float(y.min()), float(y.max())
        integral = bool(np.all(y == np.round(y)))
        if loss_fn is _losses.sparse_categorical_crossentropy:
            if m != 1:
                raise ValueError(
                    f"sparse_categorical_crossentropy needs integer labels of shape (n,); {what} has shape {y.shape} "
                    "(for one-hot rows use 'categorical_crossentropy')"
                )
            if k < 2:
                raise ValueError(
                    "sparse_categorical_crossentropy needs a last Dense layer with one unit per class (>= 2)"
                )
            if not integral or lo < 0 or hi > k - 1:
                raise ValueError(
                    f"labels out of range: {what} holds values from {lo:g} to {hi:g}, but the last layer has {k} units "
                    f"(integer classes 0..{k - 1})"
                )
        elif loss_fn is _losses.categorical_crossentropy:
            if m == 1 and k >= 2 and integral:
                raise ValueError(
                    f"categorical_crossentropy needs one-hot targets of shape (n, {k}); {what} holds integer labels "
                    f"of shape {given}: use loss='sparse_categorical_crossentropy', or to_categorical({what}, {k})"
                )
            if m != k:
                raise ValueError(f"{what} has {m} columns but the last Dense layer has {k} units; they must match")
            if lo < 0 or hi > 1:
                raise ValueError(
                    f"labels out of range: categorical_crossentropy targets are one-hot rows in [0, 1], got {lo:g}..{hi:g}"
                )
        elif loss_fn is _losses.binary_crossentropy:
            if m != k:
                raise ValueError(f"{what} has {m} columns but the last Dense layer has {k} units; they must match")
            if lo < 0 or hi > 1:
                raise ValueError(f"labels out of range: binary_crossentropy needs labels in [0, 1], got {lo:g}..{hi:g}")
        elif loss_fn in _REGRESSION_LOSSES and m != k:
            raise ValueError(f"{what} has {m} columns but the last Dense layer has {k} units; they must match")
        return y

    def _prepare(self, x, y, what: str = "") -> tuple[np.ndarray, np.ndarray]:
        x_name, y_name = f"{what}X", f"{what}y"
        x = _check_inputs(x, x_name)
        y = self._check_targets(y, x.shape[0], y_name, x_name)
        if self.input_dim is not None and x.shape[1] != self.input_dim:
            raise ValueError(f"the model takes {self.input_dim} input features, but {x_name} has {x.shape[1]} columns")
        return x, y

    # -- fit -----------------------------------------------------------------------------
    def fit(
        self,
        x=None,
        y=None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int | str = "auto",
        validation_split: float = 0.0,
        validation_data: tuple | None = None,
        shuffle: bool = True,
        *,
        seed: int | None = None,
    ) -> History:
        """Trains for ``epochs`` passes over ``(x, y)``; returns a :class:`History`.

        Args:
          x: inputs ``(n, d)`` (or ``(n,)``, one feature).
          y: targets ``(n,)`` or ``(n, units)``: integer classes for
            ``sparse_categorical_crossentropy``, one-hot rows for
            ``categorical_crossentropy``, 0/1 for ``binary_crossentropy``.
          batch_size: samples per step (default 32); the last batch is smaller.
          epochs: passes over the training data.
          verbose: 0 silent; 2 one line per epoch; 1 (and ``'auto'``) a
            progress bar over epochs when stdout is a terminal, else one line
            per epoch.
          validation_split: fraction in ``[0, 1)`` held out from the *end* of
            the data (before shuffling, as Keras).
          validation_data: ``(x_val, y_val)``; takes precedence over the split.
          shuffle: reshuffle the training samples every epoch.
          seed: seeds the shuffling (``fold_in(key(seed), epoch)``); default:
            derived from the model's seed and how many fits it has done.

        Each epoch records ``loss`` (the batch losses' mean weighted by batch
        size, as Keras), then every compiled metric computed on the
        predictions for the whole training set at the end of the epoch (not a
        batch average), then ``val_loss`` and ``val_<metric>`` on the
        validation set. Everything is checked before anything is compiled;
        the epoch is compiled once per fit (and reused by later fits of the
        same shapes).
        """
        compiled = self._require_compiled("fit")
        if x is None or y is None:
            raise ValueError("fit needs training data: model.fit(X, y, ...)")
        batch_size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
        _check_int("batch_size", batch_size, 1)
        _check_int("epochs", epochs, 1)
        if verbose not in VERBOSE_CHOICES or isinstance(verbose, bool):
            raise ValueError(f"verbose must be one of 0, 1, 2, 'auto', got {verbose!r}")
        if seed is not None:
            _check_int("seed", seed, 0)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"shuffle must be True or False, got {shuffle!r}")
        if (
            isinstance(validation_split, bool)
            or not isinstance(validation_split, (int, float))
            or not 0 <= validation_split < 1
        ):
            raise ValueError(f"validation_split must be a number in [0, 1), got {validation_split!r}")
        x, y = self._prepare(x, y)
        x_val = y_val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            x_val, y_val = self._prepare(*validation_data, what="validation_data ")
            if x_val.shape[1] != x.shape[1]:
                raise ValueError(f"validation X has {x_val.shape[1]} features but X has {x.shape[1]}")
        elif validation_split:
            split_at = math.floor(len(x) * (1.0 - validation_split))
            if split_at == 0 or split_at == len(x):
                raise ValueError(
                    f"validation_split={validation_split} of {len(x)} samples leaves an empty training or validation set"
                )
            x, x_val, y, y_val = x[:split_at], x[split_at:], y[:split_at], y[split_at:]

        self._ensure_built(x)
        # Nothing above compiled anything; from here on, the program is built once.
        loss_fn, metric_specs = compiled["loss"], compiled["metrics"]
        out_layer = self._layers[-1]
        objective, _ = _make_objective(loss_fn, out_layer.activation)
        n = len(x)
        has_val = x_val is not None
        run = _make_fit_epoch(
            self._graphdef, compiled["optimizer"], objective, out_layer.activation,
            min(batch_size, n), n, bool(shuffle), bool(metric_specs), has_val,
        )  # fmt: skip
        if self._train_state is None:
            self._train_state = _make_init_state(compiled["optimizer"])(self._params)
        key = (
            jax.random.key(seed) if seed is not None else jax.random.fold_in(jax.random.key(self.seed), 1 + self._fits)
        )
        self._fits += 1
        x_dev, y_dev = jax.device_put(x), jax.device_put(y)
        xv_dev, yv_dev = (jax.device_put(x_val), jax.device_put(y_val)) if has_val else (None, None)

        metric_keys = [k for k, _, _ in metric_specs]
        keys = ["loss", *metric_keys] + (["val_loss", *(f"val_{k}" for k in metric_keys)] if has_val else [])
        steps = _train.epoch_batches(n, batch_size)[0]
        history = History(
            keys, {"epochs": epochs, "steps": steps, "batch_size": batch_size, "samples": n, "verbose": verbose}
        )
        mode = 0 if verbose == 0 else 2 if verbose == 2 else (1 if _stdout_is_tty() else 2)
        bar = _progress_bar(epochs) if mode == 1 else None
        pending: list[dict] = []  # device scalars, fetched at the end when nothing needs them earlier
        state = self._train_state
        try:
            for epoch in range(epochs):
                t0 = time.perf_counter()
                state, out = run(state, x_dev, y_dev, key, epoch, xv_dev, yv_dev)
                history.epoch.append(epoch)
                if not metric_specs and mode == 0:
                    pending.append(out)
                    history.seconds.append(time.perf_counter() - t0)
                    continue
                values = {"loss": float(out["loss"])}
                for k, fn, custom in metric_specs:
                    values[k] = _metric_value(fn, y, np.asarray(out["outputs"]), custom)
                if has_val:
                    values["val_loss"] = float(out["val_loss"])
                    for k, fn, custom in metric_specs:
                        values[f"val_{k}"] = _metric_value(fn, y_val, np.asarray(out["val_outputs"]), custom)
                for k in keys:
                    history.history[k].append(values[k])
                history.seconds.append(time.perf_counter() - t0)
                if mode == 2:
                    print(
                        f"Epoch {epoch + 1}/{epochs} - {_format_seconds(history.seconds[-1])} - {_format_values(values)}",
                        flush=True,
                    )
                elif bar is not None:
                    bar.set_postfix_str(_format_values(values), refresh=False)
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
            self._train_state = state
            self._params = jax.tree.map(lambda a: a[0], state.params)
        if pending:
            fetched = jax.device_get(pending)
            for out in fetched:
                history.history["loss"].append(float(out["loss"]))
                if has_val:
                    history.history["val_loss"].append(float(out["val_loss"]))
        if bool(state.diverged[0]):
            warnings.warn(
                "the loss became NaN or infinite; training stopped, and the weights are those from the start "
                "of the epoch in which it did (try a smaller learning rate)",
                RuntimeWarning,
                stacklevel=2,
            )
        self.history = history
        return history

    # -- evaluate / predict ----------------------------------------------------------------
    def evaluate(self, x, y, batch_size: int | None = None, verbose: int = 0, return_dict: bool = False):
        """The loss on ``(x, y)``, or ``[loss, *metrics]`` when metrics were compiled.

        With ``return_dict=True``: ``{'loss': ..., '<metric>': ...}``. The loss
        and the metrics are computed on the whole set at once (``batch_size``
        is accepted for Keras compatibility; the loss is a mean over samples
        so batching would not change it). ``verbose=1`` prints the values.
        """
        compiled = self._require_compiled("evaluate")
        if batch_size is not None:
            _check_int("batch_size", batch_size, 1)
        x, y = self._prepare(x, y)
        self._ensure_built(x)
        out_layer = self._layers[-1]
        objective, _ = _make_objective(compiled["loss"], out_layer.activation)
        loss, outputs = _make_evaluate(self._graphdef, objective, out_layer.activation)(self._params, x, y)
        values = {"loss": float(loss)}
        outputs = np.asarray(outputs)
        for k, fn, custom in compiled["metrics"]:
            values[k] = _metric_value(fn, y, outputs, custom)
        if verbose:
            print(_format_values(values), flush=True)
        if return_dict:
            return values
        return values["loss"] if len(values) == 1 else list(values.values())

    def predict(self, x, batch_size: int | None = None, verbose: int = 0) -> np.ndarray:
        """The network's outputs ``(n, units)`` as a NumPy array (after the output activation).

        ``batch_size=None`` runs the whole set in one compiled call; a batch
        size bounds the memory (the last chunk is padded, so one compilation).
        """
        del verbose
        x = _check_inputs(x)
        self._ensure_built(x)
        forward = _make_forward(self._graphdef, self._layers[-1].activation)
        if batch_size is None or batch_size >= len(x):
            return np.asarray(forward(self._params, x))
        _check_int("batch_size", batch_size, 1)
        chunks = []
        for start in range(0, len(x), batch_size):
            part = x[start : start + batch_size]
            padded = np.pad(part, ((0, batch_size - len(part)), (0, 0)))
            chunks.append(np.asarray(forward(self._params, padded))[: len(part)])
        return np.concatenate(chunks)

    def __call__(self, x) -> jax.Array:
        """The outputs as a JAX array (differentiable in nothing: parameters are internal)."""
        return jnp.asarray(self.predict(x))

    def __repr__(self) -> str:
        return f"Sequential({self._layers!r}, seed={self.seed})"


_REGRESSION_LOSSES = frozenset({_losses.mse, _losses.mae, _losses.mape, _losses.poisson})
_METRIC_FUNCTIONS = frozenset(_metrics.get(n) for n in _metrics.names())


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _metric_value(fn: Callable, y_true: np.ndarray, y_pred: np.ndarray, custom: bool) -> float:
    """A metric on a whole set; a built-in metric undefined on it (e.g. AUC with
    one class present) gives NaN instead of stopping the fit. A user's metric
    raises as it would."""
    if custom:
        return float(fn(y_true, y_pred))
    try:
        return float(fn(y_true, y_pred))
    except ValueError:
        return float("nan")


def _format_values(values: Mapping[str, float]) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in values.items())


def _format_seconds(s: float) -> str:
    return f"{s:.1f}s" if s >= 1 else f"{s * 1e3:.0f}ms"


def _stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="epoch", file=sys.stdout, dynamic_ncols=True, leave=True)
