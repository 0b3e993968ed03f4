"""``keras.layers``: the layers of a first course on dense networks.

``Input``/``InputLayer``, ``Dense``, ``Flatten``, ``Reshape``, ``Dropout``,
``Activation``, ``Softmax``, ``ReLU``, ``LeakyReLU``, ``Rescaling`` and
``BatchNormalization``, with Keras 3's arguments, defaults and weight order.

A layer is a host object holding its weights (:class:`Variable`, JAX arrays;
:mod:`approx.keras._weights`) and a small frozen *op*, the pure function the
compiled training and prediction programs call (:mod:`approx.keras._ops`).
Its randomness is named on the host (:mod:`approx.keras._random`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from approx.constraints import Interval
from approx.keras import activations as _activations
from approx.keras import initializers as _initializers
from approx.keras import regularizers as _regularizers
from approx.keras._ops import (
    ActivationOp,
    BatchNormOp,
    DenseOp,
    DropoutOp,
    FlattenOp,
    MapOp,
    Op,
    ReluOp,
    RescalingOp,
    ReshapeOp,
)  # fmt: skip
from approx.keras._random import INIT, PREDICT, key_data, make_key, next_stream
from approx.keras._subset import NotInSubsetError, missing_name, snake_case, unique_name
from approx.keras._weights import FLOATX, Variable, draw_weights

__all__ = [
    "Activation", "BatchNormalization", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "KerasTensor",
    "Layer", "LeakyReLU", "ReLU", "Rescaling", "Reshape", "Softmax", "Variable",
]  # fmt: skip

def _shape_tuple(shape, what: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        shape = tuple(shape)
    except TypeError:
        raise ValueError(f"{what} must be a tuple of positive integers, got {shape!r}") from None
    if not shape or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in shape):
        raise ValueError(f"{what} must be a tuple of positive integers (without the batch axis), got {shape!r}")
    return tuple(int(d) for d in shape)


# -- the symbolic input ------------------------------------------------------------------------
class KerasTensor:
    """What ``keras.Input(shape=...)`` returns: a declared input shape.

    approx.keras builds ``Sequential`` models only: an ``Input`` goes first
    in the list of layers; calling a layer on it (the functional API) is not
    supported.
    """

    def __init__(self, shape: tuple, name: str | None = None):
        self.shape = (None, *shape)
        self.name = name or unique_name("input_layer")

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, name={self.name}>"


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None, optional=False):  # noqa: N802
    """``keras.Input``: the input's shape without the batch axis, e.g. ``Input(shape=(28, 28))``."""
    if batch_shape is not None:
        shape = tuple(batch_shape)[1:]
    if shape is None:
        raise ValueError("Input needs a shape, e.g. keras.Input(shape=(784,))")
    return KerasTensor(_shape_tuple(shape, "Input shape"), name)


_FUNCTIONAL = (
    "approx.keras builds keras.Sequential models only; the functional API (calling a layer on keras.Input, "
    "keras.Model(inputs, outputs)) is not supported: write keras.Sequential([keras.Input(shape=...), layer, ...])"
)


