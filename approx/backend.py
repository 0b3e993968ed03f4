"""What approx asks of XLA on each backend, and where initial parameters are drawn.

Two fixes for accelerators, both no-ops on a CPU (the README's performance
section has the figures):

* **The GPU fusion autotuner is off** for approx's programs. By default XLA
  compiles and times Triton variants of large fusions; for a sweep's wide
  buckets that is most of the compile time and buys nothing: the programs
  run in the same time to the same numbers without it.
* **Initial parameters are drawn on the host's CPU** and then copied to the
  accelerator. Random number generation is a long, one-off program that
  compiles several times faster for the host (see
  :data:`approx.models.INIT_COMPILER_OPTIONS`); the copy is a few megabytes.
  JAX's counter-based generator gives the same bits on every backend.

**Determinism is left to XLA's defaults, by decision.** On a CPU a program
gives the same bits run after run. On a GPU, XLA's deterministic mode
(``--xla_gpu_deterministic_ops``) is not turned on: approx's programs hold
no scatter-add that sums into one element twice (the only ones, gradients of
a cross-entropy's label lookup, write each element once), so what may differ
between two compilations is the matrix-product algorithm cuBLAS picks, that
is rounding. The README says so, and how to ask XLA for bit-identical runs.
"""

from __future__ import annotations

import contextlib
import functools

import jax

__all__ = ["GPU_COMPILER_OPTIONS", "compiler_options", "init_device", "on_init_device", "to_compute_device"]

GPU_COMPILER_OPTIONS = {"xla_gpu_experimental_enable_fusion_autotuner": False}


@functools.cache
def compiler_options() -> dict:
    """Options for ``.compile(compiler_options=...)`` of approx's training
    and measuring programs: :data:`GPU_COMPILER_OPTIONS` on a GPU (when this
    XLA knows them: a trial compilation checks once), none elsewhere."""
    if jax.default_backend() != "gpu":
        return {}
    try:
        jax.jit(lambda x: x + 1).lower(1.0).compile(compiler_options=GPU_COMPILER_OPTIONS)
    except Exception:  # an XLA without the option: its defaults
        return {}
    return dict(GPU_COMPILER_OPTIONS)


def init_device() -> jax.Device:
    """Where initial parameters are drawn: the host's first CPU device when
    the default backend is an accelerator (and JAX has a CPU backend), else
    the default device."""
    default = jax.local_devices()[0]  # this process's (with several processes, devices()[0] is process 0's)
    if default.platform == "cpu":
        return default
    try:
        return jax.devices("cpu")[0]
    except RuntimeError:  # JAX_PLATFORMS without cpu
        return default


@contextlib.contextmanager
def on_init_device():
    """Compile and run initialisation programs on :func:`init_device`."""
    with jax.default_device(init_device()):
        yield


def to_compute_device(tree):
    """``tree`` on this process's first device (a copy only when it was drawn elsewhere)."""
    target = jax.local_devices()[0]
    if init_device() == target:
        return tree
    return jax.device_put(tree, target)


def config_precision(run):
    """Decorates a runner ``run(config, ...)``: float64 on (``jax.enable_x64``)
    for its computation exactly when ``config.x64``, whatever the process's
    setting, which comes back afterwards. The config alone decides the
    numbers: a float32 run gives the same last bits whether or not the caller
    had float64 on."""

    @functools.wraps(run)
    def scoped(config, *args, **kwargs):
        with jax.enable_x64(bool(config.x64)):
            return run(config, *args, **kwargs)

    return scoped
