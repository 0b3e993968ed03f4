"""Tests for approx.experiments.fmnist, approx.cli.fmnist and approx.plots.fmnist.

Every training here uses one shape, ``784-16-10`` on the first 2048 training
and 500 test examples, so the whole file compiles a handful of programs (an
ensemble of two seeds and one of a single seed) and stays well under a minute.
"""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.image
import matplotlib.text
import numpy as np
import optax
import pytest
from flax import nnx

from approx.cli.app import main
from approx.config import ConfigError, FMNISTConfig, config_from_mapping, load_toml
from approx.data import CLASS_NAMES, CLASS_NAMES_ES
from approx.data import fashion_mnist as fm
from approx.experiments.fmnist import (
    COLUMNS,
    HISTORY_COLUMNS,
    cross_entropy,
    make_program,
    predictions_path,
    prepare_data,
    run_fmnist,
    train_fmnist,
)
from approx.plots import fmnist as fmnist_plots
from approx.plots.fmnist import (
    cell_label,
    class_names,
    confusion_matrix,
    plot_confusion_matrix,
    plot_fmnist,
    plot_predictions,
)
from approx.results import FMNIST_COLUMNS, read_rows

REPO = Path(__file__).resolve().parents[1]
needs_data = pytest.mark.skipif(
    not all((fm.SYSTEM_DIR / name).is_file() for name in fm.FILE_NAMES),
    reason=f"{fm.SYSTEM_DIR} lacks Fashion-MNIST (sudo apt-get install dataset-fashion-mnist)",
)

N_TRAIN, N_TEST, WIDTH, EPOCHS = 2048, 500, 16, 2
SMALL = dict(
    train_subset=N_TRAIN, test_subset=N_TEST, widths=(WIDTH,), epochs=EPOCHS, seeds=2, train_eval_examples=1000
)
CLI_SMALL = [
    "--subset", str(N_TRAIN), "--test-subset", str(N_TEST), "--widths", str(WIDTH), "--epochs", str(EPOCHS), "--no-cache",
]  # fmt: skip


@pytest.fixture(scope="module")
def dataset():
    return fm.load_fashion_mnist(fm.SYSTEM_DIR)


@pytest.fixture(scope="module")
def small():
    return FMNISTConfig(**SMALL)


@pytest.fixture(scope="module")
def trained(dataset, small):
    """Seeds 0 and 1 trained together (the shape every CLI test reuses).

    Module fixtures run outside conftest's per-test rank-promotion context,
    which is part of jit's cache key: set it here too, or the tests would
    compile everything twice.
    """
    with jax.numpy_rank_promotion("raise"):
        data = prepare_data(small, dataset)
        return data, train_fmnist(small, data, 1, WIDTH, (0, 1))


# -- loss and data -------------------------------------------------------------
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_matches_log_softmax(smoothing):
    logits = jax.random.normal(jax.random.key(0), (7, 10)) * 3
    labels = jnp.arange(7) % 10
    target = jax.nn.one_hot(labels, 10) * (1 - smoothing) + smoothing / 10
    expected = -jnp.mean(jnp.sum(target * jax.nn.log_softmax(logits), axis=-1))
    np.testing.assert_allclose(cross_entropy(labels, logits, smoothing), expected, rtol=1e-6)


def test_cross_entropy_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="labels"):
        cross_entropy(jnp.zeros((4, 1), jnp.int32), jnp.zeros((4, 10)))


def test_cross_entropy_is_stable_for_huge_logits():
    logits = jnp.array([[1e4, -1e4] + [0.0] * 8])
    assert np.isfinite(cross_entropy(jnp.array([1]), logits))
    np.testing.assert_allclose(cross_entropy(jnp.array([1]), logits), 2e4, rtol=1e-6)


@needs_data
def test_prepare_data_standardises_with_train_statistics(dataset, small):
    data = prepare_data(small, dataset)
    x = np.asarray(data.device.x_train)
    assert x.shape == (N_TRAIN, 784) and x.dtype == np.float32
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-4)
    busy = data.std > 0.2  # pixels well away from the floored border
    np.testing.assert_allclose(x.std(axis=0)[busy], 1, rtol=1e-3)
    w = np.asarray(data.device.w_eval)
    assert w.sum(axis=(1, 2)).tolist() == [1000, N_TEST]
    assert w[0].ravel()[:1000].all() and w[1].ravel()[data.test_offset : data.test_offset + N_TEST].all()
    y = np.asarray(data.device.y_eval).ravel()
    np.testing.assert_array_equal(y[data.test_offset : data.test_offset + N_TEST], dataset.y_test[:N_TEST])


