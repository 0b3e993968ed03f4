"""approx bench: FLOP counts against the traced arithmetic, and the reported
rates against the counts and times they come from.

The FLOP counts are checked against an independent count written here: the
operations of the training step's ``jaxpr`` (2 FLOPs per multiply-add of a
matrix product, 1 per element of every other arithmetic operation), as JAX
traces it before XLA simplifies anything. The workloads themselves (timing
runs) are slow tests."""

import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from approx.bench.workloads import (
    QUICK_W1_ARGS,
    BenchResult,
    _torch_fmnist_extra,
    fmnist_flops_per_example,
    format_results,
    mlp_flops_per_point_unit,
    run_bench,
    w1_flops,
)
from approx.cli.app import main
from approx.models import sigmoid

HAVE_FMNIST = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists()
# Data movement and comparisons: no arithmetic.
_FREE = {
    "broadcast_in_dim", "reshape", "convert_element_type", "squeeze", "transpose", "slice", "dynamic_slice",
    "concatenate", "copy", "copy_p", "stop_gradient", "select_n", "iota", "gather", "argmax", "pad",
    "eq", "ne", "lt", "gt", "le", "ge", "and", "or", "not",
}  # fmt: skip


def traced_flops(fn, *args) -> dict[str, float]:
    """FLOPs of ``fn(*args)`` by primitive, from its jaxpr (nested jaxprs included)."""
    counts: dict[str, float] = {}

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            name = eqn.primitive.name
            subs = [v for v in eqn.params.values() if hasattr(v, "eqns") or hasattr(v, "jaxpr")]
            if subs:
                for sub in subs:
                    walk(getattr(sub, "jaxpr", sub))
                continue
            if name in _FREE:
                continue
            if name == "dot_general":
                (contracting, _), _ = eqn.params["dimension_numbers"]
                k = math.prod(eqn.invars[0].aval.shape[i] for i in contracting)
                flops = 2 * k * math.prod(eqn.outvars[0].aval.shape)
            elif name.startswith("reduce_"):
                flops = math.prod(eqn.invars[0].aval.shape)
            else:
                flops = max(math.prod(v.aval.shape) for v in eqn.outvars)
            counts[name] = counts.get(name, 0) + flops

    walk(jax.make_jaxpr(fn)(*args).jaxpr)
    return counts


def _sweep_step_flops(d: int, units: int, points: int) -> float:
    """Traced FLOPs per (point, unit) of a training step of a one-hidden-layer
    sigmoid network as approx.models computes it (broadcast products for a
    small fan-in), loss and gradient."""
    x, y = jnp.ones((points, d)), jnp.ones(points)
    params = {"w": jnp.ones((d, units)), "b": jnp.ones(units), "a": jnp.ones(units), "c": jnp.zeros(())}

    def loss(p):
        z = sum(x[:, i : i + 1] * p["w"][i][None, :] for i in range(d))
        h = sigmoid(z + p["b"][None, :])
        return jnp.mean((h @ p["a"] + p["c"] - y) ** 2)

    return sum(traced_flops(jax.value_and_grad(loss), params).values()) / (points * units)


@pytest.mark.parametrize("d", [1, 3])
def test_sweep_flop_count_is_the_minimum_of_the_traced_arithmetic(d):
    # The explicit count leaves out a few elementwise operations of the traced
    # step (the loss's reductions, the mean's scaling); it must never count
    # more than the step does, nor miss a quarter of it.
    traced = _sweep_step_flops(d, 64, 512)
    assert 0.75 * traced <= mlp_flops_per_point_unit(d) <= traced, (mlp_flops_per_point_unit(d), traced)


@pytest.mark.parametrize("width", [64, 256])
def test_fmnist_flop_count_is_the_traced_matrix_products(width):
    batch = 32
    x, labels = jnp.ones((batch, 784)), jnp.zeros(batch, jnp.int32)
    params = {"w1": jnp.ones((784, width)), "b1": jnp.ones(width), "w2": jnp.ones((width, 10)), "b2": jnp.ones(10)}

    def loss(p):
        logits = sigmoid(x @ p["w1"] + p["b1"][None, :]) @ p["w2"] + p["b2"][None, :]
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    counts = traced_flops(jax.value_and_grad(loss), params)
    assert fmnist_flops_per_example(784, width, 10) * batch == counts["dot_general"]
    assert fmnist_flops_per_example(784, width, 10) * batch >= 0.99 * sum(counts.values())


