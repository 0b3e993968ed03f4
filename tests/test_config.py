"""The settings tables (approx.config, approx.constraints): one declaration per
setting serves the configs, the TOML loader, the command line and the Keras front."""

import ast
import dataclasses
import math
import numbers
import sys
from pathlib import Path

import numpy as np
import pytest

from approx.cli import run as run_command
from approx.cli.app import COMMANDS, main
from approx.config import (
    EXPERIMENT_KINDS,
    FMNIST_SETTINGS,
    SCENARIO_KINDS,
    SWEEP_SETTINGS,
    ConfigError,
    FMNISTConfig,
    SweepConfig,
    config_from_mapping,
)
from approx.constraints import Interval, Options, Sizes
from approx.experiments import scenarios
from approx.keras import layers

PACKAGE = Path(__file__).resolve().parents[1] / "approx"
CONFIGS = (SweepConfig, FMNISTConfig, *scenarios.KINDS.values())


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_every_field_has_exactly_one_constraint_and_its_default_passes(cls):
    assert list(cls.SETTINGS) == [f.name for f in dataclasses.fields(cls)]
    cls()  # the defaults satisfy the table


def test_every_kind_a_file_may_declare_has_its_command():
    assert tuple(run_command.EXPERIMENTS) == EXPERIMENT_KINDS
    assert tuple(scenarios.KINDS) == SCENARIO_KINDS


# -- the constraints against independent references ------------------------------------------
def _in_interval(x, low, high, closed):
    """The interval written out by hand (the reference)."""
    left_ok = x >= low if closed in ("both", "left") else x > low
    right_ok = high is None or (x <= high if closed in ("both", "right") else x < high)
    return left_ok and right_ok


@pytest.mark.parametrize("closed", ["both", "left", "right", "neither"])
@pytest.mark.parametrize("high", [None, 1.0])
def test_real_intervals_accept_exactly_their_points(closed, high):
    interval = Interval(float, 0, high, closed=closed)
    for x in np.linspace(-0.5, 1.5, 41).tolist() + [0, 1, math.nextafter(0, 1), math.nextafter(1, 0)]:
        try:
            interval.check("a", x)
            accepted = True
        except ConfigError:
            accepted = False
        assert accepted == _in_interval(x, 0, high, closed), (x, closed, high)
    for bad in (math.nan, math.inf, -math.inf, True, "0.5", None):
        with pytest.raises(ConfigError, match=r"^a must be a (finite )?number"):
            interval.check("a", bad)


@pytest.mark.parametrize(
    "constraint, value, message",
    [
        (Interval(int, 1, None), 0, "n must be an integer >= 1, got 0"),
        (Interval(int, 1, None), 2.0, "n must be an integer >= 1, got 2.0"),
        (Interval(int, 1, None), True, "n must be an integer >= 1, got True"),
        (Interval(int, 1, None), np.int64(3), "n must be an integer >= 1, got np.int64(3)"),
        (Interval(int, 0, 9, why="nine"), 10, "n must be an integer in 0..9 (nine), got 10"),
        (Interval(float, 0, None, closed="neither"), 0.0, "n must be a number > 0, got 0.0"),
        (Interval(float, 0, None, closed="neither"), math.inf, "n must be a finite number > 0, got inf"),
        (Interval(float, 0, 1, closed="left"), 1, "n must be a number in [0, 1), got 1"),
        (Options(("en", "es")), "fr", "unknown n 'fr'; valid: en, es"),
        (Options(("en", "es")), ["en"], "unknown n ['en']; valid: en, es"),
        (Sizes(Interval(int, 1, None)), (), "n must be a non-empty list of integers >= 1, got ()"),
        (Sizes(Interval(int, 1, None)), (2, 0), "n must be integers >= 1, got 0"),
        (Sizes(Interval(int, 1, None)), (2, 2), "n has repeated values: [2, 2]"),
    ],
)
def test_messages_name_the_setting_the_value_and_what_is_allowed(constraint, value, message):
    with pytest.raises(ConfigError) as info:
        constraint.check("n", value)
    assert str(info.value) == message.replace("np.int64(3)", repr(np.int64(3)))


