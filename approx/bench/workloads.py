"""Benchmarks: named workloads, compile timed apart from run, FLOPs counted,
measured against a ceiling taken on the same machine in the same process.

Workloads:

* ``w1`` - the canonical width sweep: ``sine`` on [0, 1], 1024 training
  points, a 4096-point test grid, one sigmoid hidden layer of widths 1..256,
  4 seeds each (36 runs), 3000 full-batch Adam steps at lr 1e-2, float32.
  Timed end to end as a user runs it (a fresh ``approx sweep`` process, with
  a cold and then a warm compilation cache) and split into compile and run
  from the sweep's manifest.
* ``fmnist`` - 784-256-10 sigmoid MLP on Fashion-MNIST at batch 128, 5
  epochs: a training epoch after compilation, its evaluation, and the whole
  run with compilation, in cold rounds interleaved with the PyTorch baseline.
* ``scaling`` - time per run against width and against the number of seeds.
* ``keras`` - the course programs with ``approx.keras`` (and, with
  ``--baseline keras``, with Keras 3 on JAX in the same process) and a
  784-128-10 Fashion-MNIST epoch against its ceiling (see
  :mod:`approx.bench.keras_baseline`).

The ceiling is the rate (FLOP/s) of a single large fused forward+backward
pass of the same arithmetic: for the sweep, one sigmoid layer as wide as all
the sweep's units together on the same points; for Fashion-MNIST, the same
network on 8192 examples at once. ``fraction`` is achieved / ceiling.

FLOP counts are explicit, per (point, hidden unit) of a one-hidden-layer
network with ``d`` inputs: forward ``2d + 1`` (affine) ``+ 4`` (sigmoid as
``0.5 tanh(z/2) + 0.5``, tanh counted as one) ``+ 2`` (output), backward
``2 + 3 + 2d + 1``: ``4d + 13`` in all; the optimiser's per-parameter work is
left out (it is independent of the number of points).
"""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

__all__ = ["WORKLOADS", "BenchResult", "run_bench", "format_results", "w1_flops", "mlp_flops_per_point_unit"]

W1_WIDTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
W1_ARGS = dict(widths=W1_WIDTHS, seeds=4, steps=3000, lr=0.01, train_points=1024)
QUICK_W1_ARGS = dict(widths=(1, 4, 16), seeds=2, steps=200, lr=0.01, train_points=256)


@dataclass
class BenchResult:
    """One workload's figures; seconds unless named otherwise."""

    workload: str
    compile_s: float
    run_s: float
    steps: int
    samples: int
    flops: float
    ceiling_gflops: float
    wall_s: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.run_s if self.run_s > 0 else math.nan

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.run_s if self.run_s > 0 else math.nan

    @property
    def gflops(self) -> float:
        return self.flops / self.run_s / 1e9 if self.run_s > 0 else math.nan

    @property
    def fraction(self) -> float:
        return self.gflops / self.ceiling_gflops if self.ceiling_gflops > 0 else math.nan

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(steps_per_s=self.steps_per_s, samples_per_s=self.samples_per_s, gflops=self.gflops, fraction=self.fraction)
        return d


def mlp_flops_per_point_unit(d: int) -> int:
    """Forward + backward FLOPs per (point, hidden unit) of one hidden layer."""
    return 4 * d + 13


def w1_flops(widths, seeds, steps, train_points, d: int = 1) -> float:
    """Training FLOPs of a width sweep (all runs, all steps)."""
    return float(sum(widths)) * seeds * steps * train_points * mlp_flops_per_point_unit(d)


# -- ceilings ---------------------------------------------------------------------
def _best_seconds(fn, *args, repeats: int = 3) -> float:
    """Best wall time of ``fn(*args)`` over ``repeats`` calls, after a warm-up
    call that compiles it."""
    import jax

    jax.block_until_ready(fn(*args))
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best

