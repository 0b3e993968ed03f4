"""Several processes for real: ``approx sweep --distributed`` as two local
processes joined over loopback (``jax.distributed`` with Gloo collectives on
the CPU), started with the README's three variables.

Together they must write exactly the rows of a single-process run: one
results file, no duplicates, the same values. The reference is a single
process with two host devices, the same mesh as two processes of one device
each, so the values must agree to the last bit; a single device agrees to
rounding (float64)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from approx.cli.app import main
from approx.processes import DistributedError, settings_from_env
from approx.results import read_rows

SWEEP = ["sweep", "--widths", "2,5,16", "--seeds", "3", "--steps", "100", "--train-points", "128",
         "--test-points", "256", "--no-figure", "--x64"]  # fmt: skip
VALUES = ("train_loss", "test_mse", "test_sup", "test_l1", "diverged", "params")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_") and k != "XLA_FLAGS"}
    return env | {"JAX_PLATFORMS": "cpu", "APPROX_NO_CACHE": "1", "JAX_NUMPY_RANK_PROMOTION": "raise"} | extra


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes(out: Path, *extra: str, count: int = 2, per_process=lambda i: ()) -> list[subprocess.CompletedProcess]:
    """``approx sweep ... --distributed`` as ``count`` processes on 127.0.0.1."""
    port = _free_port()
    procs = []
    for i in range(count):
        env = _env(JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}", JAX_NUM_PROCESSES=str(count), JAX_PROCESS_ID=str(i))
        argv = [sys.executable, "-m", "approx", *SWEEP, *extra, *per_process(i), "--out", str(out), "--distributed"]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    done = []
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=300)
            done.append(subprocess.CompletedProcess(proc.args, proc.returncode, _text(stdout), _text(stderr)))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return done


def _single(out: Path, devices: int, *extra: str) -> None:
    env = _env(XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    proc = subprocess.run([sys.executable, "-m", "approx", *SWEEP, *extra, "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def _text(stream: str) -> str:
    """A process's output without Gloo's own connection notices (printed from C++)."""
    return "".join(line for line in stream.splitlines(keepends=True) if not line.startswith("[Gloo]"))


def _by_key(rows) -> dict:
    keys = [(r["depth"], r["width"], r["seed"]) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate rows"
    return dict(zip(keys, rows))


@pytest.mark.slow
def test_two_processes_write_exactly_the_rows_of_one(tmp_path):
    procs = _processes(tmp_path / "two")
    for i, proc in enumerate(procs):
        assert proc.returncode == 0, f"process {i}: {proc.stderr}"
        assert "2 cpu device(s)" in proc.stderr
    assert "median test MSE" in procs[0].stdout
    assert procs[1].stdout.startswith("process 1 of 2: computed its share of 9 runs")
    # One results file, one manifest and one network a run, written by process 0 alone.
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["manifest.json", "networks", "results.csv"]
    assert len(list((tmp_path / "two" / "networks").iterdir())) == 9
    manifest = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert manifest["process_count"] == 2 and manifest["device_count"] == 2 and manifest["finished"]
    two = _by_key(read_rows(tmp_path / "two" / "results.csv"))

    _single(tmp_path / "mesh", 2)
    mesh = _by_key(read_rows(tmp_path / "mesh" / "results.csv"))
    assert sorted(two) == sorted(mesh) and len(two) == 9
    for key in mesh:  # the same mesh and program: the same bits
        assert [two[key][c] for c in VALUES] == [mesh[key][c] for c in VALUES], key

    _single(tmp_path / "one", 1)
    one = _by_key(read_rows(tmp_path / "one" / "results.csv"))
    assert sorted(one) == sorted(two)
    for column in ("train_loss", "test_mse", "test_sup", "test_l1"):
        a = np.array([float(one[k][column]) for k in sorted(one)])
        b = np.array([float(two[k][column]) for k in sorted(one)])
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-12, err_msg=column)


@pytest.mark.slow
def test_processes_resume_and_refuse_together(tmp_path):
    _single(tmp_path / "mesh", 2)
    reference = _by_key(read_rows(tmp_path / "mesh" / "results.csv"))
    # An interrupted run: the header and four rows kept.
    out = tmp_path / "run"
    shutil.copytree(tmp_path / "mesh", out)
    lines = (out / "results.csv").read_bytes().splitlines(keepends=True)
    (out / "results.csv").write_bytes(b"".join(lines[:5]))

    procs = _processes(out, "--resume")
    for i, proc in enumerate(procs):
        assert proc.returncode == 0, f"process {i}: {proc.stderr}"
        assert "resuming: 4 runs already recorded, 5 to go" in proc.stderr
    assert procs[1].stdout.startswith("process 1 of 2: computed its share of 5 runs")
    resumed = _by_key(read_rows(out / "results.csv"))
    assert sorted(resumed) == sorted(reference)
    assert (out / "results.csv").read_bytes().startswith(b"".join(lines[:5]))  # earlier rows untouched
    for key in reference:  # grouped differently (5 runs instead of 9): equal to rounding
        for column in ("train_loss", "test_mse", "test_sup"):
            np.testing.assert_allclose(
                float(resumed[key][column]), float(reference[key][column]), rtol=1e-6, atol=1e-12
            )

    # Without --resume, process 0 refuses the folder and the other stops with it.
    before = (out / "results.csv").read_bytes()
    procs = _processes(out)
    assert [p.returncode for p in procs] == [2, 2]
    assert procs[0].stderr.startswith("error: output directory") and "--resume" in procs[0].stderr
    assert procs[1].stderr.startswith("error: process 0 refused the run: output directory")
    assert (out / "results.csv").read_bytes() == before

    # Processes started with different settings all stop before anything is written.
    procs = _processes(tmp_path / "mixed", per_process=lambda i: ("--lr", str(0.01 * (i + 1))))
    assert [p.returncode for p in procs] == [2, 2]
    for proc in procs:
        assert proc.stderr.startswith("error: process(es) 1 run other settings than process 0"), proc.stderr
    assert not (tmp_path / "mixed").exists()


@pytest.mark.slow
def test_a_missing_variable_is_named(tmp_path):
    # The README's recipe with JAX_NUM_PROCESSES forgotten: JAX's own message and the variables to set.
    env = _env(JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{_free_port()}", JAX_PROCESS_ID="0")
    proc = subprocess.run([sys.executable, "-m", "approx", *SWEEP, "--out", str(tmp_path / "o"), "--distributed"],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --distributed: Number of processes must be defined.")
    assert "JAX_NUM_PROCESSES" in err[0]
    assert not (tmp_path / "o").exists()


# -- the settings, without starting processes -----------------------------------------------
def test_every_process_must_name_the_folder(capsys):
    assert main([*SWEEP, "--distributed"]) == 2
    assert (
        capsys.readouterr().err.strip() == "error: --distributed needs --out: every process must name the same folder"
    )


def test_settings_come_from_the_three_variables():
    env = {"JAX_COORDINATOR_ADDRESS": "10.0.0.1:1234", "JAX_NUM_PROCESSES": "4", "JAX_PROCESS_ID": "3"}
    assert settings_from_env(env) == {"coordinator_address": "10.0.0.1:1234", "num_processes": 4, "process_id": 3}
    # Unset ones are left for JAX to find (SLURM, Open MPI, TPU pods).
    assert settings_from_env({}) == {"coordinator_address": None, "num_processes": None, "process_id": None}


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({"JAX_COORDINATOR_ADDRESS": "localhost"}, "JAX_COORDINATOR_ADDRESS must be host:port"),
        ({"JAX_COORDINATOR_ADDRESS": "localhost:99999"}, "JAX_COORDINATOR_ADDRESS must be host:port"),
        ({"JAX_NUM_PROCESSES": "two"}, "JAX_NUM_PROCESSES must be an integer >= 1, got 'two'"),
        ({"JAX_NUM_PROCESSES": "0"}, "JAX_NUM_PROCESSES must be an integer >= 1"),
        ({"JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "2"}, "JAX_PROCESS_ID must be an integer in 0..1, got '2'"),
        ({"JAX_PROCESS_ID": "-1"}, "JAX_PROCESS_ID must be an integer >= 0"),
    ],
)
def test_bad_variables_are_bad_input(env, fragment, monkeypatch, tmp_path, capsys):
    with pytest.raises(DistributedError, match=fragment.replace("(", r"\(").replace(".", r"\.")):
        settings_from_env(env)
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main([*SWEEP, "--out", str(tmp_path / "o"), "--distributed"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and fragment in err[0], err
    assert not (tmp_path / "o").exists()
