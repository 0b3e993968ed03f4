"""Faults a long sweep must survive: SIGKILL, Ctrl-C, divergence, bad input."""

import os
import queue
import signal
import subprocess
import sys
import threading
from argparse import Namespace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approx.cli.app import main
from approx.cli.common import CLIError
from approx.cli.sweep import sweep_settings
from approx.config import ConfigError, SweepConfig
from approx.experiments.sweep import run_sweep
from approx.results import read_rows

WIDTHS = "1,2,3,4"
RUNS = 12
SMALL = ["--steps", "40", "--train-points", "64", "--test-points", "128", "--bucket-ratio", "1", "--no-figure"]


def _sweep_argv(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "approx", "sweep", "--widths", WIDTHS, "--seeds", "3", *SMALL, "--out", str(out), *extra]


# Runs ``approx`` like ``python -m approx`` but acts when a progress line starts
# with MARKER: sends itself SIGINT (as Ctrl-C would), or announces PAUSED and
# waits to be killed. The interrupt therefore always lands at the same point
# of the sweep, however fast or loaded the machine.
_DRIVER = """
import os, signal, sys, time
import approx.cli.sweep as sweep_command
from approx.cli.app import main
marker, action = sys.argv[1], sys.argv[2]
progress = sweep_command.progress

def at_marker(banner=None):
    report = progress(banner)
    def wrapped(msg):
        report(msg)
        if msg.startswith(marker):
            if action == "SIGINT":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                print("PAUSED", file=sys.stderr, flush=True)
                time.sleep(600)
    return wrapped

sweep_command.progress = at_marker
sys.exit(main(sys.argv[3:]))
"""


def _env() -> dict:
    return os.environ | {"APPROX_NO_CACHE": "1", "JAX_PLATFORMS": "cpu"}


def _start(out: Path, marker: str, action: str) -> subprocess.Popen:
    argv = [sys.executable, "-c", _DRIVER, marker, action, *_sweep_argv(out)[3:]]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), text=True)


def _wait_for(proc: subprocess.Popen, line: str, timeout: float = 240) -> None:
    """Reads the process's stderr until ``line`` (or fails if it ends first)."""
    lines: queue.Queue = queue.Queue()
    def read():
        for got in iter(proc.stderr.readline, ""):
            lines.put(got)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen = []
    while True:
        try:
            got = lines.get(timeout=timeout)
        except queue.Empty:
            proc.kill()
            raise AssertionError(f"no {line!r} within {timeout} s: {seen}") from None
        if got is None:
            raise AssertionError(f"the process ended before {line!r}: {seen}")
        seen.append(got)
        if got.strip() == line:
            return


