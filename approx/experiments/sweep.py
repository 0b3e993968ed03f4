"""Width sweeps: plan the runs, compile them in a few buckets, measure, record.

A sweep is ``depths x widths x seeds`` independent trainings. Widths within
``bucket_ratio`` of each other share one compiled program: every run of a
bucket is padded to the bucket's widest layer with masked units (which output
exactly zero and receive zero gradient, see :mod:`approx.models`) and all of
them train together as one ``vmap``ped ensemble, sharded over the available
devices. Each finished bucket's rows reach ``results.csv`` at once, so an
interrupted sweep loses at most the bucket in flight, and ``resume`` runs
only what is missing.

Every run's numbers depend only on its own ``(depth, width, seed)``, the
config and the training data, never on how runs were grouped: the model key
is ``fold_in(fold_in(key(seed), depth), width)`` and the data key comes from
``data_seed``. Grouping changes only float rounding; a resumed sweep plans
its remaining runs into the same buckets as an uninterrupted one (buckets
are finished whole and formed from the narrowest width up), so its rows are
bit-identical to the uninterrupted run's on the same machine.

Each run's trained network is kept (``config.save_networks``, on by
default): the bucket's program returns the trained parameters with the
errors, in the same single host read, and each run's are cut back to its true
width and saved in ``networks/`` before its row is appended (see
:mod:`approx.results`; :func:`approx.results.load_network` reads them back).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from approx.analysis import fit_slope, summarize
from approx.backend import compiler_options, config_precision, on_init_device, to_compute_device
from approx.config import RESULT_NEUTRAL_KEYS, SweepConfig
from approx.limits import check_sweep
from approx.measure import held_out_points, make_measure_fn, sup_method, sup_points
from approx.models import INIT_COMPILER_OPTIONS, MLP, count_params
from approx.processes import SharedRunDirectory, any_process, replicate, to_host
from approx.results import SWEEP_COLUMNS, Network, RunDirectory
from approx.snapshots import Snapshots, plot_points, snapshot_steps
from approx.targets import TARGET_RULE, Target, TargetError, host_errors, resolve_target, sample_uniform
from approx.train import TrainConfig, make_run_fn, mean_squared_error

__all__ = [
    "Run", "Bucket", "BucketResult", "SweepOutcome", "plan_buckets", "run_sweep", "run_bucket", "train_bucket",
    "SweepData", "make_data", "environment",
]  # fmt: skip

KEY_COLUMNS = ("depth", "width", "seed")


@dataclass(frozen=True)
class Run:
    depth: int
    width: int
    seed: int


@dataclass(frozen=True)
class Bucket:
    """Runs compiled and trained together, padded to ``width`` units per layer."""

    depth: int
    width: int
    runs: tuple[Run, ...]


# Widths up to this many units always share one program when ratio > 1: their
# arithmetic is cheaper than a compilation (about a second on a laptop CPU)
# and than the fixed cost of a loop of thousands of steps (about 0.3 ms a step).
SMALL_WIDTH = 32
# On an accelerator the padded arithmetic is cheaper still and compilations
# dearer: measured on an H100, W1 (widths 1..256, 4 seeds) in one program
# instead of three took 10.3 s instead of 11.8 s with a cold cache, and
# 6.9 s instead of 9.3 s with a warm one.
ACCELERATOR_SMALL_WIDTH = 256


def small_width() -> int:
    """:data:`SMALL_WIDTH` on a CPU, :data:`ACCELERATOR_SMALL_WIDTH` elsewhere."""
    return SMALL_WIDTH if jax.default_backend() == "cpu" else ACCELERATOR_SMALL_WIDTH


def plan_buckets(runs: Sequence[Run], ratio: float = 2.0, max_members: int = 0, small: int = SMALL_WIDTH) -> list[Bucket]:
    """Groups runs of equal depth whose widths lie within ``ratio`` of the
    bucket's narrowest (and, with ``ratio > 1``, every width up to
    ``small``); ``ratio=1`` gives one program per width. Buckets come
    out narrowest first. ``max_members > 0`` splits larger buckets."""
    buckets: list[Bucket] = []
    for depth in sorted({r.depth for r in runs}):
        mine = sorted((r for r in runs if r.depth == depth), key=lambda r: (r.width, r.seed))
        widths = sorted({r.width for r in mine})
        groups: list[list[int]] = []
        for w in widths:
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


@dataclass
class SweepOutcome:
    """What a sweep did: its rows, a summary per width, the slope of the MSE."""

    out_dir: Path
    rows: list[dict[str, str]]
    summary: list[dict[str, float]]
    slope: object = None
    diverged: int = 0
    skipped: int = 0
    compile_seconds: float = 0.0
    run_seconds: float = 0.0  # training and measuring
    wall_seconds: float = 0.0


def environment() -> dict:
    """Backend facts for the manifest."""
    devices = jax.devices()
    return {
        "backend": jax.default_backend(),
        "device_count": len(devices),
        "devices": [str(d.device_kind) for d in devices],
        "process_count": jax.process_count(),
        "x64": bool(jax.config.jax_enable_x64),
    }


def _build_model(config: SweepConfig, depth: int, width: int, key, active: int | None = None) -> MLP:
    return MLP(
        config.dim,
        [width] * depth,
        1,
        activation=config.activation,
        init=config.init,
        active_widths=None if active is None else [active] * depth,
        slope_scale=config.slope_scale,
        readout="zeros" if config.output_init == "lstsq" else "lecun",
        key=key,
        dtype=jnp.float64 if config.x64 else jnp.float32,
    )


@functools.lru_cache(maxsize=64)
def _init_fn(config: SweepConfig, depth: int, width: int):
    """``(seeds, actives) -> (params, train_keys)`` for an ensemble, compiled
    once per shape with :data:`~approx.models.INIT_COMPILER_OPTIONS` and run
    on :func:`approx.backend.init_device`; the results are on the default
    device."""

    def one(seed, active):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), depth), active)
        params = nnx.state(_build_model(config, depth, width, key, active))
        return params, jax.random.fold_in(key, 1)

    jitted = jax.jit(jax.vmap(one))

    @functools.lru_cache(maxsize=16)
    def compiled(n: int):
        spec = jax.ShapeDtypeStruct((n,), jnp.int32)
        with on_init_device():
            return jitted.lower(spec, spec).compile(compiler_options=INIT_COMPILER_OPTIONS)

    def init(seeds, actives):
        seeds, actives = np.asarray(seeds, np.int32), np.asarray(actives, np.int32)
        return to_compute_device(compiled(len(seeds))(seeds, actives))

    return init


def _graphdef(config: SweepConfig, depth: int, width: int):
    return nnx.graphdef(nnx.eval_shape(lambda: _build_model(config, depth, width, jax.random.key(0))))


def _train_config(config: SweepConfig) -> TrainConfig:
    return TrainConfig(
        optimizer=config.optimizer,
        learning_rate=float(config.lr),
        steps=config.steps,
        schedule=config.schedule,
        batch_size=config.batch_size,
        output_init=config.output_init,
        snapshots=config.snapshot_count,
    )


def _shard_leading(tree, mesh: Mesh | None):
    if mesh is None:
        return tree
    sharding = NamedSharding(mesh, PartitionSpec("ensemble"))
    return jax.device_put(tree, sharding)


def _pad_members(members: list[Run], multiple: int) -> list[Run]:
    """Repeats the last run so the ensemble divides into equal slices (over
    devices, or over calls); the copies are computed and discarded."""
    extra = (-len(members)) % multiple
    return members + [members[-1]] * extra


@dataclass(frozen=True)
class InitialParams:
    """Initial parameters of many runs of one depth at a common padded width.

    Drawn by one compiled program per depth (random number generation is
    slow to compile on CPU, so it is done once, not once per bucket); each
    bucket's program slices its runs out. Unit ``j`` of a padded layer
    equals unit ``j`` of the unpadded one (see approx.models), so the slices
    are exactly the bucket's own initialisation.
    """

    width: int
    index: dict
    params: object
    keys: jax.Array


# Above this many floats for all runs' initial parameters, each bucket draws its own.
_INIT_ALL_LIMIT = 20_000_000


def initial_params(config: SweepConfig, depth: int, width: int, runs: Sequence[Run]) -> InitialParams | None:
    """Initial parameters of ``runs`` at padded ``width``, or ``None`` when
    they would not fit the memory budget (each bucket then initialises its
    own runs). The least-squares readout is fit later, in each bucket's
    training program, at the bucket's own width: an SVD costs ``n w^2``, and
    doing it at the widest width for every run was measured 8x slower."""
    per_run = count_params(config.dim, [width] * depth, 1)
    if not runs or per_run * len(runs) > _INIT_ALL_LIMIT:
        return None
    seeds = np.asarray([r.seed for r in runs], np.int32)
    actives = np.asarray([r.width for r in runs], np.int32)
    params, keys = _init_fn(config, depth, width)(seeds, actives)
    return InitialParams(width, {(r.width, r.seed): i for i, r in enumerate(runs)}, params, keys)


def _structure(config: SweepConfig, depth: int, width: int):
    return nnx.state(nnx.eval_shape(lambda: _build_model(config, depth, width, jax.random.key(0))))


def _slice_to(params, structure):
    """Leading units of every leaf (after the ensemble axis) to ``structure``'s shapes."""
    return jax.tree.map(lambda a, t: a[(slice(None),) + tuple(slice(0, n) for n in t.shape)], params, structure)


