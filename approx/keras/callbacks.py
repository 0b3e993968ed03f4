"""``keras.callbacks``: code that runs between epochs.

Every epoch of ``fit`` is one compiled program, so callbacks run on the host
between epochs, with Keras's hooks and ``logs``: ``on_train_begin``,
``on_epoch_begin``, ``on_epoch_end``, ``on_train_end`` (and the ``test`` and
``predict`` hooks of ``evaluate`` and ``predict``). Per-batch hooks cannot run
inside a compiled epoch: a callback that defines ``on_train_batch_begin`` or
``on_train_batch_end`` is refused with a clear message.

``EarlyStopping``, ``ModelCheckpoint``, ``CSVLogger``, ``ReduceLROnPlateau``,
``LearningRateScheduler``, ``TerminateOnNaN`` and ``LambdaCallback`` follow
Keras 3's definitions (``monitor``, ``mode``, ``min_delta``, ``patience``,
``restore_best_weights``, ``save_best_only``, ...).
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from approx.constraints import Interval
from approx.keras._subset import NotInSubsetError, missing_name

__all__ = [
    "Callback", "CSVLogger", "EarlyStopping", "History", "LambdaCallback", "LearningRateScheduler",
    "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN",
]  # fmt: skip

BATCH_HOOKS = (
    "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
)  # fmt: skip


class Callback:
    """Base class; override the hooks you need. ``self.model`` is the model
    being trained and ``self.params`` holds ``epochs``, ``steps`` and ``verbose``."""

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...


def check_callbacks(callbacks) -> list[Callback]:
    """The callbacks as a list, refusing what cannot run between compiled epochs."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    out = []
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise ValueError(f"callbacks must be keras.callbacks.Callback objects (from approx.keras), got {cb!r}")
        for hook in BATCH_HOOKS:
            if getattr(type(cb), hook) is not getattr(Callback, hook):
                raise NotInSubsetError(
                    f"{type(cb).__name__} defines {hook}: approx.keras compiles each epoch as one program, so "
                    "callbacks run between epochs only (on_epoch_begin/on_epoch_end, on_train_begin/on_train_end)"
                )
        out.append(cb)
    return out