def sigmoid_layer_ceiling(units: int, points: int, d: int = 1, repeats: int = 200) -> float:
    """GFLOP/s of one large fused forward+backward (plus an SGD update) of a
    sigmoid layer with ``units`` hidden units on ``points`` points, repeated
    under ``lax.scan`` so that dispatch does not count."""
    import jax
    import jax.numpy as jnp

    from approx.models import sigmoid

    key = jax.random.key(0)
    x = jax.random.uniform(key, (points, d))
    y = jnp.sin(6.0 * x[:, 0])
    w = jax.random.normal(key, (d, units)) * 10
    params = {"w": w, "b": -jnp.sum(w * 0.5, axis=0), "a": jnp.zeros((units,)), "c": jnp.zeros(())}

    def loss(p):
        # The same fused broadcast form as approx.models.Affine for small fan-in.
        z = x[:, 0:1] * p["w"][0][None, :]
        for i in range(1, d):
            z = z + x[:, i : i + 1] * p["w"][i][None, :]
        h = sigmoid(z + p["b"][None, :])
        return jnp.mean((h @ p["a"] + p["c"] - y) ** 2)

    @jax.jit
    def run(p):
        def body(p, _):
            g = jax.grad(loss)(p)
            return jax.tree.map(lambda a, b: a - 1e-3 * b, p, g), None

        p, _ = jax.lax.scan(body, p, None, length=repeats)
        return p

    return units * points * repeats * mlp_flops_per_point_unit(d) / _best_seconds(run, params) / 1e9


def dense_mlp_ceiling(in_dim: int, width: int, out_dim: int, batch: int = 8192, repeats: int = 10) -> float:
    """GFLOP/s of a large fused forward+backward of an ``in-width-out`` MLP."""
    import jax
    import jax.numpy as jnp
    import optax

    key = jax.random.key(0)
    x = jax.random.normal(key, (batch, in_dim))
    y = jax.random.randint(key, (batch,), 0, out_dim)
    params = {
        "w1": jax.random.normal(key, (in_dim, width)) / math.sqrt(in_dim),
        "b1": jnp.zeros((width,)),
        "w2": jax.random.normal(key, (width, out_dim)) / math.sqrt(width),
        "b2": jnp.zeros((out_dim,)),
    }

    def loss(p):
        h = jax.nn.sigmoid(x @ p["w1"] + p["b1"][None, :])
        logits = h @ p["w2"] + p["b2"][None, :]
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))

    @jax.jit
    def run(p):
        def body(p, _):
            g = jax.grad(loss)(p)
            return jax.tree.map(lambda a, b: a - 1e-3 * b, p, g), None

        return jax.lax.scan(body, p, None, length=repeats)[0]

    return fmnist_flops_per_example(in_dim, width, out_dim) * batch * repeats / _best_seconds(run, params) / 1e9


