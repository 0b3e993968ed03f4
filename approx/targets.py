"""Target functions on the unit hypercube ``[0, 1]^d`` and point samplers.

Every target is a pure ``jnp`` function of a batch ``x`` of shape ``(n, d)``
returning ``(n,)``, wrapped in a :class:`Target` that carries its metadata
(dimension, a one-line description, known constants such as a Barron norm or
the width of a teacher network). Targets are built by name with
:func:`make_target`; a user's own function becomes a target with
:func:`as_target` (or ``module:function`` on the command line), which checks
it on a few points first and runs a function JAX cannot trace (NumPy, SciPy,
Python branches on values) on the host through :func:`jax.pure_callback`.

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

import contextlib
import importlib
import logging
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from approx.backend import on_init_device
from approx.config import ConfigError

__all__ = [
    "Target",
    "TargetError",
    "TARGET_NAMES",
    "TARGET_RULE",
    "make_target",
    "as_target",
    "resolve_target",
    "load_function",
    "probe_points",
    "host_errors",
    "sample_uniform",
    "grid",
]

ArrayFn = Callable[[jax.Array], jax.Array]

# Targets whose definition draws random numbers use this fixed key, so a
# target name and dimension always mean the same function.
_TARGET_SEED = 20260101


class TargetError(ConfigError):
    """A target that cannot be used: unknown, not loadable, or failing its
    check on a few points. The message names the target and the problem."""


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
      host: ``fn`` calls NumPy code on the host (a user target that JAX
        cannot trace; see :func:`as_target`).
    """

    name: str
    dim: int
    fn: ArrayFn = field(repr=False)
    description: str = ""
    constants: Mapping[str, float] = field(default_factory=dict)
    host: bool = False

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
        raise TargetError(f"dim must be an integer >= 1, got {dim!r}")
    if name not in _REGISTRY:
        raise TargetError(f"unknown target {name!r}; valid targets: {', '.join(TARGET_NAMES)}, or module:function")
    try:
        return _REGISTRY[name](dim, **options)
    except TypeError as e:
        raise TargetError(f"bad options for target {name!r}: {options}") from e


TARGET_RULE = (
    "a target is a function of an (n, d) array of points of [0,1]^d that returns n finite numbers "
    "(shape (n,) or (n, 1)), written with jax.numpy (compiled with the network) or NumPy (run on the host)"
)
_PROBE_POINTS = 16
# Central differences for the gradient of a NumPy target (the d > 2 sup
# search climbs |f - g|): a step that keeps truncation (h^2) and rounding
# (eps / h, even for a target that computes in float32) both near 1e-4 of f's scale.
_HOST_GRADIENT_STEP = 1e-4


def probe_points(dim: int) -> np.ndarray:
    """The points a user target is checked on: the corners ``0`` and ``1``,
    the centre, and 13 fixed pseudo-random points of ``[0, 1]^dim``
    (NumPy float64, shape ``(16, dim)``)."""
    rng = np.random.default_rng(_TARGET_SEED)
    fixed = np.stack([np.zeros(dim), np.ones(dim), np.full(dim, 0.5)])
    return np.concatenate([fixed, rng.random((_PROBE_POINTS - 3, dim))])


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or "(no message)"
    return f"{type(e).__name__}: {text[:300]}"


def _checked_values(label: str, y, points: np.ndarray) -> np.ndarray:
    """``y`` as a float64 ``(n,)`` array, or a TargetError saying what is wrong."""
    n, dim = points.shape
    if not hasattr(y, "shape") or not hasattr(y, "dtype"):
        raise TargetError(f"target {label!r} returned a {type(y).__name__}, not an array of {n} numbers; {TARGET_RULE}")
    if np.dtype(y.dtype).kind not in "biuf":
        raise TargetError(f"target {label!r} returned values of dtype {y.dtype}, not real numbers; {TARGET_RULE}")
    shape = tuple(y.shape)
    if shape not in ((n,), (n, 1)):
        raise TargetError(
            f"target {label!r} returned shape {shape} for {n} points of [0,1]^{dim}; "
            f"it must return ({n},) or ({n}, 1); {TARGET_RULE}"
        )
    values = np.asarray(y, dtype=np.float64).reshape(n)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        at = np.array2string(points[i], precision=3, separator=", ")
        raise TargetError(f"target {label!r} returned NaN or Inf ({values[i]} at x = {at}); {TARGET_RULE}")
    return values