class History(Callback):
    """What ``fit`` returns: ``history`` (``{'loss': [...], 'accuracy': [...],
    'val_loss': [...], ...}``, one value per epoch), ``epoch`` (their indices)
    and ``params``; ``seconds`` holds each epoch's host time (the first
    includes compilation)."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.seconds: list[float] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        return f"<History epochs={len(self.epoch)}, keys={list(self.history)}>"


class _Monitor(Callback):
    """Shared by the callbacks that watch one logged quantity (Keras's MonitorCallback)."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline=None, min_delta: float = 0.0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.mode, self.baseline = monitor, mode, baseline
        self.min_delta = abs(float(min_delta))
        self.best = baseline
        self._sign = None  # +1: larger is better

    def _direction(self) -> int:
        if self.mode != "auto":
            return 1 if self.mode == "max" else -1
        name = self.monitor.removeprefix("val_")
        if name == "loss":
            return -1
        for metric in getattr(self.model, "_fit_metrics", ()):
            if metric.name == name:
                return 1 if metric.direction == "up" else -1
        raise ValueError(
            f"{type(self).__name__} cannot tell whether {self.monitor!r} should go up or down; "
            "pass mode='max' or mode='min'"
        )

    def _is_improvement(self, value, reference) -> bool:
        if reference is None:
            return True
        if self._sign is None:
            self._sign = self._direction()
        return (value - self.min_delta > reference) if self._sign > 0 else (value + self.min_delta < reference)

    def _value(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(
                f"{type(self).__name__} watches {self.monitor!r}, which is not logged; logged: {', '.join(logs or {})}",
                RuntimeWarning, stacklevel=3,
            )  # fmt: skip
        return value


class EarlyStopping(_Monitor):
    """Stops training when ``monitor`` has not improved by ``min_delta`` for
    ``patience`` epochs; ``restore_best_weights`` puts back the weights of the
    best epoch at the end. Keras 3's rules, ``start_from_epoch`` and
    ``baseline`` included."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):  # fmt: skip
        super().__init__(monitor, mode, baseline, min_delta)
        Interval(int, 0).check("patience", patience)
        self.patience, self.verbose = patience, verbose
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best, self.best_weights, self.best_epoch = 0, 0, None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        current = self._value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Saves the model (``.keras``) or its weights (``.weights.npz``) after
    epochs: every epoch, or with ``save_best_only`` when ``monitor``
    improves. ``filepath`` may hold ``{epoch}`` and logged keys
    (``'model-{epoch:02d}-{val_loss:.2f}.keras'``)."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):  # fmt: skip
        super().__init__(monitor, mode, initial_value_threshold)
        if save_freq != "epoch":
            raise NotInSubsetError("ModelCheckpoint(save_freq=...) saves after epochs only in approx.keras")
        self.filepath, self.verbose = os.fspath(filepath), verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        suffix = ".weights.npz" if save_weights_only else ".keras"
        if not self.filepath.endswith(suffix):
            raise ValueError(
                f"ModelCheckpoint filepath must end in {suffix!r} (save_weights_only={save_weights_only}), "
                f"got {self.filepath!r}"
            )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = self._value(logs)
            if current is None or not self._is_improvement(current, self.best):
                return
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best} to {current}, saving model to {path}")
            self.best = current
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class CSVLogger(Callback):
    """Writes ``epoch`` and the logged values, one row per epoch, to a CSV file
    (flushed every epoch, readable with ``pandas.read_csv``)."""

    def __init__(self, filename, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self._keys = None

    def on_train_begin(self, logs=None):
        exists = self.append and Path(self.filename).exists() and Path(self.filename).stat().st_size > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._keys = None
        self._header_written = exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
        writer = csv.writer(self._file, delimiter=self.sep, lineterminator="\n")
        if not self._header_written:
            writer.writerow(["epoch", *self._keys])
            self._header_written = True
        writer.writerow([epoch, *(_format(logs.get(k, "NA")) for k in self._keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        self._file.close()


def _format(value) -> str:
    if isinstance(value, np.ndarray):
        buf = io.StringIO()
        buf.write("[" + " ".join(repr(float(v)) for v in value.ravel()) + "]")
        return buf.getvalue()
    return repr(value) if isinstance(value, float) else str(value)


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite."""

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Epoch {epoch + 1}: invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):  # fmt: skip
        super().__init__()
        if on_train_batch_begin or on_train_batch_end:
            raise NotInSubsetError("LambdaCallback: batch hooks cannot run inside a compiled epoch")
        for name, fn in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end), *kwargs.items()):  # fmt: skip
            if fn is not None:
                setattr(self, name, fn)


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch to ``schedule(epoch, lr)``."""

    def __init__(self, schedule: Callable, verbose: int = 0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.schedule(epoch, float(self.model.optimizer.learning_rate)))
        if not math.isfinite(lr) or lr <= 0:
            raise ValueError(f"the schedule returned learning rate {lr!r} at epoch {epoch}; it must be a number > 0")
        self.model.optimizer.learning_rate = lr
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(_Monitor):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has not
    improved by ``min_delta`` for ``patience`` epochs (then waits ``cooldown``
    epochs), never below ``min_lr``."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):  # fmt: skip
        super().__init__(monitor, mode, None, min_delta)
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau factor must be in (0, 1), got {factor!r}")
        self.factor, self.patience, self.verbose = float(factor), patience, verbose
        self.cooldown, self.min_lr = cooldown, float(min_lr)

    def on_train_begin(self, logs=None):
        self.wait, self.cooldown_counter, self.best = 0, 0, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = self._value(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(self.model.optimizer.learning_rate)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new
                    if self.verbose > 0:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


__getattr__ = missing_name("keras.callbacks", "callbacks", __all__)
