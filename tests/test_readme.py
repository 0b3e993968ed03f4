"""The README's claims, checked as a new user would read them.

Its command synopsis against each command's ``--help``, its lists of
experiment-file keys against what the configs accept, its measured numbers
against the script that regenerates them, and its custom-target example
against the installed command.
"""

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from approx.cli.app import main, parser
from approx.config import (
    EXPERIMENT_KEYS,
    OPTION_KEYS,
    ConfigError,
    FMNISTConfig,
    SweepConfig,
    config_from_mapping,
    config_keys,
    load_toml,
)
from approx.targets import resolve_target

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
COMMANDS = ("sweep", "run", "fmnist", "figures", "bench", "explore", "animate")
CONFIGS = {"sweep": SweepConfig, "fmnist": FMNISTConfig}
# Options that are not settings of the experiment (README: "options only").
OPTIONS_ONLY = {"help", "resume", "no_figure", "no_cache", "distributed"}


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n## ", start + len(title))
    return README[start : end if end > 0 else None]


def _synopsis() -> dict[str, str]:
    """The README's synopsis block, command -> its text (continuation lines included)."""
    block = re.search(r"```\n(approx sweep \[CONFIG\.toml\].*?)```", README, re.DOTALL)
    assert block, "the README's synopsis block is missing"
    out: dict[str, str] = {}
    for line in block.group(1).splitlines():
        m = re.match(r"approx (\w+)", line)
        if m:
            current = m.group(1)
            out[current] = ""
        out[current] += line + "\n"
    return out


def _help(command: str, capsys) -> str:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def _flags(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text)) - {"--help"}


@pytest.mark.parametrize("command", COMMANDS)
def test_synopsis_lists_exactly_the_options_of_help(command, capsys):
    synopsis = _synopsis()
    assert set(synopsis) == set(COMMANDS)
    usage = _help(command, capsys).split("\n\n")[0]  # argparse's usage paragraph
    assert _flags(synopsis[command]) == _flags(usage)


def _unwrapped(text: str) -> str:
    """argparse's help with its line breaks undone (it also breaks after hyphens)."""
    return re.sub(r"\n\s+", " ", re.sub(r"-\n\s+", "-", text))


def test_default_output_folders_match_help(capsys):
    assert "runs/sweep-TARGET-TIME" in _unwrapped(_help("sweep", capsys))
    assert "runs/fmnist-ACTIVATION-TIME" in _unwrapped(_help("fmnist", capsys))
    assert "runs/bench-TIME" in _unwrapped(_help("bench", capsys))
    for pattern in ("runs/sweep-TARGET-TIME", "runs/fmnist-ACTIVATION-TIME", "runs/bench-TIME"):
        assert pattern in README


class _Stop(Exception):
    pass


def test_fmnist_default_output_folder_is_named_after_the_activation(monkeypatch):
    from approx.cli import fmnist as cli_fmnist

    def stop(kind, label):
        raise _Stop(kind, label)

    monkeypatch.setattr(cli_fmnist, "default_out", stop)
    args = parser().parse_args(["fmnist", "--activation", "tanh"])
    with pytest.raises(_Stop) as info:  # stopped before any data are read
        cli_fmnist.run(args)
    assert info.value.args == ("fmnist", "tanh")  # runs/fmnist-ACTIVATION-TIME


# -- experiment files --------------------------------------------------------------------------
def _readme_keys(kind: str) -> set[str]:
    line = README.split(f"<!-- keys:{kind} -->\n", 1)[1].splitlines()[0]
    return set(re.findall(r"`([a-z][a-z0-9_]*)`", line))


@pytest.mark.parametrize("kind", CONFIGS)
def test_readme_lists_every_setting_of_each_kind(kind):
    assert _readme_keys(kind) == {f.name for f in fields(CONFIGS[kind])}


def test_readme_names_the_keys_every_file_may_set():
    section = _section("### Experiment files")
    for key in EXPERIMENT_KEYS:
        assert f"`{key}`" in section


@pytest.mark.parametrize("command", CONFIGS)
def test_every_option_is_a_key_with_underscores(command, capsys):
    """README: "A key is the option's name with underscores", except the options only."""
    valid = set(config_keys(CONFIGS[command])) | set(EXPERIMENT_KEYS)
    options = {flag[2:].replace("-", "_") for flag in _flags(_help(command, capsys).split("\n\n")[0])}
    assert options - OPTIONS_ONLY <= valid, options - OPTIONS_ONLY - valid
    for key in OPTIONS_ONLY - {"help"}:
        if key in options:
            assert f"`--{key.replace('_', '-')}`" in _section("### Experiment files")


