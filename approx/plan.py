"""How a width sweep's runs are grouped into compiled programs.

A sweep is ``depths x widths x seeds`` independent trainings. Runs of one
depth whose widths lie within ``bucket_ratio`` of each other share one
compiled program (a *bucket*), padded to the bucket's widest layer with
masked units; on a CPU a large bucket runs as several equal calls of that
program. These rules are plain arithmetic on the settings: the sweep
(:mod:`approx.experiments.sweep`) follows them to train, and the memory check
(:mod:`approx.limits`) follows them to estimate a sweep's peak memory before
anything runs, so both read them from here. This module never imports JAX.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = [
    "ACCELERATOR_SMALL_WIDTH",
    "CPU_FLOATS_PER_CALL",
    "INIT_ALL_LIMIT",
    "SMALL_WIDTH",
    "Bucket",
    "Run",
    "members_per_call",
    "pad_members",
    "padding_masks",
    "plan_buckets",
    "small_width",
]


@dataclass(frozen=True)
class Run:
    """One training of a sweep: its depth, width and seed."""

    depth: int
    width: int
    seed: int


@dataclass(frozen=True)
class Bucket:
    """Runs compiled and trained together, padded to ``width`` units per layer."""

    depth: int
    width: int
    runs: tuple[Run, ...]


# Widths up to this many units always share one program when ratio > 1: the
# padded arithmetic of such narrow networks costs less than one more
# compilation and one more loop over the steps.
SMALL_WIDTH = 32
# On an accelerator padded arithmetic is cheaper still and compilations dearer,
# so every width up to this one shares a program (the README's performance
# section gives the measurements).
ACCELERATOR_SMALL_WIDTH = 256


def small_width(accelerator: bool) -> int:
    """:data:`SMALL_WIDTH` on a CPU, :data:`ACCELERATOR_SMALL_WIDTH` on an accelerator."""
    return ACCELERATOR_SMALL_WIDTH if accelerator else SMALL_WIDTH


def plan_buckets(runs: Sequence[Run], ratio: float = 2.0, max_members: int = 0, small: int = SMALL_WIDTH) -> list[Bucket]:
    """Groups runs of equal depth whose widths lie within ``ratio`` of the
    bucket's narrowest (and, with ``ratio > 1``, every width up to
    ``small``); ``ratio=1`` gives one program per width. Buckets come
    out narrowest first. ``max_members > 0`` splits larger buckets."""
    buckets: list[Bucket] = []
    for depth in sorted({r.depth for r in runs}):
        mine = sorted((r for r in runs if r.depth == depth), key=lambda r: (r.width, r.seed))
        groups: list[list[int]] = []
        for w in sorted({r.width for r in mine}):
            shares = ratio > 1 and w <= small
            if groups and (w <= groups[-1][0] * ratio or shares):
                groups[-1].append(w)
            else:
                groups.append([w])
        for group in groups:
            members = tuple(r for r in mine if r.width in group)
            size = max_members if max_members > 0 else len(members)
            for i in range(0, len(members), size):
                buckets.append(Bucket(depth, max(group), members[i : i + size]))
    return buckets


def pad_members(members: list[Run], multiple: int) -> list[Run]:
    """Repeats the last run so the ensemble divides into equal slices (over
    devices, or over calls); the copies are computed and discarded."""
    extra = (-len(members)) % multiple
    return members + [members[-1]] * extra


# On a CPU, a program's ensemble is capped so that one (members x points x
# units) array stays within 4 MB of float32: beyond the caches the cost per
# run grows with the ensemble. Larger buckets run as several calls of one
# compiled program. Accelerators take the whole ensemble at once.
CPU_FLOATS_PER_CALL = 1 << 20


def members_per_call(members: int, width: int, points: int, multiple: int = 1, *, accelerator: bool = False) -> int:
    """Members per call of a bucket's program: all of them on an accelerator;
    on a CPU equal slices of at most ``CPU_FLOATS_PER_CALL / (points x width)``
    (a multiple of ``multiple``, the device count)."""
    if accelerator:
        return members
    cap = max(1, CPU_FLOATS_PER_CALL // max(1, points * width))
    calls = math.ceil(members / cap)
    size = math.ceil(members / calls)
    return math.ceil(size / multiple) * multiple


# Above this many floats for all runs' initial parameters of one depth, each
# bucket draws its own instead of slicing them from one draw for the depth.
INIT_ALL_LIMIT = 20_000_000


def padding_masks(widths: Sequence[int], padded: int, depth: int, dtype=np.float32) -> tuple[np.ndarray, ...]:
    """The masks of an ensemble of networks padded to ``padded`` units per
    hidden layer: for each of the ``depth`` layers an ``(E, padded)`` array,
    row ``e`` 1 on the first ``widths[e]`` units and 0 on the rest (NumPy: no
    device work until a program takes them)."""
    mask = (np.arange(padded)[None, :] < np.asarray(widths)[:, None]).astype(dtype)
    return tuple(mask for _ in range(depth))