def _masks(members: Sequence[Run], width: int, depth: int, x64: bool):
    mask = (np.arange(width)[None, :] < np.asarray([r.width for r in members])[:, None]).astype(
        np.float64 if x64 else np.float32
    )
    return tuple(mask for _ in range(depth))


@functools.lru_cache(maxsize=64)
def _bucket_program(config: SweepConfig, depth: int, width: int, target_fn: Callable, mesh: Mesh | None):
    """The jitted program of a bucket: take the bucket's runs out of the
    depth's initial parameters, train them, measure them.

    ``program(all_params, all_keys, idx, masks, x_train, y_train, x_test,
    y_test, x_sup, x_plot) -> dict`` of ``(E,)`` arrays (``final``,
    ``diverged`` and the errors), ``sup_at`` ``(E, d)`` and ``params``, the
    trained parameters as a pure dict (``{"layers": {i: {"kernel",
    "bias"}}}``, at the bucket's padded width); with snapshots, also
    ``snapshots``: ``fit`` ``(E, K+1, P)`` on ``x_plot``, ``loss`` ``(E,
    K+1)`` and ``params`` (the pure dict, each leaf ``(E, K+1, ...)``). One compilation per ``(depth, width, ensemble
    size)``: slicing, training and measuring in one program rather than
    three (each compilation has a fixed cost of tens of milliseconds). The
    parameters are returned whether or not they are saved, so that saving
    them or not runs the same program (the same numbers, no recompilation);
    they are copied to the host only to be saved.
    """
    graphdef = _graphdef(config, depth, width)
    structure = _structure(config, depth, width)
    run = make_run_fn(graphdef, _train_config(config), mean_squared_error)
    measure = make_measure_fn(graphdef, target_fn, config.dim)
    spread = None if mesh is None else NamedSharding(mesh, PartitionSpec("ensemble"))

    def program(all_params, all_keys, idx, masks, x_train, y_train, x_test, y_test, x_sup, x_plot):
        params = _slice_to(jax.tree.map(lambda a: a[idx], all_params), structure)
        keys = all_keys[idx]
        if spread is not None:
            params, keys = jax.lax.with_sharding_constraint((params, keys), spread)
        result = run(params, masks, x_train, y_train, keys, x_plot)
        errors = measure(result.params, masks, x_test, y_test, x_sup)
        params = nnx.to_pure_dict(result.params)
        out = {"final": result.final_loss, "diverged": result.diverged, **errors, "params": params}
        if result.snapshots is not None:
            snaps = result.snapshots
            out["snapshots"] = {"fit": snaps.fit, "loss": snaps.loss, "params": nnx.to_pure_dict(snaps.params)}
        return out

    return jax.jit(program)


