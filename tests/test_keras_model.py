"""approx.keras Sequential: Keras's four steps and semantics, against references written here."""

import math
import os
import zipfile

import numpy as np
import pytest

from approx import keras
from approx.keras import _engine, layers


def _regression(n=200, seed=0):
    x = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    return x, (0.2 + 0.4 * x**2 + 0.3 * x * np.sin(15 * x)).astype(np.float32)


def _binary(n=100, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5]) > 0.2).astype(np.float32)
    return x, y


def test_course_four_steps_verbatim_learn():
    X, y = _regression(1000)
    keras.utils.set_random_seed(0)  # else the draw depends on the models built before in the process
    model = keras.Sequential()
    model.add(layers.Dense(5, activation='sigmoid'))  # fmt: skip
    model.add(layers.Dense(1, activation='linear'))  # fmt: skip
    model.compile(loss='mse', optimizer='adam')  # fmt: skip
    history = model.fit(X, y, batch_size=32, epochs=100, verbose=0)
    loss = history.history["loss"]
    assert isinstance(history, keras.callbacks.History) and history.epoch == list(range(100))
    assert loss[-1] < 0.6 * float(np.var(y)) < loss[0]  # better than the best constant (0.51 var with seed 0)
    assert model.evaluate(X, y, verbose=0) == pytest.approx(float(np.mean((model.predict(X, verbose=0) - y) ** 2)), rel=1e-5)


def test_old_imports_still_work():
    import approx

    assert approx.Sequential is keras.Sequential and approx.Dense is layers.Dense


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_one_epoch_equals_a_numpy_loop_of_keras_steps():
    """shuffle=False, SGD, sigmoid + binary cross-entropy: the epoch, its last
    partial batch, the logged loss (batch losses weighted by size) and the
    training accuracy (of the predictions each step made) recomputed in NumPy."""
    x, y = _binary(n=100)
    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="binary_crossentropy", metrics=["accuracy"])
    w, b = (a.astype(np.float64) for a in model.get_weights())
    losses, hits = [], []
    for start in range(0, 100, 32):  # batches of 32, 32, 32 and 4
        xb, yb = x[start : start + 32].astype(np.float64), y[start : start + 32, None]
        p = _sigmoid(xb @ w + b)
        losses.append((-(yb * np.log(p) + (1 - yb) * np.log(1 - p))).mean() * len(xb))
        hits.append(((p > 0.5) == yb).sum())
        grad = (p - yb) / len(xb)  # d(mean BCE)/d(logit)
        w, b = w - 0.5 * xb.T @ grad, b - 0.5 * grad.sum(0)
    history = model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(sum(losses) / 100, rel=1e-5)
    assert history.history["accuracy"][0] == pytest.approx(sum(hits) / 100, abs=1e-12)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5, atol=1e-6)


def test_evaluate_return_forms_and_metric_order():
    x, y = _binary()
    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(1, activation="sigmoid")], seed=1)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    loss = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy", keras.metrics.AUC(name="roc")])
    values = model.evaluate(x, y, verbose=0)
    p = model.predict(x, verbose=0)[:, 0].astype(np.float64)
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert values[0] == pytest.approx(bce, rel=1e-5)
    assert values[1] == pytest.approx(np.mean((p > 0.5) == y))
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(as_dict) == ["accuracy", "loss", "roc"] and as_dict["loss"] == values[0]
    assert model.metrics_names == ["loss", "accuracy", "roc"]


def test_summary_counts_match_hand_counts(capsys):
    model = keras.Sequential(
        [keras.Input(shape=(28, 28)), layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.2),
         layers.BatchNormalization(), layers.Dense(10)]
    )  # fmt: skip
    model.summary()
    out = capsys.readouterr().out
    hand = (784 + 1) * 128 + 4 * 128 + (128 + 1) * 10
    assert model.count_params() == hand and f"Total params: {hand:,}" in out
    assert "Trainable params: 102,026" in out and "Non-trainable params: 256" in out  # moving mean and variance
    assert "(None, 784)" in out and "100,480" in out and "1,290" in out


def test_save_and_load_are_bit_exact_and_training_continues_identically(tmp_path):
    x, y = _regression(100)
    model = keras.Sequential([layers.Dense(8, activation="tanh", input_dim=1), layers.Dense(1)], seed=3)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, seed=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    # The optimizer state (momentum) travels too: one more epoch gives the same weights.
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, seed=5)
    loaded.fit(x, y, epochs=1, batch_size=16, verbose=0, seed=5)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    names = set(zipfile.ZipFile(path).namelist())
    assert names == {"metadata.json", "config.json", "model.weights.npz", "optimizer.npz"}


