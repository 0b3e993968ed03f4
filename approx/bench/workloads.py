"""Benchmark workloads, timed as users run them, compile apart from run, each
measured against a ceiling taken on the same machine in the same process
(:mod:`approx.bench.ceilings`; FLOPs counted in :mod:`approx.bench.flops`).

Workloads:

* ``w1`` - the canonical width sweep: ``sine`` on [0, 1], 1024 training
  points, a 4096-point test grid, one sigmoid hidden layer of widths 1..256,
  4 seeds each (36 runs), 3000 full-batch Adam steps at lr 1e-2, float32.
  Timed end to end as a user runs it (a fresh ``approx sweep`` process, with
  a cold and then a warm compilation cache) and split into compile and run
  from the sweep's manifest.
* ``fmnist`` - 784-256-10 sigmoid MLP on Fashion-MNIST at batch 128, 5
  epochs: a training epoch after compilation, its evaluation, and the whole
  run with compilation, in cold rounds interleaved with the PyTorch baseline
  (:mod:`approx.bench.torch_baseline`).
* ``scaling`` - time per run against width and against the number of seeds.
* ``keras`` - the course programs with ``approx.keras`` (and, with the
  ``keras`` baseline, with Keras 3 on JAX in the same process) and a
  784-128-10 Fashion-MNIST epoch against its floor (see
  :mod:`approx.bench.keras_baseline`).

The ceiling is the rate (FLOP/s) of a single large fused forward+backward
pass of the same arithmetic: for the sweep, one sigmoid layer as wide as all
the sweep's units together on the same points; for Fashion-MNIST, the same
network on 8192 examples at once. ``fraction`` is achieved / ceiling.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import jax

from approx.threads import OPENBLAS_THREADS_SET_BY_APPROX
from approx.analysis import summarize
from approx.bench.ceilings import dense_mlp_ceiling, sigmoid_layer_ceiling
from approx.bench.flops import fmnist_flops_per_example, mlp_flops_per_point_unit, w1_flops
from approx.bench.keras_baseline import bench_keras_front, import_keras
from approx.bench.report import format_results, plot_scaling
from approx.bench.result import BenchResult, spread
from approx.bench.torch_baseline import fmnist_epoch
from approx.config import FMNISTConfig, SweepConfig
from approx.experiments.fmnist import prepare_data, train_fmnist
from approx.experiments.sweep import Bucket, Run, make_data, make_mesh, train_bucket
from approx.results import read_manifest, read_rows
from approx.targets import make_target

# format_results and the FLOP counts are part of this module's interface (the
# command and the tests import them from here).
__all__ = [
    "BASELINES",
    "WORKLOADS",
    "BenchResult",
    "bench_fmnist",
    "bench_scaling",
    "bench_w1",
    "fmnist_flops_per_example",
    "format_results",
    "mlp_flops_per_point_unit",
    "run_bench",
    "w1_flops",
]  # fmt: skip

W1_WIDTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
W1_ARGS = {"widths": W1_WIDTHS, "seeds": 4, "steps": 3000, "lr": 0.01, "train_points": 1024}
QUICK_W1_ARGS = {"widths": (1, 4, 16), "seeds": 2, "steps": 200, "lr": 0.01, "train_points": 256}


# -- w1 -------------------------------------------------------------------------
def _w1_flags(args: dict) -> list[str]:
    return [
        "--widths", ",".join(map(str, args["widths"])), "--seeds", str(args["seeds"]),
        "--steps", str(args["steps"]), "--lr", str(args["lr"]), "--train-points", str(args["train_points"]),
    ]  # fmt: skip


def _sweep_cmd(out: Path, args: dict, *extra: str) -> list[str]:
    return [sys.executable, "-m", "approx", "sweep", "--target", "sine", *_w1_flags(args), "--out", str(out), *extra]


def _baseline_env() -> dict:
    """The environment as the user had it: approx limits OpenBLAS to one
    thread for its own process, which must not handicap the baseline."""
    env = os.environ.copy()
    if OPENBLAS_THREADS_SET_BY_APPROX:
        env.pop("OPENBLAS_NUM_THREADS", None)
    return env


def _timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return wall, proc


def _w1_sweeps(args: dict, flags: tuple, report: Callable[[str], None]):
    """The sweep run twice in fresh processes sharing a new compilation cache:
    ``(cold_s, warm_s, cold manifest, warm manifest, cold rows)``."""
    with tempfile.TemporaryDirectory(prefix="approx-bench-") as tmp:
        tmp = Path(tmp)
        env = os.environ | {"XDG_CACHE_HOME": str(tmp / "cache")}
        env.pop("APPROX_NO_CACHE", None)
        # W1 as a user types it: the figure (and the explorer page) are part of the work.
        report("w1: cold compilation cache ...")
        cold, _ = _timed(_sweep_cmd(tmp / "cold", args, *flags), env)
        report(f"w1: cold {cold:.1f} s; warm cache ...")
        warm, _ = _timed(_sweep_cmd(tmp / "warm", args, *flags), env)
        return cold, warm, read_manifest(tmp / "cold"), read_manifest(tmp / "warm"), read_rows(tmp / "cold" / "results.csv")


def _w1_torch(args: dict, cold: float, warm: float) -> dict:
    """The PyTorch loop of the same sweep in a fresh process: its wall time,
    the speedups, and its median test MSE per width."""
    cmd = [sys.executable, "-m", "approx.bench.torch_baseline", "w1", *_w1_flags(args)]
    torch_wall, proc = _timed(cmd, _baseline_env())
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = [{k: str(v) for k, v in r.items()} | {"diverged": "false"} for r in out["runs"]]
    return {
        "torch_wall_s": torch_wall,
        "torch_threads": out["threads"],
        "speedup_cold": torch_wall / cold,
        "speedup_warm": torch_wall / warm,
        "torch_median_test_mse": {s["width"]: s["median"] for s in summarize(rows, ("width",), "test_mse")},
    }


def bench_w1(
    quick: bool = False, baseline: str | None = None, report: Callable[[str], None] = print, snapshots: int | None = None
) -> BenchResult:
    """W1 end to end in fresh processes, as a user types it (figure
    included): cold cache, then warm cache. Compile time from the cold run's
    manifest, steady-state run time from the warm run's. ``snapshots``
    passes ``--snapshots K`` to the sweeps (default: the sweep's own, 40)."""
    args = QUICK_W1_ARGS if quick else W1_ARGS
    flags = () if snapshots is None else ("--snapshots", str(snapshots))
    cold, warm, manifest, warm_manifest, rows = _w1_sweeps(args, flags, report)
    units = sum(args["widths"]) * args["seeds"]
    report("w1: ceiling ...")
    ceiling = sigmoid_layer_ceiling(int(2 ** math.ceil(math.log2(units))), args["train_points"])
    extra = {
        "cold_wall_s": cold,
        "warm_wall_s": warm,
        "cold_groups_s": manifest.get("compile_seconds", math.nan) + manifest.get("run_seconds", math.nan),
        "cold_sweep_s": manifest.get("wall_seconds"),
        "median_test_mse": {s["width"]: s["median"] for s in summarize(rows, ("width",), "test_mse")},
        "buckets": manifest.get("buckets"),
        "device_count": manifest.get("device_count"),
        "backend": manifest.get("backend"),
        "snapshots": manifest.get("config", {}).get("snapshots"),
    }
    if baseline == "torch":
        report("w1: PyTorch baseline ...")
        extra.update(_w1_torch(args, cold, warm))
    runs = len(args["widths"]) * args["seeds"]
    return BenchResult(
        "w1",
        compile_s=float(manifest.get("compile_seconds", math.nan)),
        # Steady state: training and measuring with every program already
        # compiled (the warm run's programs come from the cache).
        run_s=float(warm_manifest.get("run_seconds", math.nan)),
        steps=args["steps"] * runs,
        samples=args["steps"] * runs * args["train_points"],
        flops=w1_flops(args["widths"], args["seeds"], args["steps"], args["train_points"]),
        ceiling_gflops=ceiling,
        wall_s=cold,
        extra=extra,
    )


# -- fmnist ---------------------------------------------------------------------
def _torch_eval_sets(data, dev) -> list:
    """The examples ``approx fmnist`` evaluates on, for the PyTorch loop:
    the first training examples and the test set (``dev``: the device data
    on the host)."""
    test = dev.x_eval.reshape(-1, dev.x_eval.shape[-1])[data.test_offset :][: data.n_test]
    return [(dev.x_train[: data.n_train_eval], dev.y_train[: data.n_train_eval]), (test, data.y_test)]


def _fmnist_config(quick: bool) -> tuple[FMNISTConfig, int]:
    """The workload's settings and its number of rounds: 784-256-10 at batch
    128 for 5 epochs, 3 rounds; quick: 784-64-10 on 4096 examples, 1 round."""
    if quick:
        return FMNISTConfig(widths=(64,), epochs=5, batch_size=128, train_subset=4096, test_subset=1000), 1
    return FMNISTConfig(widths=(256,), epochs=5, batch_size=128), 3


def _fmnist_rounds(config: FMNISTConfig, data, rounds: int, torch: bool, report: Callable[[str], None]):
    """``rounds`` cold runs of approx, each followed by PyTorch's when
    ``torch``: ``(runs, torch_runs)``."""
    (width,) = config.widths
    if torch:
        dev = jax.device_get(data.device)
        eval_sets = _torch_eval_sets(data, dev)
    runs, torch_runs = [], []
    for r in range(rounds):
        jax.clear_caches()  # every round compiles, as a fresh process would
        runs.append(train_fmnist(config, data, 1, width, (0,)))
        report(f"fmnist: round {r + 1}: approx compile {runs[-1].compile_seconds:.2f} s, "
               f"epochs {', '.join(f'{s:.3f}' for s in runs[-1].epoch_seconds)} s")  # fmt: skip
        if torch:
            torch_runs.append(
                fmnist_epoch(dev.x_train, dev.y_train, width, config.batch_size, config.epochs, config.lr, eval_sets)
            )
            epochs_text = ", ".join(f"{s:.3f}" for s in torch_runs[-1]["train_seconds"])
            report(f"fmnist: round {r + 1}: PyTorch epochs {epochs_text} s")
    return runs, torch_runs


def _epoch_times(train_seconds, eval_seconds) -> dict:
    """Per-epoch timings over rounds (lists per round): every training epoch,
    every evaluation, every epoch with its evaluation, and each round's total."""
    pairs = [list(zip(t, e)) for t, e in zip(train_seconds, eval_seconds)]
    return {
        "train": [s for run in train_seconds for s in run],
        "eval": [s for run in eval_seconds for s in run],
        "both": [a + b for run in pairs for a, b in run],
        "totals": [sum(t) + sum(e) for t, e in zip(train_seconds, eval_seconds)],
    }


def _torch_fmnist_extra(torch_runs: list[dict], epoch_s: float, epoch_eval_s: float, total_s: float) -> dict:
    """PyTorch's figures and the speedups over it, like with like."""
    t = _epoch_times([run["train_seconds"] for run in torch_runs], [run["eval_seconds"] for run in torch_runs])
    return {
        "torch_threads": torch_runs[0]["threads"],
        "torch_epoch_s": min(t["train"]),
        "torch_epoch_s_range": spread(t["train"]),
        "torch_eval_s": min(t["eval"]),
        "torch_epoch_eval_s": min(t["both"]),
        "torch_five_epoch_total_s": min(t["totals"]),
        "torch_five_epoch_total_s_range": spread(t["totals"]),
        "torch_test_accuracy": torch_runs[-1]["eval"][-1]["accuracy"],
        "speedup": min(t["train"]) / epoch_s,
        "speedup_with_eval": min(t["both"]) / epoch_eval_s,
        "speedup_five_epochs_with_compile": min(t["totals"]) / total_s,
    }


def bench_fmnist(quick: bool = False, baseline: str | None = None, report: Callable[[str], None] = print) -> BenchResult:
    """784-256-10 at batch 128 on Fashion-MNIST: 5 epochs, each trained and
    evaluated (10000 training and the 10000 test examples), as ``approx
    fmnist`` runs them.

    Rounds of one cold run each (the compiled programs are dropped first, so
    every round compiles) alternate with the PyTorch baseline's run of the
    same 5 epochs, so that both see the same machine load. Compared like
    with like, best over rounds:

    * a training epoch (approx's training program against PyTorch's loop of
      steps; the best epoch of all rounds, so neither approx's compilation
      nor PyTorch's warm-up in its first epoch counts);
    * an epoch plus its evaluation (PyTorch's under ``model.eval()`` and
      ``torch.no_grad()``, on the same examples);
    * the whole 5-epoch run with evaluation, approx's compilation included.
    """
    config, rounds = _fmnist_config(quick)
    (width,), batch, epochs = config.widths, config.batch_size, config.epochs
    data = prepare_data(config)
    report(f"fmnist: 784-{width}-10, batch {batch}, {data.n_train} examples, {epochs} epochs, {rounds} round(s) ...")
    runs, torch_runs = _fmnist_rounds(config, data, rounds, baseline == "torch", report)
    compiles = [run.compile_seconds for run in runs]
    t = _epoch_times([run.epoch_seconds for run in runs], [run.eval_seconds for run in runs])
    totals = [run.compile_seconds + sum(run.epoch_seconds) + sum(run.eval_seconds) for run in runs]
    best = min(range(rounds), key=lambda i: totals[i])
    report("fmnist: ceiling ...")
    ceiling = dense_mlp_ceiling(784, width, 10, batch=2048 if quick else 8192, repeats=3 if quick else 10)
    extra = {
        "rounds": rounds,
        "epochs": epochs,
        "epoch_s": min(t["train"]),
        "epoch_s_range": spread(t["train"]),
        "epochs_s": [run.epoch_seconds for run in runs],
        "eval_s": min(t["eval"]),
        "eval_s_range": spread(t["eval"]),
        "epoch_eval_s": min(t["both"]),
        "compile_s_range": spread(compiles),
        "compile_parts_s": runs[best].compile_parts,
        "five_epoch_total_s": totals[best],
        "five_epoch_total_s_range": spread(totals),
        "test_accuracy": float(runs[-1].history["test_accuracy"][-1, 0]),
        "note": (
            f"epoch_s: training only; eval_s: {data.n_train_eval} training and {data.n_test} test examples; "
            "five_epoch_total_s: compile + 5 x (epoch + evaluation); best of the rounds"
        ),
    }
    if torch_runs:
        extra.update(_torch_fmnist_extra(torch_runs, extra["epoch_s"], extra["epoch_eval_s"], totals[best]))
    return BenchResult(
        "fmnist",
        compile_s=compiles[best],
        run_s=extra["epoch_s"],
        steps=-(-data.n_train // batch),
        samples=data.n_train,
        flops=fmnist_flops_per_example(784, width, 10) * data.n_train,
        ceiling_gflops=ceiling,
        wall_s=totals[best],
        extra=extra,
    )


# -- scaling --------------------------------------------------------------------
def _bucket_timer(steps: int, quick: bool) -> Callable[[int, int], tuple[float, float]]:
    """``time(width, seeds) -> (compile_s, run_s)`` of one sweep program of
    ``steps`` steps on ``sine``: its compile time and the best of its runs
    (the first and, unless ``quick``, two more; the best run is the
    reproducible one on a shared machine)."""
    base = SweepConfig(steps=steps, train_points=1024, widths=(1,), seeds=1)
    target = make_target("sine")
    data = make_data(base, target)
    mesh = make_mesh()
    programs: dict = {}

    def time_bucket(width, seeds):
        bucket = Bucket(1, width, tuple(Run(1, width, s) for s in range(seeds)))
        first = train_bucket(base, bucket, data, target, mesh, programs=programs, keep_networks=False)
        compile_s, run_s = first.compile_seconds, first.run_seconds
        for _ in range(1 if quick else 2):
            again = train_bucket(base, bucket, data, target, mesh, programs=programs, keep_networks=False)
            run_s = min(run_s, again.run_seconds)
        return compile_s, run_s

    return time_bucket


def bench_scaling(quick: bool = False, out: Path | None = None, report: Callable[[str], None] = print) -> BenchResult:
    """Time per run against width (4 seeds) and against seeds (width 64)."""
    steps = 100 if quick else 1000
    widths = (1, 16, 64) if quick else (1, 4, 16, 64, 256, 1024)
    seed_counts = (1, 2, 4) if quick else (1, 2, 4, 8, 16, 32)
    time_bucket = _bucket_timer(steps, quick)
    by_width, by_seeds = [], []
    for w in widths:
        c, r = time_bucket(w, 4)
        by_width.append({"width": w, "seeds": 4, "compile_s": c, "run_s": r, "per_run_s": r / 4})
        report(f"scaling: width {w:>5}, 4 seeds: {r / 4 * 1e3:8.1f} ms per run")
    for s in seed_counts:
        c, r = time_bucket(64, s)
        by_seeds.append({"width": 64, "seeds": s, "compile_s": c, "run_s": r, "per_run_s": r / s})
        report(f"scaling: width 64, {s:>3} seeds: {r / s * 1e3:8.1f} ms per run")
    figures = []
    if out is not None:
        figures = [str(p) for p in plot_scaling(by_width, by_seeds, Path(out) / "scaling", backend=jax.default_backend())]
    timed = by_width + by_seeds
    return BenchResult(
        "scaling",
        compile_s=sum(r["compile_s"] for r in timed),
        run_s=sum(r["run_s"] for r in timed),
        steps=steps * sum(r["seeds"] for r in timed),
        samples=steps * 1024 * sum(r["seeds"] for r in timed),
        flops=sum(r["width"] * r["seeds"] for r in timed) * steps * 1024 * mlp_flops_per_point_unit(1),
        ceiling_gflops=sigmoid_layer_ceiling(1024, 1024, repeats=50 if quick else 200),
        extra={"by_width": by_width, "by_seeds": by_seeds, "figures": figures},
    )


# -- the suite ------------------------------------------------------------------
WORKLOADS = {"w1": bench_w1, "fmnist": bench_fmnist, "scaling": bench_scaling, "keras": bench_keras_front}
# baseline -> the workloads it applies to
BASELINES = {"torch": ("w1", "fmnist"), "keras": ("keras",)}


def _check_baseline(baseline: str | None) -> None:
    """A clear error now, rather than after the first workloads have run."""
    if baseline not in (None, *BASELINES):
        raise ValueError(f"unknown baseline {baseline!r}; valid: {', '.join(BASELINES)}")
    if baseline == "keras":
        import_keras()
    if baseline == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise ValueError("baseline 'torch' needs PyTorch: pip install 'approx[bench]'") from None


def run_bench(
    workload: str = "all", *, baseline: str | None = None, quick: bool = False, out: Path | None = None, report=print,
    snapshots: int | None = None,
) -> list[BenchResult]:
    """Runs ``workload`` (a name of ``WORKLOADS``, or ``"all"``) and returns
    one :class:`BenchResult` per workload. ``baseline`` (``"torch"`` or
    ``"keras"``) also times the baseline of the workloads it applies to;
    ``out`` receives the scaling figure; ``report`` receives progress lines;
    ``snapshots`` is W1's snapshots per run (``None``: the sweep's default)."""
    names = list(WORKLOADS) if workload == "all" else [workload]
    for name in names:
        if name not in WORKLOADS:
            raise ValueError(f"unknown workload {name!r}; valid: {', '.join(WORKLOADS)}, all")
    _check_baseline(baseline)
    results = []
    for name in names:
        applies = baseline if name in BASELINES.get(baseline, ()) else None
        if name == "scaling":
            results.append(bench_scaling(quick, out, report))
        elif name == "w1":
            results.append(bench_w1(quick, applies, report, snapshots))
        else:
            results.append(WORKLOADS[name](quick, applies, report))
    return results
