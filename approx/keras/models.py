"""``keras.models``: ``Sequential``, and saving and loading models.

``Sequential`` keeps Keras's four steps (create, add layers, ``compile``,
``fit``) and its methods (``evaluate``, ``predict``, ``summary``,
``get_weights``/``set_weights``, ``save``, ...). Underneath, every epoch of
``fit`` is one compiled program (a ``lax.scan`` over the shuffled minibatches
with the data kept on the device; see :mod:`approx.keras._engine`),
callbacks and metrics run on the host between epochs, and models of the same
structure share compiled programs.

Where approx differs from Keras, on purpose (see the README):

* training metrics are exact whole-epoch values (``keras.metrics``);
* a sigmoid or softmax output trained with a cross-entropy on
  probabilities is trained from its logits (the same function, stably);
* randomness is explicit: weights, shuffling and dropout come from
  ``jax.random`` keys derived from ``keras.utils.set_random_seed`` (default
  0) or ``Sequential(seed=...)``, so a notebook run from the top gives the
  same numbers;
* a fit whose loss becomes NaN or infinite stops with a warning, keeping the
  weights from the start of the epoch in which it happened.
"""

from __future__ import annotations

import math
import numbers
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from approx.constraints import Interval
from approx.keras import _archive, _engine
from approx.keras import callbacks as _callbacks
from approx.keras import losses as _losses
from approx.keras import metrics as _metrics
from approx.keras import optimizers as _optimizers
from approx.keras._subset import NotInSubsetError, missing_name, unique_name
from approx.keras import layers as _layers
from approx.keras.layers import (
    FIT, INIT, PREDICT, _ASSIGNMENTS, _FUNCTIONAL, InputLayer, KerasTensor, Layer, draw_weights, host_order, key_data,
    next_stream,
)  # fmt: skip

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_config", "save_model"]

VERBOSE = (0, 1, 2, "auto")


def _check_int(name: str, value, minimum: int) -> int:
    Interval(numbers.Integral, minimum).check(name, value)  # NumPy's integers too
    return int(value)


def _as_array(a, what: str) -> np.ndarray:
    if a is None:
        raise ValueError(f"{what} is missing")
    if isinstance(a, dict) or type(a).__module__.startswith(("tensorflow", "torch")) and not hasattr(a, "__array__"):
        raise NotInSubsetError(f"{what} must be an array (NumPy, JAX or a list); approx.keras does not read {type(a).__name__}")
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{what} must be a numeric array, got {type(a).__name__} ({e})") from None
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{what} must hold numbers, got dtype {arr.dtype}")
    if arr.ndim == 0 or len(arr) == 0:
        raise ValueError(f"{what} holds no samples (shape {arr.shape})")
    out = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(out)):
        bad = int(np.sum(~np.isfinite(out)))
        raise ValueError(f"{what} contains {bad} NaN or infinite value(s) (or values too large for float32); clean the data first")
    return out