def _host_error(e: BaseException) -> str:
    """What a host target raised, from the error a compiled program reports
    for it (JAX puts the callback's traceback in its message; the last line
    is the original ``Type: message``)."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return lines[-1][:300] if lines else type(e).__name__


@contextlib.contextmanager
def host_errors(target: Target, dim: int):
    """Within: an exception that a NumPy target raises on the host (inside a
    compiled program) is one :class:`TargetError`, and JAX's log of its
    traceback is silenced. Nothing changes for a JAX target."""
    if not target.host:
        yield
        return
    log = logging.getLogger("jax._src.callback")  # logs "jax.pure_callback failed" with the traceback
    disabled, log.disabled = log.disabled, True
    try:
        yield
    except Exception as e:
        raise TargetError(f"target {target.name!r} fails on [0,1]^{dim}: {_host_error(e)}; {TARGET_RULE}") from None
    finally:
        log.disabled = disabled


def _traceable(fn: ArrayFn, dim: int, dtype) -> BaseException | None:
    """None when ``fn`` can be traced by JAX on ``(n, dim)`` points, else the error."""
    try:
        jax.eval_shape(fn, jax.ShapeDtypeStruct((_PROBE_POINTS, dim), dtype))
    except Exception as e:  # anything the user's code raises on a tracer
        return e
    return None


def _host_function(fn: ArrayFn, label: str) -> ArrayFn:
    """``fn`` run by NumPy on the host, callable inside compiled programs.

    The points reach ``fn`` as a float64 NumPy array through
    :func:`jax.pure_callback`; the values come back in the points' dtype.
    JAX cannot differentiate NumPy code, so the derivative (used by the
    d > 2 sup search) is central differences on the host, one-sided at the
    faces of the cube so that ``fn`` is never called outside it.
    """

    def values(x):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):  # NaN and Inf are checked by the caller
            y = np.asarray(fn(x))
        if y.shape not in ((x.shape[0],), (x.shape[0], 1)):
            raise ValueError(f"target {label!r} returned shape {y.shape} for {x.shape[0]} points")
        return y.reshape(x.shape[0]).astype(np.float64)

    def gradient(x):
        out_dtype = x.dtype
        x = np.asarray(x, dtype=np.float64)
        n, d = x.shape
        hi = np.minimum(x + _HOST_GRADIENT_STEP, 1.0)
        lo = np.maximum(x - _HOST_GRADIENT_STEP, 0.0)
        # One call on 2d shifted copies: row block j moves coordinate j up, block d + j down.
        up = np.repeat(x[None], d, axis=0)
        down = up.copy()
        idx = np.arange(d)
        up[idx, :, idx] = hi.T
        down[idx, :, idx] = lo.T
        f = values(np.concatenate([up, down]).reshape(2 * d * n, d)).reshape(2, d, n)
        grad = ((f[0] - f[1]) / (hi - lo).T).T
        return np.where(np.isfinite(grad), grad, 0.0).astype(out_dtype)

    @jax.custom_jvp
    def host(x):
        spec = jax.ShapeDtypeStruct(x.shape[:1], x.dtype)
        return jax.pure_callback(lambda a: values(a).astype(a.dtype), spec, x, vmap_method="sequential")

    @host.defjvp
    def _host_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        grad = jax.pure_callback(gradient, jax.ShapeDtypeStruct(x.shape, x.dtype), x, vmap_method="sequential")
        return host(x), jnp.sum(grad * t, axis=-1)

    return host


def as_target(fn: ArrayFn, dim: int = 1, name: str | None = None, description: str = "") -> Target:
    """A user function ``(n, d) -> (n,)`` (or ``(n, 1)``) as a target, checked first.

    The function is traced by JAX on abstract points; one that cannot be
    traced (written with NumPy, SciPy or Python control flow on values) is
    evaluated on the host instead (see :func:`_host_function`; the target's
    ``host`` is then true). Either way it is evaluated on
    :func:`probe_points` before it is used: a function that raises, returns
    another shape, or a NaN or Inf there is refused with a :class:`TargetError`
    naming the target and the problem. The check compiles the target alone,
    on 16 points, and writes nothing.
    """
    label = name or getattr(fn, "__name__", "custom")
    if not callable(fn):
        raise TargetError(f"target {label!r} is a {type(fn).__name__}, not a function; {TARGET_RULE}")
    points = probe_points(dim)
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64)  # float32 unless x64 is on
    host = _traceable(fn, dim, dtype) is not None
    try:
        if host:
            with np.errstate(all="ignore"):  # a NaN is reported below, not warned about
                y = np.asarray(fn(points.copy()))
        else:
            with on_init_device():
                y = jax.device_get(jax.jit(fn)(jnp.asarray(points, dtype)))
    except Exception as e:  # the user's code on concrete points
        raise TargetError(
            f"target {label!r} fails on points of [0,1]^{dim}: {_one_line(e)}; {TARGET_RULE}"
        ) from None
    _checked_values(label, y, points)
    if host:
        return Target(
            label, dim, _host_function(fn, label), description or f"user function {label} (NumPy)",
            {"continuous": float("nan")}, host=True,
        )  # fmt: skip

    def wrapped(x):
        y = jnp.asarray(fn(x))
        if y.shape == (x.shape[0], 1):
            y = y[:, 0]
        if y.shape != (x.shape[0],):
            raise ValueError(f"target {label!r} must return shape ({x.shape[0]},), got {y.shape}")
        return y.astype(x.dtype)

    return Target(label, dim, wrapped, description or f"user function {label}", {"continuous": float("nan")})


def load_function(spec: str) -> Callable:
    """The object named by ``module:attribute`` (``attribute`` may be dotted).

    The module is imported with the current folder first on ``sys.path``, as
    ``python -m approx`` would, so that the installed ``approx`` command and
    ``python -m approx`` find the same ``mymodule.py``.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise TargetError(f"target {spec!r} must be a name or module:function, e.g. mymodule:f")
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        importlib.invalidate_caches()  # a module written since the last import
        obj = importlib.import_module(module_name)
    except Exception as e:  # ImportError, or whatever the module raises as it runs
        where = f" (looked in the current folder {cwd} and on sys.path)" if isinstance(e, ImportError) else ""
        raise TargetError(f"cannot load target {spec!r}: {_one_line(e)}{where}") from None
    finally:
        if added:
            sys.path.remove(cwd)
    try:
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise TargetError(f"cannot load target {spec!r}: module {module_name!r} has no {attr!r}") from None
    return obj


def resolve_target(spec: str | Callable | Target, dim: int = 1) -> Target:
    """A target from a registry name, ``module:function``, a callable or a Target.

    User functions (``module:function`` and callables) are checked by
    :func:`as_target`; registry targets and Targets are taken as they are.
    """
    if isinstance(spec, Target):
        return spec
    if callable(spec):
        return as_target(spec, dim)
    if isinstance(spec, str) and ":" in spec:
        return as_target(load_function(spec), dim, name=spec)
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
