"""Target functions on the unit hypercube ``[0, 1]^d`` and point samplers.

Every target is a pure ``jnp`` function of a batch ``x`` of shape ``(n, d)``
returning ``(n,)``, wrapped in a :class:`Target` that carries its metadata
(dimension, a one-line description, known constants such as a Barron norm or
the width of a teacher network). Targets are built by name with
:func:`make_target`; a user's own function becomes a target with
:func:`as_target` (or ``module:function`` on the command line).

The catalogue is chosen to show the theorems and their limits:

* ``sine``, ``nielsen``, ``bump``: smooth, Cybenko's uniform approximation applies.
* ``kink``: continuous but not differentiable.
* ``step``: discontinuous. Cybenko (1989) needs continuity: the sup error of any
  continuous approximant stays >= 1/2, while Hornik (1991) still gives
  convergence in L^p, so the L2 error falls with width.
* ``sawtooth``: the tent map composed ``k`` times, 2^k linear pieces, the classic
  example where depth beats width (Telgarsky, 2016).
* ``ridge``: a sum of ridge functions ``c_k cos(w_k . x + p_k)``, in Barron's
  class with a stated constant (Barron, 1993: mean squared error <= (2C)^2/n).
* ``teacher``: a random sigmoid network of known width ``n0``: exactly
  representable once the student's width is ``>= n0``.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import jax
import jax.numpy as jnp

__all__ = [
    "Target",
    "TARGET_NAMES",
    "make_target",
    "as_target",
    "resolve_target",
    "sample_uniform",
    "grid",
]

ArrayFn = Callable[[jax.Array], jax.Array]

# Targets whose definition draws random numbers use this fixed key, so a
# target name and dimension always mean the same function.
_TARGET_SEED = 20260101


@dataclass(frozen=True)
class Target:
    """A function on ``[0, 1]^d`` with its metadata.

    Attributes:
      name: registry name (or ``module:function`` for user targets).
      dim: input dimension ``d``.
      fn: pure function, ``(n, d) -> (n,)``.
      description: one line for tables and figure titles.
      constants: known facts, e.g. ``{"barron_constant": C}`` or
        ``{"teacher_width": n0}``; ``continuous`` is always present.
    """

    name: str
    dim: int
    fn: ArrayFn = field(repr=False)
    description: str = ""
    constants: Mapping[str, float] = field(default_factory=dict)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(
                f"target {self.name!r} takes points of shape (n, {self.dim}), got {x.shape}"
            )
        return self.fn(x)


def _sine_1d(t):
    return jnp.sin(2 * jnp.pi * t) + 0.5 * jnp.sin(6 * jnp.pi * t)


def _sine(dim: int) -> Target:
    # Sum over coordinates scaled by 1/sqrt(d) keeps the variance (0.625) fixed in d.
    scale = 1.0 / math.sqrt(dim)
    return Target(
        "sine",
        dim,
        lambda x: scale * jnp.sum(_sine_1d(x), axis=-1),
        "sin(2 pi x) + 0.5 sin(6 pi x)" if dim == 1 else "sum_i sin(2 pi x_i) + 0.5 sin(6 pi x_i), / sqrt(d)",
        {"continuous": 1.0},
    )


def _nielsen(dim: int) -> Target:
    def fn(x):
        t = jnp.mean(x, axis=-1)
        return 0.2 + 0.4 * t**2 + 0.3 * t * jnp.sin(15 * t) + 0.05 * jnp.cos(50 * t)

    return Target(
        "nielsen",
        dim,
        fn,
        "0.2 + 0.4 x^2 + 0.3 x sin(15x) + 0.05 cos(50x)" + ("" if dim == 1 else " of mean(x)"),
        {"continuous": 1.0},
    )


def _kink(dim: int) -> Target:
    def fn(x):
        return jnp.sqrt(jnp.sum((x - 0.5) ** 2, axis=-1) / dim)

    return Target("kink", dim, fn, "|x - 1/2|" if dim == 1 else "||x - 1/2|| / sqrt(d)", {"continuous": 1.0})


def _step(dim: int) -> Target:
    def fn(x):
        return (jnp.mean(x, axis=-1) >= 0.5).astype(x.dtype)

    return Target(
        "step",
        dim,
        fn,
        "1[x >= 1/2]" if dim == 1 else "1[mean(x) >= 1/2]",
        # Any continuous g has sup|f - g| >= 1/2 across the jump.
        {"continuous": 0.0, "sup_error_lower_bound": 0.5},
    )


def _bump(dim: int, width: float = 0.15) -> Target:
    def fn(x):
        return jnp.exp(-jnp.sum((x - 0.5) ** 2, axis=-1) / (2 * width**2))

    return Target("bump", dim, fn, f"exp(-||x - 1/2||^2 / (2 * {width}^2))", {"continuous": 1.0})


def _sawtooth(dim: int, k: int = 3) -> Target:
    def fn(x):
        t = jnp.mean(x, axis=-1)
        for _ in range(k):
            t = 1.0 - jnp.abs(2.0 * t - 1.0)
        return t

    return Target(
        "sawtooth",
        dim,
        fn,
        f"tent map composed {k} times ({2**k} linear pieces)",
        {"continuous": 1.0, "compositions": float(k), "linear_pieces": float(2**k)},
    )


def _ridge(dim: int, terms: int = 3) -> Target:
    key = jax.random.key(_TARGET_SEED)
    k_dir, k_freq, k_phase, k_coef = jax.random.split(key, 4)
    directions = jax.random.normal(k_dir, (terms, dim))
    directions = directions / jnp.linalg.norm(directions, axis=1, keepdims=True)
    freqs = 2 * jnp.pi * jnp.linspace(1.0, 2.0, terms)
    omegas = directions * freqs[:, None]  # (terms, d), |omega_k| = 2 pi f_k
    phases = jax.random.uniform(k_phase, (terms,), maxval=2 * jnp.pi)
    coefs = jnp.linspace(1.0, 0.5, terms) / terms
    # Barron (1993): C = int sup_{x in B} |omega . (x - x0)| |F(d omega)|. For a finite
    # sum of cosines centred at x0 = (1/2, ..., 1/2), sup over the cube of
    # |omega . (x - x0)| is ||omega||_1 / 2, so C = sum_k |c_k| ||omega_k||_1 / 2 and
    # a network of n sigmoid units reaches mean squared error <= (2C)^2 / n.
    barron = float(jnp.sum(jnp.abs(coefs) * jnp.sum(jnp.abs(omegas), axis=1)) / 2)

    def fn(x):
        return jnp.cos((x - 0.5) @ omegas.T.astype(x.dtype) + phases.astype(x.dtype)[None, :]) @ coefs.astype(x.dtype)

    return Target(
        "ridge",
        dim,
        fn,
        f"sum of {terms} ridge functions c_k cos(w_k . x + p_k) (Barron class)",
        {"continuous": 1.0, "barron_constant": barron, "barron_bound_factor": 4 * barron**2},
    )


def _teacher(dim: int, n0: int = 4) -> Target:
    key = jax.random.key(_TARGET_SEED + 1)
    k_dir, k_slope, k_centre, k_out = jax.random.split(key, 4)
    directions = jax.random.normal(k_dir, (n0, dim))
    directions = directions / jnp.linalg.norm(directions, axis=1, keepdims=True)
    slopes = jax.random.uniform(k_slope, (n0,), minval=4.0, maxval=12.0)
    w = directions * slopes[:, None]
    centres = jax.random.uniform(k_centre, (n0, dim), minval=0.2, maxval=0.8)
    b = -jnp.sum(w * centres, axis=1)
    a = jax.random.normal(k_out, (n0,))

    def fn(x):
        dt = x.dtype
        return jax.nn.sigmoid(x @ w.T.astype(dt) + b.astype(dt)[None, :]) @ a.astype(dt)

    return Target(
        "teacher",
        dim,
        fn,
        f"random sigmoid network of width {n0}",
        {"continuous": 1.0, "teacher_width": float(n0)},
    )


_REGISTRY: dict[str, Callable[..., Target]] = {
    "sine": _sine,
    "nielsen": _nielsen,
    "kink": _kink,
    "step": _step,
    "bump": _bump,
    "sawtooth": _sawtooth,
    "ridge": _ridge,
    "teacher": _teacher,
}
TARGET_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def make_target(name: str, dim: int = 1, **options) -> Target:
    """Builds the target called ``name`` on ``[0, 1]^dim``.

    Options are passed to the target's builder (``k`` for ``sawtooth``,
    ``n0`` for ``teacher``, ``terms`` for ``ridge``, ``width`` for ``bump``).
    """
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
    if name not in _REGISTRY:
        raise ValueError(f"unknown target {name!r}; valid targets: {', '.join(TARGET_NAMES)}, or module:function")
    try:
        return _REGISTRY[name](dim, **options)
    except TypeError as e:
        raise ValueError(f"bad options for target {name!r}: {options}") from e


def as_target(fn: ArrayFn, dim: int = 1, name: str | None = None, description: str = "") -> Target:
    """Wraps a user function ``(n, d) -> (n,)`` (or ``(n, d) -> (n, 1)``) as a target."""
    if not callable(fn):
        raise ValueError(f"a target must be callable, got {fn!r}")
    label = name or getattr(fn, "__name__", "custom")

    def wrapped(x):
        y = jnp.asarray(fn(x))
        if y.shape == (x.shape[0], 1):
            y = y[:, 0]
        if y.shape != (x.shape[0],):
            raise ValueError(f"target {label!r} must return shape ({x.shape[0]},), got {y.shape}")
        return y.astype(x.dtype)

    return Target(label, dim, wrapped, description or f"user function {label}", {"continuous": float("nan")})


def resolve_target(spec: str | Callable | Target, dim: int = 1) -> Target:
    """A target from a registry name, ``module:function``, a callable or a Target."""
    if isinstance(spec, Target):
        return spec
    if callable(spec):
        return as_target(spec, dim)
    if isinstance(spec, str) and ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
            fn = getattr(module, attr)
        except (ImportError, AttributeError) as e:
            raise ValueError(f"cannot load target {spec!r}: {e}") from None
        return as_target(fn, dim, name=spec)
    return make_target(spec, dim)


def sample_uniform(key: jax.Array, n: int, dim: int, dtype=jnp.float32) -> jax.Array:
    """``n`` points drawn uniformly from ``[0, 1]^dim``; shape ``(n, dim)``."""
    return jax.random.uniform(key, (n, dim), dtype=dtype)


def grid(points_per_axis: int, dim: int, *, midpoints: bool = False, dtype=jnp.float32) -> jax.Array:
    """A regular grid on ``[0, 1]^dim`` with ``points_per_axis**dim`` points.

    With ``midpoints=True`` the points are cell centres ``(i + 1/2) / m`` (the
    midpoint rule, an unbiased quadrature for the uniform measure); otherwise
    the grid includes both ends, ``i / (m - 1)``, as a sup-norm grid should.
    """
    m = points_per_axis
    if midpoints:
        axis = (jnp.arange(m, dtype=dtype) + 0.5) / m
    else:
        axis = jnp.linspace(0.0, 1.0, m, dtype=dtype)
    mesh = jnp.meshgrid(*([axis] * dim), indexing="ij")
    return jnp.stack([g.reshape(-1) for g in mesh], axis=1)