@needs_data
def test_prepare_data_refuses_a_subset_larger_than_the_data(dataset):
    with pytest.raises(ValueError, match="train_subset"):
        prepare_data(FMNISTConfig(train_subset=60001), dataset)


# -- training ------------------------------------------------------------------
@needs_data
def test_training_beats_chance_by_far(trained):
    data, result = trained
    h = result.history
    assert h["test_accuracy"].shape == (EPOCHS, 2)
    assert result.predictions.shape == (2, N_TEST)
    assert not result.diverged.any()
    assert (h["test_accuracy"][-1] > 0.55).all()  # chance is 0.10
    assert (h["train_loss"][-1] < h["train_loss"][0]).all()
    # the reported accuracy is the one of the returned predictions
    acc = (result.predictions == data.y_test[None]).mean(axis=1)
    np.testing.assert_allclose(acc, h["test_accuracy"][-1], atol=1e-6)
    # training and evaluation are timed apart, and both apart from compilation
    assert len(result.epoch_seconds) == len(result.eval_seconds) == EPOCHS
    assert min(result.epoch_seconds) > 0 and min(result.eval_seconds) > 0
    assert set(result.compile_parts) == {"init", "train", "evaluate"}
    np.testing.assert_allclose(sum(result.compile_parts.values()), result.compile_seconds, rtol=1e-6)


@needs_data
def test_same_seed_gives_identical_numbers_and_no_recompilation(dataset, small, trained):
    data, first = trained
    program = make_program(small, 1, WIDTH, data.n_train)
    traces = program.train._cache_size(), program.evaluate._cache_size()
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, _secs, **_: compiles.append(event) if event.endswith("backend_compile_duration") else None
    )
    again = train_fmnist(small, data, 1, WIDTH, (0, 1))
    assert (program.train._cache_size(), program.evaluate._cache_size()) == traces  # nothing retraced
    assert not compiles  # the compiled programs are reused (counted, not timed)
    for key in first.history:
        np.testing.assert_array_equal(first.history[key], again.history[key])
    np.testing.assert_array_equal(first.predictions, again.predictions)
    # different seeds differ, and a seed trained alone matches it in the ensemble
    assert not np.array_equal(first.history["test_loss"][:, 0], first.history["test_loss"][:, 1])
    alone = train_fmnist(small, data, 1, WIDTH, (1,))
    np.testing.assert_allclose(alone.history["test_loss"][:, 0], first.history["test_loss"][:, 1], rtol=1e-4)


# -- reported numbers against NumPy ----------------------------------------------
def _numpy_standardised(dataset, n_train, n_test):
    """The inputs as approx promises them, rebuilt in NumPy float64: pixels
    / 255, minus the training mean, over the training std floored at 0.1 x
    its mean."""
    x_train = dataset.x_train[:n_train].reshape(n_train, -1) / 255.0
    x_test = dataset.x_test[:n_test].reshape(n_test, -1) / 255.0
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std = np.maximum(std, 0.1 * std.mean())
    return (x_train - mean) / std, (x_test - mean) / std, mean, std


def _numpy_loss_and_accuracy(params, member, x, y):
    """Mean cross-entropy (scipy's logsumexp) and accuracy of member ``member``."""
    from scipy.special import expit, logsumexp

    layers = nnx.to_pure_dict(params)["layers"]
    h = x
    for i in sorted(layers)[:-1]:
        h = expit(h @ np.asarray(layers[i]["kernel"][member], np.float64) + np.asarray(layers[i]["bias"][member], np.float64))
    last = sorted(layers)[-1]
    logits = h @ np.asarray(layers[last]["kernel"][member], np.float64) + np.asarray(layers[last]["bias"][member], np.float64)
    loss = np.mean(logsumexp(logits, axis=1) - logits[np.arange(len(y)), y])
    pred = np.argmax(logits, axis=1)
    return loss, np.mean(pred == y), pred