# -- the base class --------------------------------------------------------------------------
class Layer:
    """Base class of the layers: a name, weights in creation order, an op.

    Keyword arguments every layer takes: ``name``, ``trainable``
    (``False`` freezes the weights), ``dtype`` (float32 only), and on a
    first layer the input's shape as ``input_shape=(d,)`` or
    ``input_dim=d`` (older Keras code).
    """

    def __init__(self, *, name: str | None = None, trainable: bool = True, dtype=None, input_shape=None,
                 input_dim=None, batch_input_shape=None, batch_size=None, autocast=True, **kwargs):  # fmt: skip
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s) {', '.join(sorted(kwargs))}"
            )
        if name is not None and not isinstance(name, str):
            raise ValueError(f"a layer's name must be a string, got {name!r}")
        if dtype not in (None, "float32", jnp.float32, np.float32):
            raise ValueError(f"approx.keras layers compute in float32; dtype={dtype!r} is not supported")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self._variables: list[Variable] = []
        self.built = False
        self._input_shape: tuple | None = None
        declared = None
        if batch_input_shape is not None:
            declared = _shape_tuple(tuple(batch_input_shape)[1:], "batch_input_shape")
        if input_shape is not None:
            declared = _shape_tuple(input_shape, "input_shape")
        if input_dim is not None:
            declared = _shape_tuple(input_dim, "input_dim")
        self._declared_input_shape = declared

    # -- weights -----------------------------------------------------------------------------
    def add_weight(self, shape, initializer="glorot_uniform", name: str | None = None, trainable: bool = True,
                   regularizer=None, dtype=None, **kwargs) -> Variable:  # fmt: skip
        variable = Variable(self, name or f"variable_{len(self._variables)}", tuple(shape),
                            _initializers.get(initializer), trainable, _regularizers.get(regularizer))  # fmt: skip
        self._variables.append(variable)
        return variable

    @property
    def weights(self) -> list[Variable]:
        return list(self._variables)

    variables = weights

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for v in self._variables if v.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [v for v in self._variables if not v.trainable]

    def get_weights(self) -> list[np.ndarray]:
        return [v.numpy() for v in self._variables]

    def set_weights(self, weights: Sequence) -> None:
        if len(weights) != len(self._variables):
            raise ValueError(f"layer {self.name!r} has {len(self._variables)} weights; {len(weights)} were given")
        for variable, value in zip(self._variables, weights):
            variable.assign(value)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"layer {self.name!r} is not built yet: its size depends on its input")
        return sum(math.prod(v.shape) for v in self._variables)

    # -- building ----------------------------------------------------------------------------
    def declare(self, input_shape: tuple) -> None:
        """Creates the weights (without values) for inputs of ``input_shape`` (no batch axis)."""
        if self.built:
            if tuple(input_shape) != self._input_shape:
                raise ValueError(
                    f"layer {self.name!r} was built for inputs of shape {self._input_shape} and now receives "
                    f"{tuple(input_shape)}"
                )
            return
        self._input_shape = tuple(input_shape)
        self.build((None, *input_shape))
        self.built = True

    def build(self, input_shape) -> None:
        """Declares the weights; ``input_shape`` includes the batch axis (``None``)."""

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def op(self) -> Op:
        raise NotImplementedError

    # -- calling -----------------------------------------------------------------------------
    def __call__(self, inputs, training: bool = False):
        if isinstance(inputs, KerasTensor):
            raise NotInSubsetError(_FUNCTIONAL)
        x = jnp.asarray(inputs, FLOATX)
        if not self.built:
            self.declare(tuple(x.shape[1:]))
            draw_weights([self], key_data(*next_stream(), INIT))
        key = make_key(key_data(*next_stream(), PREDICT)) if training else None
        y, _ = self.op()(tuple(v.value for v in self._variables), x, training, key, jnp.ones(x.shape[:1], x.dtype))
        return y

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


