"""Where a fitted function is drawn, and the fits saved during training.

A sweep's saved network (``networks/depthD_widthW_seedS.npz``, see
:mod:`approx.results`) can carry *snapshots*: the network's values on the
plotting points at ``K + 1`` steps of its training (step 0, the initial
network after the least-squares readout, then ``K`` equally spaced steps
up to the last, see :func:`snapshot_steps`). They are kept as extra arrays
of the network file:

* ``snapshot_steps`` ``(K + 1,)`` int: the optimiser steps, ``0`` first and
  the run's last step last, strictly increasing;
* ``snapshot_x`` ``(P, d)``: the plotting points, :func:`plot_points`;
* ``snapshot_fit`` ``(K + 1, P)``: the network's output at those points
  after each of those steps;
* ``snapshot_params`` ``(K + 1, n_params)`` (optional): all the network's
  parameters after each of those steps, layer by layer, input layer first:
  ``kernel_i`` row-major (``(fan_in, fan_out)``) then ``bias_i``, the order
  of the file's own arrays (``Network.params`` flattened), so that the
  hidden units can be drawn at each step (:func:`network_at`);
* ``snapshot_loss`` ``(K + 1,)`` (optional): the training loss (on the whole
  training set) after each of those steps.

The last snapshot is the saved network itself: its ``snapshot_fit`` row is
the network's values at ``snapshot_x`` and its ``snapshot_params`` row its
parameters. A sweep keeps ``K = SweepConfig.snapshots`` of them (40 by
default, ``approx sweep --snapshots K``; ``--no-explorer`` keeps none).

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

from approx.results import Network

PLOT_POINTS_1D = 257
PLOT_SIDE_2D = 49
PLOT_POINTS_SLICE = 129
# The snapshots' fits are computed after the training loop, as many snapshots
# at a time as keep one (snapshots x plotting points x units) array of a
# network within this many numbers: all 41 at once on [0, 1] (one batched
# pass compiles faster than one snapshot after another), one at a time for
# d = 1000, whose 129,000 plotting points would otherwise need 41 times the
# memory of one forward pass.
SNAPSHOT_FLOATS_PER_PASS = 1 << 22
SNAPSHOT_ARRAYS = ("snapshot_steps", "snapshot_x", "snapshot_fit")
OPTIONAL_SNAPSHOT_ARRAYS = ("snapshot_params", "snapshot_loss")


def snapshot_steps(steps: int, count: int) -> np.ndarray:
    """The steps of ``count`` snapshots of a ``steps``-step run, ``(count + 1,)``:
    ``0``, then the end of each of ``count`` chunks of steps, the last one
    ``steps``. With ``c, r = divmod(steps, count)`` chunk ``k`` holds ``c + 1``
    steps for ``k < r`` and ``c`` after, so snapshot ``k`` is at step
    ``k c + min(k, r)``: exactly equally spaced when ``count`` divides
    ``steps``, never more than one step apart otherwise.
    """
    for name, value, low in (("steps", steps, 1), ("count", count, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if count > steps:
        raise ValueError(f"count must be at most steps ({steps}): one snapshot per step at most, got {count}")
    c, r = divmod(int(steps), int(count))
    k = np.arange(count + 1)
    return k * c + np.minimum(k, r)


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
    ``steps[k]`` optimiser steps, evaluated at the points ``x``; ``params[k]``
    its flat parameters then and ``loss[k]`` its training loss (each
    ``None`` when not kept)."""

    steps: np.ndarray  # (K + 1,) int
    x: np.ndarray  # (P, d)
    fit: np.ndarray  # (K + 1, P)
    params: np.ndarray | None = None  # (K + 1, n_params)
    loss: np.ndarray | None = None  # (K + 1,)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays as a network file's extras."""
        out = {"snapshot_steps": self.steps, "snapshot_x": self.x, "snapshot_fit": self.fit}
        if self.params is not None:
            out["snapshot_params"] = self.params
        if self.loss is not None:
            out["snapshot_loss"] = self.loss
        return out


def flat_params(network) -> np.ndarray:
    """A network's parameters as one vector, in the order of ``snapshot_params``."""
    return np.concatenate([a.ravel() for k, b in zip(network.kernels, network.biases) for a in (k, b)])


def network_at(network, snapshots: Snapshots, k: int):
    """The :class:`approx.results.Network` of snapshot ``k``: ``network``'s
    layers (the saved, final network) with the parameters of
    ``snapshots.params[k]``."""
    if snapshots.params is None:
        raise ValueError("these snapshots keep no parameters (snapshot_params), only the fits")
    flat = np.asarray(snapshots.params[k])
    kernels, biases, at = [], [], 0
    for kernel, bias in zip(network.kernels, network.biases):
        kernels.append(flat[at : at + kernel.size].reshape(kernel.shape))
        at += kernel.size
        biases.append(flat[at : at + bias.size])
        at += bias.size
    if at != flat.size:
        raise ValueError(f"snapshot parameters have {flat.size} values; the network has {at}")
    return Network(tuple(kernels), tuple(biases), network.activation, network.meta)


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
    params, loss = (np.asarray(extras[n]) if n in extras else None for n in OPTIONAL_SNAPSHOT_ARRAYS)
    if params is not None and (params.ndim != 2 or params.shape[0] != steps.shape[0]):
        raise ValueError(f"snapshot_params has shape {params.shape}; want (K+1, n_params) with K+1 = {steps.shape[0]}")
    if loss is not None and loss.shape != steps.shape:
        raise ValueError(f"snapshot_loss has shape {loss.shape}; want (K+1,) = {steps.shape}")
    return Snapshots(steps, x, fit, params, loss)