def _rows(config: SweepConfig, runs: Sequence[Run], target: Target, data: SweepData, host: dict, share: float) -> list[dict]:
    rows = []
    for i, r in enumerate(runs):
        rows.append(
            {
                "target": target.name,
                "dim": config.dim,
                "depth": r.depth,
                "width": r.width,
                "activation": config.activation,
                "seed": r.seed,
                "steps": config.steps,
                "optimizer": config.optimizer,
                "lr": float(config.lr),
                "init": config.init,
                "train_loss": float(host["final"][i]),
                "test_mse": float(host["test_mse"][i]),
                "test_sup": float(host["test_sup"][i]),
                "test_l1": float(host["test_l1"][i]),
                "sup_method": data.sup_method,
                "params": count_params(config.dim, [r.width] * r.depth, 1),
                "diverged": bool(host["diverged"][i]),
                "seconds": round(share, 6),
            }
        )
    return rows


def _cut(layers, i: int, width: int, lead: tuple = ()) -> tuple[list, list]:
    """Run ``i``'s kernels and biases cut from a bucket's padded layers
    (host arrays, ensemble axis first, then the axes ``lead``) to ``width``
    hidden units."""
    depth = len(layers) - 1
    kernels, biases = [], []
    for j in range(depth + 1):
        rows = slice(None) if j == 0 else slice(0, width)
        cols = slice(None) if j == depth else slice(0, width)
        kernels.append(np.ascontiguousarray(layers[j]["kernel"][i][(*lead, rows, cols)]))
        biases.append(np.ascontiguousarray(layers[j]["bias"][i][(*lead, cols)]))
    return kernels, biases


