"""approx.keras callbacks: Keras 3's rules on scripted sequences, and inside a real fit."""

import csv

import numpy as np
import pytest

from approx import keras
from approx.keras import callbacks, layers


class ScriptedModel:
    """Stands in for a model: weights are the epoch they were set at."""

    def __init__(self):
        self.stop_training = False
        self.weights = [np.array(-1.0)]
        self._fit_metrics = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.asarray(w) for w in weights]


def _drive(callback, values, monitor="val_loss"):
    """Runs ``callback`` over epochs whose monitored values are ``values``;
    returns the epochs run (training stops when the callback says so)."""
    model = ScriptedModel()
    callback.set_model(model)
    callback.on_train_begin()
    ran = []
    for epoch, value in enumerate(values):
        model.weights = [np.array(float(epoch))]
        callback.on_epoch_end(epoch, {monitor: value, "loss": 1.0})
        ran.append(epoch)
        if model.stop_training:
            break
    callback.on_train_end()
    return ran, model


def test_early_stopping_patience_on_a_scripted_sequence():
    # Best at epoch 2 (0.5); epochs 3 and 4 do not improve; patience 2 stops after epoch 4.
    values = [1.0, 0.8, 0.5, 0.6, 0.55, 0.4, 0.3]
    ran, _ = _drive(callbacks.EarlyStopping(patience=2), values)
    assert ran == [0, 1, 2, 3, 4]
    ran, _ = _drive(callbacks.EarlyStopping(patience=0), values)
    assert ran == [0, 1, 2, 3]
    # min_delta: an improvement smaller than it does not count.
    ran, _ = _drive(callbacks.EarlyStopping(patience=1, min_delta=0.25), [1.0, 0.8, 0.7, 0.6])
    assert ran == [0, 1]
    # mode 'max' for accuracy: best at epoch 1, epoch 2 does not improve, patience 1 stops there.
    ran, _ = _drive(callbacks.EarlyStopping(monitor="val_acc", mode="max", patience=1), [0.5, 0.6, 0.55, 0.58], "val_acc")
    assert ran == [0, 1, 2]
    with pytest.raises(ValueError, match="cannot tell whether 'val_thing'.*mode='max'"):
        _drive(callbacks.EarlyStopping(monitor="val_thing", patience=1), [0.5, 0.6], "val_thing")


def test_restore_best_weights_puts_back_the_best_epoch():
    cb = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    ran, model = _drive(cb, [1.0, 0.8, 0.5, 0.6, 0.55, 0.4])
    assert ran == [0, 1, 2, 3, 4] and cb.best_epoch == 2 and cb.stopped_epoch == 4
    assert float(model.weights[0]) == 2.0
    _, model = _drive(callbacks.EarlyStopping(patience=2), [1.0, 0.8, 0.5, 0.6, 0.55, 0.4])
    assert float(model.weights[0]) == 4.0  # not restored


def test_early_stopping_in_a_real_fit_restores_the_best_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    keras.backend.clear_session()  # unnamed metric objects are numbered, as in Keras: precision, precision_1, ...
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(16, activation="relu"), layers.Dropout(0.3),
                              layers.Dense(1, activation="sigmoid")])  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=[keras.metrics.Precision(), keras.metrics.Recall(), keras.metrics.AUC()])  # fmt: skip
    x_val, y_val = x[:60] + 0.8 * rng.normal(size=(60, 4)).astype(np.float32), y[:60]
    seen = []
    cb = callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    spy = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((logs["val_loss"], model.get_weights())))
    history = model.fit(x, y, epochs=60, validation_data=(x_val, y_val), callbacks=[spy, cb], verbose=0)
    losses = history.history["val_loss"]
    assert len(losses) < 60 and len(losses) == cb.stopped_epoch + 1
    best = int(np.argmin(losses))
    assert best == cb.best_epoch and len(losses) - 1 - best == 3
    for a, b in zip(model.get_weights(), seen[best][1]):
        np.testing.assert_array_equal(a, b)
    assert model.evaluate(x_val, y_val, verbose=0, return_dict=True)["loss"] == pytest.approx(losses[best], rel=1e-5)
    assert {"precision", "recall", "auc", "val_auc"} <= set(history.history)


def test_model_checkpoint_csv_logger_and_learning_rate_callbacks(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(64, 1)).astype(np.float32)
    y = 2 * x
    model = keras.Sequential([keras.Input(shape=(1,)), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    best = tmp_path / "best.keras"
    log = tmp_path / "log.csv"
    rates = []
    history = model.fit(
        x, y, epochs=6, verbose=0, validation_data=(x, y),
        callbacks=[
            callbacks.ModelCheckpoint(best, save_best_only=True),
            callbacks.CSVLogger(log),
            callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5**epoch),
            callbacks.LambdaCallback(on_epoch_end=lambda e, logs: rates.append(float(model.optimizer.learning_rate))),
        ],
    )  # fmt: skip
    assert rates == pytest.approx([0.1 * 0.5**e for e in range(6)])
    rows = list(csv.DictReader(log.open()))
    assert [int(r["epoch"]) for r in rows] == list(range(6))
    assert [float(r["loss"]) for r in rows] == pytest.approx(history.history["loss"])
    restored = keras.models.load_model(best)
    best_loss = min(history.history["val_loss"])
    assert restored.evaluate(x, y, verbose=0) == pytest.approx(best_loss, rel=1e-5)


def test_reduce_lr_on_plateau_and_terminate_on_nan():
    cb = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=0.0)

    class Opt:
        learning_rate = 1.0

    model = ScriptedModel()
    model.optimizer = Opt()
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, value in enumerate([1.0, 1.0, 1.0, 0.5, 0.6]):
        cb.on_epoch_end(epoch, {"val_loss": value})
    assert model.optimizer.learning_rate == 0.125
    stop = callbacks.TerminateOnNaN()
    stop.set_model(model)
    stop.on_epoch_end(0, {"loss": float("nan")})
    assert model.stop_training
