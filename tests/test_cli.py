import dataclasses
import subprocess
import sys

import pytest

from approx.cli.app import main
from approx.results import read_rows
from approx.experiments.sweep import make_data


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["sweep", "--widths", "0"], "widths"),
        (["sweep", "--widths", "a,b"], "widths"),
        (["sweep", "--lr", "-1"], "lr"),
        (["sweep", "--steps", "0"], "steps"),
        (["sweep", "--target", "nope"], "valid: sine"),
        (["sweep", "--activation", "swish"], "valid: sigmoid"),
        (["sweep", "--optimizer", "adamm"], "valid: adam"),
        (["sweep", "--dim", "-2"], "dim"),
        (["sweep", "--seeds", "x"], "invalid int"),
        (["sweep", "--bogus"], "unrecognized"),
        (["sweep", "missing.toml"], "not found"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_input_is_one_error_line(argv, fragment, capsys, tmp_path):
    code = main(argv + ["--out", str(tmp_path / "o")] if argv[0] == "sweep" and "--bogus" not in argv else argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error:") and fragment in err[0], err


def test_toml_unknown_key_and_wrong_type(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('widths = [1, 2]\nlearning_rate = 0.1\n')
    assert main(["sweep", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "unknown key(s) learning_rate" in capsys.readouterr().err
    bad.write_text('widths = "1,2"\n')
    assert main(["sweep", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "widths must be a list" in capsys.readouterr().err
    bad.write_text('widths = [1, 2\n')
    assert main(["sweep", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_sweep_command_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["sweep", "--target", "kink", "--widths", "2,8", "--seeds", "2", "--steps", "100",
            "--train-points", "128", "--test-points", "256", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "median test MSE" in stdout and "error_vs_width.png" in stdout
    assert len(read_rows(out / "results.csv")) == 4
    # A second run into the same directory is refused; --resume is accepted.
    assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(argv + ["--resume"]) == 0


def test_unwritable_out_is_refused(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["sweep", "--widths", "2", "--steps", "5", "--out", str(blocker / "sub")]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_console_script_exit_status(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "approx", "sweep", "--widths", "0", "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


# -- bad input (exit 2) against bugs and system failures (exit 1) -----------------------------
SMALL_SWEEP = ["sweep", "--widths", "2", "--seeds", "1", "--steps", "5", "--train-points", "16", "--test-points", "16",
               "--no-figure"]  # fmt: skip


def _broken_data(config, target):
    """Training targets of shape (n,) instead of (n, 1): a broken internal state."""
    data = make_data(config, target)
    return dataclasses.replace(data, y_train=data.y_train[:, 0])


@pytest.mark.parametrize(
    "where, replacement, kind",
    [
        # A ValueError deep inside a compiled program's tracing is a bug, not bad input.
        ("approx.experiments.sweep.make_data", _broken_data, "ValueError"),
        ("approx.cli.sweep.format_table", lambda summary: 1 / 0, "ZeroDivisionError"),
        ("approx.experiments.sweep._summary", lambda rows: {}["depth"], "KeyError"),
    ],
)
def test_a_bug_inside_approx_exits_1_with_its_traceback(where, replacement, kind, monkeypatch, tmp_path, capsys):
    module, name = where.rsplit(".", 1)
    monkeypatch.setattr(__import__(module, fromlist=[name]), name, replacement)
    assert main([*SMALL_SWEEP, "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback (most recent call last):" in err
    assert any(line.startswith(kind) for line in err), err[-5:]
    assert err[-1].startswith("error: this is a bug in approx") and kind in err[-1]
    assert "report it" in err[-1]


def test_a_failure_of_the_system_is_not_called_bad_input(monkeypatch, tmp_path, capsys):
    import errno

    from approx.results import RunDirectory

    def full(self, rows, networks=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.csv_path))

    monkeypatch.setattr(RunDirectory, "append", full)
    assert main([*SMALL_SWEEP, "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback (most recent call last):" in err
    assert err[-1].startswith("error: the system refused an operation (OSError: [Errno 28] No space left on device")
    assert "bug" not in err[-1]


def test_running_out_of_memory_points_at_the_estimate(monkeypatch, tmp_path, capsys):
    import approx.experiments.sweep

    def exhausted(*args, **kwargs):
        raise RuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 860360135584 bytes.")

    monkeypatch.setattr(approx.experiments.sweep, "train_bucket", exhausted)
    assert main([*SMALL_SWEEP, "--out", str(tmp_path / "o")]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: out of memory") and "estimate" in last and "report" in last


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["bench", "--workload", "w9"], "unknown workload 'w9'"),
        (["bench", "--baseline", "tf"], "unknown baseline 'tf'"),
        (["figures", "--only", "0"], "unknown figure number"),
        (["sweep", "--target", "os:nothing_here"], "cannot load target"),
        (["sweep", "--target", "kink", "--dim", "0"], "dim must be an integer >= 1"),
    ],
)
def test_input_errors_of_every_command_exit_2(argv, fragment, capsys, tmp_path):
    assert main(argv + (["--out", str(tmp_path / "o")] if argv[0] == "sweep" else [])) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and fragment in err[0], err
    assert not (tmp_path / "o").exists()


def test_the_input_error_family():
    from approx.cli.common import CLIError
    from approx.config import ConfigError
    from approx.data import DataError
    from approx.errors import InputError, LimitError, input_errors
    from approx.processes import DistributedError
    from approx.results import RunDirError

    family = input_errors()
    for cls in (ConfigError, CLIError, LimitError, DistributedError, RunDirError, DataError):
        assert issubclass(cls, family) and issubclass(cls, ValueError), cls
    assert not issubclass(ValueError, family) and not issubclass(KeyError, family)
    assert issubclass(ConfigError, InputError)