def _networks(config: SweepConfig, runs: Sequence[Run], target: Target, host: dict, data: SweepData | None = None) -> list[Network]:
    """Each run's trained network, cut from the bucket's padded parameters
    (``host["params"]``: host arrays with the ensemble axis first) to its
    true width: hidden units past the run's width are masked (they output
    zero and never move), so dropping them leaves the same function. The
    file also keeps ``sup_at``, the point where the row's ``test_sup`` was
    found: evaluating the network there checks that number, and the run's
    snapshots when the program recorded them (:mod:`approx.snapshots`)."""
    config_dict = config.to_dict() | {"target": target.name}
    snaps = host.get("snapshots")
    if snaps is not None:
        steps = snapshot_steps(config.steps, config.snapshot_count)
        x_plot = np.asarray(data.x_plot)
    networks = []
    for i, r in enumerate(runs):
        kernels, biases = _cut(host["params"]["layers"], i, r.width)
        meta = {"kind": "sweep", "target": target.name, "depth": r.depth, "width": r.width, "seed": r.seed,
                "config": config_dict}  # fmt: skip
        extras = {"sup_at": np.asarray(host["sup_at"][i])}
        if snaps is not None:
            ks, bs = _cut(snaps["params"]["layers"], i, r.width, (slice(None),))
            # Layer by layer, kernel (row-major) then bias: the file's own order.
            flat = np.concatenate([a.reshape(len(steps), -1) for k, b in zip(ks, bs) for a in (k, b)], axis=1)
            extras |= Snapshots(steps, x_plot, np.asarray(snaps["fit"][i]), flat, np.asarray(snaps["loss"][i])).arrays()
        networks.append(Network(tuple(kernels), tuple(biases), config.activation, meta, extras))
    return networks


class BucketResult(NamedTuple):
    """What :func:`train_bucket` returns: a row per run, its network (or
    ``None`` when not kept), compile and run seconds."""

    rows: list[dict]
    networks: list[Network] | None
    compile_seconds: float
    run_seconds: float


def run_bucket(
    config: SweepConfig,
    bucket: Bucket,
    data: SweepData,
    target: Target,
    mesh: Mesh | None = None,
    init: InitialParams | None = None,
    *,
    programs: dict | None = None,
):
    """Trains and measures one bucket. Returns ``(rows, compile_s, run_s)``
    (:func:`train_bucket` without the networks)."""
    result = train_bucket(config, bucket, data, target, mesh, init, programs=programs, keep_networks=False)
    return result.rows, result.compile_seconds, result.run_seconds


