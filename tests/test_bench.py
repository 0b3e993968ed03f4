"""approx bench runs and reports sane fields (a smoke test, not a measurement)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from approx.bench import BenchResult, format_results, run_bench, w1_flops
from approx.cli import main

HAVE_FMNIST = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists()


def _sane(r: BenchResult):
    assert r.compile_s > 0 and r.run_s > 0
    assert r.flops > 0 and r.ceiling_gflops > 0
    assert 0 < r.gflops < 1e4 and 0 < r.fraction < 10
    assert r.steps_per_s > 0 and r.samples_per_s > 0


def test_flop_count_is_explicit():
    # 36 runs of W1: (1 + 2 + ... + 256) units x 4 seeds x 3000 steps x 1024 points x 17 FLOPs.
    assert w1_flops((1, 2, 4, 8, 16, 32, 64, 128, 256), 4, 3000, 1024) == 511 * 4 * 3000 * 1024 * 17


def test_scaling_workload(tmp_path):
    (r,) = run_bench("scaling", quick=True, out=tmp_path, report=lambda m: None)
    _sane(r)
    assert [row["width"] for row in r.extra["by_width"]] == [1, 16, 64]
    assert (tmp_path / "scaling.png").exists() and (tmp_path / "scaling.pdf").exists()
    assert "ms per run" in format_results([r])


def test_w1_workload_through_the_cli(capsys, tmp_path):
    assert main(["bench", "--workload", "w1", "--quick", "--json", "--out", str(tmp_path)]) == 0
    (d,) = json.loads(capsys.readouterr().out)
    assert d["workload"] == "w1" and d["extra"]["cold_wall_s"] > 0 and d["extra"]["warm_wall_s"] > 0
    assert math.isfinite(d["gflops"]) and d["fraction"] > 0
    assert sorted(float(w) for w in d["extra"]["median_test_mse"]) == [1.0, 4.0, 16.0]


@pytest.mark.skipif(not HAVE_FMNIST, reason="Fashion-MNIST files not installed (apt-get install dataset-fashion-mnist)")
def test_fmnist_workload():
    (r,) = run_bench("fmnist", quick=True, report=lambda m: None)
    _sane(r)
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