# -- the layers --------------------------------------------------------------------------------
class InputLayer(Layer):
    """The input's shape as a layer (Keras 3's ``InputLayer(shape=...)``); computes nothing."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, input_tensor=None,
                 optional=False, name=None, **kwargs):  # fmt: skip
        if shape is None and "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if batch_shape is not None:
            shape = tuple(batch_shape)[1:]
        if input_tensor is not None:
            shape = input_tensor.shape[1:]
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. InputLayer(shape=(784,))")
        super().__init__(name=name or unique_name("input_layer"), dtype=dtype, **kwargs)
        self.shape = _shape_tuple(shape, "InputLayer shape")
        self._declared_input_shape = self.shape

    def get_config(self) -> dict:
        return {"name": self.name, "shape": self.shape}


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis of the inputs.

    Args:
      units: the output size (an integer >= 1).
      activation: a name (``'sigmoid'``, ``'relu'``, ``'softmax'``, ...; see
        ``keras.activations``), a callable, or ``None`` (linear).
      use_bias: add a bias vector.
      kernel_initializer, bias_initializer: names or initializers (defaults
        ``'glorot_uniform'`` and ``'zeros'``, as Keras).
      kernel_regularizer, bias_regularizer: penalties added to the loss.

    Weights: ``kernel`` ``(fan_in, units)`` then ``bias`` ``(units,)``.
    """

    def __init__(self, units: int, activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, **kwargs):  # fmt: skip
        Interval(numbers.Integral, 1).check("Dense units", units)
        for option, value in (("activity_regularizer", activity_regularizer), ("kernel_constraint", kernel_constraint),
                              ("bias_constraint", bias_constraint), ("lora_rank", lora_rank)):  # fmt: skip
            if value is not None:
                raise NotInSubsetError(f"Dense({option}=...) is not supported by approx.keras")
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)

    def build(self, input_shape):
        fan_in = input_shape[-1]
        self.kernel = self.add_weight((fan_in, self.units), self.kernel_initializer, "kernel", regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight((self.units,), self.bias_initializer, "bias", regularizer=self.bias_regularizer)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def op(self) -> Op:
        return DenseOp(self.activation, self.use_bias)

    def get_config(self) -> dict:
        return {
            **super().get_config(), "units": self.units, "activation": _activations.serialize(self.activation),
            "use_bias": self.use_bias, "kernel_initializer": _initializers.serialize(self.kernel_initializer),
            "bias_initializer": _initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
        }  # fmt: skip


class Flatten(Layer):
    """Flattens each example to a vector: ``(batch, 28, 28)`` -> ``(batch, 784)``."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def op(self) -> Op:
        return FlattenOp()


class Reshape(Layer):
    """Reshapes each example to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in target) > 1 or any(d == 0 or d < -1 for d in target):
            raise ValueError(f"Reshape target_shape must be positive integers with at most one -1, got {target_shape!r}")
        self.target_shape = target

    def compute_output_shape(self, input_shape):
        total, known = math.prod(input_shape), math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if total % known:
                raise ValueError(f"cannot reshape inputs of shape {tuple(input_shape)} to {self.target_shape}")
            return tuple(total // known if d == -1 else d for d in self.target_shape)
        if total != known:
            raise ValueError(f"cannot reshape inputs of shape {tuple(input_shape)} to {self.target_shape}")
        return self.target_shape

    def declare(self, input_shape):
        self._output_shape = self.compute_output_shape(input_shape)
        super().declare(input_shape)

    def op(self) -> Op:
        return ReshapeOp(self._output_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": self.target_shape}


class Dropout(Layer):
    """Inverted dropout: in training, each input is zeroed with probability
    ``rate`` and the others divided by ``1 - rate``; at inference the
    identity. The masks come from the training step's key (explicit,
    reproducible)."""

    def __init__(self, rate: float, noise_shape=None, seed=None, **kwargs):
        Interval(float, 0, 1, closed="left").check("Dropout rate", rate)
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed

    def op(self) -> Op:
        return DropoutOp(self.rate, self.noise_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}


class Activation(Layer):
    """Applies an activation by name or callable (``Activation('softmax')``)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _activations.get(activation)

    def op(self) -> Op:
        return ActivationOp(self.activation)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": _activations.serialize(self.activation)}


class Softmax(Layer):
    """``exp(x) / sum(exp(x))`` over ``axis`` (the last by default)."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def op(self) -> Op:
        if self.axis == -1:
            return ActivationOp(_activations.softmax)
        return MapOp(lambda x, axis=self.axis: jax.nn.softmax(x, axis=axis))

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class ReLU(Layer):
    """``max(x, 0)``, with Keras's ``max_value``, ``negative_slope`` and ``threshold``."""

    def __init__(self, max_value=None, negative_slope: float = 0.0, threshold: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value, self.negative_slope, self.threshold = max_value, float(negative_slope), float(threshold)

    def op(self) -> Op:
        return ReluOp(self.max_value, self.negative_slope, self.threshold)

    def get_config(self) -> dict:
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}  # fmt: skip


class LeakyReLU(ReLU):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below (Keras's default slope 0.3)."""

    def __init__(self, negative_slope: float = 0.3, **kwargs):
        super().__init__(negative_slope=negative_slope, **kwargs)

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable, "negative_slope": self.negative_slope}


class Rescaling(Layer):
    """``x * scale + offset`` (e.g. ``Rescaling(1 / 255)`` for pixels)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = tuple(np.ravel(scale).tolist()) if np.ndim(scale) else float(scale)
        self.offset = tuple(np.ravel(offset).tolist()) if np.ndim(offset) else float(offset)

    def op(self) -> Op:
        return RescalingOp(self.scale, self.offset)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class BatchNormalization(Layer):
    """Batch normalisation (Ioffe and Szegedy, 2015) over ``axis`` (the features).

    In training, each batch is normalised with its own mean and (biased)
    variance, and the moving statistics follow them:
    ``moving = moving * momentum + batch * (1 - momentum)``; at inference (and
    when the layer is frozen, as in Keras 3) the moving statistics are used.
    Weights: ``gamma``, ``beta`` (trained), ``moving_mean``,
    ``moving_variance`` (not trained), in Keras's order.
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon!r}")
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.initializers = tuple(_initializers.get(i) for i in (gamma_initializer, beta_initializer,
                                                                  moving_mean_initializer, moving_variance_initializer))  # fmt: skip
        self.regularizers = (_regularizers.get(gamma_regularizer), _regularizers.get(beta_regularizer))

    def build(self, input_shape):
        dim = (input_shape[self.axis],)
        if self.scale:
            self.gamma = self.add_weight(dim, self.initializers[0], "gamma", regularizer=self.regularizers[0])
        if self.center:
            self.beta = self.add_weight(dim, self.initializers[1], "beta", regularizer=self.regularizers[1])
        self.moving_mean = self.add_weight(dim, self.initializers[2], "moving_mean", trainable=False)
        self.moving_variance = self.add_weight(dim, self.initializers[3], "moving_variance", trainable=False)

    def op(self) -> Op:
        return BatchNormOp(self.axis, self.momentum, self.epsilon, self.center, self.scale, not self.trainable)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}  # fmt: skip


_SUPPORTED = [n for n in __all__ if n not in ("KerasTensor", "Variable")]
__getattr__ = missing_name("keras.layers", "layers", _SUPPORTED)