def train_bucket(
    config: SweepConfig,
    bucket: Bucket,
    data: SweepData,
    target: Target,
    mesh: Mesh | None = None,
    init: InitialParams | None = None,
    *,
    programs: dict | None = None,
    keep_networks: bool = True,
) -> BucketResult:
    """Trains and measures one bucket.

    With ``init`` the bucket's initial parameters are sliced from it inside
    the bucket's program; without, the bucket draws its own. On a CPU a
    large bucket runs as several equal calls of one program (see
    ``_members_per_call``). ``programs`` keeps compiled programs for later
    buckets of the same shape. With ``keep_networks`` the trained
    parameters come back in the bucket's one host read and each run's
    network is returned at its true width.
    """
    programs = {} if programs is None else programs
    n_dev = 1 if mesh is None else mesh.devices.size
    members = _pad_members(list(bucket.runs), n_dev)
    size = _members_per_call(len(members), bucket.width, config.train_points, n_dev)
    members = _pad_members(members, size)
    # The plotting points only when the program records snapshots: without, it is the program it always was.
    x_plot = data.x_plot if config.snapshot_count else None
    data_args = (data.x_train, data.y_train, data.x_test, data.y_test, data.x_sup, x_plot)
    t0 = time.perf_counter()
    if init is None:
        seeds = np.asarray([r.seed for r in members], np.int32)
        actives = np.asarray([r.width for r in members], np.int32)
        all_params, all_keys = replicate(_init_fn(config, bucket.depth, bucket.width)(seeds, actives), mesh)
        idx = np.arange(len(members), dtype=np.int32)
    else:
        all_params, all_keys = init.params, init.keys
        idx = np.asarray([init.index[(r.width, r.seed)] for r in members], np.int32)
    calls = [
        (idx[i : i + size], _shard_leading(_masks(members[i : i + size], bucket.width, bucket.depth, config.x64), mesh))
        for i in range(0, len(members), size)
    ]
    key = (bucket.depth, bucket.width, size, tuple((a.shape, str(a.dtype)) for a in jax.tree.leaves(all_params)))
    if key not in programs:
        program = _bucket_program(config, bucket.depth, bucket.width, target.fn, mesh)
        programs[key] = program.lower(all_params, all_keys, calls[0][0], calls[0][1], *data_args).compile(
            compiler_options=compiler_options()
        )
    exe = programs[key]
    jax.block_until_ready(all_params)
    t1 = time.perf_counter()  # compiled and initialised: from here on, training and measuring
    outs = [exe(all_params, all_keys, i, m, *data_args) for i, m in calls]
    if not keep_networks:
        outs = [{k: v for k, v in o.items() if k not in ("params", "snapshots")} for o in outs]
    host = to_host(outs)  # the bucket's one host read (gathered from every process)
    host = jax.tree.map(lambda *parts: np.concatenate([np.asarray(p) for p in parts]), *host)
    t3 = time.perf_counter()
    rows = _rows(config, bucket.runs, target, data, host, (t3 - t1) / len(members))
    networks = _networks(config, bucket.runs, target, host, data) if keep_networks else None
    return BucketResult(rows, networks, t1 - t0, t3 - t1)


# On a CPU, a program's ensemble is capped so that one (members x points x
# units) array stays within 4 MB: beyond the caches the per-run cost grows
# (measured, width 64 on 1024 points: 30 ms per run with 16 seeds, 40 ms with
# 32 and 57 ms with 64 in one program). Larger buckets run as several calls
# of one compiled program. Accelerators take the whole ensemble at once.
_CPU_FLOATS_PER_CALL = 1 << 20


