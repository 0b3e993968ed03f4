"""Will it fit? A run's memory, counters and size checked before any work.

A setting beyond the machine (a width of ten million, a billion training
points, ``10^12`` steps, ``10^8`` seeds) used to end in an XLA
``RESOURCE_EXHAUSTED`` traceback, a C++ abort, an ``OverflowError`` or a
hang, after the banner and the run folder. Here such a run is refused first,
with one line that names the setting, the estimate and the limit
(:class:`~approx.errors.LimitError`, exit status 2 at the command line):

* **the number of runs** against :data:`MAX_RUNS`;
* **int32 counters**: steps of a Fashion-MNIST run (epochs x batches) fit an
  int32 (the single settings' int32 ranges are checked by
  :mod:`approx.config`);
* **memory**: an estimate of the peak bytes a run holds at once (below)
  against what this process may use (:func:`memory_budget`): the smallest of
  the physical memory, the cgroup limit and the address-space limit
  (``ulimit -v``) less what the process already maps; on an accelerator,
  also the device's memory. ``APPROX_MEMORY_LIMIT`` (e.g. ``8G``) sets the
  budget instead.

The estimates count the arrays of the largest compiled group at once, with
the same grouping the sweep uses (:func:`approx.plan.plan_buckets`), and are
checked against XLA's own memory analysis of the compiled programs in
``tests/test_limits.py`` (never below it, at most a few times above). They
leave out XLA's compiler and runtime (a few hundred MB), so a run just under
the budget may still fail; a run far over it is refused.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import jax

from approx.errors import LimitError
from approx.plan import INIT_ALL_LIMIT, Run, members_per_call, plan_buckets, small_width
from approx.snapshots import PLOT_POINTS_1D, PLOT_POINTS_SLICE, PLOT_SIDE_2D, SNAPSHOT_FLOATS_PER_PASS

__all__ = [
    "INT32_MAX",
    "MAX_RUNS",
    "Budget",
    "Footprint",
    "Part",
    "memory_budget",
    "sweep_footprint",
    "fmnist_footprint",
    "check_sweep",
    "check_fmnist",
    "format_bytes",
]

INT32_MAX = 2**31 - 1
# Runs in one sweep or Fashion-MNIST command: 10^6 rows is about 200 MB of
# CSV and hours of training even for the smallest networks. Beyond it the
# plan itself (a Python object per run) takes minutes before anything starts.
MAX_RUNS = 1_000_000
_ENV = "APPROX_MEMORY_LIMIT"


# -- what the machine allows -------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """Bytes this process may use, and where the figure comes from."""

    bytes: int
    source: str


def format_bytes(n: float) -> str:
    """``8.0 GB``, ``512.0 MB`` (decimal units, as ``ulimit`` and vendors count)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}


def _parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]i?)?b?\s*", text.lower())
    if not match:
        raise LimitError(f"{_ENV} must be a size like 8G, 512M or 2e9 (bytes), got {text!r}")
    value = float(match.group(1)) * _UNITS[match.group(2) or ""]
    if not value >= 1:
        raise LimitError(f"{_ENV} must be a size of at least 1 byte, got {text!r}")
    return int(value)


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def _cgroup_limit() -> int | None:
    """The memory limit of this process's cgroup (v2 ``memory.max`` or v1
    ``memory.limit_in_bytes``), or None. v1 reports "no limit" as a number
    near 2^63."""
    paths = []
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if controllers == "":
                    paths += [f"/sys/fs/cgroup{path}/memory.max", "/sys/fs/cgroup/memory.max"]
                elif "memory" in controllers.split(","):
                    paths += [
                        f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes",
                        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                    ]
    except (OSError, ValueError):
        pass
    limits = [v for v in map(_read_int, dict.fromkeys(paths)) if v is not None and v < 2**60]
    return min(limits) if limits else None


def _mapped_bytes() -> int:
    """Address space this process already maps (``VmSize``), 0 if unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def memory_budget() -> Budget:
    """Host memory this process may fill: ``APPROX_MEMORY_LIMIT`` when set,
    else the smallest of the physical memory, the cgroup limit and the
    address-space limit less what is already mapped."""
    env = os.environ.get(_ENV)
    if env:
        return Budget(_parse_size(env), f"{_ENV}={env}")
    options: list[Budget] = []
    try:
        options.append(Budget(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "physical memory"))
    except (ValueError, OSError, AttributeError):
        pass
    cgroup = _cgroup_limit()
    if cgroup is not None:
        options.append(Budget(cgroup, "cgroup memory limit"))
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            used = _mapped_bytes()
            options.append(
                Budget(
                    max(0, soft - used),
                    f"address-space limit (ulimit -v) of {format_bytes(soft)} less {format_bytes(used)} already mapped",
                )
            )
    except (ImportError, ValueError, OSError):
        pass
    return min(options, key=lambda b: b.bytes) if options else Budget(2**63, "unknown")


def device_budget() -> Budget | None:
    """The first local accelerator's memory, or None on a CPU (whose memory
    is the host's) or when the device does not say."""
    device = jax.local_devices()[0]
    if device.platform == "cpu":
        return None
    try:
        stats = device.memory_stats() or {}
    except Exception:  # a backend without memory statistics
        return None
    limit = stats.get("bytes_limit")
    return Budget(int(limit), f"memory of {device.device_kind}") if limit else None


