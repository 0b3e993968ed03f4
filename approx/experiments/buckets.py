"""A sweep's compiled groups ("buckets"): initialise, train and measure many runs in one program.

Every run of a bucket is padded to the bucket's widest layer with masked
units (which output exactly zero and receive zero gradient, see
:mod:`approx.models`), and all of them train together as one ``vmap``ped
ensemble, sharded over the available devices; how runs are grouped is
:mod:`approx.plan`'s. A bucket's program slices its runs' initial parameters,
trains them (:func:`approx.train.make_run_fn`) and measures them
(:func:`approx.measure.make_measure_fn`), and its results come back in one
host read: a row per run, and each run's trained network cut back to its true
width (:class:`approx.results.Network`).

A run's numbers depend only on its own ``(depth, width, seed)``, the config
and the data, never on its bucket: the model key is
``fold_in(fold_in(key(seed), depth), width)``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from approx.backend import compiler_options, on_init_device, to_compute_device
from approx.config import SweepConfig
from approx.experiments.sweep_data import SweepData
from approx.measure import make_measure_fn
from approx.models import INIT_COMPILER_OPTIONS, MLP, count_params
from approx.plan import INIT_ALL_LIMIT, Bucket, Run, members_per_call, pad_members, padding_masks
from approx.processes import replicate, to_host
from approx.results import Network
from approx.snapshots import Snapshots, snapshot_steps
from approx.targets import Target
from approx.train import TrainConfig, make_run_fn, mean_squared_error

__all__ = ["BucketResult", "InitialParams", "initial_params", "train_bucket"]


def _bucket_mlp(config: SweepConfig, depth: int, width: int, key, active: int | None = None) -> MLP:
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
        params = nnx.state(_bucket_mlp(config, depth, width, key, active))
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
    return nnx.graphdef(nnx.eval_shape(lambda: _bucket_mlp(config, depth, width, jax.random.key(0))))


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



def initial_params(config: SweepConfig, depth: int, width: int, runs: Sequence[Run]) -> InitialParams | None:
    """Initial parameters of ``runs`` at padded ``width``, or ``None`` when
    they would not fit the memory budget (each bucket then initialises its
    own runs). The least-squares readout is fit later, in each bucket's
    training program, at the bucket's own width: an SVD costs ``n w^2``, so
    fitting every run at the widest width would cost far more."""
    per_run = count_params(config.dim, [width] * depth, 1)
    if not runs or per_run * len(runs) > INIT_ALL_LIMIT:
        return None
    seeds = np.asarray([r.seed for r in runs], np.int32)
    actives = np.asarray([r.width for r in runs], np.int32)
    params, keys = _init_fn(config, depth, width)(seeds, actives)
    return InitialParams(width, {(r.width, r.seed): i for i, r in enumerate(runs)}, params, keys)


def _structure(config: SweepConfig, depth: int, width: int):
    return nnx.state(nnx.eval_shape(lambda: _bucket_mlp(config, depth, width, jax.random.key(0))))


def _slice_to(params, structure):
    """Leading units of every leaf (after the ensemble axis) to ``structure``'s shapes."""
    return jax.tree.map(lambda a, t: a[(slice(None),) + tuple(slice(0, n) for n in t.shape)], params, structure)


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
    K+1)`` and ``params`` (the pure dict, each leaf ``(E, K+1, ...)``). One
    compilation per ``(depth, width, ensemble size)``: slicing, training and
    measuring in one program rather than three (each compilation has a fixed
    cost). The
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


def _bucket_rows(config: SweepConfig, runs: Sequence[Run], target: Target, data: SweepData, host: dict, share: float) -> list[dict]:
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


def _bucket_networks(config: SweepConfig, runs: Sequence[Run], target: Target, host: dict, data: SweepData | None = None) -> list[Network]:
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
    :func:`approx.plan.members_per_call`). ``programs`` keeps compiled programs for later
    buckets of the same shape. With ``keep_networks`` the trained
    parameters come back in the bucket's one host read and each run's
    network is returned at its true width.
    """
    programs = {} if programs is None else programs
    n_dev = 1 if mesh is None else mesh.devices.size
    members = pad_members(list(bucket.runs), n_dev)
    size = members_per_call(len(members), bucket.width, config.train_points, n_dev, accelerator=jax.default_backend() != "cpu")
    members = pad_members(members, size)
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
        (idx[i : i + size], _shard_leading(padding_masks([r.width for r in members[i : i + size]], bucket.width, bucket.depth, _float(config)), mesh))
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
    rows = _bucket_rows(config, bucket.runs, target, data, host, (t3 - t1) / len(members))
    networks = _bucket_networks(config, bucket.runs, target, host, data) if keep_networks else None
    return BucketResult(rows, networks, t1 - t0, t3 - t1)


def _float(config: SweepConfig):
    return np.float64 if config.x64 else np.float32
