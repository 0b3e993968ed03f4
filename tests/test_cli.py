import subprocess
import sys

import pytest

from approx.cli import main
from approx.results import read_rows


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
