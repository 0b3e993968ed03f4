"""A width sweep's points: training, held-out and sup-norm points with the target's values.

The points depend only on ``data_seed``, ``dim`` and the point counts, never
on the runs: every run of a sweep (and of a resumed sweep) fits the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from approx.backend import on_init_device, to_compute_device
from approx.config import SweepConfig
from approx.measure import held_out_points, sup_method, sup_points
from approx.snapshots import plot_points
from approx.targets import TARGET_RULE, Target, TargetError, host_errors, sample_uniform

__all__ = ["SweepData", "make_data"]


@dataclass(frozen=True)
class SweepData:
    """Training and evaluation points of a sweep (on the device)."""

    x_train: jax.Array
    y_train: jax.Array  # (n, 1)
    x_test: jax.Array
    y_test: jax.Array  # (m,)
    x_sup: jax.Array
    sup_method: str
    x_plot: jax.Array | None = None  # approx.snapshots.plot_points(dim): where snapshots record the fit


def make_data(config: SweepConfig, target: Target) -> SweepData:
    """Training points, held-out points and sup-norm points, built by one
    compiled program (eager ops would each compile on their own)."""
    dtype = jnp.float64 if config.x64 else jnp.float32

    @jax.jit
    def build(seed):  # on the host, like initial parameters (see approx.backend)
        key = jax.random.key(seed)
        x_train = sample_uniform(jax.random.fold_in(key, 0), config.train_points, config.dim, dtype)
        # For d <= 2 both point sets are grids: no random call sites to compile.
        x_test = held_out_points(jax.random.fold_in(key, 1), config.test_points, config.dim, dtype)
        x_sup = sup_points(jax.random.fold_in(key, 2), config.dim, dtype)
        return x_train, target(x_train)[:, None], x_test, target(x_test), x_sup, target(x_sup)

    with on_init_device(), host_errors(target, config.dim):  # a NumPy target that raises: one TargetError
        *built, y_sup = jax.block_until_ready(build(np.int32(config.data_seed)))
    x_train, y_train, x_test, y_test, x_sup = to_compute_device(built)
    x_plot = jnp.asarray(plot_points(config.dim), dtype)  # on the default device
    method = sup_method(config.dim)
    if target.host and config.dim > 2:  # the ascent's target gradient: see approx.targets._host_function
        method += " (NumPy target: finite differences)"
    if not all(np.isfinite(np.asarray(y)).all() for y in (y_train, y_test, y_sup)):
        raise TargetError(f"target {target.name!r} returned NaN or Inf on [0,1]^{config.dim}; {TARGET_RULE}")
    return SweepData(x_train, y_train, x_test, y_test, x_sup, method, x_plot)