def matmul_epoch_seconds(n: int, batch: int, in_dim: int, width: int, out_dim: int, repeats: int = 5) -> float:
    """Best time of an epoch's matrix products alone: for each of the
    ``ceil(n / batch)`` batches, the forward products of an
    ``in-width-out`` network and the backward ones that
    :func:`fmnist_flops_per_example` counts, under one ``lax.scan`` with
    nothing else (no activation, loss or optimiser). The floor a training
    epoch at this batch size cannot beat on this machine."""
    import jax

    steps = -(-n // batch)
    x = jax.random.normal(jax.random.key(0), (steps, batch, in_dim))
    w1 = jax.random.normal(jax.random.key(1), (in_dim, width)) / math.sqrt(in_dim)
    w2 = jax.random.normal(jax.random.key(2), (width, out_dim)) / math.sqrt(width)

    @jax.jit
    def run(w1, w2, x):
        def body(carry, xb):
            w1, w2 = carry
            h = xb @ w1
            z = h @ w2
            gh = z @ w2.T
            return (w1 - 1e-9 * (xb.T @ gh), w2 - 1e-9 * (h.T @ z)), None

        return jax.lax.scan(body, (w1, w2), x)[0]

    return _best_seconds(run, w1, w2, x, repeats=repeats)


def fmnist_flops_per_example(in_dim: int = 784, width: int = 256, out_dim: int = 10) -> float:
    """The matrix products of a training step, 2 FLOPs per multiply-add:
    forward through both layers, the weight gradients of both, and the input
    gradient of the second layer only (nothing needs the gradient with
    respect to the pixels); activations and the optimiser are left out.
    (Counting the first layer's input gradient too, as ``6 (in w + w out)``,
    overstated 784-256-10 by 1.49x.)"""
    return 4.0 * in_dim * width + 6.0 * width * out_dim


# -- workloads ------------------------------------------------------------------
def _sweep_cmd(out: Path, args: dict, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "approx", "sweep", "--target", "sine",
        "--widths", ",".join(map(str, args["widths"])), "--seeds", str(args["seeds"]),
        "--steps", str(args["steps"]), "--lr", str(args["lr"]), "--train-points", str(args["train_points"]),
        "--out", str(out), *extra,
    ]  # fmt: skip


def _baseline_env() -> dict:
    """The environment as the user had it: approx limits OpenBLAS to one
    thread for its own process, which must not handicap the baseline."""
    import approx

    env = os.environ.copy()
    if approx.OPENBLAS_THREADS_SET_BY_APPROX:
        env.pop("OPENBLAS_NUM_THREADS", None)
    return env


def _timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return wall, proc


def bench_w1(
    quick: bool = False, baseline: str | None = None, report: Callable[[str], None] = print, snapshots: int | None = None
) -> BenchResult:
    """W1 end to end in fresh processes, as a user types it (figure
    included): cold cache, then warm cache. Compile time from the cold run's
    manifest, steady-state run time from the warm run's. ``snapshots``
    passes ``--snapshots K`` to the sweeps (default: the sweep's own, 40)."""
    from approx.analysis import summarize
    from approx.results import read_manifest, read_rows

    args = QUICK_W1_ARGS if quick else W1_ARGS
    extra = () if snapshots is None else ("--snapshots", str(snapshots))
    with tempfile.TemporaryDirectory(prefix="approx-bench-") as tmp:
        tmp = Path(tmp)
        env = os.environ | {"XDG_CACHE_HOME": str(tmp / "cache")}
        env.pop("APPROX_NO_CACHE", None)
        # W1 as a user types it: the figure (and the explorer page) are part of the work.
        report("w1: cold compilation cache ...")
        cold, _ = _timed(_sweep_cmd(tmp / "cold", args, *extra), env)
        report(f"w1: cold {cold:.1f} s; warm cache ...")
        warm, _ = _timed(_sweep_cmd(tmp / "warm", args, *extra), env)
        manifest = read_manifest(tmp / "cold")
        warm_manifest = read_manifest(tmp / "warm")
        rows = read_rows(tmp / "cold" / "results.csv")
        med = {s["width"]: s["median"] for s in summarize(rows, ("width",), "test_mse")}
        units = sum(args["widths"]) * args["seeds"]
        report("w1: ceiling ...")
        ceiling = sigmoid_layer_ceiling(int(2 ** math.ceil(math.log2(units))), args["train_points"])
        extra = {
            "cold_wall_s": cold,
            "warm_wall_s": warm,
            "cold_groups_s": manifest.get("compile_seconds", math.nan) + manifest.get("run_seconds", math.nan),
            "cold_sweep_s": manifest.get("wall_seconds"),
            "median_test_mse": med,
            "buckets": manifest.get("buckets"),
            "device_count": manifest.get("device_count"),
            "backend": manifest.get("backend"),
            "snapshots": manifest.get("config", {}).get("snapshots"),
        }
        if baseline == "torch":
            report("w1: PyTorch baseline ...")
            cmd = [
                sys.executable, "-m", "approx.bench.torch_baseline", "w1", "--widths", ",".join(map(str, args["widths"])),
                "--seeds", str(args["seeds"]), "--steps", str(args["steps"]), "--lr", str(args["lr"]),
                "--train-points", str(args["train_points"]),
            ]  # fmt: skip
            torch_wall, proc = _timed(cmd, _baseline_env())
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            tmed = summarize([{k: str(v) for k, v in r.items()} | {"diverged": "false"} for r in out["runs"]], ("width",), "test_mse")
            extra.update(
                torch_wall_s=torch_wall,
                torch_threads=out["threads"],
                speedup_cold=torch_wall / cold,
                speedup_warm=torch_wall / warm,
                torch_median_test_mse={s["width"]: s["median"] for s in tmed},
            )
    flops = w1_flops(args["widths"], args["seeds"], args["steps"], args["train_points"])
    runs = len(args["widths"]) * args["seeds"]
    return BenchResult(
        "w1",
        compile_s=float(manifest.get("compile_seconds", math.nan)),
        # Steady state: training and measuring with every program already
        # compiled (the warm run's programs come from the cache).
        run_s=float(warm_manifest.get("run_seconds", math.nan)),
        steps=args["steps"] * runs,
        samples=args["steps"] * runs * args["train_points"],
        flops=flops,
        ceiling_gflops=ceiling,
        wall_s=cold,
        extra=extra,
    )


def _spread(values) -> list[float]:
    return [float(min(values)), float(max(values))]


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
    import jax

    from approx.config import FMNISTConfig
    from approx.experiments.fmnist import prepare_data, train_fmnist

    width, batch, epochs = (64, 128, 5) if quick else (256, 128, 5)
    rounds = 1 if quick else 3
    subsets = {"train_subset": 4096, "test_subset": 1000} if quick else {}
    config = FMNISTConfig(widths=(width,), epochs=epochs, batch_size=batch, **subsets)
    data = prepare_data(config)
    report(f"fmnist: 784-{width}-10, batch {batch}, {data.n_train} examples, {epochs} epochs, {rounds} round(s) ...")
    if baseline == "torch":
        from approx.bench.torch_baseline import fmnist_epoch

        dev = jax.device_get(data.device)
        eval_sets = [(dev.x_train[: data.n_train_eval], dev.y_train[: data.n_train_eval])]
        eval_sets.append((dev.x_eval.reshape(-1, dev.x_eval.shape[-1])[data.test_offset :][: data.n_test], data.y_test))
    runs, torch_runs = [], []
    for r in range(rounds):
        jax.clear_caches()  # every round compiles, as a fresh process would
        runs.append(train_fmnist(config, data, 1, width, (0,)))
        report(f"fmnist: round {r + 1}: approx compile {runs[-1].compile_seconds:.2f} s, "
               f"epochs {', '.join(f'{s:.3f}' for s in runs[-1].epoch_seconds)} s")  # fmt: skip
        if baseline == "torch":
            torch_runs.append(fmnist_epoch(dev.x_train, dev.y_train, width, batch, epochs, config.lr, eval_sets))
            epochs_text = ", ".join(f"{s:.3f}" for s in torch_runs[-1]["train_seconds"])
            report(f"fmnist: round {r + 1}: PyTorch epochs {epochs_text} s")
    train = [s for run in runs for s in run.epoch_seconds]
    evals = [s for run in runs for s in run.eval_seconds]
    both = [a + b for run in runs for a, b in zip(run.epoch_seconds, run.eval_seconds)]
    compiles = [run.compile_seconds for run in runs]
    totals = [run.compile_seconds + sum(run.epoch_seconds) + sum(run.eval_seconds) for run in runs]
    best = min(range(rounds), key=lambda i: totals[i])
    epoch_s = min(train)
    steps = -(-data.n_train // batch)
    per_example = fmnist_flops_per_example(784, width, 10)
    report("fmnist: ceiling ...")
    ceiling = dense_mlp_ceiling(784, width, 10, batch=2048 if quick else 8192, repeats=3 if quick else 10)
    extra = {
        "rounds": rounds,
        "epochs": epochs,
        "epoch_s": epoch_s,
        "epoch_s_range": _spread(train),
        "epochs_s": [run.epoch_seconds for run in runs],
        "eval_s": min(evals),
        "eval_s_range": _spread(evals),
        "epoch_eval_s": min(both),
        "compile_s_range": _spread(compiles),
        "compile_parts_s": runs[best].compile_parts,
        "five_epoch_total_s": totals[best],
        "five_epoch_total_s_range": _spread(totals),
        "test_accuracy": float(runs[-1].history["test_accuracy"][-1, 0]),
        "note": (
            f"epoch_s: training only; eval_s: {data.n_train_eval} training and {data.n_test} test examples; "
            "five_epoch_total_s: compile + 5 x (epoch + evaluation); best of the rounds"
        ),
    }
    if baseline == "torch":
        t_train = [s for run in torch_runs for s in run["train_seconds"]]
        t_eval = [s for run in torch_runs for s in run["eval_seconds"]]
        t_both = [a + b for run in torch_runs for a, b in zip(run["train_seconds"], run["eval_seconds"])]
        t_totals = [sum(run["train_seconds"]) + sum(run["eval_seconds"]) for run in torch_runs]
        extra.update(
            torch_threads=torch_runs[0]["threads"],
            torch_epoch_s=min(t_train),
            torch_epoch_s_range=_spread(t_train),
            torch_eval_s=min(t_eval),
            torch_epoch_eval_s=min(t_both),
            torch_five_epoch_total_s=min(t_totals),
            torch_five_epoch_total_s_range=_spread(t_totals),
            torch_test_accuracy=torch_runs[-1]["eval"][-1]["accuracy"],
            speedup=min(t_train) / epoch_s,
            speedup_with_eval=min(t_both) / min(both),
            speedup_five_epochs_with_compile=min(t_totals) / totals[best],
        )
    return BenchResult(
        "fmnist",
        compile_s=compiles[best],
        run_s=epoch_s,
        steps=steps,
        samples=data.n_train,
        flops=per_example * data.n_train,
        ceiling_gflops=ceiling,
        wall_s=totals[best],
        extra=extra,
    )


def bench_scaling(quick: bool = False, out: Path | None = None, report: Callable[[str], None] = print) -> BenchResult:
    """Time per run against width (4 seeds) and against seeds (width 64)."""
    import jax

    from approx.config import SweepConfig
    from approx.experiments.sweep import Bucket, Run, make_data, make_mesh, run_bucket
    from approx.targets import make_target

    steps = 100 if quick else 1000
    widths = (1, 16, 64) if quick else (1, 4, 16, 64, 256, 1024)
    seed_counts = (1, 2, 4) if quick else (1, 2, 4, 8, 16, 32)
    base = SweepConfig(steps=steps, train_points=1024, widths=(1,), seeds=1)
    target = make_target("sine")
    data = make_data(base, target)
    mesh = make_mesh()

    programs: dict = {}

    def time_bucket(width, seeds):
        """Compile time and the best of three runs (this machine's speed
        drifts by 2x within a minute; the best run is the reproducible one)."""
        bucket = Bucket(1, width, tuple(Run(1, width, s) for s in range(seeds)))
        _, compile_s, run_s = run_bucket(base, bucket, data, target, mesh, programs=programs)
        for _ in range(1 if quick else 2):
            run_s = min(run_s, run_bucket(base, bucket, data, target, mesh, programs=programs)[2])
        return compile_s, run_s

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
    run_total = sum(r["run_s"] for r in by_width + by_seeds)
    flops = sum(r["width"] * r["seeds"] for r in by_width + by_seeds) * steps * 1024 * mlp_flops_per_point_unit(1)
    ceiling = sigmoid_layer_ceiling(1024, 1024, repeats=50 if quick else 200)
    return BenchResult(
        "scaling",
        compile_s=sum(r["compile_s"] for r in by_width + by_seeds),
        run_s=run_total,
        steps=steps * sum(r["seeds"] for r in by_width + by_seeds),
        samples=steps * 1024 * sum(r["seeds"] for r in by_width + by_seeds),
        flops=flops,
        ceiling_gflops=ceiling,
        extra={"by_width": by_width, "by_seeds": by_seeds, "figures": figures},
    )


def plot_scaling(by_width, by_seeds, stem: Path, backend: str = "cpu") -> list[Path]:
    from approx.plots.style import PALETTE, lecture_style, log_scale, plt, save_figure

    with lecture_style():
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
        w = [r["width"] for r in by_width]
        axes[0].plot(w, [r["per_run_s"] * 1e3 for r in by_width], "o-", color=PALETTE[0])
        log_scale(axes[0], "x", base=2, plain=True)
        log_scale(axes[0], "y")
        axes[0].set_xlabel("hidden width n (4 seeds)")
        axes[0].set_ylabel("ms per run")
        s = [r["seeds"] for r in by_seeds]
        axes[1].plot(s, [r["run_s"] * 1e3 for r in by_seeds], "o-", color=PALETTE[1], label="measured")
        axes[1].plot(s, [by_seeds[0]["run_s"] * 1e3 * k for k in s], ":", color="0.4", label="linear in seeds")
        log_scale(axes[1], "x", base=2, plain=True)
        log_scale(axes[1], "y")
        axes[1].set_xlabel("seeds trained together (width 64)")
        axes[1].set_ylabel("ms per program")
        axes[1].legend()
        fig.suptitle(f"Cost of a run ({backend})")
        fig.tight_layout()
        return save_figure(fig, stem)


from approx.bench.keras_baseline import bench_keras_front, format_keras  # noqa: E402 (defined on top of this module)

WORKLOADS = {"w1": bench_w1, "fmnist": bench_fmnist, "scaling": bench_scaling, "keras": bench_keras_front}
BASELINES = {"torch": ("w1", "fmnist"), "keras": ("keras",)}


def run_bench(
    workload: str = "all", *, baseline: str | None = None, quick: bool = False, out: Path | None = None, report=print,
    snapshots: int | None = None,
) -> list[BenchResult]:
    names = list(WORKLOADS) if workload == "all" else [workload]
    for name in names:
        if name not in WORKLOADS:
            raise ValueError(f"unknown workload {name!r}; valid: {', '.join(WORKLOADS)}, all")
    if baseline not in (None, *BASELINES):
        raise ValueError(f"unknown baseline {baseline!r}; valid: {', '.join(BASELINES)}")
    if baseline == "keras":
        from approx.bench.keras_baseline import import_keras

        import_keras()
    if baseline == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise ValueError("--baseline torch needs PyTorch: pip install 'approx[bench]'") from None
    results = []
    for name in names:
        if name == "scaling":
            results.append(bench_scaling(quick, out, report))
        elif name == "w1":
            results.append(bench_w1(quick, baseline if name in BASELINES.get(baseline, ()) else None, report, snapshots))
        else:
            results.append(WORKLOADS[name](quick, baseline if name in BASELINES.get(baseline, ()) else None, report))
    return results


def _format_range(extra: dict, key: str) -> str:
    low, high = extra[key]
    return f"{low:.3f}-{high:.3f}"


def format_results(results: list[BenchResult]) -> str:
    lines = [
        f"{'workload':<9} {'compile s':>9} {'run s':>8} {'steps/s':>10} {'samples/s':>11} {'GFLOP/s':>8} {'ceiling':>8} {'fraction':>8}",
    ]
    for r in results:
        lines.append(
            f"{r.workload:<9} {r.compile_s:>9.2f} {r.run_s:>8.2f} {r.steps_per_s:>10.0f} {r.samples_per_s:>11.3g} "
            f"{r.gflops:>8.1f} {r.ceiling_gflops:>8.1f} {r.fraction:>8.2f}"
        )
    for r in results:
        e = r.extra
        if r.workload == "w1":
            lines.append(f"w1 end to end: cold cache {e['cold_wall_s']:.1f} s, warm cache {e['warm_wall_s']:.1f} s "
                         f"({e.get('device_count')} {e.get('backend')} device(s), {e.get('snapshots')} snapshots); cold run: training groups "
                         f"{e.get('cold_groups_s') or math.nan:.1f} s (compile {r.compile_s:.1f} s of it), "
                         f"the rest start-up, summary and figure")  # fmt: skip
            if "torch_wall_s" in e:
                lines.append(f"w1 PyTorch ({e['torch_threads']} threads): {e['torch_wall_s']:.1f} s; "
                             f"speedup {e['speedup_cold']:.1f}x cold, {e['speedup_warm']:.1f}x warm")  # fmt: skip
                for w in sorted(e["median_test_mse"]):
                    t = e["torch_median_test_mse"].get(w)
                    lines.append(f"  width {int(w):>4}: median test MSE approx {e['median_test_mse'][w]:.2e}, PyTorch {t:.2e}")
            ideal = r.flops / (r.ceiling_gflops * 1e9)
            lines.append(f"w1 steady state: {r.run_s:.2f} s against {ideal:.2f} s at the ceiling ({r.run_s / ideal:.2f}x)")
        if r.workload == "fmnist":
            rng = functools.partial(_format_range, e)
            parts = ", ".join(f"{k} {v:.2f}" for k, v in e["compile_parts_s"].items())
            lines.append(f"fmnist approx: training epoch {e['epoch_s']:.3f} s ({rng('epoch_s_range')}), evaluation {e['eval_s']:.3f} s, "
                         f"compile {r.compile_s:.2f} s ({parts}); test accuracy {e['test_accuracy']:.4f}")  # fmt: skip
            lines.append(f"fmnist approx: {e['epochs']} epochs with evaluation and compile {e['five_epoch_total_s']:.2f} s "
                         f"({rng('five_epoch_total_s_range')}); best of {e['rounds']} round(s)")  # fmt: skip
            if "torch_epoch_s" in e:
                lines.append(f"fmnist PyTorch ({e['torch_threads']} threads): training epoch {e['torch_epoch_s']:.3f} s "
                             f"({rng('torch_epoch_s_range')}), evaluation {e['torch_eval_s']:.3f} s, "
                             f"{e['epochs']} epochs with evaluation {e['torch_five_epoch_total_s']:.2f} s; "
                             f"test accuracy {e['torch_test_accuracy']:.4f}")  # fmt: skip
                lines.append(f"fmnist speedup over PyTorch (rounds interleaved): {e['speedup']:.2f}x per training epoch, "
                             f"{e['speedup_with_eval']:.2f}x per epoch with evaluation, "
                             f"{e['speedup_five_epochs_with_compile']:.2f}x over {e['epochs']} epochs with evaluation and compile")  # fmt: skip
        if r.workload == "keras":
            lines += format_keras(r)
        if r.workload == "scaling":
            for row in e["by_width"]:
                lines.append(f"scaling: width {row['width']:>5} x 4 seeds: {row['per_run_s'] * 1e3:8.1f} ms per run")
            for row in e["by_seeds"]:
                lines.append(f"scaling: width 64 x {row['seeds']:>3} seeds: {row['run_s'] * 1e3:8.1f} ms per program, {row['per_run_s'] * 1e3:7.1f} ms per run")
            for f in e.get("figures", []):
                lines.append(f"figure: {f}")
    return "\n".join(lines)