@pytest.mark.parametrize(
    "cls, mapping, expected",
    [
        (SweepConfig, {"depth": 2}, {"depths": (2,)}),  # the option's spelling, one value
        (SweepConfig, {"depths": [1, 2]}, {"depths": (1, 2)}),
        (SweepConfig, {"widths": 64}, {"widths": (64,)}),  # one integer for a list of one
        (SweepConfig, {"train_points": 512, "lr": 1}, {"train_points": 512, "lr": 1.0}),
        (FMNISTConfig, {"no_standardize": True}, {"standardize": False}),
        (FMNISTConfig, {"no_standardize": False}, {"standardize": True}),
        (FMNISTConfig, {"standardize": False, "depth": [1, 2]}, {"standardize": False, "depths": (1, 2)}),
    ],
)
def test_option_spellings_are_accepted(cls, mapping, expected):
    config = config_from_mapping(cls, mapping, "x.toml")
    assert {k: getattr(config, k) for k in expected} == expected
    assert isinstance(config.lr, float)


@pytest.mark.parametrize(
    "cls, mapping, fragment",
    [
        (SweepConfig, {"depth": 2, "depths": [1]}, "depth and depths in x.toml both set depths"),
        (FMNISTConfig, {"standardize": True, "no_standardize": True}, "both set standardize"),
        (SweepConfig, {"steps": "3000"}, "steps must be an integer, got '3000' (in x.toml)"),
        (SweepConfig, {"widths": "1,2"}, "widths must be a list of integers or one integer, got '1,2' (in x.toml)"),
        (FMNISTConfig, {"no_standardize": "yes"}, "no_standardize must be true or false, got 'yes' (in x.toml)"),
        (SweepConfig, {"lerning_rate": 0.1}, "unknown key(s) lerning_rate in x.toml; valid keys: kind, out,"),
    ],
)
def test_bad_keys_and_types_say_what_is_allowed(cls, mapping, fragment):
    with pytest.raises(ConfigError) as info:
        config_from_mapping(cls, mapping, "x.toml", extra_keys=EXPERIMENT_KEYS)
    assert fragment in str(info.value)


def test_unknown_key_message_lists_every_accepted_key():
    with pytest.raises(ConfigError) as info:
        config_from_mapping(FMNISTConfig, {"nope": 1}, "f.toml", extra_keys=EXPERIMENT_KEYS)
    message = str(info.value)
    for key in (*EXPERIMENT_KEYS, *config_keys(FMNISTConfig)):
        assert re.search(rf"\b{key}\b", message), key
    assert "standardize (or no_standardize)" in message and "depths (or depth)" in message


def test_option_keys_name_real_fields():
    for cls, aliases in OPTION_KEYS.items():
        names = {f.name for f in fields(cls)}
        for alias, (name, _) in aliases.items():
            assert name in names and alias not in names


def test_toml_file_with_option_spellings_through_the_command(tmp_path, capsys):
    f = tmp_path / "exp.toml"
    f.write_text('kind = "sweep"\ndepth = 2\nwidths = 4\ntrain_points = 64\nsteps = "many"\n')
    assert main(["sweep", str(f), "--out", str(tmp_path / "o")]) == 2  # depth and widths pass; steps does not
    err = capsys.readouterr().err
    assert err.startswith("error: steps must be an integer, got 'many'") and str(f) in err
    # An option overrides the file's setting under either spelling.
    from approx.cli.sweep import sweep_settings

    args = parser().parse_args(["sweep", str(f), "--depth", "3", "--steps", "10"])
    config, _, _ = sweep_settings(args)
    assert config.depths == (3,) and config.widths == (4,) and config.steps == 10