def test_load_model_refuses_foreign_files_and_a_failed_save_keeps_the_old_file(tmp_path):
    bad = tmp_path / "not.keras"
    bad.write_bytes(b"hello")
    with pytest.raises(ValueError, match="not a model saved by approx.keras"):
        keras.models.load_model(bad)
    foreign = tmp_path / "keras3.keras"
    with zipfile.ZipFile(foreign, "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"\x89HDF")
    with pytest.raises(ValueError, match="saved by Keras"):
        keras.models.load_model(foreign)
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)])
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="must end in '.keras'"):
        model.save(tmp_path / "m.h5")
    original = os.replace

    def failing_replace(*args):
        raise OSError("disk full")

    os.replace = failing_replace
    try:
        with pytest.raises(OSError, match="disk full"):
            model.save(path)
    finally:
        os.replace = original
    assert path.read_bytes() == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_nested_model_with_softmax_is_the_tutorials_probability_model():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(50, 6, 6)).astype(np.float32)
    labels = rng.integers(0, 4, 50)
    model = keras.Sequential([layers.Flatten(input_shape=(6, 6)), layers.Dense(16, activation="relu"), layers.Dense(4)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(x, labels, epochs=2, verbose=0)
    assert sorted(history.history) == ["accuracy", "loss"]
    probability_model = keras.Sequential([model, layers.Softmax()])
    probs = probability_model.predict(x, verbose=0)
    logits = model.predict(x, verbose=0).astype(np.float64)
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(probs, expected, rtol=1e-5)
    assert probability_model.count_params() == model.count_params()


def test_frozen_layer_does_not_train_and_dropout_only_in_training():
    x, y = _binary(64)
    first = layers.Dense(4, activation="relu")
    model = keras.Sequential([keras.Input(shape=(3,)), first, layers.Dropout(0.5), layers.Dense(1, activation="sigmoid")])
    first.trainable = False
    model.compile(optimizer="adam", loss="binary_crossentropy")
    before = model.get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(before[0], after[0])
    assert not np.array_equal(before[2], after[2])
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    assert not np.array_equal(np.asarray(model(x, training=True)), np.asarray(model(x, training=True)))


def test_same_seed_same_numbers_and_validation_split_is_the_last_fraction():
    x, y = _binary(120)

    def run():
        keras.utils.set_random_seed(42)
        model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(4, activation="tanh"), layers.Dropout(0.2),
                                  layers.Dense(1, activation="sigmoid")])  # fmt: skip
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model, model.fit(x, y, epochs=3, validation_split=0.25, verbose=0).history

    model, first = run()
    _, second = run()
    assert first == second
    last = model.evaluate(x[90:], y[90:], return_dict=True, verbose=0)
    assert first["val_loss"][-1] == pytest.approx(last["loss"], rel=1e-5)
    assert first["val_accuracy"][-1] == pytest.approx(last["accuracy"])


def test_regularizer_is_part_of_the_loss():
    x, y = _regression(50)
    model = keras.Sequential([keras.Input(shape=(1,)), layers.Dense(3, kernel_regularizer=keras.regularizers.l2(0.1)),
                              layers.Dense(1)])  # fmt: skip
    model.compile(optimizer="sgd", loss="mse")
    kernel = model.get_weights()[0]
    mse = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(mse + 0.1 * np.sum(kernel.astype(np.float64) ** 2), rel=1e-5)


def test_batch_normalization_trains_its_moving_statistics():
    rng = np.random.default_rng(4)
    x = rng.normal(5.0, 2.0, size=(256, 2)).astype(np.float32)
    y = x[:, :1] - 5
    model = keras.Sequential([keras.Input(shape=(2,)), layers.BatchNormalization(momentum=0.5), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    moving_mean, moving_var = model.get_weights()[2:4]
    np.testing.assert_allclose(moving_mean, x.mean(0), rtol=0.05)
    np.testing.assert_allclose(moving_var, x.var(0), rtol=0.3)


def test_one_trace_per_fit_shape_not_per_epoch():
    x, y = _regression(64)
    model = keras.Sequential([keras.Input(shape=(1,)), layers.Dense(7, activation="sigmoid"), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    program = _engine.fit_program(model._structure(), model.optimizer.transform,
                                  _engine.plan_loss(model.loss, model._structure()), 16, 64, True, False, 0)  # fmt: skip
    before = program._cache_size()
    model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    twin = keras.Sequential([keras.Input(shape=(1,)), layers.Dense(7, activation="sigmoid"), layers.Dense(1)])
    twin.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    twin.fit(x, y, epochs=2, batch_size=16, verbose=0)  # same structure, other rate: the same program
    assert program._cache_size() == before == 1


@pytest.mark.parametrize(
    "build, call, match",
    [
        (lambda: keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)]), lambda m: m.predict(np.ones((3, 5)), verbose=0),
         r"expects inputs of shape \(None, 4\); received inputs of shape \(None, 5\)"),
        (lambda: keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="softmax")]),
         lambda m: (m.compile(loss="sparse_categorical_crossentropy"), m.fit(np.ones((5, 4)), np.array([0, 1, 2, 3, 1])))[1],
         r"labels out of range.*3 classes \(integer labels 0\.\.2\)"),
        (lambda: keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)]),
         lambda m: (m.compile(loss="mse"), m.fit(np.array([[1.0, np.nan]]), np.ones(1)))[1], "NaN or infinite"),
        (lambda: keras.Sequential([keras.Input(shape=(2,)), layers.Dense(3, activation="softmax")]),
         lambda m: (m.compile(loss="categorical_crossentropy"), m.fit(np.ones((4, 2)), np.array([0, 1, 2, 1])))[1],
         "needs one-hot targets.*to_categorical"),
        (lambda: keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)]),
         lambda m: m.compile(loss="mse", optimizer="adamm"), "unknown optimizer 'adamm'; valid optimizers"),
        (lambda: keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)]),
         lambda m: m.compile(loss="mse", metrics=["acuracy"]), "unknown metric 'acuracy'; valid metrics"),
        (lambda: keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)]),
         lambda m: m.compile(loss="mse", optimizer="adam", metrics=[keras.metrics.AUC(name="a"), keras.metrics.Recall(name="a")])
         or m.fit(np.ones((4, 2)), np.ones(4), verbose=0), "metric names must be distinct"),
        (lambda: keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)]),
         lambda m: m.fit(np.ones((4, 2)), np.ones(4)), r"call model.compile\("),
        (lambda: keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)]),
         lambda m: (m.compile(loss="mse"), m.fit(np.ones((4, 2)), np.ones(4), epochs=0))[1], "epochs must be an integer >= 1"),
    ],
)  # fmt: skip
def test_bad_input_gives_one_clear_error(build, call, match):
    model = build()
    with pytest.raises((ValueError, RuntimeError), match=match):
        call(model)


