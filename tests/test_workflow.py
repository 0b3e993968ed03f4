"""The Keras-style front: the course's four steps, Keras semantics, validation, compilation.

Most tests share one architecture and data size, so they share one compiled
epoch (the programs are cached on graphdef, optimizer, loss and shapes).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import approx
from approx import losses, metrics, workflow
from approx import train as train_module
from approx.workflow import Dense, History, Input, Sequential, to_categorical


def _regression_data(n=1000):
    """The course's set: 1-D inputs on [0, 1], a smooth target."""
    x = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    return x, (0.2 + 0.4 * x**2 + 0.3 * x * np.sin(15 * x)).astype(np.float32)


def _binary_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 2)).astype(np.float32)
    y = (x[:, 0] + 0.3 * np.sin(6 * x[:, 1]) > 0.65).astype(np.float32)
    return x, y


def _course_model(seed=0):
    model = Sequential(seed=seed)
    model.add(Dense(5, activation="sigmoid"))
    model.add(Dense(1, activation="linear"))
    model.compile(loss="mse", optimizer="adam")
    return model


# -- the four steps ----------------------------------------------------------------------
def test_course_four_steps_verbatim_learn():
    X, y = _regression_data()
    model = Sequential()
    model.add(Dense(5, activation='sigmoid'))  # fmt: skip
    model.add(Dense(1, activation='linear'))  # fmt: skip
    model.compile(loss='mse', optimizer='adam')  # fmt: skip
    history = model.fit(X, y, batch_size=32, epochs=100, verbose=0)
    loss = history.history["loss"]
    assert isinstance(history, History) and len(loss) == 100 and history.epoch == list(range(100))
    assert loss[-1] < 0.05 * loss[0]
    assert model.evaluate(X, y) < 0.05


def test_exported_from_package():
    if not hasattr(approx, "Sequential"):
        pytest.skip("approx/__init__.py does not export Sequential/Dense yet")
    assert approx.Sequential is Sequential and approx.Dense is Dense


def test_list_form_equals_add_form_and_same_seed_same_history():
    X, y = _regression_data()
    listed = Sequential([Dense(5, activation="sigmoid"), Dense(1, activation="linear")])
    listed.compile(loss="mse", optimizer="adam")
    a = listed.fit(X, y, batch_size=32, epochs=5, verbose=0, seed=7).history
    b = _course_model().fit(X, y, batch_size=32, epochs=5, verbose=0, seed=7).history
    assert a == b  # bitwise: same init (seed 0), same shuffles (seed 7)
    c = _course_model().fit(X, y, batch_size=32, epochs=5, verbose=0, seed=8).history
    assert c != a
    d = _course_model(seed=1).fit(X, y, batch_size=32, epochs=5, verbose=0, seed=7).history
    assert d != a


def test_glorot_uniform_kernels_zero_biases_and_weights_roundtrip():
    model = Sequential([Input(shape=(2,)), Dense(6, activation="relu"), Dense(3, activation="softmax")])
    model.build(2)
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(2, 6), (6,), (6, 3), (3,)]
    for kernel, (fan_in, fan_out) in zip(weights[::2], [(2, 6), (6, 3)]):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.5 * limit
    assert all(np.all(b == 0) for b in weights[1::2])
    model.set_weights([w + 1 for w in weights])
    np.testing.assert_array_equal(model.layers[1].get_weights()[1], np.ones(3, np.float32))
    with pytest.raises(ValueError, match="shape"):
        model.set_weights([np.zeros((2, 2))] * 4)


