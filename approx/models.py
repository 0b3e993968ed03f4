"""Multilayer perceptrons: Cybenko's ``G(x)`` and its deep relatives, in Flax NNX.

One hidden layer of width ``n`` is exactly the finite sum of Cybenko (1989),

    G(x) = sum_{j=1}^{n} a_j * sigma(w_j . x + b_j) + c,

with ``(d + 1) n + n + 1`` parameters. ``MLP`` takes any list of hidden widths
(deep networks) and an activation by name or as a callable.

Initialisation ("spread", the default) places each first-layer unit's
transition ``w_j . x + b_j = 0`` through a random point ``c_j`` of the cube,
facing a random direction, with a slope that grows like ``n^(1/d)``: the
steps of Cybenko's constructive proof, spread over the domain at the
resolution the width can afford. ``"default"`` is the framework's LeCun
normal kernels and zero biases, kept to show the contrast: with it the
optimiser, not the width, limits the error.

Every random number is drawn from a key folded with the unit's index (and
the input's index), so unit ``j`` is the same whatever the layer's width. A
network padded to a wider layer with masked units therefore starts, trains
and ends exactly like the unpadded one; that is what lets a sweep compile a
whole bucket of widths as one program.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = [
    "ACTIVATIONS",
    "INIT_COMPILER_OPTIONS",
    "INIT_SCHEMES",
    "MLP",
    "Affine",
    "affine",
    "count_params",
    "get_activation",
    "activation_name",
    "cosine_squasher",
    "sigmoid",
]


# Compiler options for programs that only draw initial parameters: they run
# once and briefly, but their random number generation takes long to
# optimise. Without LLVM's optimisations the sweep's initialisation compiles
# about three times faster, for a run that stays negligible.
INIT_COMPILER_OPTIONS = {"xla_backend_optimization_level": 0}


def sigmoid(z):
    """The logistic function, as ``0.5 * tanh(z / 2) + 0.5``.

    Identical in exact arithmetic to ``1 / (1 + exp(-z))``; XLA on CPU evaluates
    the tanh form faster than ``jax.nn.sigmoid`` and it never overflows.
    """
    return 0.5 * jnp.tanh(0.5 * z) + 0.5


def cosine_squasher(z):
    """Gallant and White's (1988) cosine squasher, the bounded activation of
    Hornik, Stinchcombe and White (1989): 0 below -pi/2, 1 above pi/2, and
    ``(1 + sin z) / 2`` in between."""
    return 0.5 * (1.0 + jnp.sin(jnp.clip(z, -jnp.pi / 2, jnp.pi / 2)))


def _softmax(z):
    return jax.nn.softmax(z, axis=-1)


ACTIVATIONS: dict[str, Callable] = {
    "sigmoid": sigmoid,
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,
    "sin": jnp.sin,
    "cos_squasher": cosine_squasher,
    "softplus": jax.nn.softplus,
    "elu": jax.nn.elu,
    "linear": lambda z: z,
    "softmax": _softmax,
}
# Bounded, non-constant activations: the hypothesis of Hornik (1991).
BOUNDED_ACTIVATIONS = ("sigmoid", "tanh", "cos_squasher", "sin")
INIT_SCHEMES = ("spread", "default")


def get_activation(activation: str | Callable | None) -> Callable:
    """The activation function for a name (``None`` means linear) or a callable."""
    if activation is None:
        return ACTIVATIONS["linear"]
    if callable(activation):
        return activation
    if isinstance(activation, str) and activation.lower() in ACTIVATIONS:
        return ACTIVATIONS[activation.lower()]
    raise ValueError(
        f"unknown activation {activation!r}; valid activations: {', '.join(ACTIVATIONS)}, or a callable"
    )


def activation_name(activation: str | Callable | None) -> str:
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return activation.lower()
    return getattr(activation, "__name__", "custom")


def count_params(in_dim: int, hidden: Sequence[int], out_dim: int = 1) -> int:
    """Number of weights and biases: ``sum (fan_in + 1) * fan_out`` over layers."""
    sizes = [in_dim, *hidden, out_dim]
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))


def _unit_keys(key: jax.Array, count: int) -> jax.Array:
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, jnp.arange(count))


def _rows(key: jax.Array, fan_out: int, draw) -> jax.Array:
    """``draw(key_j)`` for each output unit ``j`` with ``key_j = fold_in(key, j)``,
    stacked to ``(fan_out, ...)``.

    With JAX's partitionable threefry (the default), element ``i`` of a 1-D
    draw depends only on the key and ``i``, so a longer row (a padded fan-in)
    starts with the same values: unit ``j`` of a padded layer has exactly the
    weights of unit ``j`` of the unpadded one. One random call site per
    layer keeps compilation short.
    """
    return jax.vmap(draw)(_unit_keys(key, fan_out))


# Standard deviation of a standard normal truncated to [-2, 2]; dividing by it
# gives unit variance, as flax's variance_scaling(..., "truncated_normal") does.
_TRUNC_STD = 0.87962566103423978


def _lecun_normal(key, fan_in, fan_out, dtype, active_fan_in=None):
    """LeCun normal (variance ``1 / fan_in``, truncated at 2 sigma), Flax's
    default kernel init, as a ``(fan_in, fan_out)`` kernel.

    ``active_fan_in`` is the true fan-in of a padded layer, so that a padded
    network's live weights equal the unpadded network's."""
    scale = jnp.sqrt(jnp.asarray(fan_in if active_fan_in is None else active_fan_in, dtype))
    rows = _rows(key, fan_out, lambda k: jax.random.truncated_normal(k, -2.0, 2.0, (fan_in,), dtype))
    return rows.T / (_TRUNC_STD * scale)


def _spread_first_layer(key, in_dim, width, active_width, dtype, slope_scale):
    """Kernel ``(in_dim, width)`` and bias ``(width,)`` whose unit ``j`` has its
    transition hyperplane through a random point ``c_j`` of the cube, normal to
    a random direction ``u_j``, with slope ``|w_j| ~ slope_scale * n^(1/d)``.

    In one dimension the transitions sit at uniform random points with
    spacing about ``1/n``, and each sigmoid rises over a few spacings: the
    steps of Cybenko's construction at the resolution ``n`` units afford.
    """
    n = jnp.maximum(jnp.asarray(active_width, dtype), 1.0)
    # Per unit: d uniforms for the centre, one for the slope, d for the direction.
    v = _rows(key, width, lambda k: jax.random.uniform(k, (2 * in_dim + 1,), dtype, 1e-6, 1.0 - 1e-6))
    c = v[:, :in_dim]
    u = jax.scipy.special.ndtri(v[:, in_dim + 1 :])  # standard normal: a uniform direction once normalised
    u = u / jnp.maximum(jnp.linalg.norm(u, axis=1, keepdims=True), 1e-12)
    # Log-uniform slopes over a factor 4 mix sharp and gentle steps.
    s = slope_scale * n ** (1.0 / in_dim) * jnp.exp(1.4 * v[:, in_dim] - 0.7)
    w = s[:, None] * u
    return w.T, -jnp.sum(w * c, axis=1)


# Up to this many inputs, an affine map is computed as a sum of broadcast
# products rather than a matrix product: XLA on CPU runs a batched (vmapped)
# dot with a contraction of size 1 several times slower than the fused
# elementwise form.
SMALL_FAN_IN = 8


def affine(x: jax.Array, kernel: jax.Array, bias: jax.Array | None = None) -> jax.Array:
    """``x @ kernel + bias`` over the last axis of ``x`` (``(..., fan_in)``), with
    ``kernel`` ``(fan_in, fan_out)`` and ``bias`` ``(fan_out,)`` or ``None``.

    Up to :data:`SMALL_FAN_IN` inputs the product is a sum of broadcast
    products, which XLA on CPU runs several times faster than a dot with a
    tiny contraction."""
    fan_in = kernel.shape[0]
    lead = (1,) * (x.ndim - 1)
    if fan_in <= SMALL_FAN_IN:
        z = x[..., 0:1] * kernel[0].reshape(lead + (-1,))
        for i in range(1, fan_in):
            z = z + x[..., i : i + 1] * kernel[i].reshape(lead + (-1,))
    else:
        z = x @ kernel
    return z if bias is None else z + bias.reshape(lead + (-1,))


class Affine(nnx.Module):
    """``x @ kernel + bias`` with ``kernel`` ``(fan_in, fan_out)``, ``bias`` ``(fan_out,)`` (see :func:`affine`)."""

    def __init__(self, kernel: jax.Array, bias: jax.Array):
        self.kernel = nnx.Param(kernel)
        self.bias = nnx.Param(bias)

    def __call__(self, x: jax.Array) -> jax.Array:
        return affine(x, self.kernel[...], self.bias[...])


class MLP(nnx.Module):
    """A fully connected network with a linear output layer.

    Args:
      in_dim: input dimension ``d``.
      hidden: hidden widths, e.g. ``[64]`` (Cybenko's one hidden layer) or
        ``[32, 32]``.
      out_dim: output dimension (1 for regression).
      activation: hidden activation, a name in ``ACTIVATIONS`` or a callable.
      init: ``"spread"`` (default) or ``"default"`` (LeCun normal, zero bias).
      active_widths: the true widths when ``hidden`` is padded; only used by
        the ``spread`` scheme, whose slopes depend on the width.
      slope_scale: slope of the spread initialisation at ``n = 1``.
      readout: ``"lecun"`` (LeCun normal output kernel) or ``"zeros"`` (for a
        readout that a least-squares fit replaces before training: drawing it
        would only cost compile time, a few tenths of a second on CPU).
      key: a ``jax.random`` key (keyword only).

    Call with ``x`` of shape ``(batch, in_dim)``; returns ``(batch, out_dim)``.
    ``masks`` (one 0/1 vector per hidden layer) switches padded units off:
    they output exactly zero and receive zero gradient.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int = 1,
        *,
        activation: str | Callable = "sigmoid",
        init: str = "spread",
        active_widths: Sequence | None = None,
        slope_scale: float = 4.0,
        readout: str = "lecun",
        key: jax.Array,
        dtype=jnp.float32,
    ):
        if init not in INIT_SCHEMES:
            raise ValueError(f"unknown init {init!r}; valid: {', '.join(INIT_SCHEMES)}")
        if readout not in ("lecun", "zeros"):
            raise ValueError(f"unknown readout {readout!r}; valid: lecun, zeros")
        hidden = tuple(int(h) for h in hidden)
        if any(h < 1 for h in hidden):
            raise ValueError(f"hidden widths must be >= 1, got {hidden}")
        self.activation = activation
        self.hidden = hidden
        self._act = get_activation(activation)
        sizes = [in_dim, *hidden, out_dim]
        actives = list(active_widths) if active_widths is not None else list(hidden)
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layer_key = jax.random.fold_in(key, i)
            if init == "spread" and i == 0 and hidden:
                kernel, bias = _spread_first_layer(layer_key, fan_in, fan_out, actives[0], dtype, slope_scale)
            elif readout == "zeros" and i == len(sizes) - 2:
                kernel, bias = jnp.zeros((fan_in, fan_out), dtype), jnp.zeros((fan_out,), dtype)
            else:
                active_in = fan_in if i == 0 else actives[i - 1]
                kernel = _lecun_normal(layer_key, fan_in, fan_out, dtype, active_in)
                bias = jnp.zeros((fan_out,), dtype)
            layers.append(Affine(kernel.astype(dtype), bias.astype(dtype)))
        self.layers = nnx.List(layers)

    def features(self, x: jax.Array, masks: Sequence[jax.Array] | None = None) -> jax.Array:
        """The last hidden layer's outputs, ``(batch, hidden[-1])``."""
        for i, layer in enumerate(self.layers[:-1]):
            x = self._act(layer(x))
            if masks is not None:
                x = x * masks[i][None, :]
        return x

    def __call__(self, x: jax.Array, masks: Sequence[jax.Array] | None = None) -> jax.Array:
        return self.layers[-1](self.features(x, masks))
