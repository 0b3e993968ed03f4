"""The course scenarios: data sets, configs, and each run end to end on tiny settings."""

import csv
import json
from pathlib import Path

import jax
import matplotlib.image as mpimg
import numpy as np
import pytest

import approx.cli.app as cli
from approx.experiments import scenarios
from approx.config import ConfigError, load_toml
from approx.plots.scenarios import plot_scenario
from approx.results import RunDirError, read_rows

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
TINY = {"n_samples": 40, "n_test": 30, "epochs": 3, "units": 4, "batch_size": 16}
FIGURES = {
    "binary": ["decision_regions", "roc_curve", "training_curves"],
    "multiclass": ["class_regions", "confusion_matrix", "training_curves"],
    "regression": ["regression_fit", "training_curves"],
}


def _toml(path: Path, kind: str, **settings) -> Path:
    lines = [f'kind = "{kind}"'] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# -- data sets ---------------------------------------------------------------------------
# 70 points (the tiny runs' 40 + 30), so the end-to-end runs reuse these compiled generators.
@pytest.mark.parametrize(
    "make, classes",
    [
        (lambda k: scenarios.make_moons(k, 70), 2),
        (lambda k: scenarios.make_circles(k, 70), 2),
        (lambda k: scenarios.make_blobs(k, 70, 3), 3),
        (lambda k: scenarios.make_spirals(k, 70, 4), 4),
    ],
)
def test_data_sets_in_unit_square_balanced_and_seeded(make, classes):
    x, labels = make(jax.random.key(0))
    assert x.shape == (70, 2) and labels.shape == (70,)
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    counts = np.bincount(np.asarray(labels), minlength=classes)
    assert counts.max() - counts.min() <= 1
    x_again, labels_again = make(jax.random.key(0))
    np.testing.assert_array_equal(x, x_again)
    np.testing.assert_array_equal(labels, labels_again)
    assert not np.array_equal(x, make(jax.random.key(1))[0])


def test_circles_radii():
    x, labels = scenarios.make_circles(jax.random.key(0), 70, noise=0.0)
    radius = np.linalg.norm(np.asarray(x) - 0.5, axis=1)
    np.testing.assert_allclose(radius[np.asarray(labels) == 0], 0.4, atol=1e-6)
    np.testing.assert_allclose(radius[np.asarray(labels) == 1], 0.2, atol=1e-6)


# -- configs -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", scenarios.KINDS)
def test_shipped_experiments_are_valid(kind):
    data = load_toml(EXPERIMENTS / f"{kind}.toml")
    assert data["kind"] == kind
    settings = {k: v for k, v in data.items() if k not in ("kind", "out", "description", "lang")}
    config = scenarios.config_for(kind, settings, f"{kind}.toml")
    assert config == scenarios.KINDS[kind]()  # the file spells out the defaults


@pytest.mark.parametrize(
    "kind, settings, match",
    [
        ("binary", {"epoch": 3}, r"unknown key\(s\) epoch in cfg; valid keys: layers, units"),
        ("binary", {"units": "8"}, r"units must be an integer, got '8'"),
        ("binary", {"dataset": "spirals"}, r"unknown dataset 'spirals'; valid: moons, circles"),
        ("multiclass", {"classes": 1}, r"classes must be an integer >= 2"),
        ("regression", {"target": "nope"}, r"unknown target 'nope'; valid: sine, nielsen"),
        ("regression", {"activation": "softmax"}, r"unknown activation 'softmax'"),
        ("regression", {"lr": -1.0}, r"lr must be a number > 0, got -1.0"),
        ("regression", {"optimizer": "lbfgs"}, r"unknown optimizer 'lbfgs'; valid: adam"),
        ("regression", {"validation_split": 0.95}, r"validation_split must be a number in \[0, 0.9\]"),
    ],
)
def test_bad_settings_raise_config_errors(kind, settings, match):
    with pytest.raises(ConfigError, match=match):
        scenarios.config_for(kind, settings, "cfg")


# -- end to end --------------------------------------------------------------------------
def _nonblank_png(path: Path) -> bool:
    image = mpimg.imread(path)
    return image.ndim == 3 and float(image[..., :3].std()) > 0.05