# -- compile: strings, optax transformations, callables ------------------------------------
def test_sgd_step_by_hand_uses_keras_learning_rate():
    """One full-batch SGD step on a linear layer: w <- w - 0.01 * dL/dw, Keras's SGD default."""
    x = np.array([[0.0], [0.5], [1.0], [2.0]], np.float32)
    y = np.array([1.0, 2.0, 0.0, 3.0], np.float32)
    model = Sequential([Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.build(1)
    (w0, b0) = (v.copy() for v in model.get_weights())
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    residual = x[:, 0] * w0[0, 0] + b0[0] - y
    grad_w, grad_b = 2 * np.mean(residual * x[:, 0]), 2 * np.mean(residual)
    w1, b1 = model.get_weights()
    np.testing.assert_allclose([w1[0, 0], b1[0]], [w0[0, 0] - 0.01 * grad_w, b0[0] - 0.01 * grad_b], rtol=1e-5)


def test_epoch_loss_is_weighted_by_batch_size():
    """With a zero learning rate every batch sees the same parameters, so the
    size-weighted mean of batch losses (10 = 4 + 4 + 2) is the full-set loss."""
    x, y = _regression_data(10)
    y = y + np.linspace(0, 3, 10, dtype=np.float32)[:, None] ** 2  # uneven losses across batches
    model = Sequential([Dense(1)])
    model.compile(optimizer=optax.sgd(0.0), loss="mse")
    loss = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0).history["loss"][0]
    assert loss == pytest.approx(model.evaluate(x, y), rel=1e-6)
    per_batch = [np.mean((model.predict(x[s]) - y[s]) ** 2) for s in (slice(0, 4), slice(4, 8), slice(8, 10))]
    assert abs(loss - np.mean(per_batch)) > 1e-3  # an unweighted mean would differ


def test_compile_with_optax_factory_custom_loss_and_metric():
    X, y = _regression_data(200)

    def half_squared(y_true, y_pred):
        return 0.5 * jnp.mean((y_true - y_pred) ** 2)

    def max_error(y_true, y_pred):
        return float(np.max(np.abs(y_true - y_pred)))

    model = Sequential([Dense(8, activation="tanh"), Dense(1)])
    model.compile(optimizer=optax.adam, learning_rate=0.02, loss=half_squared, metrics=[max_error, "mae"])
    history = model.fit(X, y, epochs=4, verbose=0)
    assert list(history.history) == ["loss", "max_error", "mae"]
    pred = model.predict(X)
    assert history.history["max_error"][-1] == pytest.approx(float(np.max(np.abs(y - pred))), abs=1e-6)
    assert model.evaluate(X, y) == pytest.approx([0.5 * float(np.mean((y - pred) ** 2)), max_error(y, pred), metrics.mae(y, pred)], rel=1e-5)  # fmt: skip


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop", "adagrad", "adamw", "nesterov", "momentum", "ADAM"])
def test_optimizer_names_resolve_with_keras_rates(optimizer):
    model = Sequential([Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    assert isinstance(model._compiled["optimizer"], optax.GradientTransformation)


# -- history, validation ------------------------------------------------------------------
def test_history_keys_and_validation_split_equals_validation_data():
    x, y = _binary_data(200)
    keys = ["loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc"]

    def fitted(**kwargs):
        model = Sequential([Dense(8, activation="tanh"), Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "auc"], learning_rate=0.01)
        return model, model.fit(batch_size=16, epochs=3, verbose=0, seed=1, **kwargs)

    _, split = fitted(x=x, y=y, validation_split=0.25)  # the LAST 50 samples validate
    model, data = fitted(x=x[:150], y=y[:150], validation_data=(x[150:], y[150:]))
    assert list(split.history) == keys and all(len(v) == 3 for v in split.history.values())
    assert split.history == data.history
    assert data.history["val_loss"][-1] == pytest.approx(model.evaluate(x[150:], y[150:])[0], rel=1e-5)


def test_fit_metrics_are_whole_set_not_batch_averages():
    """F1 and AUC are not means over samples: fit must compute them on the
    predictions for the whole training set, which predict reproduces."""
    x, y = _binary_data(300, seed=3)
    model = Sequential([Dense(8, activation="tanh"), Dense(1, activation="sigmoid")], seed=2)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["f1", "auc", "accuracy"], learning_rate=0.01)
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    p = model.predict(x)
    assert history.history["f1_score"][-1] == pytest.approx(metrics.f1_score(y, p), abs=1e-9)
    assert history.history["auc"][-1] == pytest.approx(metrics.roc_auc(y, p), abs=1e-6)
    batch_mean = np.mean([metrics.f1_score(y[i : i + 16], p[i : i + 16]) for i in range(0, 300, 16)])
    assert abs(batch_mean - history.history["f1_score"][-1]) > 1e-4
    # evaluate and predict shapes
    assert p.shape == (300, 1) and isinstance(p, np.ndarray)
    loss, f1, auc, acc = model.evaluate(x, y)
    assert model.evaluate(x, y, return_dict=True) == {"loss": loss, "f1_score": f1, "auc": auc, "accuracy": acc}
    np.testing.assert_allclose(model.predict(x, batch_size=64), p, rtol=1e-6, atol=1e-7)


def test_softmax_crossentropy_trains_on_logits_same_loss():
    """The stable from-logits objective is the same function as the loss on probabilities."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(90, 2)).astype(np.float32)
    labels = (3 * x[:, 0]).astype(int)
    model = Sequential([Dense(6, activation="relu"), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, to_categorical(labels), epochs=2, verbose=0)
    probs = model.predict(x)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    expected = float(losses.categorical_crossentropy(to_categorical(labels), probs))
    assert model.evaluate(x, to_categorical(labels))[0] == pytest.approx(expected, rel=1e-5)
    assert model.evaluate(x, to_categorical(labels))[1] == metrics.accuracy(labels, probs)


def test_sigmoid_crossentropy_from_logits_is_not_clipped():
    """A confidently wrong sigmoid output costs softplus(z), not Keras's clipped -log(1e-7) = 16.1."""
    model = Sequential([Input(shape=(1,)), Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.build(1)
    model.set_weights([np.array([[50.0]]), np.array([0.0])])
    assert model.evaluate(np.ones((1, 1)), np.zeros(1)) == pytest.approx(50.0, rel=1e-6)
    assert float(losses.binary_crossentropy(np.zeros(1), model.predict(np.ones((1, 1)))[:, 0])) < 16.2


# -- structure ------------------------------------------------------------------------------
def test_summary_counts_parameters():
    lines = []
    Sequential([Dense(5, activation="sigmoid"), Dense(1)]).summary(print_fn=lines.append)
    assert "Total params: ?" in lines[0]  # the input size is unknown before the first fit
    model = Sequential(
        [Input(shape=(2,)), Dense(5, activation="sigmoid"), Dense(3, activation="relu"), Dense(1)], name="curso"
    )
    assert model.input_dim == 2
    model.summary(print_fn=lines.append)
    text = lines[-1]
    counts = [(2 + 1) * 5, (5 + 1) * 3, (3 + 1) * 1]
    assert model.count_params() == sum(counts) == 37
    for name, count in zip(["dense", "dense_1", "dense_2"], counts):
        assert any(
            line.startswith(f"{name} (Dense)") and line.rstrip().endswith(str(count)) for line in text.splitlines()
        )
    assert "Total params: 37" in text and 'Model: "curso"' in text and "(None, 3)" in text


def test_input_size_inferred_at_first_fit():
    X, y = _regression_data()
    model = _course_model()
    assert not model.built
    model.fit(X[:, 0], y[:, 0], epochs=1, verbose=0)  # 1-D X is one feature
    assert model.input_dim == 1 and model.count_params() == (1 + 1) * 5 + (5 + 1) * 1
    with pytest.raises(ValueError, match="1 input features"):
        model.predict(np.zeros((4, 2), np.float32))


# -- errors, before anything compiles -----------------------------------------------------
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Dense(3, activation="sigmoidal"), r"unknown activation 'sigmoidal'; valid activations: sigmoid, tanh.*softmax"),
        (lambda: Sequential([Dense(1)]).compile(optimizer="adamm", loss="mse"), r"unknown optimizer 'adamm'; valid optimizers: adam, adamw, sgd"),
        (lambda: Sequential([Dense(1)]).compile(optimizer="adam", loss="mean_square"), r"unknown loss 'mean_square'; valid names: .*mse"),
        (lambda: Sequential([Dense(1)]).compile(optimizer="adam", loss="mse", metrics=["acuracy"]), r"unknown metric 'acuracy'; valid names: acc, accuracy"),
        (lambda: Sequential([Dense(1)]).compile(optimizer="adam"), r"compile needs a loss"),
        (lambda: Dense(0), r"units must be an integer >= 1"),
        (lambda: Sequential(seed=-1), r"seed must be an integer >= 0"),
    ],
)  # fmt: skip
def test_unknown_names_list_the_valid_ones(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def _no_compile(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("compiled before validating")

    monkeypatch.setattr(train_module, "make_epoch_fn", fail)
    monkeypatch.setattr(workflow, "_make_fit_epoch", fail)
    monkeypatch.setattr(workflow, "_make_init", fail)


def _classifier(loss="sparse_categorical_crossentropy", units=3, activation="softmax"):
    model = Sequential([Dense(4, activation="tanh"), Dense(units, activation=activation)])
    model.compile(optimizer="adam", loss=loss)
    return model


X4 = np.random.default_rng(0).uniform(size=(12, 2)).astype(np.float32)
LABELS = np.arange(12) % 3


@pytest.mark.parametrize(
    "model, x, y, kwargs, match",
    [
        (_classifier, X4, LABELS[:10], {}, r"X has 12 samples \(rows\) but y has 10"),
        (_classifier, X4, LABELS + 1, {}, r"labels out of range: y holds values from 1 to 3, but the last layer has 3 units"),
        (_classifier, X4, LABELS - 0.5, {}, r"labels out of range"),
        (lambda: _classifier("categorical_crossentropy"), X4, LABELS, {}, r"use loss='sparse_categorical_crossentropy', or to_categorical"),
        (lambda: _classifier("categorical_crossentropy"), X4, np.eye(4)[LABELS], {}, r"y has 4 columns but the last Dense layer has 3 units"),
        (lambda: _classifier("binary_crossentropy", 1, "sigmoid"), X4, LABELS, {}, r"binary_crossentropy needs labels in \[0, 1\]"),
        (_course_model, X4[:, :1], np.zeros((12, 2)), {}, r"y has 2 columns but the last Dense layer has 1 units"),
        (_classifier, np.where(X4 > 0.5, np.nan, X4), LABELS, {}, r"X contains \d+ NaN or infinite"),
        (_course_model, X4[:, :1], np.full(12, np.inf), {}, r"y contains 12 NaN or infinite"),
        (_classifier, X4[:, :, None], LABELS, {}, r"X must have shape \(n_samples, n_features\).*reshape"),
        (_classifier, X4, LABELS[:, None, None], {}, r"y must have shape"),
        (_classifier, X4, LABELS, {"validation_split": 1.0}, r"validation_split must be a number in \[0, 1\)"),
        (_classifier, X4, LABELS, {"validation_split": 0.95}, r"leaves an empty training or validation set"),
        (_classifier, X4, LABELS, {"validation_data": (X4[:3], LABELS[:2])}, r"validation_data X has 3 samples"),
        (_classifier, X4, LABELS, {"batch_size": 0}, r"batch_size must be an integer >= 1"),
        (_classifier, X4, LABELS, {"epochs": 0}, r"epochs must be an integer >= 1"),
        (_classifier, X4, LABELS, {"verbose": 3}, r"verbose must be one of"),
    ],
)  # fmt: skip
def test_bad_input_raises_before_any_compile(monkeypatch, model, x, y, kwargs, match):
    model = model()
    _no_compile(monkeypatch)
    with pytest.raises(ValueError, match=match):
        model.fit(x, y, **{"verbose": 0, **kwargs})
    assert not model.built


def test_fit_before_compile_raises(monkeypatch):
    _no_compile(monkeypatch)
    with pytest.raises(RuntimeError, match=r"call model.compile\(optimizer=..., loss=...\) before fit"):
        Sequential([Dense(1)]).fit(X4, LABELS)


def test_input_size_mismatch_after_build():
    model = _course_model()
    model.build(1)
    with pytest.raises(ValueError, match="the model takes 1 input features, but X has 3 columns"):
        model.fit(np.zeros((12, 3), np.float32), np.zeros(12))


# -- compilation -------------------------------------------------------------------------
def test_one_trace_per_fit_not_per_epoch():
    """The loss is traced only while compiling: its trace count must not grow
    with epochs, with a second fit, or with a second model of the same shape."""
    traces = []

    def counted_mse(y_true, y_pred):
        traces.append(1)
        return losses.mse(y_true, y_pred)

    X, y = _regression_data(100)

    def model():
        m = Sequential([Dense(5, activation="sigmoid"), Dense(1)])
        m.compile(optimizer="adam", loss=counted_mse)
        return m

    first = model()
    first.fit(X, y, epochs=1, verbose=0)
    after_compile = len(traces)
    assert after_compile > 0
    first.fit(X, y, epochs=5, verbose=0)
    model().fit(X, y, epochs=3, verbose=0)
    assert len(traces) == after_compile


# -- output ------------------------------------------------------------------------------
def test_verbose_modes(capsys, monkeypatch):
    X, y = _regression_data()
    _course_model().fit(X, y, epochs=3, verbose=0)
    assert capsys.readouterr().out == ""
    _course_model().fit(X, y, epochs=3, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("Epoch 1/3 - ") and " - loss: " in lines[0]
    _course_model().fit(X, y, epochs=3, verbose=1)  # not a terminal: one line per epoch
    assert len(capsys.readouterr().out.splitlines()) == 3
    monkeypatch.setattr(workflow, "_stdout_is_tty", lambda: True)
    _course_model().fit(X, y, epochs=3)  # verbose='auto' in a terminal: a progress bar
    out = capsys.readouterr().out
    assert "3/3" in out and "Epoch 1/3" not in out


def test_to_categorical():
    np.testing.assert_array_equal(to_categorical([0, 2, 1]), np.eye(3)[[0, 2, 1]])
    assert to_categorical(np.array([[1], [0]]), 4).shape == (2, 4)
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([0, 5], 3)


def test_diverging_fit_warns_and_keeps_finite_weights():
    X, y = _regression_data(64)
    model = Sequential([Dense(4, activation="relu"), Dense(1)])
    model.compile(optimizer=optax.sgd(1e6), loss="mse")
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        history = model.fit(X, 1e3 * y, epochs=3, verbose=0)
    assert not np.isfinite(history.history["loss"][-1]) or history.history["loss"][-1] > 1e6
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    jax.block_until_ready(model.predict(X))