# -- what a run needs --------------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """One share of a run's peak memory: what it is and the settings it grows with."""

    what: str
    bytes: float
    settings: tuple[str, ...]


@dataclass(frozen=True)
class Footprint:
    """A run's estimated peak memory, by part."""

    parts: tuple[Part, ...]

    @property
    def bytes(self) -> float:
        return sum(p.bytes for p in self.parts)

    def largest(self) -> Part:
        return max(self.parts, key=lambda p: p.bytes)


def _mlp_params(d_in: int, width: int, depth: int, d_out: int) -> int:
    """Weights and biases of ``d_in -> width^depth -> d_out`` (as approx.models.count_params)."""
    return (d_in + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * d_out


# Floats an optimiser keeps per parameter (optax's states: Adam's two
# moments, L-BFGS's ten pairs of vectors and its line search's copies).
_OPT_STATE = {"adam": 2, "adamw": 2, "sgd": 0, "momentum": 1, "nesterov": 1, "rmsprop": 1, "adagrad": 1, "lbfgs": 24}
# Per parameter in a step besides the state: the parameters, their gradient,
# the update, the new parameters and the select that guards divergence.
_STEP_COPIES = 5


def _held_out_count(points: int, dim: int) -> int:
    """Points of approx.measure.held_out_points."""
    if dim <= 2:
        return max(2, round(points ** (1.0 / dim))) ** dim
    return points


def _sup_count(dim: int) -> int:
    """Points at which the sup error is evaluated (approx.measure.sup_points;
    for d > 2 the random starts and their refined copies)."""
    return {1: 16385, 2: 257**2}.get(dim, 2 * 4096)


class _Group(NamedTuple):
    """Bytes one compiled group of a sweep holds (per call of its program),
    and its shape."""

    acts: float  # training activations
    params: float  # parameters and optimiser state
    measure: float  # measuring the errors
    snapshots: float  # the snapshots' kept arrays and their forward passes
    per_call: int
    width: int
    depth: int

    @property
    def program(self) -> float:
        return self.acts + self.params + self.measure


def _sweep_group(c, depth: int, width: int, members: int, *, devices: int, accelerator: bool) -> _Group:
    """A group of ``members`` runs padded to ``width``, split into calls as
    :func:`approx.plan.members_per_call` splits it."""
    fb = 8 if c.x64 else 4
    n, d = c.train_points, c.dim
    batch = max(n, c.batch_size or n)
    m_s = _held_out_count(c.test_points, d) + _sup_count(d)
    per_call = members_per_call(members, width, n, devices, accelerator=accelerator)
    p = _mlp_params(d, width, depth, 1)
    snapshots = 0.0
    if c.snapshot_count:
        # The kept arrays (on the device and in the host read), and the
        # forward passes on the plotting points after the loop, several
        # snapshots at a time (approx.train._run_in_chunks).
        count, points = c.snapshot_count, _plot_count(d)
        kept = 2.0 * members * (count + 1) * (points + p) * fb
        at_once = max(1, min(count + 1, SNAPSHOT_FLOATS_PER_PASS // (points * width)))
        snapshots = kept + per_call * 3.0 * (at_once + 1) * points * width * depth * fb
    return _Group(
        acts=per_call * 3.0 * batch * width * depth * fb,
        params=per_call * (_OPT_STATE[c.optimizer] + _STEP_COPIES) * p * fb,
        measure=1.5 * m_s * width * depth * fb + m_s * d * fb,
        snapshots=snapshots, per_call=per_call, width=width, depth=depth,
    )  # fmt: skip


def _sweep_depth(c, depth: int, *, devices: int, accelerator: bool) -> tuple[list[_Group], float]:
    """The groups of one depth, and the bytes of its initial parameters:
    drawn once for the depth and kept for the sweep when small enough, else
    per group (:data:`approx.plan.INIT_ALL_LIMIT`)."""
    # One run per width and seed 0 plans the groups; every group holds all seeds of its widths.
    plan = plan_buckets([Run(depth, w, 0) for w in c.widths], c.bucket_ratio, 0, small_width(accelerator))
    groups, total_members, bucket_init = [], 0, 0
    for bucket in plan:
        members = len(bucket.runs) * c.seeds
        if c.max_bucket_runs > 0:
            members = min(members, c.max_bucket_runs)
        members += (-members) % devices
        total_members += members
        bucket_init = max(bucket_init, members * _mlp_params(c.dim, bucket.width, depth, 1))
        groups.append(_sweep_group(c, depth, bucket.width, members, devices=devices, accelerator=accelerator))
    p_all = _mlp_params(c.dim, max(b.width for b in plan), depth, 1) * total_members
    return groups, 2 * (p_all if p_all <= INIT_ALL_LIMIT else bucket_init) * (8 if c.x64 else 4)


def sweep_footprint(config, *, devices: int = 1, accelerator: bool = False) -> Footprint:
    """Peak memory of a sweep: its data, every depth's initial parameters
    (held for the whole sweep) and the largest compiled group's training and
    measuring, grouped as :mod:`approx.plan` groups them on ``devices``
    devices of a CPU (``accelerator=False``) or an accelerator.

    ``config`` is a :class:`~approx.config.SweepConfig`; its run count must
    be at most :data:`MAX_RUNS` (:func:`check_sweep` checks that first).
    """
    c = config
    n, d = c.train_points, c.dim
    m, s = _held_out_count(c.test_points, d), _sup_count(d)
    # Points and targets, built by one program (random bits and outputs
    # alive together: twice the arrays kept).
    data = 2 * ((n + m) * (d + 1) + s * d) * (8 if c.x64 else 4)
    groups, inits = [], 0.0
    for depth in c.depths:
        mine, init = _sweep_depth(c, depth, devices=devices, accelerator=accelerator)
        groups += mine
        inits += init
    worst = _Group(0.0, 0.0, 0.0, 0.0, 0, 0, 0)
    for group in groups:
        if group.program > worst.program:
            worst = group
    snapshots = max([0.0] + [g.snapshots for g in groups])
    batch = max(n, c.batch_size or n)
    at_once = f"{worst.per_call} network{'s' if worst.per_call != 1 else ''} of width {worst.width} x {batch} train_points"
    p = _mlp_params(d, worst.width, worst.depth, 1)
    return Footprint((
        Part(f"the data ({n} train_points and {m} test points in dim {d})", data, ("train_points", "test_points", "dim")),
        Part(f"the initial parameters ({len(c.widths)} widths x {c.seeds} seeds in dim {d})", inits, ("widths", "seeds", "dim")),
        Part(
            f"the training activations ({at_once}" + (f", depth {worst.depth})" if worst.depth > 1 else ")"),
            worst.acts, ("widths", "train_points", "seeds"),
        ),
        Part(f"the parameters and {c.optimizer} state ({worst.per_call} x {p} parameters)", worst.params, ("widths", "dim", "seeds")),
        Part(f"measuring ({m + s} points x width {worst.width})", worst.measure, ("widths", "test_points", "dim")),
        Part(
            f"the training snapshots ({c.snapshot_count} + 1 of each network's parameters and fit on {_plot_count(d)} points)",
            snapshots, ("snapshots", "widths", "dim", "seeds"),
        ),
    ))  # fmt: skip


def _plot_count(dim: int) -> int:
    """Points of approx.snapshots.plot_points(dim)."""
    return {1: PLOT_POINTS_1D, 2: PLOT_SIDE_2D**2}.get(dim, dim * PLOT_POINTS_SLICE)


_FMNIST_TRAIN, _FMNIST_TEST, _FMNIST_PIXELS, _FMNIST_CLASSES = 60000, 10000, 784, 10
_EVAL_CHUNK = 2000  # approx.experiments.fmnist.EVAL_CHUNK


def fmnist_steps(config, n_train: int = _FMNIST_TRAIN) -> int:
    """Optimiser steps of one Fashion-MNIST run: epochs x batches per epoch."""
    n = min(config.train_subset or n_train, n_train)
    return config.epochs * -(-n // min(config.batch_size, n))


def fmnist_footprint(
    config, *, devices: int = 1, n_train: int = _FMNIST_TRAIN, n_test: int = _FMNIST_TEST
) -> Footprint:
    """Peak memory of a Fashion-MNIST sweep: the data set (the files, the
    scaled arrays and their device copies) and the largest ``(depth,
    width)`` program (every seed at once: parameters and optimiser state,
    kept once more to roll a diverged epoch back, batch activations and the
    chunked evaluation)."""
    c = config
    fb = 8 if c.x64 else 4
    n = min(c.train_subset or n_train, n_train)
    t = min(c.test_subset or n_test, n_test)
    n_eval = min(c.train_eval_examples or n, n)
    px = _FMNIST_PIXELS
    files = (n_train + n_test) * (px + 1)
    data = files + 2 * (n + t + n_eval + t) * px * fb
    members = c.seeds + (-c.seeds) % devices
    batch = min(c.batch_size, n)
    chunk = min(_EVAL_CHUNK, max(n_eval, t))
    state = 2 * (1 + _OPT_STATE[c.optimizer]) + 3
    worst = (0.0, 0.0, 0, 0)
    for depth in c.depths:
        for width in c.widths:
            p = _mlp_params(px, width, depth, _FMNIST_CLASSES)
            params = members * state * p * fb
            acts = members * (3.0 * (batch + chunk) * width * depth + batch * px + n) * fb
            if params + acts > sum(worst[:2]):
                worst = (params, acts, width, depth)
    params, acts, width, depth = worst
    p = _mlp_params(px, width, depth, _FMNIST_CLASSES)
    return Footprint(
        (
            Part(f"the data ({n} training and {t} test images)", data, ("train_subset",)),
            Part(
                f"the parameters and {c.optimizer} state ({members} x {p} parameters of width {width})",
                params,
                ("widths", "depths", "seeds"),
            ),
            Part(
                f"the activations ({members} x batch {batch} x width {width})", acts, ("widths", "batch_size", "seeds")
            ),
        )
    )


# -- the checks ------------------------------------------------------------------------
def _check_runs(counts: Sequence[tuple[int, str]], kind: str) -> None:
    total = math.prod(v for v, _ in counts)
    if total > MAX_RUNS:
        detail = " x ".join(f"{v} {name if v != 1 else name.rstrip('s')}" for v, name in counts)
        raise LimitError(
            f"the {kind} has {total} runs ({detail}); approx runs at most {MAX_RUNS} in one command: "
            "split it over several output directories"
        )


def _check_memory(footprint: Footprint, kind: str, budgets: Sequence[Budget | None]) -> None:
    need = footprint.bytes
    for budget in budgets:
        if budget is None or need <= budget.bytes:
            continue
        part = footprint.largest()
        settings = " or ".join(part.settings)
        raise LimitError(
            f"this {kind} needs about {format_bytes(need)} of memory, more than the {format_bytes(budget.bytes)} "
            f"available ({budget.source}); the largest part, {format_bytes(part.bytes)}, is {part.what}: "
            f"reduce {settings}"
        )


def check_sweep(config, *, devices: int | None = None, accelerator: bool | None = None) -> Footprint:
    """Refuses a sweep that would exceed the machine (:class:`LimitError`),
    before anything is compiled, allocated or written; returns its estimated
    footprint otherwise. ``devices`` and ``accelerator`` default to what JAX
    sees."""
    _check_runs([(len(config.widths), "widths"), (len(config.depths), "depths"), (config.seeds, "seeds")], "sweep")
    devices, accelerator, device = _backend(devices, accelerator)
    footprint = sweep_footprint(config, devices=devices, accelerator=accelerator)
    _check_memory(footprint, "sweep", [memory_budget(), device])
    return footprint


def check_fmnist(
    config, *, devices: int | None = None, n_train: int = _FMNIST_TRAIN, n_test: int = _FMNIST_TEST
) -> Footprint:
    """Refuses a Fashion-MNIST sweep that would exceed the machine or an
    int32 step counter (:class:`LimitError`); returns its footprint."""
    _check_runs(
        [(len(config.widths), "widths"), (len(config.depths), "depths"), (config.seeds, "seeds")], "Fashion-MNIST sweep"
    )
    steps = fmnist_steps(config, n_train)
    if steps > INT32_MAX:
        raise LimitError(
            f"epochs {config.epochs} at batch_size {config.batch_size} is {steps} optimiser steps; "
            f"the step counter is an int32 (at most {INT32_MAX})"
        )
    devices, _, device = _backend(devices, None)
    footprint = fmnist_footprint(config, devices=devices, n_train=n_train, n_test=n_test)
    _check_memory(footprint, "Fashion-MNIST sweep", [memory_budget(), device])
    return footprint


def _backend(devices: int | None, accelerator: bool | None) -> tuple[int, bool, Budget | None]:
    """Device count, whether the default backend is an accelerator, and its memory budget."""
    if devices is None:
        devices = jax.device_count()
    if accelerator is None:
        accelerator = jax.default_backend() != "cpu"
    return devices, accelerator, device_budget() if accelerator else None