@pytest.mark.parametrize("kind", [k if k == "binary" else pytest.param(k, marks=pytest.mark.slow) for k in scenarios.KINDS])
def test_scenario_runs_end_to_end(kind, tmp_path, capsys):
    lang = "es" if kind == "multiclass" else "en"
    config = _toml(tmp_path / f"{kind}.toml", kind, **TINY)
    out = tmp_path / "out"
    code, stdout, err = _run(["run", str(config), "--out", str(out), "--lang", lang, "--no-cache"], capsys)
    assert code == 0, err
    for name in FIGURES[kind]:
        assert _nonblank_png(out / f"{name}.png") and (out / f"{name}.pdf").stat().st_size > 1000
        assert f"figure: {out / name}.png" in stdout
    with (out / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["split"] for r in rows} >= {"train", "validation", "test"} and "loss" in {r["metric"] for r in rows}
    assert all(np.isfinite(float(r["value"])) for r in rows)
    with (out / "history.csv").open() as f:
        history = list(csv.DictReader(f))
    assert len(history) == TINY["epochs"] and {"epoch", "loss", "val_loss"} <= set(history[0])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == kind and manifest["config"]["epochs"] == 3 and manifest["lang"] == lang
    for key in ("versions", "backend", "device_count", "started", "finished"):
        assert manifest[key], key
    assert "loss" in stdout and "test" in stdout  # the metric table

    # The same --out again: refused without --resume, reported complete with it.
    code, _, err = _run(["run", str(config), "--out", str(out), "--no-cache"], capsys)
    assert code == 2 and err.startswith("error:") and "--resume" in err and len(err.strip().splitlines()) == 1
    code, stdout, _ = _run(["run", str(config), "--out", str(out), "--resume", "--no-cache"], capsys)
    assert code == 0 and "already complete" in stdout


def test_cli_reports_bad_experiment_in_one_line(tmp_path, capsys):
    config = _toml(tmp_path / "bad.toml", "regression", epochs=3, widht=4)
    code, _, err = _run(["run", str(config), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and err.startswith("error: unknown key(s) widht") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_resume_with_another_config_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"kind": "binary", "config": {"epochs": 1}, "finished": "x"}))
    (out / "metrics.csv").write_text("split,metric,value\n")
    with pytest.raises(RunDirError, match="config differs in"):
        scenarios.run_scenario("binary", scenarios.BinaryConfig(), out, resume=True)
    (out / "manifest.json").write_text(json.dumps({"kind": "regression", "config": {}, "finished": "x"}))
    with pytest.raises(RunDirError, match="holds a 'regression' experiment"):
        scenarios.run_scenario("binary", scenarios.BinaryConfig(), out, resume=True)


@pytest.mark.slow  # a whole (tiny) fit, twice
def test_the_runner_draws_nothing_and_an_interrupted_run_runs_again(tmp_path):
    config = scenarios.RegressionConfig(**TINY)
    out = tmp_path / "out"
    outcome = scenarios.run_scenario("regression", config, out)
    assert not list(out.glob("*.png")) and outcome.fit is not None and not outcome.figures
    expected = read_rows(out / "metrics.csv")
    assert [(r["split"], r["metric"]) for r in expected] == [(r["split"], r["metric"]) for r in outcome.metrics]
    # Killed after its rows, before the manifest was finished: resumed, it runs again and keeps one copy of each row.
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps(manifest | {"finished": None}))
    again = scenarios.run_scenario("regression", config, out, resume=True)
    assert not again.already_complete and read_rows(out / "metrics.csv") == expected  # the same seed: the same numbers
    paths = plot_scenario(again, lang="es")
    assert [p.name for p in paths] == [f"{n}.{e}" for n in FIGURES["regression"] for e in ("png", "pdf")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["lang"] == "es" and manifest["figures"] == [str(p) for p in paths] and manifest["finished"]
    complete = scenarios.run_scenario("regression", config, out, resume=True)
    assert complete.already_complete and complete.figures == paths and complete.fit is None


def test_format_metrics_table():
    rows = [
        {"split": "train", "metric": "loss", "value": 0.5},
        {"split": "test", "metric": "loss", "value": 0.25},
        {"split": "test", "metric": "auc", "value": 0.75},
    ]
    lines = scenarios.format_metrics(rows).splitlines()
    assert lines[0].split() == ["metric", "train", "test"]
    assert lines[1].split() == ["loss", "0.5", "0.25"] and lines[2].split() == ["auc", "0.75"]