def test_callbacks_with_batch_hooks_are_refused_clearly():
    class PerBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1)])
    model.compile(loss="mse")
    with pytest.raises(keras.NotInSubsetError, match="on_train_batch_end.*between epochs"):
        model.fit(np.ones((4, 2)), np.ones(4), callbacks=[PerBatch()], verbose=0)


def test_verbose_lines_follow_keras(capsys):
    x, y = _regression(64)
    model = keras.Sequential([keras.Input(shape=(1,)), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
    model.fit(x, y, epochs=2, batch_size=32, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/2" and out[1].startswith("2/2 - ") and " - loss: " in out[1] and " - mae: " in out[1]
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_a_diverging_fit_stops_and_keeps_finite_weights():
    x, y = _regression(64)
    model = keras.Sequential([keras.Input(shape=(1,)), layers.Dense(16, activation="relu"), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(1e6), loss="mse")
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        history = model.fit(x, 1e3 * y, epochs=5, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert len(history.history["loss"]) < 5 or not math.isfinite(history.history["loss"][-1])


def test_softmax_crossentropy_is_trained_on_logits_with_the_same_loss():
    """The stable from-logits objective is the same function as the loss on probabilities."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(90, 2)).astype(np.float32)
    onehot = keras.utils.to_categorical((3 * x[:, 0]).astype(int), 3)
    model = keras.Sequential([layers.Dense(6, activation="relu"), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, onehot, epochs=2, verbose=0)
    probs = model.predict(x, verbose=0).astype(np.float64)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    loss, accuracy = model.evaluate(x, onehot, verbose=0)
    assert loss == pytest.approx(-np.mean(np.log((probs * onehot).sum(1))), rel=1e-5)
    assert accuracy == np.mean(probs.argmax(1) == onehot.argmax(1))


def test_sigmoid_crossentropy_from_logits_is_not_clipped():
    """A confidently wrong sigmoid output costs softplus(z) = 50, not the clipped -log(1e-7) = 16.1."""
    model = keras.Sequential([keras.Input(shape=(1,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.set_weights([np.array([[50.0]]), np.array([0.0])])
    assert model.evaluate(np.ones((1, 1)), np.zeros(1), verbose=0) == pytest.approx(50.0, rel=1e-6)


def test_training_metrics_are_exact_whole_epoch_values():
    """F1 and AUC are not means over batches: the logged value is the metric of
    all the epoch's predictions (batch averages would differ)."""
    from sklearn.metrics import roc_auc_score

    x, y = _binary(300, seed=3)
    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(1, activation="sigmoid")], seed=2)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy",  # frozen: predictions reproducible
                  metrics=[keras.metrics.AUC(name="auc"), keras.metrics.F1Score(average="micro", threshold=0.5)])  # fmt: skip
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    p = model.predict(x, verbose=0)
    assert history.history["auc"][0] == pytest.approx(roc_auc_score(y, p[:, 0]), abs=1e-12)
    batch_mean = np.mean([roc_auc_score(y[i : i + 16], p[i : i + 16, 0]) for i in range(0, 288, 16)])
    assert abs(batch_mean - history.history["auc"][0]) > 1e-4