def _members_per_call(members: int, width: int, points: int, multiple: int = 1) -> int:
    """Members per call of a bucket's program: all of them, or on a CPU equal
    slices of at most ``_CPU_FLOATS_PER_CALL / (points x width)`` (a multiple
    of the device count)."""
    if jax.default_backend() != "cpu":
        return members
    cap = max(1, _CPU_FLOATS_PER_CALL // max(1, points * width))
    calls = math.ceil(members / cap)
    size = math.ceil(members / calls)
    return math.ceil(size / multiple) * multiple


def make_mesh() -> Mesh | None:
    """A 1-D mesh over all devices (``None`` with a single device)."""
    devices = jax.devices()
    if len(devices) < 2:
        return None
    return Mesh(np.asarray(devices), ("ensemble",))


@config_precision
def run_sweep(
    config: SweepConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: Callable[[str], None] | None = None,
    target: Target | Callable | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SweepOutcome:
    """Runs (or resumes) a sweep into ``out_dir``; see the module docstring.

    ``target`` overrides ``config.target`` with a Target or a Python callable
    (the API's way to pass a custom function). Errors in the config or the
    output directory are raised before anything is compiled. When
    ``should_stop()`` turns true, the sweep stops after the bucket in flight
    (its rows written) and raises ``KeyboardInterrupt``.
    """

    report = progress or (lambda msg: None)
    t_start = time.perf_counter()
    check_sweep(config)  # a run beyond the machine is refused before any work
    tgt = resolve_target(target if target is not None else config.target, config.dim)
    if tgt.dim != config.dim:
        raise TargetError(f"target {tgt.name!r} is {tgt.dim}-dimensional but dim is {config.dim}")
    # The target's values at every training and test point are checked before the run directory is opened.
    data = make_data(config, tgt)
    config_dict = config.to_dict() | {"target": tgt.name}
    # With several processes (--distributed) process 0 alone writes (see approx.processes).
    store = SharedRunDirectory(
        RunDirectory(out_dir, SWEEP_COLUMNS, KEY_COLUMNS, config_dict, kind="sweep", neutral_keys=RESULT_NEUTRAL_KEYS)
    )
    done = store.open(resume=resume, environment=environment())
    runs = [
        Run(depth, width, seed)
        for depth in config.depths
        for width in config.widths
        for seed in range(config.seeds)
        if (str(depth), str(width), str(seed)) not in done
    ]
    mesh = make_mesh()
    data = replicate(data, mesh)
    buckets = plan_buckets(runs, config.bucket_ratio, config.max_bucket_runs, small_width())
    skipped = config.seeds * len(config.widths) * len(config.depths) - len(runs)
    if skipped:
        report(f"resuming: {skipped} runs already recorded, {len(runs)} to go")
    elif resume and not store.resumed:
        report(f"nothing to resume in {out_dir}: starting the sweep")
    n_dev = 1 if mesh is None else mesh.devices.size
    report(f"{len(runs)} runs in {len(buckets)} compiled group(s) on {jax.device_count()} {jax.default_backend()} device(s)")
    compile_s = run_s = 0.0
    bucket_log = []
    try:
        t_init = time.perf_counter()
        inits = {}
        for depth in config.depths:
            mine = [b for b in buckets if b.depth == depth]
            if mine:
                members = [m for b in mine for m in _pad_members(list(b.runs), n_dev)]
                inits[depth] = replicate(initial_params(config, depth, max(b.width for b in mine), list(dict.fromkeys(members))), mesh)
        compile_s += time.perf_counter() - t_init
        programs: dict = {}
        for i, bucket in enumerate(buckets, 1):
            if any_process(should_stop is not None and should_stop()):
                raise KeyboardInterrupt
            rows, networks, c, r = train_bucket(
                config, bucket, data, tgt, mesh, inits.get(bucket.depth), programs=programs,
                keep_networks=config.save_networks,
            )  # fmt: skip
            t_write = time.perf_counter()
            store.append(rows, networks)  # networks first: a row marks its run finished
            write_s = time.perf_counter() - t_write
            compile_s += c
            run_s += r
            widths = sorted({run.width for run in bucket.runs})
            bucket_log.append(
                {"depth": bucket.depth, "padded_width": bucket.width, "widths": widths, "runs": len(bucket.runs),
                 "compile_s": round(c, 3), "run_s": round(r, 3), "write_s": round(write_s, 4)}
            )  # fmt: skip
            report(
                f"[{i}/{len(buckets)}] depth {bucket.depth}, widths {','.join(map(str, widths))}: "
                f"{len(bucket.runs)} runs, compile {c:.1f} s, train {r:.1f} s"
            )
    except KeyboardInterrupt:
        store.update_manifest(interrupted=True, buckets=bucket_log)
        raise
    all_rows = store.rows()
    outcome = SweepOutcome(
        out_dir=Path(out_dir),
        rows=all_rows,
        summary=_summary(all_rows),
        diverged=sum(r["diverged"] == "true" for r in all_rows),
        skipped=skipped,
        compile_seconds=compile_s,
        run_seconds=run_s,
    )
    try:
        fit = [s for s in outcome.summary if s["width"] >= 2]
        outcome.slope = fit_slope([s["width"] for s in fit], [s["mse_median"] for s in fit])
    except (ValueError, KeyError):
        outcome.slope = None
    outcome.wall_seconds = time.perf_counter() - t_start
    store.finish(
        compile_seconds=round(compile_s, 3),
        run_seconds=round(run_s, 3),
        buckets=bucket_log,
        mse_slope=None if outcome.slope is None else {"slope": outcome.slope.slope, "ci": [outcome.slope.ci_low, outcome.slope.ci_high]},
        diverged=outcome.diverged,
        interrupted=False,
    )
    return outcome


def _summary(rows) -> list[dict[str, float]]:
    mse = summarize(rows, ("depth", "width"), "test_mse")
    sup = {(s["depth"], s["width"]): s for s in summarize(rows, ("depth", "width"), "test_sup")}
    out = []
    for s in mse:
        k = (s["depth"], s["width"])
        out.append(
            {
                "depth": int(s["depth"]),
                "width": int(s["width"]),
                "mse_median": s["median"],
                "sup_median": sup[k]["median"] if k in sup else math.nan,
                "runs": s["count"],
            }
        )
    return out


def format_table(summary: Sequence[dict]) -> str:
    """The console table: width, median test MSE, median sup error."""
    multi = len({s["depth"] for s in summary}) > 1
    head = ("depth  " if multi else "") + " width   median test MSE   median sup error   runs"
    lines = [head, "-" * len(head)]
    for s in summary:
        lines.append(
            (f"{s['depth']:>5}  " if multi else "")
            + f"{s['width']:>6}   {s['mse_median']:>15.3e}   {s['sup_median']:>16.3e}   {s['runs']:>4}"
        )
    return "\n".join(lines)



