"""Faults a long sweep must survive: SIGKILL, Ctrl-C, divergence, bad input."""

import os
import signal
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approx.cli import CLIError, main, sweep_settings
from approx.config import ConfigError, SweepConfig
from approx.results import read_rows
from approx.sweep import run_sweep

WIDTHS = "1,2,3,4"
RUNS = 12
SMALL = ["--steps", "40", "--train-points", "64", "--test-points", "128", "--bucket-ratio", "1", "--no-figure"]


def _sweep_argv(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "approx", "sweep", "--widths", WIDTHS, "--seeds", "3", *SMALL, "--out", str(out), *extra]


def _start(out: Path) -> subprocess.Popen:
    env = os.environ | {"APPROX_NO_CACHE": "1", "JAX_PLATFORMS": "cpu"}
    return subprocess.Popen(_sweep_argv(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)


def _wait_for_first_row(proc: subprocess.Popen, csv: Path, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if csv.exists() and len(csv.read_bytes().splitlines()) >= 2:
            return
        if proc.poll() is not None:
            raise AssertionError(f"sweep ended early: {proc.stderr.read()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("no row appeared")


def _resume(out: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"APPROX_NO_CACHE": "1", "JAX_PLATFORMS": "cpu"}
    return subprocess.run(_sweep_argv(out, "--resume"), capture_output=True, text=True, env=env, timeout=300)


def _check_complete(out: Path, before: bytes) -> None:
    data = (out / "results.csv").read_bytes()
    assert data.startswith(before), "earlier rows changed"
    rows = read_rows(out / "results.csv")
    keys = [(r["width"], r["seed"]) for r in rows]
    assert len(keys) == RUNS and len(set(keys)) == RUNS
    assert data.endswith(b"\n")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_sweep_resumes_to_exactly_the_missing_runs(tmp_path, sig):
    out = tmp_path / "run"
    proc = _start(out)
    _wait_for_first_row(proc, out / "results.csv")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "--resume" in err and "Traceback" not in err
    else:
        assert proc.returncode == -signal.SIGKILL
    before = (out / "results.csv").read_bytes()
    n_before = len(read_rows(out / "results.csv"))
    assert 1 <= n_before < RUNS
    done = _resume(out)
    assert done.returncode == 0, done.stderr
    assert "already recorded" in done.stderr
    _check_complete(out, before)
    # A resumed sweep that is complete changes nothing.
    complete = (out / "results.csv").read_bytes()
    again = _resume(out)
    assert again.returncode == 0
    assert (out / "results.csv").read_bytes() == complete
    assert len(read_rows(out / "results.csv")) == RUNS


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
