"""Resume proven by values: a sweep (and a Fashion-MNIST run) interrupted at
several points and resumed writes the rows, and saves the networks, of an
uninterrupted run, value by value (bit for bit on the same machine).

Interrupts are placed deterministically, never by timing: in-process through
``should_stop`` or by failing a write at a chosen place; in subprocesses
(``slow``) a small driver blocks at a chosen place (after a group's rows, or
after its networks but before its rows), writes a marker file and waits for
a "go" file that the test creates once it has sent SIGINT or SIGKILL. The
command-line test sends SIGINT when the first progress line appears; the
sweep then stops after the group in flight.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

import approx.results as results
from approx.config import SweepConfig
from approx.data import fashion_mnist as fm
from approx.results import RunDirError, read_network, read_rows, saved_networks
from approx.experiments.sweep import run_sweep

REPO = Path(__file__).resolve().parents[1]
# Three groups of two runs (widths 2, 5 and 9, padded to 9): one compiled program serves all three.
SWEEP = dict(widths=(2, 5, 9), seeds=2, steps=40, train_points=256, test_points=128, max_bucket_runs=2)
TIMINGS = ("seconds", "eval_seconds")


def _values(path: Path) -> list[dict]:
    """Rows without timings, by key, from a results or history file."""
    rows = [{k: v for k, v in r.items() if k not in TIMINGS} for r in read_rows(path)]
    return sorted(rows, key=lambda r: tuple(int(r[k]) for k in ("depth", "width", "seed", "epoch") if k in r))


def _assert_same_run_directory(a: Path, b: Path, networks: bool = True) -> None:
    """Every value of every row equal as written (bit-identical floats), and
    every saved network's arrays and metadata equal."""
    assert _values(a / "results.csv") == _values(b / "results.csv")
    if networks:
        assert saved_networks(a) == saved_networks(b)
        assert saved_networks(a), "no networks saved"
        for key in saved_networks(a):
            na, nb = (read_network(results.network_path(d, *key)) for d in (a, b))
            for x, y in zip(na.kernels + na.biases, nb.kernels + nb.biases):
                np.testing.assert_array_equal(x, y)
                assert x.dtype == y.dtype
            assert na.meta == nb.meta
            np.testing.assert_array_equal(na.extras["sup_at"], nb.extras["sup_at"])
    assert not list(a.glob("**/.*.tmp")), "a temporary file was left behind"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The sweep run in one go, in this process (under the suite's strict settings)."""
    out = tmp_path_factory.mktemp("whole")
    with jax.numpy_rank_promotion("raise"):
        run_sweep(SweepConfig(**SWEEP), out)
    assert len(read_rows(out / "results.csv")) == 6
    return out


# -- in this process -------------------------------------------------------------
@pytest.mark.slow  # two sweeps; the quick suite keeps the kill between networks and rows below
@pytest.mark.parametrize("after_groups", [1, 2])
def test_stopped_sweep_resumes_to_the_same_values(uninterrupted, tmp_path, after_groups):
    checks = []

    def stop():  # asked before each group: stop once `after_groups` are written
        checks.append(1)
        return len(checks) > after_groups

    with pytest.raises(KeyboardInterrupt):
        run_sweep(SweepConfig(**SWEEP), tmp_path, should_stop=stop)
    rows = read_rows(tmp_path / "results.csv")
    assert len(rows) == 2 * after_groups and len(saved_networks(tmp_path)) == 2 * after_groups
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["interrupted"] is True and manifest["finished"] is None
    messages = []
    outcome = run_sweep(SweepConfig(**SWEEP), tmp_path, resume=True, progress=messages.append)
    assert outcome.skipped == 2 * after_groups
    assert f"resuming: {2 * after_groups} runs already recorded, {6 - 2 * after_groups} to go" in messages
    _assert_same_run_directory(tmp_path, uninterrupted)


def test_a_kill_between_networks_and_rows_is_resumed_to_the_same_values(uninterrupted, tmp_path, monkeypatch):
    """The second group's networks are on disk, its rows never written: the
    resumed sweep trains that group again and rewrites its networks."""
    calls = []
    original = results.append_rows

    def append_rows(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if killed here
        return original(*args, **kwargs)

    monkeypatch.setattr(results, "append_rows", append_rows)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(SweepConfig(**SWEEP), tmp_path)
    monkeypatch.undo()
    assert len(read_rows(tmp_path / "results.csv")) == 2
    assert [k[1] for k in saved_networks(tmp_path)] == [2, 2, 5, 5]  # width 5's networks, without rows
    run_sweep(SweepConfig(**SWEEP), tmp_path, resume=True)
    _assert_same_run_directory(tmp_path, uninterrupted)


@pytest.mark.slow  # three sweeps; RunDirectory's own test of these branches is quick (test_results)
def test_resume_accepts_result_neutral_changes_and_refuses_others(uninterrupted, tmp_path):
    stop = iter([False, True])
    with pytest.raises(KeyboardInterrupt):
        run_sweep(SweepConfig(**SWEEP), tmp_path, should_stop=lambda: next(stop))
    before = (tmp_path / "results.csv").read_bytes()
    for changed, key in [({"lr": 0.02}, "lr"), ({"steps": 41}, "steps"), ({"widths": (2, 40)}, "widths"), ({"activation": "tanh"}, "activation")]:
        with pytest.raises(RunDirError, match=f"config differs in {key}"):
            run_sweep(SweepConfig(**(SWEEP | changed)), tmp_path, resume=True)
    assert (tmp_path / "results.csv").read_bytes() == before  # refused before anything was written
    # Another grouping and no saved networks: accepted (they change no number).
    neutral = SweepConfig(**(SWEEP | {"max_bucket_runs": 1}), bucket_ratio=1.0, save_networks=False)
    outcome = run_sweep(neutral, tmp_path, resume=True)
    assert outcome.skipped == 2
    assert (tmp_path / "results.csv").read_bytes().startswith(before)
    # Unpadded, one run per program instead of two padded to width 9: the
    # same runs up to float32 rounding, which the least-squares readout of
    # nearly collinear features and 40 Adam steps grow to about 2 % (see
    # test_train's padded-run test); bit-identity needs the same grouping.
    got, want = _values(tmp_path / "results.csv"), _values(uninterrupted / "results.csv")
    assert [(r["width"], r["seed"]) for r in got] == [(r["width"], r["seed"]) for r in want]
    for g, w in zip(got, want):
        for key in ("train_loss", "test_mse", "test_sup"):
            np.testing.assert_allclose(float(g[key]), float(w[key]), rtol=5e-2, err_msg=f"{key} {g['width']} {g['seed']}")
    assert saved_networks(tmp_path) == [(1, 2, 0), (1, 2, 1)]  # only the first run kept networks


@pytest.mark.slow
def test_resume_into_an_empty_directory_runs_the_whole_sweep(uninterrupted, tmp_path):
    messages = []
    run_sweep(SweepConfig(**SWEEP), tmp_path / "new", resume=True, progress=messages.append)
    assert f"nothing to resume in {tmp_path / 'new'}: starting the sweep" in messages
    assert "resumed" not in json.loads((tmp_path / "new" / "manifest.json").read_text())
    _assert_same_run_directory(tmp_path / "new", uninterrupted)


# -- in subprocesses, with real signals ----------------------------------------------
DRIVER = """
import json, sys, time
from pathlib import Path

import approx.results as results

kind, out, point, marker, go, resume, settings = sys.argv[1:8]
count = [0]


def wait():
    Path(marker).write_text("here")
    while not Path(go).exists():
        time.sleep(0.01)


where, _, k = point.partition(":")
if where == "after-rows":  # block once group k's networks and rows are written
    original = results.RunDirectory.append

    def append(self, rows, networks=None):
        original(self, rows, networks)
        count[0] += 1
        if count[0] == int(k):
            wait()

    results.RunDirectory.append = append
elif where == "before-rows":  # block after group k's networks, before its rows (Ctrl-C is held there)
    original_rows = results.append_rows

    def append_rows(*args, **kwargs):
        count[0] += 1
        if count[0] == int(k):
            wait()
        return original_rows(*args, **kwargs)

    results.append_rows = append_rows

try:
    from approx.config import FMNISTConfig, SweepConfig, config_from_mapping

    if kind == "sweep":
        from approx.experiments.sweep import run_sweep

        run_sweep(config_from_mapping(SweepConfig, json.loads(settings)), out, resume=resume == "1")
    else:
        from approx.experiments.fmnist import run_fmnist

        run_fmnist(config_from_mapping(FMNISTConfig, json.loads(settings)), out, resume=resume == "1")
except KeyboardInterrupt:
    sys.exit(130)
"""


def _env():
    return os.environ | {"APPROX_NO_CACHE": "1", "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(REPO)}


def _driver(tmp_path: Path) -> Path:
    path = tmp_path / "driver.py"
    path.write_text(DRIVER)
    return path


def _run(tmp_path, kind, out, settings, point="none", resume=False, signum=None, timeout=600):
    """Runs the driver; with ``signum``, sends it once the driver waits at
    ``point``, then lets it go on. Returns the exit status."""
    marker, go = tmp_path / f"marker-{out.name}", tmp_path / f"go-{out.name}"
    for f in (marker, go):
        f.unlink(missing_ok=True)
    argv = [sys.executable, str(_driver(tmp_path)), kind, str(out), point, str(marker), str(go), "1" if resume else "0", json.dumps(settings)]
    proc = subprocess.Popen(argv, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if signum is not None:
        deadline = time.time() + timeout
        while not marker.exists():
            if proc.poll() is not None:
                raise AssertionError(f"driver ended before {point}: {proc.stderr.read()}")
            if time.time() > deadline:
                proc.kill()
                raise AssertionError(f"driver never reached {point}")
            time.sleep(0.02)
        proc.send_signal(signum)
        go.write_text("go")
    _, err = proc.communicate(timeout=timeout)
    if signum is None:
        assert proc.returncode == 0, err
    return proc.returncode


@pytest.fixture(scope="module")
def uninterrupted_process(tmp_path_factory):
    """The sweep in one go in a subprocess, like the interrupted ones."""
    tmp = tmp_path_factory.mktemp("whole-process")
    _run(tmp, "sweep", tmp / "out", dict(SWEEP))
    return tmp / "out"


@pytest.mark.slow
@pytest.mark.parametrize(
    "signum, point",
    [
        (signal.SIGKILL, "after-rows:1"),
        (signal.SIGKILL, "before-rows:2"),  # group 2's networks on disk, its rows not
        (signal.SIGINT, "after-rows:2"),
        (signal.SIGINT, "before-rows:2"),  # held until group 2's rows are written
    ],
)
def test_a_signalled_sweep_resumes_to_the_same_values(uninterrupted_process, tmp_path, signum, point):
    out = tmp_path / "out"
    status = _run(tmp_path, "sweep", out, dict(SWEEP), point, signum=signum)
    assert status == (-signal.SIGKILL if signum == signal.SIGKILL else 130)
    finished = {("after-rows:1", signal.SIGKILL): 2, ("before-rows:2", signal.SIGKILL): 2,
                ("after-rows:2", signal.SIGINT): 4, ("before-rows:2", signal.SIGINT): 4}[(point, signum)]  # fmt: skip
    assert len(read_rows(out / "results.csv")) == finished
    if point == "before-rows:2" and signum == signal.SIGKILL:
        assert len(saved_networks(out)) == 4  # the killed group's networks, without rows
    else:
        assert len(saved_networks(out)) == finished
    _run(tmp_path, "sweep", out, dict(SWEEP), resume=True)
    _assert_same_run_directory(out, uninterrupted_process)


@pytest.mark.slow
def test_ctrl_c_on_the_command_line_resumes_to_the_same_values(tmp_path):
    """The user's path: SIGINT when the first group's progress line appears;
    the sweep stops after the group in flight, exits 130 and --resume
    completes it. (Five groups: the interrupt lands well before the end.)"""
    argv = [sys.executable, "-m", "approx", "sweep", "--widths", "2,3,4,5,6", "--bucket-ratio", "1", "--seeds", "2",
            "--steps", "40", "--train-points", "64", "--test-points", "128", "--no-figure", "--no-cache"]  # fmt: skip
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    subprocess.run([*argv, "--out", str(whole)], env=_env(), check=True, capture_output=True)
    proc = subprocess.Popen([*argv, "--out", str(cut)], env=_env(), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if line.strip().startswith("[1/5]"):
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    assert 2 <= len(read_rows(cut / "results.csv")) < 10
    done = subprocess.run([*argv, "--out", str(cut), "--resume"], env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    _assert_same_run_directory(cut, whole)


# -- Fashion-MNIST ---------------------------------------------------------------------
needs_data = pytest.mark.skipif(
    not all((fm.SYSTEM_DIR / name).is_file() for name in fm.FILE_NAMES),
    reason=f"{fm.SYSTEM_DIR} lacks Fashion-MNIST (sudo apt-get install dataset-fashion-mnist)",
)
FMNIST = dict(widths=(8, 16), seeds=2, epochs=1, train_subset=1024, test_subset=300, train_eval_examples=500)


def _assert_same_fmnist(a: Path, b: Path) -> None:
    assert _values(a / "results.csv") == _values(b / "results.csv")
    assert _values(a / "history.csv") == _values(b / "history.csv")
    names = sorted(p.name for p in (a / "predictions").iterdir())
    assert names == sorted(p.name for p in (b / "predictions").iterdir()) and len(names) == 4
    for name in names:
        np.testing.assert_array_equal(np.load(a / "predictions" / name), np.load(b / "predictions" / name))


@pytest.mark.slow
@needs_data
def test_fmnist_stopped_and_resumed_gives_the_same_values(tmp_path):
    from approx.config import FMNISTConfig
    from approx.experiments.fmnist import run_fmnist

    dataset = fm.load_fashion_mnist(fm.SYSTEM_DIR)
    config = FMNISTConfig(**FMNIST)
    run_fmnist(config, tmp_path / "whole", dataset=dataset)
    asked = []
    with pytest.raises(KeyboardInterrupt):
        run_fmnist(config, tmp_path / "cut", dataset=dataset, should_stop=lambda: asked.append(1) or len(asked) > 1)
    assert len(read_rows(tmp_path / "cut" / "results.csv")) == 2
    outcome = run_fmnist(config, tmp_path / "cut", dataset=dataset, resume=True)
    assert outcome.skipped == 2
    _assert_same_fmnist(tmp_path / "cut", tmp_path / "whole")


@pytest.mark.slow
@needs_data
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT])
def test_fmnist_signalled_and_resumed_gives_the_same_values(tmp_path, signum):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    _run(tmp_path, "fmnist", whole, FMNIST)
    status = _run(tmp_path, "fmnist", cut, FMNIST, "after-rows:1", signum=signum)
    assert status == (-signal.SIGKILL if signum == signal.SIGKILL else 130)
    assert len(read_rows(cut / "results.csv")) == 2
    _run(tmp_path, "fmnist", cut, FMNIST, resume=True)
    _assert_same_fmnist(cut, whole)
