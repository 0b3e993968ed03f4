"""Ensembles: one network's function ``vmap``ped over a leading axis of
members (seeds, and widths padded into one bucket by their masks)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

__all__ = ["ensemble_vmap", "stack_masks"]


def ensemble_vmap(fn: Callable, in_axes: Sequence[int | None]) -> Callable:
    """``jax.vmap(fn, in_axes)`` over an ensemble axis (0 or ``None`` per
    argument), except that an ensemble of one calls ``fn`` on the squeezed
    arguments and adds the axis back to the outputs.

    XLA on CPU lowers some reductions over a batch axis of size one (a sum
    over the points of a ``(1, n, width)`` array) to a much slower kernel
    than the same reduction without the unit axis, which made a one-seed
    training far slower per network than a four-seed one. The ensemble size
    is static, so the choice is made at trace time.
    """
    batched = jax.vmap(fn, in_axes=tuple(in_axes))

    def call(*args):
        sizes = {
            leaf.shape[0]
            for arg, axis in zip(args, in_axes)
            if axis == 0
            for leaf in jax.tree.leaves(arg)
        }
        if sizes != {1}:
            return batched(*args)
        squeezed = [jax.tree.map(lambda a: a[0], arg) if axis == 0 else arg for arg, axis in zip(args, in_axes)]
        return jax.tree.map(lambda a: a[None], fn(*squeezed))

    return call


def stack_masks(active: Sequence[Sequence[int]], padded: Sequence[int], dtype=jnp.float32):
    """Masks for an ensemble: ``active[e][l]`` live units out of ``padded[l]``.

    Returns a tuple over layers of ``(E, padded[l])`` 0/1 arrays.
    """
    return tuple(
        jnp.stack([(jnp.arange(p) < a[l]).astype(dtype) for a in active]) for l, p in enumerate(padded)
    )
