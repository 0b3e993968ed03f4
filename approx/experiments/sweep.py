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

The pieces live apart: the grouping rules in :mod:`approx.plan`, the points in
:mod:`approx.experiments.sweep_data`, a bucket's compiled program, rows and
networks in :mod:`approx.experiments.buckets`, and the run directory, resume
and Ctrl-C in :mod:`approx.experiments.runloop`; this module runs them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import jax

from approx.analysis import fit_slope, summarize
from approx.backend import config_precision
from approx.config import RESULT_NEUTRAL_KEYS, SweepConfig
from approx.experiments.buckets import InitialParams, initial_params, train_bucket
from approx.experiments.runloop import RunLoop, environment, make_mesh
from approx.experiments.sweep_data import SweepData, make_data
from approx.limits import check_sweep
from approx.plan import Bucket, Run, pad_members, plan_buckets, small_width
from approx.processes import replicate
from approx.results import SWEEP_COLUMNS, RunDirectory
from approx.targets import Target, TargetError, resolve_target

__all__ = [
    "Run", "Bucket", "SweepOutcome", "plan_buckets", "run_sweep", "train_bucket",
    "SweepData", "make_data", "environment", "make_mesh", "format_table",
]  # fmt: skip

KEY_COLUMNS = ("depth", "width", "seed")


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
    t_start = time.perf_counter()
    check_sweep(config)  # a run beyond the machine is refused before any work
    tgt = resolve_target(target if target is not None else config.target, config.dim)
    if tgt.dim != config.dim:
        raise TargetError(f"target {tgt.name!r} is {tgt.dim}-dimensional but dim is {config.dim}")
    # The target's values at every training and test point are checked before the run directory is opened.
    data = make_data(config, tgt)
    config_dict = config.to_dict() | {"target": tgt.name}
    store = RunDirectory(out_dir, SWEEP_COLUMNS, KEY_COLUMNS, config_dict, kind="sweep", neutral_keys=RESULT_NEUTRAL_KEYS)
    loop = RunLoop(store, log_key="buckets", progress=progress, should_stop=should_stop)
    runs = loop.open(config, resume=resume, environment=environment())
    mesh = make_mesh()
    data = replicate(data, mesh)
    buckets = plan_buckets(runs, config.bucket_ratio, config.max_bucket_runs, small_width(_accelerator()))
    loop.report(f"{len(runs)} runs in {len(buckets)} compiled group(s) on {jax.device_count()} {jax.default_backend()} device(s)")
    compile_s = run_s = 0.0
    with loop.interruptible():
        t_init = time.perf_counter()
        inits = _initial_params_by_depth(config, buckets, mesh)
        compile_s += time.perf_counter() - t_init
        programs: dict = {}
        for i, bucket in loop.groups(buckets):
            result = train_bucket(
                config, bucket, data, tgt, mesh, inits.get(bucket.depth), programs=programs,
                keep_networks=config.save_networks,
            )  # fmt: skip
            t_write = time.perf_counter()
            loop.store.append(result.rows, result.networks)  # networks first: a row marks its run finished
            loop.log.append(_bucket_entry(bucket, result, time.perf_counter() - t_write))
            compile_s += result.compile_seconds
            run_s += result.run_seconds
            loop.report(_bucket_line(i, len(buckets), bucket, result))
    return _finish_sweep(loop, out_dir, compile_s, run_s, time.perf_counter() - t_start)


def _accelerator() -> bool:
    return jax.default_backend() != "cpu"


def _initial_params_by_depth(config: SweepConfig, buckets: Sequence[Bucket], mesh) -> dict[int, InitialParams | None]:
    """Each depth's initial parameters for all its buckets at once (replicated
    over ``mesh``), or ``None`` for a depth too large to draw at once."""
    n_dev = 1 if mesh is None else mesh.devices.size
    inits = {}
    for depth in config.depths:
        mine = [b for b in buckets if b.depth == depth]
        if mine:
            members = [m for b in mine for m in pad_members(list(b.runs), n_dev)]
            widest = max(b.width for b in mine)
            inits[depth] = replicate(initial_params(config, depth, widest, list(dict.fromkeys(members))), mesh)
    return inits


def _bucket_entry(bucket: Bucket, result, write_seconds: float) -> dict:
    """The manifest's record of a finished bucket."""
    return {
        "depth": bucket.depth, "padded_width": bucket.width, "widths": sorted({r.width for r in bucket.runs}),
        "runs": len(bucket.runs), "compile_s": round(result.compile_seconds, 3), "run_s": round(result.run_seconds, 3),
        "write_s": round(write_seconds, 4),
    }  # fmt: skip


def _bucket_line(i: int, count: int, bucket: Bucket, result) -> str:
    widths = ",".join(map(str, sorted({r.width for r in bucket.runs})))
    return (
        f"[{i}/{count}] depth {bucket.depth}, widths {widths}: "
        f"{len(bucket.runs)} runs, compile {result.compile_seconds:.1f} s, train {result.run_seconds:.1f} s"
    )


def _finish_sweep(loop: RunLoop, out_dir, compile_s: float, run_s: float, wall_s: float) -> SweepOutcome:
    """The outcome from every row of the directory; the manifest completed."""
    all_rows = loop.store.rows()
    outcome = SweepOutcome(
        out_dir=Path(out_dir),
        rows=all_rows,
        summary=_summary(all_rows),
        diverged=sum(r["diverged"] == "true" for r in all_rows),
        skipped=loop.skipped,
        compile_seconds=compile_s,
        run_seconds=run_s,
    )
    try:
        fit = [s for s in outcome.summary if s["width"] >= 2]
        outcome.slope = fit_slope([s["width"] for s in fit], [s["mse_median"] for s in fit])
    except (ValueError, KeyError):
        outcome.slope = None
    outcome.wall_seconds = wall_s
    slope = None if outcome.slope is None else {"slope": outcome.slope.slope, "ci": [outcome.slope.ci_low, outcome.slope.ci_high]}
    loop.store.finish(
        compile_seconds=round(compile_s, 3), run_seconds=round(run_s, 3), buckets=loop.log, mse_slope=slope,
        diverged=outcome.diverged, interrupted=False,
    )  # fmt: skip
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