def _bucket(n: int) -> int:
    """Rows a prediction program is compiled for: ``n`` rounded up to a power
    of two (at least 32), or to whole chunks, so that calls on sets of
    similar sizes share one program."""
    if n > _engine.CHUNK:
        return -(-n // _engine.CHUNK) * _engine.CHUNK
    return max(32, 1 << (n - 1).bit_length())


def _pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    return a if len(a) == rows else np.concatenate([a, np.zeros((rows - len(a), *a.shape[1:]), a.dtype)])


def _stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _format_value(value) -> str:
    if isinstance(value, np.ndarray):
        return "[" + " ".join(_format_value(float(v)) for v in value.ravel()) + "]"
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 or not math.isfinite(value) else f"{value:.4e}"


def _format_time(seconds: float, steps: int) -> str:
    per = seconds / max(steps, 1)
    per_text = f"{per * 1e3:.0f}ms/step" if per >= 1e-3 else f"{per * 1e6:.0f}us/step"
    return f"{seconds:.0f}s" if seconds >= 1 else f"{seconds * 1e3:.0f}ms", per_text


def _progress_line(steps: int, seconds: float, logs: dict, mode: int) -> str:
    total, per = _format_time(seconds, steps)
    values = " - ".join(f"{k}: {_format_value(v)}" for k, v in logs.items())
    if mode == 1:
        line = f"{steps}/{steps} " + "\u2501" * 20 + f" {total} {per}"
    else:
        line = f"{steps}/{steps} - {total} - {per}"
    return line + (f" - {values}" if values else "")


class Sequential(Layer):
    """A linear stack of layers, Keras 3's ``keras.Sequential``.

    Args:
      layers: optional list of layers; a ``keras.Input(shape=...)`` first
        fixes the input shape (otherwise it is read from the data at the
        first ``fit``/``predict``, or given to ``build``). A ``Sequential``
        may be a layer of another.
      trainable: ``False`` freezes every layer.
      name: shown by ``summary()`` (default ``sequential``, ``sequential_1``, ...).
      seed: (approx) seeds this model's weights, shuffling and dropout;
        by default the model draws a key from the global sequence that
        ``keras.utils.set_random_seed`` restarts.
    """

    def __init__(self, layers: Iterable | None = None, trainable: bool = True, name: str | None = None, *,
                 seed: int | None = None):  # fmt: skip
        super().__init__(name=name or unique_name("sequential"), trainable=trainable)
        if seed is not None:
            _check_int("seed", seed, 0)
        self._layers: list[Layer] = []
        self._input = None  # declared input shape (no batch axis)
        self._seed = seed
        self._stream: tuple[int, int] | None = None
        self._predictions = 0
        self._fits = 0
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self._metric_ids: list = []
        self._fit_metrics: list = []
        self._compile_config: dict | None = None
        self.history = None
        self.stop_training = False
        self._train_state = None
        self._state_owner = None  # (structure, transform) the train state belongs to
        self._seen = -1  # _ASSIGNMENTS when the train state last matched the weights
        for layer in layers or ():
            self.add(layer)

    # -- structure ---------------------------------------------------------------------------
    def add(self, layer) -> None:
        """Appends a layer (a ``keras.Input`` or ``InputLayer`` first sets the input shape)."""
        if isinstance(layer, KerasTensor):
            layer = InputLayer(shape=layer.shape[1:], name=layer.name)
        if not isinstance(layer, Layer):
            module = type(layer).__module__
            hint = " (a layer from another library? build layers with approx.keras.layers)" if "keras" in module else ""
            raise ValueError(f"Sequential takes approx.keras layers, got {layer!r}{hint}")
        if layer is self:
            raise ValueError("a model cannot be a layer of itself")
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("an Input or InputLayer must come first in a Sequential model")
            self._input = layer.shape
            return
        if not self._layers and layer._declared_input_shape is not None and self._input is None:
            self._input = layer._declared_input_shape
        self._layers.append(layer)
        self.built = False

    def pop(self) -> Layer:
        if not self._layers:
            raise ValueError("the model has no layers to pop")
        self.built = False
        return self._layers.pop()

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def _leaves(self, trainable: bool = True):
        """``(layer, trained)`` for every computing layer, nested models expanded."""
        for layer in self._layers:
            if isinstance(layer, Sequential):
                yield from layer._leaves(trainable and layer.trainable)
            else:
                yield layer, trainable and layer.trainable

    @property
    def input_shape(self) -> tuple | None:
        shape = self._input
        if shape is None and self._layers and isinstance(self._layers[0], Sequential):
            shape = self._layers[0].input_shape and self._layers[0].input_shape[1:]
        return None if shape is None else (None, *shape)

    @property
    def output_shape(self) -> tuple | None:
        shape = self.input_shape
        if shape is None:
            return None
        shape = shape[1:]
        for layer, _ in self._leaves():
            shape = layer.compute_output_shape(shape)
        return (None, *shape)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer, _ in self._leaves():
            shape = layer.compute_output_shape(shape)
        return shape

    def build(self, input_shape=None) -> None:
        """Creates the weights for inputs of ``input_shape`` (``(None, 784)``,
        ``(784,)`` or ``784``); ``fit`` and ``predict`` do it from the data."""
        if input_shape is None:
            if self.input_shape is None:
                raise ValueError("build needs the input shape, e.g. model.build((None, 784))")
            input_shape = self.input_shape
        if isinstance(input_shape, (int, np.integer)):
            input_shape = (input_shape,)
        shape = tuple(input_shape)
        if shape and shape[0] is None:
            shape = shape[1:]
        if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in shape) or not shape:
            raise ValueError(f"input shape must be positive integers (batch axis first, None), got {input_shape!r}")
        shape = tuple(int(d) for d in shape)
        declared = self.input_shape
        if declared is not None and declared[1:] != shape:
            raise ValueError(f"the model expects inputs of shape {declared}; received inputs of shape {(None, *shape)}")
        if not self._layers:
            raise ValueError("the model has no layers; add some first")
        self._declare(shape)
        self._input = shape
        leaves = [layer for layer, _ in self._leaves()]
        fresh = [layer for layer in leaves if any(v._value is None for v in layer._variables)]
        if fresh:
            draw_weights(fresh, key_data(*self._path(INIT, *(leaves.index(layer) for layer in fresh))))
        self.built = True
        self._mark_nested_built()

    def _declare(self, shape: tuple) -> tuple:
        for layer in self._layers:
            if isinstance(layer, Sequential):
                shape = layer._declare(shape)
            else:
                layer.declare(shape)
                shape = layer.compute_output_shape(shape)
        return shape

    def _mark_nested_built(self) -> None:
        shape = self._input
        for layer in self._layers:
            if isinstance(layer, Sequential):
                if layer._input is None:
                    layer._input = shape
                layer.built = True
                layer._mark_nested_built()
                shape = layer.compute_output_shape(shape)
            else:
                shape = layer.compute_output_shape(shape)

    def declare(self, input_shape):  # as a layer of another model
        self._declare(tuple(input_shape))

    def _path(self, kind: int, *index: int) -> tuple[int, ...]:
        """The path naming this model's randomness ``index`` of ``kind`` (weights, fits, predictions)."""
        if self._stream is None:
            self._stream = (self._seed, 0) if self._seed is not None else next_stream()
        return (*self._stream, kind, *index)

    def _step_keys(self, path: tuple, steps: int, random_layers: int) -> np.ndarray:
        """Key data ``(steps, random_layers, 2)`` for the random layers of each step, drawn on the host."""
        if not random_layers:
            return np.zeros((steps, 0, 2), np.uint32)
        rng = np.random.Generator(np.random.Philox(key=int.from_bytes(key_data(*path).tobytes() * 2, "little")))
        return rng.integers(0, 2**32, size=(steps, random_layers, 2), dtype=np.uint32)

    def _build_if_known(self) -> None:
        """Builds the model when its input shape is declared (Keras builds it then too)."""
        if not self.built and self.input_shape is not None and self._layers:
            self.build(self.input_shape)

    def _ensure_built(self, x: np.ndarray) -> None:
        if not self.built:
            self.build((None, *x.shape[1:]))
        elif tuple(x.shape[1:]) != self.input_shape[1:]:
            raise ValueError(
                f"the model expects inputs of shape {self.input_shape}; received inputs of shape {(None, *x.shape[1:])}"
            )

    # -- weights -----------------------------------------------------------------------------
    @property
    def weights(self):
        self._build_if_known()
        return [v for layer, _ in self._leaves() for v in layer._variables]

    variables = weights

    @property
    def trainable_weights(self):
        return [v for layer, t in self._leaves() for v in layer._variables if t and v._trainable]

    @property
    def non_trainable_weights(self):
        return [v for layer, t in self._leaves() for v in layer._variables if not (t and v._trainable)]

    def get_weights(self) -> list[np.ndarray]:
        """Every weight as a NumPy array, layer by layer in Keras's order (Dense: kernel, bias)."""
        self._build_if_known()
        if not self.built:
            raise ValueError("the model has no weights yet: fit it, predict with it, or call build(input_shape)")
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights: Sequence) -> None:
        """Replaces every weight (the shapes and order of ``get_weights()``)."""
        self._build_if_known()
        if not self.built:
            raise ValueError("the model has no weights yet: build it first (model.build(input_shape))")
        variables = self.weights
        if len(weights) != len(variables):
            raise ValueError(f"the model has {len(variables)} weight arrays; {len(weights)} were given")
        for variable, value in zip(variables, weights):
            variable.assign(value)

    def count_params(self) -> int:
        self._build_if_known()
        if not self.built:
            raise ValueError("the number of parameters depends on the input shape, unknown until the model is built")
        return sum(math.prod(v.shape) for v in self.weights)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        if index is not None:
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}; layers: {', '.join(l.name for l in self._layers)}")

    # -- the compiled side ------------------------------------------------------------------------
    def _structure(self) -> _engine.Structure:
        ops, trainable, regs = [], [], []
        for layer, trained in self._leaves():
            op = layer.op()
            if hasattr(op, "frozen"):
                op = type(op)(**{**op.__dict__, "frozen": not trained})
            ops.append(op)
            trainable.append(tuple(trained and v._trainable for v in layer._variables))
            regs.append(tuple(v.regularizer for v in layer._variables))
        return _engine.Structure(tuple(ops), tuple(trainable), tuple(regs))

    def _values(self):
        return tuple(tuple(v.value for v in layer._variables) for layer, _ in self._leaves())

    def _write_back(self, structure, params, model_state) -> None:
        for (layer, _), values in zip(self._leaves(), structure.merge(params, model_state)):
            for variable, value in zip(layer._variables, values):
                variable._value = value

    def _state_for(self, structure, transform):
        """The training state for this structure and optimizer: kept across
        fits (Keras keeps its optimizer's variables), rebuilt when either
        changes, refreshed when weights were set from outside."""
        params, model_state = structure.split(self._values())
        owner = (structure, transform)
        if self._train_state is None or self._state_owner != owner:
            lr = self.optimizer._lr if self.optimizer._schedule is None else None
            self._train_state = _engine.init_state_program(transform)(params, model_state, lr)
            self._state_owner = owner
        elif self._seen != _ASSIGNMENTS[0]:
            self._train_state = self._train_state._replace(params=params, model_state=model_state)
        self._seen = _ASSIGNMENTS[0]
        return self._train_state

    def _bind_optimizer(self) -> None:
        def read():
            return None if self._train_state is None else self._train_state.opt_state

        def write(lr):
            if self._train_state is not None:
                opt_state = _optimizers.set_learning_rate(self._train_state.opt_state, lr)
                self._train_state = self._train_state._replace(opt_state=opt_state)

        self.optimizer._bind(read, write)

    # -- compile -----------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True, *,
                learning_rate=None) -> None:  # fmt: skip
        """Chooses the optimizer, the loss and the metrics.

        Args:
          optimizer: a name (``'adam'``, ``'sgd'``, ``'rmsprop'``, ``'adamw'``,
            ``'adagrad'``; Keras's defaults) or a ``keras.optimizers``
            object (``Adam(learning_rate=1e-3)``); an Optax transformation
            is accepted too.
          loss: a name (``'mse'``, ``'binary_crossentropy'``, ...), a
            ``keras.losses`` object, or a function ``fn(y_true, y_pred)``
            written with ``jax.numpy`` (or ``keras.ops``).
          metrics: names (``'accuracy'``, ``'mae'``, ``'auc'``, ...),
            ``keras.metrics`` objects, or functions ``fn(y_true, y_pred)``.
          learning_rate: (approx) overrides a named optimizer's learning rate.

        ``loss_weights`` and ``weighted_metrics`` (multi-output models) are not
        supported; ``run_eagerly``, ``steps_per_execution`` and
        ``jit_compile`` are accepted and ignored (every epoch is compiled).
        Compiling again keeps the weights and restarts the optimizer.
        """
        if loss_weights is not None or weighted_metrics is not None:
            raise NotInSubsetError("loss_weights and weighted_metrics (multi-output models) are not supported by approx.keras")
        if isinstance(optimizer, optax.GradientTransformation):
            if learning_rate is not None:
                raise ValueError("learning_rate applies to a named optimizer, not to an Optax transformation")
            optimizer = _OptaxOptimizer(optimizer)
        else:
            optimizer = _optimizers.get(optimizer)
            if learning_rate is not None:
                optimizer = type(optimizer).from_config({**optimizer.get_config(), "learning_rate": learning_rate})
        self._loss_id = loss
        self.loss = None if loss is None or (isinstance(loss, str) and loss in _losses.SHAPE_RESOLVED) else _losses.get(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, _metrics.Metric)) or callable(metrics):
            metrics = [metrics]
        elif isinstance(metrics, dict):
            raise NotInSubsetError("metrics as a dict (multi-output models) are not supported by approx.keras")
        for m in metrics:
            _metrics.check_name(m)
        self._metric_ids = list(metrics)
        self.optimizer = optimizer
        self._bind_optimizer()
        self.compiled = True
        self._train_state = None
        self._state_owner = None
        self._fit_metrics = []
        self._compile_config = {"optimizer": optimizer, "loss": loss, "metrics": list(metrics)}

    @property
    def metrics_names(self) -> list[str]:
        return ["loss", *(m.name if not isinstance(m, str) else m for m in (self._fit_metrics or self._metric_ids))]

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"call model.compile(optimizer=..., loss=...) before model.{what}()")
        if self._loss_id is None:
            raise ValueError(f"model.{what}() needs a loss: compile the model with loss=...")

    # -- data checks -------------------------------------------------------------------------------
    def _inputs(self, x, what: str = "x") -> np.ndarray:
        x = _as_array(x, what)
        if x.ndim == 1:
            x = x[:, None]  # one feature per sample, as tf.keras read 1-D inputs
        self._ensure_built(x)
        return x

    def _loss_for(self, y: np.ndarray) -> _losses.Loss:
        out_shape = self.output_shape
        if self.loss is None:
            self.loss = _losses.resolve_crossentropy(self._loss_id, (None, *y.shape[1:]), out_shape)
        return self.loss

    def _targets(self, y, n: int, what: str = "y", x_name: str = "x") -> np.ndarray:
        y = _as_array(y, what)
        if len(y) != n:
            raise ValueError(f"{x_name} has {n} samples but {what} has {len(y)}; they must match")
        out = self.output_shape
        loss = self._loss_for(y)
        k = out[-1]
        if isinstance(loss, _losses.SparseCategoricalCrossentropy):
            labels = y[..., 0] if (y.ndim == len(out) and y.shape[-1] == 1) else y
            if labels.shape[1:] != out[1:-1]:
                raise ValueError(
                    f"sparse_categorical_crossentropy needs integer labels of shape {(None, *out[1:-1])}; {what} has shape "
                    f"{(None, *y.shape[1:])} (for one-hot targets use categorical_crossentropy)"
                )
            if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() > k - 1:
                raise ValueError(
                    f"labels out of range: {what} holds values from {labels.min():g} to {labels.max():g}, but the model "
                    f"outputs {k} classes (integer labels 0..{k - 1})"
                )
            return labels
        if y.ndim == 1 and len(out) == 2:
            y = y[:, None]
        if isinstance(loss, _losses.CategoricalCrossentropy) and y.shape[-1] == 1 and k > 1:
            raise ValueError(
                f"categorical_crossentropy needs one-hot targets of shape (None, {k}); {what} holds integer labels of "
                f"shape {(None, *y.shape[1:])}: use loss='sparse_categorical_crossentropy', or "
                f"keras.utils.to_categorical({what}, {k})"
            )
        if tuple(y.shape[1:]) != tuple(out[1:]):
            raise ValueError(f"the model outputs shape {out}; {what} has shape {(None, *y.shape[1:])}; they must match")
        if isinstance(loss, (_losses.BinaryCrossentropy, _losses.CategoricalCrossentropy)) and not loss.from_logits:
            if y.min() < 0 or y.max() > 1:
                raise ValueError(f"labels out of range: {loss.name} needs targets in [0, 1], got {y.min():g}..{y.max():g}")
        return y

    def _resolve_metrics(self, y: np.ndarray) -> list:
        out = self.output_shape
        metrics = [_metrics.resolve(m, (None, *y.shape[1:]), out) for m in self._metric_ids]
        names = [m.name for m in metrics]
        if "loss" in names or len(set(names)) != len(names):
            raise ValueError(f"metric names must be distinct and not 'loss', got {names}; give objects distinct name=")
        return metrics

    def _metric_logs(self, metrics, y_true, y_pred, prefix: str = "") -> dict:
        return {f"{prefix}{m.name}": m.compute(y_true, y_pred) for m in metrics}

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1, *,
            seed=None):  # fmt: skip
        """Trains for ``epochs`` passes over ``(x, y)``; returns the ``History``.

        As Keras: ``batch_size`` defaults to 32 (the last batch of an epoch
        is smaller); ``validation_split`` holds out the *last* fraction of
        the samples before shuffling (``validation_data=(x_val, y_val)``
        takes precedence); ``initial_epoch`` resumes the epoch count;
        ``validation_freq`` evaluates every that many epochs. ``verbose``:
        0 silent, 1 (``'auto'``) a progress line per epoch, 2 one line per
        epoch. ``seed`` (approx) fixes this fit's shuffling and dropout.
        ``class_weight``, ``sample_weight`` and ``steps_per_epoch`` are not
        supported. Everything is checked before anything is compiled.
        """
        self._require_compiled("fit")
        for option, value in (("class_weight", class_weight), ("sample_weight", sample_weight),
                              ("steps_per_epoch", steps_per_epoch), ("validation_steps", validation_steps)):  # fmt: skip
            if value is not None:
                raise NotInSubsetError(f"fit({option}=...) is not supported by approx.keras")
        if x is None or y is None:
            raise ValueError("fit needs training data: model.fit(x, y, ...)")
        batch_size = 32 if batch_size is None else _check_int("batch_size", batch_size, 1)
        epochs = _check_int("epochs", epochs, 1)
        initial_epoch = _check_int("initial_epoch", initial_epoch, 0)
        validation_freq = _check_int("validation_freq", validation_freq, 1)
        if verbose not in VERBOSE or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        if seed is not None:
            _check_int("seed", seed, 0)
        if shuffle == "batch":
            shuffle = True
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"shuffle must be True or False, got {shuffle!r}")
        Interval(float, 0, 1, closed="left").check("validation_split", validation_split)
        callbacks = _callbacks.check_callbacks(callbacks)

        x = self._inputs(x)
        y = self._targets(y, len(x))
        x_val = y_val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val) (sample weights are not supported)")
            x_val = self._inputs(validation_data[0], "validation_data x")
            y_val = self._targets(validation_data[1], len(x_val), "validation_data y", "validation_data x")
        elif validation_split:
            split_at = math.floor(len(x) * (1.0 - validation_split))
            if split_at in (0, len(x)):
                raise ValueError(f"validation_split={validation_split} of {len(x)} samples leaves an empty training or validation set")
            x, x_val, y, y_val = x[:split_at], x[split_at:], y[:split_at], y[split_at:]
        metrics = self._resolve_metrics(y)
        self._fit_metrics = metrics

        # Everything is checked: from here on, compile once and train.
        structure = self._structure()
        plan = _engine.plan_loss(self.loss, structure)
        n, has_val = len(x), x_val is not None
        transform = self.optimizer.transform
        run = _engine.fit_program(
            structure, transform, plan, min(batch_size, n), n, bool(shuffle), bool(metrics), len(x_val) if has_val else 0
        )
        state = self._state_for(structure, transform)
        fit_path = (seed, 0, FIT, 0) if seed is not None else self._path(FIT, self._fits)
        self._fits += 1
        x_dev, y_dev = jax.device_put(x), jax.device_put(y)
        xv_dev, yv_dev = (jax.device_put(x_val), jax.device_put(y_val)) if has_val else (None, None)

        steps = -(-n // min(batch_size, n))
        mode = 0 if verbose == 0 else (2 if verbose == 2 else 1)
        history = _callbacks.History()
        params = {"verbose": mode, "epochs": epochs, "steps": steps}
        watchers = [history, *callbacks]
        for cb in watchers:
            cb.set_model(self)
            cb.set_params(params)
        self.history = history
        self.stop_training = False
        deferred = not callbacks and mode == 0 and not metrics
        pending = []
        for cb in watchers:
            cb.on_train_begin()
        self._train_state = state
        diverged = False
        try:
            for epoch in range(initial_epoch, epochs):
                for cb in callbacks:
                    cb.on_epoch_begin(epoch, {})
                if self._seen != _ASSIGNMENTS[0]:
                    self._state_for(structure, transform)
                t0 = time.perf_counter()
                order = host_order(n, *fit_path, epoch) if shuffle else np.arange(n, dtype=np.int32)
                step_keys = self._step_keys((*fit_path, epoch), steps, structure.random_layers)
                state, out = run(self._train_state, x_dev, y_dev, order, step_keys, xv_dev, yv_dev)
                self._train_state = state
                self._write_back(structure, state.params, state.model_state)
                if deferred:
                    pending.append((epoch, out))
                    history.seconds.append(time.perf_counter() - t0)
                    continue
                validate = has_val and (epoch + 1 - initial_epoch) % validation_freq == 0
                host = jax.device_get({k: v for k, v in out.items() if validate or not k.startswith("val_")})
                logs = {"loss": float(host["loss"])}
                if metrics:  # the outputs come in the epoch's order
                    logs |= self._metric_logs(metrics, y[order], host["outputs"])
                if validate:
                    logs["val_loss"] = float(host["val_loss"])
                    if metrics:
                        logs |= self._metric_logs(metrics, y_val, host["val_outputs"], "val_")
                logs = dict(sorted(logs.items()))
                history.seconds.append(time.perf_counter() - t0)
                if mode:
                    print(f"Epoch {epoch + 1}/{epochs}")
                    print(_progress_line(steps, history.seconds[-1], logs, mode), flush=True)
                for cb in watchers:
                    cb.on_epoch_end(epoch, logs)
                if bool(host["diverged"]):
                    diverged = True
                    break
                if self.stop_training:
                    break
        finally:
            self._seen = _ASSIGNMENTS[0]
            for epoch, out in pending:
                host = jax.device_get(out)
                logs = {"loss": float(host["loss"])}
                if has_val and (epoch + 1 - initial_epoch) % validation_freq == 0:
                    logs["val_loss"] = float(host["val_loss"])
                history.on_epoch_end(epoch, dict(sorted(logs.items())))
                diverged = diverged or bool(host["diverged"])
        for cb in watchers:
            cb.on_train_end()
        if diverged:
            warnings.warn(
                "the loss became NaN or infinite: training stopped, and the weights are those from the start of the "
                "epoch in which it did (try a smaller learning rate, or scale the inputs)",
                RuntimeWarning,
                stacklevel=2,
            )
        return history

    # -- evaluate / predict ---------------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None, callbacks=None,
                 return_dict=False):  # fmt: skip
        """The loss (``[loss, *metrics]`` with metrics, a dict with
        ``return_dict=True``) on ``(x, y)``, computed exactly on the whole set
        (``batch_size`` only sets the steps the progress line shows)."""
        self._require_compiled("evaluate")
        if sample_weight is not None or steps is not None:
            raise NotInSubsetError("evaluate(sample_weight=..., steps=...) is not supported by approx.keras")
        if verbose not in VERBOSE or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        batch_size = 32 if batch_size is None else _check_int("batch_size", batch_size, 1)
        callbacks = _callbacks.check_callbacks(callbacks)
        if x is None or y is None:
            raise ValueError("evaluate needs data: model.evaluate(x, y)")
        x = self._inputs(x)
        y = self._targets(y, len(x))
        metrics = self._fit_metrics or self._resolve_metrics(y)
        structure = self._structure()
        plan = _engine.plan_loss(self.loss, structure)
        for cb in callbacks:
            cb.set_model(self)
            cb.on_test_begin()
        t0 = time.perf_counter()
        params, model_state = structure.split(self._values())
        loss, outputs = jax.device_get(_engine.evaluate_program(structure, plan, len(x))(params, model_state, x, y))
        logs = {"loss": float(loss), **self._metric_logs(metrics, y, outputs)}
        for cb in callbacks:
            cb.on_test_end(logs)
        if verbose != 0:
            steps_shown = -(-len(x) // batch_size)
            print(_progress_line(steps_shown, time.perf_counter() - t0, dict(sorted(logs.items())), 1 if verbose != 2 else 2), flush=True)
        if return_dict:
            return dict(sorted(logs.items()))
        values = [logs["loss"], *(logs[m.name] for m in metrics)]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None) -> np.ndarray:
        """The model's outputs on ``x`` as a NumPy array (computed in chunks;
        ``batch_size`` only sets the steps the progress line shows)."""
        if steps is not None:
            raise NotInSubsetError("predict(steps=...) is not supported by approx.keras")
        if verbose not in VERBOSE or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        batch_size = 32 if batch_size is None else _check_int("batch_size", batch_size, 1)
        t0 = time.perf_counter()
        out = np.asarray(self._forward(self._inputs(x)))
        if verbose != 0:
            print(_progress_line(-(-len(out) // batch_size), time.perf_counter() - t0, {}, 1 if verbose != 2 else 2), flush=True)
        return out

    def _forward(self, x: np.ndarray, training: bool = False):
        structure = self._structure()
        params, model_state = structure.split(self._values())
        rows = _bucket(len(x))
        program = _engine.predict_program(structure, rows, bool(training))
        self._predictions += bool(training)
        keys = self._step_keys(self._path(PREDICT, self._predictions), 1, structure.random_layers)[0]
        return program(params, model_state, _pad_rows(x, rows), keys)[: len(x)]

    def __call__(self, inputs, training: bool = False):
        """The outputs as a JAX array (``training=True`` applies dropout and batch statistics)."""
        if isinstance(inputs, KerasTensor):
            raise NotInSubsetError(_FUNCTIONAL)
        return self._forward(self._inputs(inputs), training)

    def predict_on_batch(self, x) -> np.ndarray:
        return self.predict(x, verbose=0)

    # -- summary ------------------------------------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None) -> None:  # fmt: skip
        """Prints the layers, their output shapes and parameter counts in Keras's columns."""
        self._build_if_known()
        widths = (33, 24, 15)
        rows = []
        shape = self._input
        for layer in self._layers:
            kind = type(layer).__name__
            if shape is not None:
                shape = layer.compute_output_shape(shape)
            out = "?" if shape is None else str((None, *shape))
            count = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
            rows.append((f"{layer.name} ({kind})", out, count))

        def line(left, mid, right, fill):
            return left + mid.join(fill * (w + 2) for w in widths) + right

        def row(cells, sep="\u2502"):
            name, out, count = cells
            return f"{sep} {name:<{widths[0]}} {sep} {out:<{widths[1]}} {sep} {count:>{widths[2]}} {sep}"

        lines = [f'Model: "{self.name}"', line("\u250f", "\u2533", "\u2513", "\u2501"),
                 row(("Layer (type)", "Output Shape", "Param #"), "\u2503"), line("\u2521", "\u2547", "\u2529", "\u2501")]  # fmt: skip
        for i, cells in enumerate(rows):
            lines.append(row(cells))
            lines.append(line("\u251c", "\u253c", "\u2524", "\u2500") if i < len(rows) - 1 else line("\u2514", "\u2534", "\u2518", "\u2500"))
        if not rows:
            lines.append(line("\u2514", "\u2534", "\u2518", "\u2500"))
        if self.built:
            total = self.count_params()
            trained = sum(math.prod(v.shape) for v in self.trainable_weights)
            lines += [f" Total params: {total:,} ({_bytes(total)})", f" Trainable params: {trained:,} ({_bytes(trained)})",
                      f" Non-trainable params: {total - trained:,} ({_bytes(total - trained)})"]  # fmt: skip
        else:
            lines.append(" Total params: 0 (unbuilt: the input shape is set by keras.Input, the first fit, or build())")
        (print_fn or print)("\n".join(lines))

    # -- saving -------------------------------------------------------------------------------------
    def save(self, filepath, overwrite: bool = True, zipped=None) -> None:
        """Saves the layers, weights, compile settings and optimizer state as a
        ``.keras`` file (a zip of JSON and NumPy ``.npz`` arrays; never pickle)."""
        save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        """Saves the weights as a ``.weights.npz`` file (NumPy arrays in ``get_weights()`` order)."""
        if not self.built:
            raise ValueError("the model has no weights yet: build or fit it before saving its weights")
        _archive.write_weights(filepath, self.get_weights(), overwrite=overwrite)

    def load_weights(self, filepath) -> None:
        """Loads weights saved by ``save_weights`` (or the weights of a ``.keras`` file)."""
        if not self.built:
            raise ValueError("build the model (model.build(input_shape)) before loading weights into it")
        self.set_weights(_archive.read_weights(filepath))

    def get_config(self) -> dict:
        layers = []
        if self._input is not None:
            layers.append({"class_name": "InputLayer", "config": {"shape": list(self._input), "name": "input_layer"}})
        for layer in self._layers:
            layers.append({"class_name": type(layer).__name__, "config": layer.get_config()})
        return {"name": self.name, "trainable": self.trainable, "layers": layers}

    def __repr__(self) -> str:
        return f"<Sequential name={self.name}, built={self.built}>"


class _OptaxOptimizer(_optimizers.Optimizer):
    """An Optax transformation given to ``compile`` directly (its learning rate is its own)."""

    def __init__(self, transform: optax.GradientTransformation):
        self._tx = transform
        self._schedule, self._lr = "optax", None
        self.options, self.weight_decay, self.name = {}, None, "optax"
        self.clipnorm = self.clipvalue = self.global_clipnorm = None
        self._live = self._set_live = None

    @property
    def transform(self):
        return self._tx


    @property
    def learning_rate(self):
        raise ValueError("an Optax transformation passed to compile has no learning rate approx.keras can read or set")

    @learning_rate.setter
    def learning_rate(self, value):
        raise ValueError("an Optax transformation passed to compile has no learning rate approx.keras can read or set")


def _bytes(params: int) -> str:
    size = params * 4.0
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return ""


def Model(*args, **kwargs):  # noqa: N802
    """``keras.Model``: only ``Sequential`` models are supported."""
    raise NotInSubsetError(_FUNCTIONAL)


def model_from_config(config: dict, custom_objects: dict | None = None) -> Sequential:
    """A new, unbuilt ``Sequential`` from ``model.get_config()``."""
    layers = []
    for entry in config.get("layers", []):
        name, options = entry["class_name"], dict(entry["config"])
        cls = (custom_objects or {}).get(name) or _LAYER_CLASSES.get(name)
        if cls is None:
            raise ValueError(f"unknown layer class {name!r}; approx.keras knows {', '.join(sorted(_LAYER_CLASSES))}")
        if cls is Sequential:
            layers.append(model_from_config(options, custom_objects))
            continue
        if "activation" in options and isinstance(options["activation"], str):
            options["activation"] = _activation(options["activation"], custom_objects)
        layers.append(cls.from_config(options))
    return Sequential(layers, trainable=config.get("trainable", True), name=config.get("name"))


def _activation(name: str, custom_objects):
    from approx.keras import activations

    try:
        return activations.deserialize(name, custom_objects)
    except ValueError:
        raise ValueError(
            f"the saved model uses an activation {name!r} that approx.keras does not know: pass it as "
            f"load_model(..., custom_objects={{{name!r}: fn}})"
        ) from None


def clone_model(model: Sequential) -> Sequential:
    """A new model with the same layers and fresh weights (``keras.models.clone_model``)."""
    clone = model_from_config(model.get_config())
    if model.built:
        clone.build(model.input_shape)
    return clone


def save_model(model: Sequential, filepath, overwrite: bool = True, zipped=None) -> None:
    """Writes ``model`` to a ``.keras`` file: ``config.json`` (layers and
    compile settings), ``metadata.json`` and ``model.weights.npz``; written to
    a temporary file and renamed, so a failed save leaves an earlier file whole."""
    if not isinstance(model, Sequential):
        raise ValueError(f"save_model takes an approx.keras Sequential model, got {model!r}")
    model._build_if_known()
    if not model.built:
        raise ValueError("the model has no weights yet: build or fit it before saving")
    config = {"class_name": "Sequential", "config": model.get_config(), "build_input_shape": list(model.input_shape)}
    if model.compiled:
        config["compile_config"] = {
            "optimizer": _optimizers.serialize(model.optimizer) if not isinstance(model.optimizer, _OptaxOptimizer) else None,
            "loss": _losses.serialize(model.loss) if model.loss is not None else model._loss_id,
            "metrics": [_metrics.serialize(m) for m in model._metric_ids],
        }
    opt_state = None
    if model._train_state is not None and not isinstance(model.optimizer, _OptaxOptimizer):
        opt_state = [np.asarray(a) for a in jax.tree.leaves(jax.device_get(model._train_state.opt_state))]
    _archive.write_model(filepath, config, model.get_weights(), opt_state, overwrite=overwrite)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True) -> Sequential:
    """A model saved by ``model.save("m.keras")``: layers, weights and (with
    ``compile=True``) its compile settings and optimizer state."""
    config, weights, opt_state = _archive.read_model(filepath)
    model = model_from_config(config["config"], custom_objects)
    model.build(tuple(config["build_input_shape"]))
    model.set_weights(weights)
    compiled = config.get("compile_config")
    if compile and compiled and compiled.get("optimizer") is not None:
        from approx.keras import losses as losses_module

        loss = compiled["loss"]
        loss = losses_module.deserialize(loss, custom_objects) if isinstance(loss, dict) else loss
        metrics = [_metrics.deserialize(m, custom_objects) for m in compiled["metrics"]]
        model.compile(optimizer=_optimizers.get(compiled["optimizer"]), loss=loss, metrics=metrics)
        if opt_state is not None and model.loss is not None:
            structure = model._structure()
            transform = model.optimizer.transform
            state = model._state_for(structure, transform)
            leaves, treedef = jax.tree.flatten(state.opt_state)
            if len(leaves) == len(opt_state) and all(np.shape(a) == np.shape(b) for a, b in zip(leaves, opt_state)):
                restored = jax.tree.unflatten(treedef, [jnp.asarray(a, b.dtype) for a, b in zip(opt_state, leaves)])
                model._train_state = state._replace(opt_state=restored)
    return model


_LAYER_CLASSES = {name: getattr(_layers, name) for name in _layers._SUPPORTED if isinstance(getattr(_layers, name), type)}
_LAYER_CLASSES["Sequential"] = Sequential

__getattr__ = missing_name("keras.models", "names", __all__)