def _resume(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(_sweep_argv(out, "--resume"), capture_output=True, text=True, env=_env(), timeout=300)


def _check_complete(out: Path, before: bytes) -> None:
    data = (out / "results.csv").read_bytes()
    assert data.startswith(before), "earlier rows changed"
    rows = read_rows(out / "results.csv")
    keys = [(r["width"], r["seed"]) for r in rows]
    assert len(keys) == RUNS and len(set(keys)) == RUNS
    assert data.endswith(b"\n")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
@pytest.mark.parametrize("after", [1, 3])
def test_killed_sweep_resumes_to_exactly_the_missing_runs(tmp_path, sig, after):
    # Four groups (widths 1, 2, 3, 4; --bucket-ratio 1) of three seeds: the
    # signal lands right after group AFTER is written.
    out = tmp_path / "run"
    if sig == signal.SIGKILL:
        proc = _start(out, f"[{after}/4]", "PAUSE")
        _wait_for(proc, "PAUSED")
        proc.kill()
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
    else:
        proc = _start(out, f"[{after}/4]", "SIGINT")
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 130, err
        assert "--resume" in err and "Traceback" not in err
        assert f"interrupted: {3 * after} finished run(s) kept" in err
    before = (out / "results.csv").read_bytes()
    assert len(read_rows(out / "results.csv")) == 3 * after
    done = _resume(out)
    assert done.returncode == 0, done.stderr
    assert f"resuming: {3 * after} runs already recorded, {RUNS - 3 * after} to go" in done.stderr
    _check_complete(out, before)
    # A resumed sweep that is complete changes nothing.
    complete = (out / "results.csv").read_bytes()
    again = _resume(out)
    assert again.returncode == 0
    assert (out / "results.csv").read_bytes() == complete
    assert len(read_rows(out / "results.csv")) == RUNS


def test_ctrl_c_stops_after_the_group_in_flight(tmp_path, capsys, monkeypatch):
    # In this process: Ctrl-C (SIGINT to ourselves) as group 1 of 2 is reported.
    import approx.cli.sweep as sweep_command

    progress = sweep_command.progress

    def at_first_group(banner=None):
        report = progress(banner)

        def wrapped(msg):
            report(msg)
            if msg.startswith("[1/2]"):
                os.kill(os.getpid(), signal.SIGINT)

        return wrapped

    monkeypatch.setattr(sweep_command, "progress", at_first_group)
    out = tmp_path / "run"
    argv = ["sweep", "--widths", "2,4", "--seeds", "2", *SMALL, "--out", str(out)]
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert "stopping after the runs in flight" in err and f"--out {out} --resume" in err
    assert [(r["width"], r["seed"]) for r in read_rows(out / "results.csv")] == [("2", "0"), ("2", "1")]
    monkeypatch.setattr(sweep_command, "progress", progress)
    assert main([*argv, "--resume"]) == 0
    keys = sorted((r["width"], r["seed"]) for r in read_rows(out / "results.csv"))
    assert keys == [("2", "0"), ("2", "1"), ("4", "0"), ("4", "1")]


@pytest.mark.slow  # the library's refusal is in the quick suite: test_sweep.py::test_refuses_to_overwrite_and_resumes
def test_resume_with_a_different_config_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["sweep", "--widths", "2,4", "--seeds", "1", *SMALL, "--out", str(out)]
    assert main(argv) == 0
    before = (out / "results.csv").read_bytes()
    capsys.readouterr()
    assert main(["sweep", "--widths", "2,4", "--seeds", "1", *SMALL, "--lr", "0.5", "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "lr" in err[0]
    assert (out / "results.csv").read_bytes() == before


def test_diverging_runs_are_recorded_and_the_sweep_completes(tmp_path, capsys):
    out = tmp_path / "div"
    argv = ["sweep", "--widths", "2,16", "--seeds", "2", "--optimizer", "sgd", "--schedule", "constant",
            "--lr", "1e12", "--steps", "30", "--train-points", "64", "--test-points", "128", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    rows = read_rows(out / "results.csv")
    assert len(rows) == 4
    diverged = [r for r in rows if r["diverged"] == "true"]
    assert diverged, rows
    for r in diverged:
        assert float(r["train_loss"]) == float(r["train_loss"])  # the last finite loss, not NaN
    assert "diverged" in stdout
    assert (out / "error_vs_width.png").exists()


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--lr", "-1"], "lr must be"),
        (["--lr", "nan"], "lr must be"),
        (["--target", "nope"], "unknown target"),
        (["--activation", "nope"], "unknown activation"),
        (["--optimizer", "nope"], "unknown optimizer"),
        (["--widths", "0"], "widths"),
        (["--widths", "-3,2"], "widths"),
        (["--steps", "0"], "steps"),
        (["--seeds", "0"], "seeds"),
        (["--dim", "0"], "dim"),
        (["--train-points", "0"], "train_points"),
        (["--schedule", "wavy"], "schedule"),
        (["--init", "xavier"], "init"),
        (["--target", "os:nothing_here"], "cannot load target"),
    ],
)
def test_bad_input_exits_2_before_any_work(tmp_path, capsys, argv, fragment):
    out = tmp_path / "never"
    assert main(["sweep", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and fragment in err[0], err
    assert not (out / "results.csv").exists()


def test_unknown_kind_and_keys_in_an_experiment_file(tmp_path, capsys):
    f = tmp_path / "x.toml"
    f.write_text('kind = "wat"\n')
    assert main(["run", str(f)]) == 2
    assert "unknown experiment kind" in capsys.readouterr().err
    f.write_text('kind = "sweep"\nwidths = [2]\nsteps = "many"\n')
    assert main(["run", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "steps must be an integer" in capsys.readouterr().err


def test_target_returning_nan_is_refused(tmp_path):
    import jax.numpy as jnp

    with pytest.raises(ValueError, match="NaN or Inf"):
        run_sweep(SweepConfig(widths=(2,), steps=5), tmp_path, target=lambda x: jnp.log(x[:, 0] - 2.0))


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(-3, 300), st.floats(), st.text(max_size=3)), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_KEYS = st.sampled_from(
    ["target", "dim", "widths", "depths", "activation", "seeds", "steps", "lr", "optimizer", "schedule",
     "init", "output_init", "train_points", "batch_size", "x64", "bucket_ratio", "out", "lang", "kind", "junk"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_config_parsing_never_raises_anything_but_a_clear_error(data):
    args = Namespace(config=None, widths=None, depth=None, out=None, lang=None, **{k: None for k in (
        "target", "dim", "activation", "seeds", "steps", "lr", "optimizer", "schedule", "init",
        "output_init", "train_points", "test_points", "batch_size", "data_seed", "bucket_ratio", "x64")})  # fmt: skip
    try:
        config, out, lang = sweep_settings(args, dict(data), "prop.toml")
    except (ConfigError, CLIError) as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert isinstance(config, SweepConfig) and lang in ("en", "es")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789,.-x ", max_size=10), min_size=1, max_size=3))
def test_widths_option_parsing(texts):
    from approx.config import parse_widths

    for text in texts:
        try:
            widths = parse_widths(text)
        except ConfigError as e:
            assert "widths" in str(e)
        else:
            assert widths and all(isinstance(w, int) and w >= 1 for w in widths)