def _check_against_numpy(config, data, dataset, result):
    _, _, mean, std = _numpy_standardised(dataset, config.train_subset, config.test_subset)
    # approx accumulates the statistics in float32 over 2048 images
    np.testing.assert_allclose(data.mean, mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(data.std, std, rtol=1e-4, atol=1e-5)
    # the inputs the network saw: approx's statistics, applied here in float64
    x_train = (dataset.x_train[: config.train_subset].reshape(config.train_subset, -1) / 255.0 - data.mean) / data.std
    x_test = (dataset.x_test[: config.test_subset].reshape(config.test_subset, -1) / 255.0 - data.mean) / data.std
    y_train, y_test = dataset.y_train.astype(np.int64), dataset.y_test[: config.test_subset].astype(np.int64)
    n_eval = config.train_eval_examples
    for m in range(len(result.seeds)):
        test_loss, test_acc, pred = _numpy_loss_and_accuracy(result.params, m, x_test, y_test)
        train_loss, train_acc, _ = _numpy_loss_and_accuracy(result.params, m, x_train[:n_eval], y_train[:n_eval])
        h = result.history
        np.testing.assert_allclose(h["test_loss"][-1, m], test_loss, rtol=1e-5)
        np.testing.assert_allclose(h["train_loss"][-1, m], train_loss, rtol=1e-5)
        # float32 logits against float64: a near tie may flip one prediction
        assert abs(h["test_accuracy"][-1, m] - test_acc) <= 1 / config.test_subset
        assert abs(h["train_accuracy"][-1, m] - train_acc) <= 1 / n_eval
        assert np.sum(result.predictions[m] != pred) <= 1


@needs_data
def test_reported_loss_and_accuracy_equal_numpy_on_the_returned_parameters(trained, dataset, small):
    data, result = trained
    _check_against_numpy(small, data, dataset, result)


@pytest.mark.slow
@needs_data
def test_depth_two_with_label_smoothing_and_weight_decay_against_numpy(dataset):
    """Two hidden layers, AdamW's decay and smoothed training targets (the
    reported losses stay the plain cross-entropy, measured here in NumPy)."""
    config = FMNISTConfig(**(SMALL | {"depths": (2,), "seeds": 1, "optimizer": "adamw",
                                      "weight_decay": 0.01, "label_smoothing": 0.1, "schedule": "warmup_cosine"}))  # fmt: skip
    with jax.numpy_rank_promotion("raise"):
        data = prepare_data(config, dataset)
        result = train_fmnist(config, data, 2, WIDTH)
    assert not result.diverged.any() and result.history["test_accuracy"][-1, 0] > 0.3
    assert [np.shape(p) for p in jax.tree.leaves(nnx.to_pure_dict(result.params))] == [
        (1, WIDTH), (1, 784, WIDTH), (1, WIDTH), (1, WIDTH, WIDTH), (1, 10), (1, WIDTH, 10)]  # fmt: skip
    _check_against_numpy(config, data, dataset, result)


# -- the sweep on disk -------------------------------------------------------
@needs_data
def test_run_writes_rows_history_manifest_and_figures(tmp_path, dataset, small):
    out = tmp_path / "run"
    run_fmnist(small, out, dataset=dataset)
    assert not list(out.glob("*.png"))  # the runner draws nothing
    figures = plot_fmnist(out, lang="es", dataset=dataset)
    rows = read_rows(out / "results.csv")
    assert (out / "results.csv").read_text().splitlines()[0] == ",".join(COLUMNS)
    assert set(FMNIST_COLUMNS) <= set(COLUMNS) and "diverged" in COLUMNS
    assert [(r["depth"], r["width"], r["seed"]) for r in rows] == [("1", "16", "0"), ("1", "16", "1")]
    assert all(float(r["test_accuracy"]) > 0.55 and r["diverged"] == "false" for r in rows)
    assert all(int(r["params"]) == 785 * 16 + 17 * 10 for r in rows)
    history = read_rows(out / "history.csv")
    assert list(history[0]) == list(HISTORY_COLUMNS)
    assert len(history) == 2 * EPOCHS
    assert history[-1]["test_accuracy"] == rows[-1]["test_accuracy"]
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("config", "versions", "backend", "device_count", "started", "finished"):
        assert manifest.get(key) is not None, key
    assert manifest["config"]["train_subset"] == N_TRAIN
    assert np.load(predictions_path(out, 1, WIDTH, 0)).shape == (N_TEST,)
    names = {p.name for p in figures}
    for stem in ("accuracy_vs_width", "learning_curves", "confusion_matrix", "test_predictions"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    for path in figures:
        if path.suffix == ".png":
            pixels = matplotlib.image.imread(path)[..., :3]
            assert pixels.std() > 0.05, f"{path.name} looks blank"


@needs_data
def test_resume_trains_only_missing_runs_and_writes_no_duplicates(tmp_path, dataset, small):
    out = tmp_path / "run"
    run_fmnist(small, out, dataset=dataset)
    full = read_rows(out / "results.csv")
    # Simulate a run killed after seed 1's history but before its result row,
    # written by a version whose history had no eval_seconds column.
    lines = (out / "results.csv").read_text().splitlines(keepends=True)
    (out / "results.csv").write_text("".join(lines[:-1]))
    old = [",".join(line.split(",")[:-1]) + "\n" for line in (out / "history.csv").read_text().splitlines()]
    assert old[0].strip().endswith(",seconds")
    (out / "history.csv").write_text("".join(old))
    outcome = run_fmnist(small, out, dataset=dataset, resume=True)
    assert outcome.skipped == 1
    rows = read_rows(out / "results.csv")
    assert [r["seed"] for r in rows] == ["0", "1"] and rows[0] == full[0]
    # seed 1 retrained alone: the same numbers up to float rounding (an ensemble of one, not two)
    np.testing.assert_allclose(float(rows[1]["test_loss"]), float(full[1]["test_loss"]), rtol=1e-4)
    assert abs(float(rows[1]["test_accuracy"]) - float(full[1]["test_accuracy"])) <= 2 / N_TEST
    history = read_rows(out / "history.csv")
    keys = [(r["seed"], r["epoch"]) for r in history]
    assert len(keys) == len(set(keys)) == 2 * EPOCHS
    assert list(history[0]) == list(HISTORY_COLUMNS)
    assert [r["eval_seconds"] == "" for r in history] == [True] * EPOCHS + [False] * EPOCHS
    # resuming a finished run trains nothing
    again = run_fmnist(small, out, dataset=dataset, resume=True)
    assert again.skipped == 2 and len(read_rows(out / "results.csv")) == 2
    assert len(read_rows(out / "history.csv")) == 2 * EPOCHS


@needs_data
def test_resume_refuses_a_different_config(tmp_path, dataset, small):
    out = tmp_path / "run"
    run_fmnist(small, out, dataset=dataset)
    other = FMNISTConfig(**(SMALL | {"lr": 1e-3}))
    with pytest.raises(ValueError, match="lr"):
        run_fmnist(other, out, dataset=dataset, resume=True)


# -- the command line ----------------------------------------------------------
@needs_data
def test_cli_fmnist_runs_and_resumes(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["fmnist", *CLI_SMALL, "--seeds", "2", "--out", str(out), "--no-figure"]
    assert main(argv) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert len(read_rows(out / "results.csv")) == 2
    assert main(argv) == 2  # the directory holds results
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and "--resume" in err[-1]
    assert main([*argv, "--resume"]) == 0
    assert len(read_rows(out / "results.csv")) == 2


@pytest.mark.parametrize(
    "args, words",
    [
        (["--data-dir", "/nonexistent"], "/nonexistent"),
        (["--widths", "0"], "widths"),
        (["--epochs", "0"], "epochs"),
        (["--batch-size", "-1"], "batch_size"),
        (["--lr", "0"], "lr"),
        (["--activation", "nope"], "activation"),
        (["--label-smoothing", "1"], "label_smoothing"),
    ],
)
def test_cli_bad_input_exits_2_with_one_error_line(tmp_path, capsys, args, words):
    out = tmp_path / "never"
    assert main(["fmnist", *args, "--out", str(out), "--no-cache"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], captured.err
    assert "Traceback" not in captured.err and not out.exists()


def test_canonical_experiment_is_a_valid_fmnist_config():
    data = load_toml(REPO / "experiments" / "fmnist_width.toml")
    assert data["kind"] == "fmnist"
    settings = {k: v for k, v in data.items() if k not in ("kind", "out", "description", "lang")}
    config = config_from_mapping(FMNISTConfig, settings)
    assert config.widths == (16, 32, 64, 128, 256, 512, 1024, 2048)
    assert config.depths == (1, 2)


@needs_data
def test_approx_run_dispatches_fmnist_experiments(tmp_path):
    toml = tmp_path / "tiny.toml"
    toml.write_text(
        'kind = "fmnist"\n'
        f"widths = [{WIDTH}]\nepochs = {EPOCHS}\nseeds = 2\ntrain_subset = {N_TRAIN}\ntest_subset = {N_TEST}\n"
        'lang = "es"\n'
    )
    out = tmp_path / "run"
    assert main(["run", str(toml), "--out", str(out), "--no-cache"]) == 0
    assert len(read_rows(out / "results.csv")) == 2
    assert (out / "confusion_matrix.png").exists()


def test_config_refuses_bad_values():
    for bad in ({"train_subset": -1}, {"weight_decay": float("inf")}, {"depths": ()}, {"optimizer": "lbfgs"}):
        with pytest.raises(ConfigError):
            FMNISTConfig(**bad)


# -- figures -------------------------------------------------------------------
def test_confusion_matrix_counts():
    c = confusion_matrix(np.array([0, 0, 1, 9]), np.array([0, 1, 1, 0]))
    assert c.shape == (10, 10) and c.sum() == 4
    assert c[0, 0] == 1 and c[0, 1] == 1 and c[1, 1] == 1 and c[9, 0] == 1


@pytest.mark.parametrize(
    "count, total, lang, want",
    [
        (0, 100, "es", ""),  # blank only for no image
        (1, 10_000, "es", "<0,1"),  # 0.01 %: one decimal would say 0.0
        (1, 10_000, "en", "<0.1"),
        (9_999, 10_000, "es", ">99,9"),  # 99.99 %: one decimal would say 100.0
        (10_000, 10_000, "es", "100,0"),
        (997, 1_000, "es", "99,7"),
        (1, 3, "en", "33.3"),
        (2, 3, "es", "66,7"),
    ],
)
def test_confusion_cell_labels(count, total, lang, want):
    assert cell_label(count, total, lang) == want


def test_every_confusion_cell_says_its_share(tmp_path, monkeypatch):
    """The text of every cell against row shares worked out in NumPy: one
    decimal with a comma, '<0,1' and '>99,9' at the ends, blank for none."""
    rng = np.random.default_rng(1)
    y = np.concatenate([np.zeros(10_000, int), rng.integers(1, 10, 2_000)])
    pred = np.where(rng.random(len(y)) < 0.8, y, rng.integers(0, 10, len(y)))
    pred[:10_000] = 0
    pred[5] = 3  # class 0: 9999 right, one taken for class 3
    seen = {}
    save = fmnist_plots.save_figure

    def recording(fig, stem):
        seen["cells"] = [t.get_text() for t in fig.axes[0].texts]
        seen["all"] = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
        return save(fig, stem)

    monkeypatch.setattr(fmnist_plots, "save_figure", recording)
    plot_confusion_matrix(y, pred, tmp_path / "cm", lang="es", arch="784-16-10")
    counts = np.zeros((10, 10), int)
    np.add.at(counts, (y, pred), 1)
    share = 100 * counts / counts.sum(axis=1, keepdims=True)
    want = []
    for i in range(10):
        for j in range(10):
            one = round(share[i, j], 1)
            want.append("" if counts[i, j] == 0 else "<0,1" if one == 0 else ">99,9" if one == 100 and share[i, j] < 100
                        else f"{share[i, j]:.1f}".replace(".", ","))  # fmt: skip
    assert seen["cells"] == want
    assert want[0] == ">99,9" and want[3] == "<0,1"
    assert "% de la clase real (cada fila suma 100)" in seen["all"]
    assert any(t.startswith("Celdas: % de las imágenes de prueba de la fila") for t in seen["all"])


def test_class_names_follow_the_language():
    assert class_names("en") == CLASS_NAMES
    assert class_names("es") == CLASS_NAMES_ES
    with pytest.raises(ValueError):
        class_names("fr")


@pytest.mark.parametrize("lang", ["es", pytest.param("en", marks=pytest.mark.slow)])
def test_confusion_and_grid_figures_are_not_blank(tmp_path, lang):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 300)
    pred = np.where(rng.random(300) < 0.8, y, rng.integers(0, 10, 300))
    images = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)
    paths = plot_confusion_matrix(y, pred, tmp_path / "cm", lang=lang, arch="784-16-10")
    paths += plot_predictions(images, y, pred, tmp_path / "grid", lang=lang, rows=2, cols=3)
    assert [p.suffix for p in paths] == [".png", ".pdf", ".png", ".pdf"]
    for path in paths[::2]:
        assert matplotlib.image.imread(path)[..., :3].std() > 0.05


def test_optax_integer_labels_agree_with_one_hot():
    """Guards the loss the training uses against the one the evaluation uses."""
    logits = jax.random.normal(jax.random.key(1), (5, 10))
    labels = jnp.array([0, 3, 9, 2, 2])
    np.testing.assert_allclose(
        optax.softmax_cross_entropy_with_integer_labels(logits, labels),
        optax.softmax_cross_entropy(logits, jax.nn.one_hot(labels, 10)),
        rtol=1e-6,
    )