def test_w1_flops_add_up_every_run():
    widths, seeds, steps, points = (1, 4, 16), 3, 7, 5
    per_run = [w * steps * points * mlp_flops_per_point_unit(1) for w in widths for _ in range(seeds)]
    assert w1_flops(widths, seeds, steps, points) == sum(per_run)


def test_rates_follow_from_the_counts_and_times():
    r = BenchResult("w1", compile_s=2.0, run_s=4.0, steps=1200, samples=1200 * 256, flops=8e9, ceiling_gflops=4.0)
    assert r.gflops == 2.0 and r.fraction == 0.5 and r.steps_per_s == 300.0 and r.samples_per_s == 300.0 * 256
    d = r.to_dict()
    assert (d["gflops"], d["fraction"], d["steps_per_s"]) == (2.0, 0.5, 300.0)
    assert math.isnan(BenchResult("x", 1.0, 0.0, 1, 1, 1.0, 1.0).gflops)


def _consistent(r: BenchResult, flops: float):
    """The reported rates are the counts over the measured times."""
    assert r.compile_s > 0 and r.run_s > 0 and r.ceiling_gflops > 0
    assert r.flops == pytest.approx(flops, rel=1e-12)
    assert r.gflops == pytest.approx(r.flops / r.run_s / 1e9, rel=1e-12)
    assert r.fraction == pytest.approx(r.gflops / r.ceiling_gflops, rel=1e-12)
    assert r.steps_per_s == pytest.approx(r.steps / r.run_s, rel=1e-12)


@pytest.mark.slow
def test_scaling_workload(tmp_path):
    (r,) = run_bench("scaling", quick=True, out=tmp_path, report=lambda m: None)
    timed = r.extra["by_width"] + r.extra["by_seeds"]
    _consistent(r, sum(t["width"] * t["seeds"] for t in timed) * 100 * 1024 * mlp_flops_per_point_unit(1))
    assert r.steps == 100 * sum(t["seeds"] for t in timed) and r.samples == r.steps * 1024
    np.testing.assert_allclose(r.run_s, sum(t["run_s"] for t in timed), rtol=1e-12)
    assert [(t["width"], t["seeds"]) for t in timed] == [(1, 4), (16, 4), (64, 4), (64, 1), (64, 2), (64, 4)]
    assert [row["width"] for row in r.extra["by_width"]] == [1, 16, 64]
    assert (tmp_path / "scaling.png").exists() and (tmp_path / "scaling.pdf").exists()
    assert "ms per run" in format_results([r])


