"""The ensemble axis sharded over devices, widths grouped into padded
programs: same numbers whatever the device count or the grouping.

In float64, so that rounding differences (a sharded ensemble is vectorised
differently), which a small network trained by Adam amplifies, stay far below
the tolerance. Several devices are the CPU's host devices
(``--xla_force_host_platform_device_count``), so these subprocesses run on the
CPU whatever backend the suite uses; several processes are
tests/test_distributed.py."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from approx.results import read_rows


def _sweep(out, devices: int, *extra: str):
    env = os.environ | {
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
        "JAX_PLATFORMS": "cpu",
        "APPROX_NO_CACHE": "1",
    }
    argv = [sys.executable, "-m", "approx", "sweep", "--widths", "2,5,16", "--seeds", "3", "--steps", "100",
            "--train-points", "128", "--test-points", "256", "--no-figure", "--x64", "--out", str(out), *extra]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return read_rows(out / "results.csv"), json.loads((out / "manifest.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("devices", [8])
def test_results_agree_across_device_counts(tmp_path, devices):
    one, m1 = _sweep(tmp_path / "one", 1)
    many, m8 = _sweep(tmp_path / "many", devices)
    assert m1["device_count"] == 1 and m8["device_count"] == devices
    key = lambda r: (int(r["width"]), int(r["seed"]))  # noqa: E731
    one, many = sorted(one, key=key), sorted(many, key=key)
    assert [key(r) for r in one] == [key(r) for r in many]
    for column in ("train_loss", "test_mse", "test_sup"):
        a = np.array([float(r[column]) for r in one])
        b = np.array([float(r[column]) for r in many])
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12, err_msg=column)


@pytest.mark.slow
def test_results_agree_whatever_the_grouping(tmp_path):
    # One program per width (--bucket-ratio 1: no padding, ensembles of
    # three) against the default buckets (all widths padded to 16 in one
    # ensemble of nine): every run's numbers are its own.
    grouped, _ = _sweep(tmp_path / "grouped", 1)
    alone, _ = _sweep(tmp_path / "alone", 1, "--bucket-ratio", "1")
    key = lambda r: (int(r["width"]), int(r["seed"]))  # noqa: E731
    grouped, alone = sorted(grouped, key=key), sorted(alone, key=key)
    assert [key(r) for r in grouped] == [key(r) for r in alone]
    for column in ("train_loss", "test_mse", "test_sup", "test_l1"):
        a = np.array([float(r[column]) for r in grouped])
        b = np.array([float(r[column]) for r in alone])
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12, err_msg=column)