def test_integral_intervals_take_numpys_integers_for_the_keras_front():
    Interval(numbers.Integral, 1).check("units", np.int64(3))
    assert layers.Dense(np.int32(4)).units == 4
    with pytest.raises(ValueError, match=r"^Dense units must be an integer >= 1, got 0$"):
        layers.Dense(0)
    with pytest.raises(ValueError, match=r"^Dropout rate must be a number in \[0, 1\), got 1.0$"):
        layers.Dropout(1.0)


@pytest.mark.parametrize("low, high", [(1, 256), (3, 20), (5, 5), (1, 1)])
def test_width_ranges_are_powers_of_two_times_the_lower_end(low, high):
    k = int(np.floor(np.log2(high / low)))
    assert Sizes(Interval(int, 1, None)).parse(f"{low}..{high}") == tuple(low * 2 ** np.arange(k + 1))


@pytest.mark.parametrize("text", ["0", "4..2", "0..4", "1,1", "a", ""])
def test_bad_width_texts_are_refused(text):
    with pytest.raises(ConfigError, match="widths"):
        Sizes(Interval(int, 1, None)).parse(text)


# -- one declaration, three doors: keyword, TOML, option --------------------------------------
@pytest.mark.parametrize(
    "key, value, option",
    [
        ("steps", 0, ["--steps", "0"]),
        ("dim", 0, ["--dim", "0"]),
        ("lr", -1.0, ["--lr", "-1"]),
        ("activation", "swish", ["--activation", "swish"]),
        ("schedule", "wavy", ["--schedule", "wavy"]),
        ("widths", (0,), ["--widths", "0"]),
        ("snapshots", 1001, ["--snapshots", "1001"]),
        ("bucket_ratio", 0.5, ["--bucket-ratio", "0.5"]),
        ("batch_size", 0, ["--batch-size", "0"]),
    ],
)
def test_a_bad_sweep_setting_reads_the_same_through_every_door(key, value, option, tmp_path, capsys):
    with pytest.raises(ConfigError) as info:
        SweepConfig(**{key: value})
    message = str(info.value)
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        config_from_mapping(SweepConfig, {key: list(value) if isinstance(value, tuple) else value}, "x.toml")
    assert main(["sweep", *option, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {message}"]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command, table", [("sweep", SWEEP_SETTINGS), ("fmnist", FMNIST_SETTINGS)])
def test_help_lists_the_choices_of_the_table(command, table, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name, constraint in table.items():
        if type(constraint) is Options:
            assert ", ".join(constraint.values) in text or "|".join(constraint.values) in text, name


@pytest.mark.parametrize("kind", EXPERIMENT_KINDS)
@pytest.mark.parametrize(
    "line, message",
    [
        ('lang = "fr"', "unknown lang 'fr'; valid: en, es (in "),
        ('out = ""', "out must be a path, got '' (in "),
        ("description = 5", "description must be a string, got 5 (in "),
    ],
)
def test_experiment_metadata_is_checked_before_any_work(kind, line, message, tmp_path, capsys):
    # data_dir points nowhere: a Fashion-MNIST file would fail on reading the data if lang came later.
    extra = 'data_dir = "/nonexistent"\n' if kind == "fmnist" else ""
    f = tmp_path / "x.toml"
    f.write_text(f'kind = "{kind}"\n{line}\n{extra}')
    assert main(["run", str(f), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}{f})"
    assert not (tmp_path / "o").exists()


# -- the layers' rules --------------------------------------------------------------------------
def _imports(path: Path, *, in_functions: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = [n for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for n in ast.walk(f)] if in_functions else tree.body
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", ["config.py", "constraints.py", "errors.py"])
def test_the_settings_import_only_the_standard_library(module):
    """No JAX (nor NumPy) to check a setting: the configs load in any process."""
    allowed = set(sys.stdlib_module_names) | {"approx"}
    found = {name.split(".")[0] for name in _imports(PACKAGE / module, in_functions=False)}
    assert found <= allowed, found - allowed


@pytest.mark.parametrize("path", sorted((PACKAGE / "cli").glob("*.py")), ids=lambda p: p.name)
def test_commands_import_approx_at_the_top_only(path):
    assert not {n for n in _imports(path, in_functions=True) if n.split(".")[0] == "approx"}


def test_the_command_table_is_the_documented_contract():
    assert tuple(COMMANDS) == ("sweep", "run", "fmnist", "figures", "bench", "explore", "animate")
    for command in COMMANDS.values():
        assert callable(command.add_arguments) and callable(command.run) and command.HELP
