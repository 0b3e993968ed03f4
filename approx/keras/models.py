"""``keras.models``: ``Sequential``, and saving and loading models.

``Sequential`` keeps Keras's four steps (create, add layers, ``compile``,
``fit``) and its methods (``evaluate``, ``predict``, ``summary``,
``get_weights``/``set_weights``, ``save``, ...). This module builds the
model (layers, shapes, weights, summary, saving); ``compile``, ``fit``,
``evaluate`` and ``predict`` come from :class:`approx.keras._trainer.Trainer`.
Underneath, every epoch of ``fit`` is one compiled program (a ``lax.scan``
over the shuffled minibatches with the data kept on the device; see
:mod:`approx.keras._engine`), callbacks and metrics run on the host between
epochs, and models of the same structure share compiled programs.

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
from collections.abc import Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from approx.keras import _archive, _engine
from approx.keras import activations as _activations
from approx.keras import layers as _layers
from approx.keras import losses as _losses
from approx.keras import metrics as _metrics
from approx.keras import optimizers as _optimizers
from approx.keras._data import _check_int
from approx.keras._progress import format_param_size
from approx.keras._random import INIT, key_data, next_stream
from approx.keras._subset import NotInSubsetError, missing_name, unique_name
from approx.keras._trainer import OptaxOptimizer, Trainer
from approx.keras._weights import draw_weights
from approx.keras.layers import _FUNCTIONAL, InputLayer, KerasTensor, Layer

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_config", "save_model"]

class Sequential(Trainer, Layer):
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
        self._seen = -1  # ASSIGNMENTS when the train state last matched the weights
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
            lines += [f" Total params: {total:,} ({format_param_size(total)})", f" Trainable params: {trained:,} ({format_param_size(trained)})",
                      f" Non-trainable params: {total - trained:,} ({format_param_size(total - trained)})"]  # fmt: skip
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
    try:
        return _activations.deserialize(name, custom_objects)
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
            "optimizer": _optimizers.serialize(model.optimizer) if not isinstance(model.optimizer, OptaxOptimizer) else None,
            "loss": _losses.serialize(model.loss) if model.loss is not None else model._loss_id,
            "metrics": [_metrics.serialize(m) for m in model._metric_ids],
        }
    opt_state = None
    if model._train_state is not None and not isinstance(model.optimizer, OptaxOptimizer):
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
        loss = compiled["loss"]
        loss = _losses.deserialize(loss, custom_objects) if isinstance(loss, dict) else loss
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
