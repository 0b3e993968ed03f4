"""Where a fitted function is drawn, and the fits saved during training.

A sweep's saved network (``networks/depthD_widthW_seedS.npz``, see
:mod:`approx.results`) can carry *snapshots*: the network's values on the
plotting points at ``K + 1`` steps of its training (step 0, the initial
network, then equally spaced steps up to the last). They are kept as three
extra arrays of the network file:

* ``snapshot_steps`` ``(K + 1,)`` int: the optimiser steps, ``0`` first and
  the run's last step last;
* ``snapshot_x`` ``(P, d)``: the plotting points, :func:`plot_points`;
* ``snapshot_fit`` ``(K + 1, P)``: the network's output at those points
  after each of those steps.

The plotting points depend on the input dimension only, so that every
picture of a sweep (explorer, animations) draws target and fits on the same
points:

* ``d = 1``: ``PLOT_POINTS_1D`` equally spaced points of ``[0, 1]``;
* ``d = 2``: a ``PLOT_SIDE_2D x PLOT_SIDE_2D`` grid of ``[0, 1]^2``, first
  coordinate slowest (``indexing="ij"``);
* ``d > 2``: for each axis ``a`` in turn, ``PLOT_POINTS_SLICE`` points along
  the line through the cube's centre parallel to axis ``a`` (the other
  coordinates 1/2): ``d x PLOT_POINTS_SLICE`` points, axis 0's line first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLOT_POINTS_1D = 257
PLOT_SIDE_2D = 49
PLOT_POINTS_SLICE = 129
SNAPSHOT_ARRAYS = ("snapshot_steps", "snapshot_x", "snapshot_fit")


def plot_points(dim: int, dtype=np.float64) -> np.ndarray:
    """The plotting points of ``[0, 1]^dim``, ``(P, dim)`` (see the module docstring)."""
    if not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    if dim == 1:
        return np.linspace(0.0, 1.0, PLOT_POINTS_1D, dtype=dtype)[:, None]
    if dim == 2:
        side = np.linspace(0.0, 1.0, PLOT_SIDE_2D, dtype=dtype)
        a, b = np.meshgrid(side, side, indexing="ij")
        return np.stack([a.ravel(), b.ravel()], axis=1)
    line = np.linspace(0.0, 1.0, PLOT_POINTS_SLICE, dtype=dtype)
    slices = []
    for axis in range(dim):
        pts = np.full((PLOT_POINTS_SLICE, dim), 0.5, dtype=dtype)
        pts[:, axis] = line
        slices.append(pts)
    return np.concatenate(slices, axis=0)


@dataclass(frozen=True)
class Snapshots:
    """A run's fits during training: ``fit[k]`` is the network after
    ``steps[k]`` optimiser steps, evaluated at the points ``x``."""

    steps: np.ndarray  # (K + 1,) int
    x: np.ndarray  # (P, d)
    fit: np.ndarray  # (K + 1, P)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays as a network file's extras."""
        return {"snapshot_steps": self.steps, "snapshot_x": self.x, "snapshot_fit": self.fit}


def snapshots_of(network) -> Snapshots | None:
    """The snapshots a saved :class:`approx.results.Network` carries, or
    ``None`` (a run saved without them)."""
    extras = getattr(network, "extras", {}) or {}
    if not all(name in extras for name in SNAPSHOT_ARRAYS):
        return None
    steps, x, fit = (np.asarray(extras[name]) for name in SNAPSHOT_ARRAYS)
    if steps.ndim != 1 or x.ndim != 2 or fit.shape != (steps.shape[0], x.shape[0]):
        raise ValueError(
            f"snapshot arrays do not fit: steps {steps.shape}, x {x.shape}, fit {fit.shape} "
            "(want (K+1,), (P, d), (K+1, P))"
        )
    return Snapshots(steps, x, fit)