@pytest.mark.parametrize("kind, command", [("fmnist", "sweep"), ("sweep", "fmnist"), ("binary", "sweep")])
def test_a_file_of_another_kind_points_to_approx_run_which_takes_it(kind, command, tmp_path, capsys):
    f = tmp_path / "exp.toml"
    f.write_text(f'kind = "{kind}"\nnot_a_key = 1\n')
    assert main([command, str(f)]) == 2
    assert f"is a '{kind}' experiment; run it with 'approx run {f}'" in capsys.readouterr().err
    # approx run takes the kind: it gets as far as the file's keys.
    assert main(["run", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "not_a_key" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_file_of_unknown_kind_lists_the_kinds(tmp_path, capsys):
    f = tmp_path / "exp.toml"
    f.write_text('kind = "swep"\n')
    for argv in (["sweep", str(f)], ["fmnist", str(f)], ["run", str(f)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "unknown experiment kind 'swep'" in err and "sweep, fmnist, binary, multiclass, regression" in err


@pytest.mark.parametrize("name", ["fmnist_width", "binary", "multiclass", "regression"])
def test_shipped_experiment_files_use_documented_keys(name):
    data = load_toml(REPO / "experiments" / f"{name}.toml")
    settings = {k: v for k, v in data.items() if k not in EXPERIMENT_KEYS}
    if data["kind"] in CONFIGS:
        assert set(settings) <= set(config_keys(CONFIGS[data["kind"]]))
        config_from_mapping(CONFIGS[data["kind"]], settings, name)


# -- measured numbers --------------------------------------------------------------------------
def _numbers_script():
    spec = importlib.util.spec_from_file_location("readme_numbers", REPO / "scripts" / "readme_numbers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(sys.modules[spec.name])
    module = sys.modules[spec.name]
    return module


def test_every_marked_number_has_its_command_printed_next_to_it():
    script = _numbers_script()
    markers = {m["name"]: m for m in script.MARKER.finditer(README)}
    assert set(markers) == {c.marker for c in script.CLAIMS}
    for claim in script.CLAIMS:
        command = script.COMMANDS[claim.command].text
        # "Next to it": in the same paragraph or table row as the number.
        m = markers[claim.marker]
        start = max(README.rfind("\n\n", 0, m.start()), 0)
        end = README.find("\n\n", m.end())
        assert f"`{command}`" in README[start:end], (claim.marker, command)
        assert m["value"].strip(), claim.marker


def test_numbers_script_updates_only_the_marked_values():
    script = _numbers_script()
    text = "a <!--n:fmnist_default-->88.69<!--/n--> b <!--n:init_spread_1-->1e-1<!--/n--> 88.69"
    new = script.update_readme(text, {"fmnist_default": "90.00"})
    assert new == "a <!--n:fmnist_default-->90.00<!--/n--> b <!--n:init_spread_1-->1e-1<!--/n--> 88.69"
    rows = [{"width": "4", "seed": "0", "test_mse": "0.1"}, {"width": "4", "seed": "1", "test_mse": "0.3"}]
    assert script._median(rows, "test_mse", width=4) == pytest.approx(np.median([0.1, 0.3]))


def test_no_unmarked_measurements_outside_the_performance_section():
    """Accuracies and test-MSE values before the performance section carry markers."""
    body = README[: README.index("## Performance")]
    unmarked = re.sub(r"<!--n:[a-z0-9_]+-->.*?<!--/n-->", "", body)
    assert not re.findall(r"\b\d\d\.\d+ ?%", unmarked), "an accuracy without a marker"
    values = re.findall(r"(\S+ )?(\b\d(?:\.\d+)?e-\d+\b)", unmarked)
    # Learning rates ("Adam at 4e-3", "--lr 1e-3") are settings, not measurements.
    assert [v for before, v in values if before.strip() not in ("at", "--lr")] == []


# -- your own target ---------------------------------------------------------------------------
def _readme_module() -> str:
    block = re.search(r"```python\n# mymodule\.py\n(.*?)```", README, re.DOTALL)
    assert block, "the README's mymodule.py example is missing"
    return block.group(1)


def test_readme_target_example_is_a_valid_target(tmp_path, monkeypatch):
    (tmp_path / "readme_example_target.py").write_text(_readme_module())
    monkeypatch.chdir(tmp_path)
    t = resolve_target("readme_example_target:f", 2)
    x = np.array([[0.25, 0.5], [1.0, 0.0]])
    np.testing.assert_allclose(t(x), np.sin(6 * x[:, 0]) * np.cos(4 * x[:, 1]), rtol=1e-6, atol=1e-6)


@pytest.mark.slow
def test_tour_custom_target_with_the_installed_command(tmp_path):
    """`approx sweep --target mymodule:f --dim 2` from the folder holding the
    README's mymodule.py, run by a console script like the one pip installs
    (its own folder, not the current one, is first on sys.path)."""
    (tmp_path / "mymodule.py").write_text(_readme_module())
    script = tmp_path / "bin" / "approx"
    script.parent.mkdir()
    script.write_text("import sys\nfrom approx.cli.app import main\nsys.exit(main())\n")
    env = os.environ | {"PYTHONPATH": str(REPO), "APPROX_NO_CACHE": "1", "JAX_PLATFORMS": "cpu"}
    tour = next(line for line in README.splitlines() if line.startswith("approx sweep --target mymodule:f"))
    argv = tour.split("#")[0].split()[1:] + ["--widths", "2,4", "--seeds", "1", "--steps", "20", "--no-figure"]
    proc = subprocess.run(
        [sys.executable, str(script), *argv, "--out", "run"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len((tmp_path / "run" / "results.csv").read_text().splitlines()) == 3
