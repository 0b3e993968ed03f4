"""FLOP counts of the benchmarked training steps, written out explicitly.

Per (point, hidden unit) of a one-hidden-layer network with ``d`` inputs:
forward ``2d + 1`` (affine) ``+ 4`` (sigmoid as ``0.5 tanh(z/2) + 0.5``, tanh
counted as one) ``+ 2`` (output), backward ``2 + 3 + 2d + 1``: ``4d + 13`` in
all; the optimiser's per-parameter work is left out (it is independent of the
number of points). For Fashion-MNIST, the matrix products alone (see
:func:`fmnist_flops_per_example`).
"""

from __future__ import annotations

__all__ = ["fmnist_flops_per_example", "mlp_flops_per_point_unit", "w1_flops"]


def mlp_flops_per_point_unit(d: int) -> int:
    """Forward + backward FLOPs per (point, hidden unit) of one hidden layer."""
    return 4 * d + 13


def w1_flops(widths, seeds, steps, train_points, d: int = 1) -> float:
    """Training FLOPs of a width sweep (all runs, all steps)."""
    return float(sum(widths)) * seeds * steps * train_points * mlp_flops_per_point_unit(d)


def fmnist_flops_per_example(in_dim: int = 784, width: int = 256, out_dim: int = 10) -> float:
    """The matrix products of a training step, 2 FLOPs per multiply-add:
    forward through both layers, the weight gradients of both, and the input
    gradient of the second layer only (nothing needs the gradient with
    respect to the pixels); activations and the optimiser are left out.
    (Counting the first layer's input gradient too, as ``6 (in w + w out)``,
    would overstate 784-256-10 by 1.49x.)"""
    return 4.0 * in_dim * width + 6.0 * width * out_dim