@pytest.mark.slow
def test_w1_workload_through_the_cli(capsys, tmp_path):
    assert main(["bench", "--workload", "w1", "--quick", "--json", "--out", str(tmp_path)]) == 0
    (d,) = json.loads(capsys.readouterr().out)
    assert d["workload"] == "w1" and d["extra"]["cold_wall_s"] > 0 and d["extra"]["warm_wall_s"] > 0
    a = QUICK_W1_ARGS
    runs = len(a["widths"]) * a["seeds"]
    assert d["flops"] == sum(a["widths"]) * a["seeds"] * a["steps"] * a["train_points"] * mlp_flops_per_point_unit(1)
    assert d["steps"] == a["steps"] * runs and d["samples"] == d["steps"] * a["train_points"]
    assert d["gflops"] == pytest.approx(d["flops"] / d["run_s"] / 1e9, rel=1e-12)
    assert d["fraction"] == pytest.approx(d["gflops"] / d["ceiling_gflops"], rel=1e-12)
    assert sorted(float(w) for w in d["extra"]["median_test_mse"]) == [1.0, 4.0, 16.0]


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_FMNIST, reason="Fashion-MNIST files not installed (apt-get install dataset-fashion-mnist)")
def test_fmnist_workload():
    (r,) = run_bench("fmnist", quick=True, report=lambda m: None)
    _consistent(r, fmnist_flops_per_example(784, 64, 10) * 4096)  # the quick workload: 784-64-10 on 4096 examples
    assert r.samples == 4096 and r.steps == 4096 // 128
    e = r.extra
    assert e["epoch_s"] > 0 and e["eval_s"] > 0 and 0 <= e["test_accuracy"] <= 1
    assert e["epoch_s"] == r.run_s and e["epoch_s_range"][0] == e["epoch_s"] <= e["epoch_s_range"][1]
    assert e["epoch_eval_s"] >= e["epoch_s"] + e["eval_s"] - 1e-9  # the best sum is no better than the best parts
    assert set(e["compile_parts_s"]) == {"init", "train", "evaluate"}
    np.testing.assert_allclose(sum(e["compile_parts_s"].values()), r.compile_s, rtol=1e-6)
    assert len(e["epochs_s"]) == e["rounds"] and all(len(run) == e["epochs"] == 5 for run in e["epochs_s"])
    assert e["five_epoch_total_s"] >= r.compile_s + 5 * e["epoch_eval_s"] - 1e-9
    text = format_results([r])
    assert "fmnist approx: training epoch" in text and "PyTorch" not in text


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_FMNIST, reason="Fashion-MNIST files not installed (apt-get install dataset-fashion-mnist)")
def test_fmnist_workload_against_torch():
    pytest.importorskip("torch")
    (r,) = run_bench("fmnist", quick=True, baseline="torch", report=lambda m: None)
    e = r.extra
    for key in ("torch_epoch_s", "torch_eval_s", "torch_epoch_eval_s", "torch_five_epoch_total_s"):
        assert 0 < e[key] < 60, key
    assert e["torch_epoch_eval_s"] >= e["torch_epoch_s"] + e["torch_eval_s"] - 1e-9
    np.testing.assert_allclose(e["speedup"], e["torch_epoch_s"] / e["epoch_s"])
    np.testing.assert_allclose(e["speedup_with_eval"], e["torch_epoch_eval_s"] / e["epoch_eval_s"])
    total = e["torch_five_epoch_total_s"] / e["five_epoch_total_s"]
    np.testing.assert_allclose(e["speedup_five_epochs_with_compile"], total)
    assert 0.3 < e["torch_test_accuracy"] <= 1  # the baseline learns too (chance is 0.1)
    assert "speedup over PyTorch" in format_results([r])


def test_bad_workload_is_an_error(capsys):
    assert main(["bench", "--workload", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown workload")


def test_torch_fmnist_figures_are_like_for_like_bests():
    # PyTorch's figures from its per-epoch times, against sums and minima written out here.
    rng = np.random.default_rng(0)
    runs = [
        {"train_seconds": list(rng.uniform(1, 2, 5)), "eval_seconds": list(rng.uniform(0.1, 0.2, 5)), "threads": 2,
         "eval": [{"loss": 0.5, "accuracy": 0.8}]}
        for _ in range(3)
    ]  # fmt: skip
    train = np.array([r["train_seconds"] for r in runs])
    evals = np.array([r["eval_seconds"] for r in runs])
    e = _torch_fmnist_extra(runs, epoch_s=0.5, epoch_eval_s=0.6, total_s=4.0)
    assert e["torch_epoch_s"] == train.min() and e["torch_epoch_s_range"] == [train.min(), train.max()]
    assert e["torch_eval_s"] == evals.min()
    np.testing.assert_allclose(e["torch_epoch_eval_s"], (train + evals).min(), rtol=1e-15)
    np.testing.assert_allclose(e["torch_five_epoch_total_s"], (train.sum(1) + evals.sum(1)).min(), rtol=1e-15)
    np.testing.assert_allclose(e["speedup"], train.min() / 0.5, rtol=1e-15)
    np.testing.assert_allclose(e["speedup_with_eval"], (train + evals).min() / 0.6, rtol=1e-15)
    np.testing.assert_allclose(e["speedup_five_epochs_with_compile"], (train.sum(1) + evals.sum(1)).min() / 4.0, rtol=1e-15)
    assert e["torch_threads"] == 2 and e["torch_test_accuracy"] == 0.8
