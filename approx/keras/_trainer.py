"""Training, evaluating and predicting for ``Sequential`` (Keras's trainer):
``compile``, ``fit``, ``evaluate``, ``predict``, the checks of their data and
the training state kept between fits.

Every epoch of ``fit`` is one compiled program (:func:`approx.keras._engine.fit_program`:
a ``lax.scan`` over the shuffled minibatches with the data kept on the device);
callbacks and metrics run on the host between epochs.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import jax
import numpy as np
import optax

from approx.constraints import Interval
from approx.keras import _engine
from approx.keras import callbacks as _callbacks
from approx.keras import losses as _losses
from approx.keras import metrics as _metrics
from approx.keras import optimizers as _optimizers
from approx.keras._data import VERBOSE, _check_int, as_array, check_targets, pad_rows, prediction_rows
from approx.keras._progress import progress_line
from approx.keras._random import FIT, PREDICT, host_order
from approx.keras._subset import NotInSubsetError
from approx.keras._weights import ASSIGNMENTS
from approx.keras.layers import _FUNCTIONAL, KerasTensor

__all__ = ["OptaxOptimizer", "Trainer"]


@dataclass(frozen=True)
class _FitPlan:
    """What every epoch of one ``fit`` needs, fixed before the first."""

    run: Callable  # the compiled epoch (approx.keras._engine.fit_program)
    structure: _engine.Structure
    transform: optax.GradientTransformation
    path: tuple  # names this fit's randomness (shuffling, dropout)
    shuffle: bool
    steps: int  # batches per epoch
    initial_epoch: int
    epochs: int
    validation_freq: int
    mode: int  # 0 silent, 1 a progress bar, 2 one line per epoch
    metrics: list
    y: np.ndarray  # the training targets on the host (for the metrics)
    y_val: np.ndarray | None
    train: tuple  # (x, y) on the device
    val: tuple  # (x_val, y_val) on the device, or (None, None)

    def validates(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` ends with a validation."""
        return self.y_val is not None and (epoch + 1 - self.initial_epoch) % self.validation_freq == 0


def _log_deferred(plan: _FitPlan, pending: list, history: _callbacks.History) -> bool:
    """Logs the epochs that ran back to back (``(epoch, outputs)``) into
    ``history``; whether one of them diverged."""
    diverged = False
    for epoch, out in pending:
        host = jax.device_get(out)
        logs = {"loss": float(host["loss"])}
        if plan.validates(epoch):
            logs["val_loss"] = float(host["val_loss"])
        history.on_epoch_end(epoch, dict(sorted(logs.items())))
        diverged = diverged or bool(host["diverged"])
    return diverged


class Trainer:
    """``compile``, ``fit``, ``evaluate`` and ``predict`` of a ``Sequential``
    model (which provides the structure, the weights and the random streams:
    ``_structure``, ``_values``, ``_write_back``, ``_path``, ``_step_keys``,
    ``output_shape``, ``_ensure_built``)."""

    def _state_for(self, structure, transform):
        """The training state for this structure and optimizer: kept across
        fits (Keras keeps its optimizer's variables), rebuilt when either
        changes, refreshed when weights were set from outside."""
        params, model_state = structure.split(self._values())
        owner = (structure, transform)
        if self._train_state is None or self._state_owner != owner:
            lr = self.optimizer._lr if self.optimizer._schedule is None else None
            self._train_state = _engine.init_state_program(transform)(params, model_state, lr)
            self._state_owner = owner
        elif self._seen != ASSIGNMENTS[0]:
            self._train_state = self._train_state._replace(params=params, model_state=model_state)
        self._seen = ASSIGNMENTS[0]
        return self._train_state

    def _bind_optimizer(self) -> None:
        def read():
            return None if self._train_state is None else self._train_state.opt_state

        def write(lr):
            if self._train_state is not None:
                opt_state = _optimizers.set_learning_rate(self._train_state.opt_state, lr)
                self._train_state = self._train_state._replace(opt_state=opt_state)

        self.optimizer._bind(read, write)

    # -- compile -----------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True, *,
                learning_rate=None) -> None:  # fmt: skip
        """Chooses the optimizer, the loss and the metrics.

        Args:
          optimizer: a name (``'adam'``, ``'sgd'``, ``'rmsprop'``, ``'adamw'``,
            ``'adagrad'``; Keras's defaults) or a ``keras.optimizers``
            object (``Adam(learning_rate=1e-3)``); an Optax transformation
            is accepted too.
          loss: a name (``'mse'``, ``'binary_crossentropy'``, ...), a
            ``keras.losses`` object, or a function ``fn(y_true, y_pred)``
            written with ``jax.numpy`` (or ``keras.ops``).
          metrics: names (``'accuracy'``, ``'mae'``, ``'auc'``, ...),
            ``keras.metrics`` objects, or functions ``fn(y_true, y_pred)``.
          learning_rate: (approx) overrides a named optimizer's learning rate.

        ``loss_weights`` and ``weighted_metrics`` (multi-output models) are not
        supported; ``run_eagerly``, ``steps_per_execution`` and
        ``jit_compile`` are accepted and ignored (every epoch is compiled).
        Compiling again keeps the weights and restarts the optimizer.
        """
        if loss_weights is not None or weighted_metrics is not None:
            raise NotInSubsetError("loss_weights and weighted_metrics (multi-output models) are not supported by approx.keras")
        if isinstance(optimizer, optax.GradientTransformation):
            if learning_rate is not None:
                raise ValueError("learning_rate applies to a named optimizer, not to an Optax transformation")
            optimizer = OptaxOptimizer(optimizer)
        else:
            optimizer = _optimizers.get(optimizer)
            if learning_rate is not None:
                optimizer = type(optimizer).from_config({**optimizer.get_config(), "learning_rate": learning_rate})
        self._loss_id = loss
        self.loss = None if loss is None or (isinstance(loss, str) and loss in _losses.SHAPE_RESOLVED) else _losses.get(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, _metrics.Metric)) or callable(metrics):
            metrics = [metrics]
        elif isinstance(metrics, dict):
            raise NotInSubsetError("metrics as a dict (multi-output models) are not supported by approx.keras")
        for m in metrics:
            _metrics.check_name(m)
        self._metric_ids = list(metrics)
        self.optimizer = optimizer
        self._bind_optimizer()
        self.compiled = True
        self._train_state = None
        self._state_owner = None
        self._fit_metrics = []
        self._compile_config = {"optimizer": optimizer, "loss": loss, "metrics": list(metrics)}

    @property
    def metrics_names(self) -> list[str]:
        return ["loss", *(m.name if not isinstance(m, str) else m for m in (self._fit_metrics or self._metric_ids))]

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"call model.compile(optimizer=..., loss=...) before model.{what}()")
        if self._loss_id is None:
            raise ValueError(f"model.{what}() needs a loss: compile the model with loss=...")

    # -- data checks -------------------------------------------------------------------------------
    def _inputs(self, x, what: str = "x") -> np.ndarray:
        x = as_array(x, what)
        if x.ndim == 1:
            x = x[:, None]  # one feature per sample, as tf.keras read 1-D inputs
        self._ensure_built(x)
        return x

    def _loss_for(self, y: np.ndarray) -> _losses.Loss:
        out_shape = self.output_shape
        if self.loss is None:
            self.loss = _losses.resolve_crossentropy(self._loss_id, (None, *y.shape[1:]), out_shape)
        return self.loss

    def _targets(self, y, n: int, what: str = "y", x_name: str = "x") -> np.ndarray:
        y = as_array(y, what)
        if len(y) != n:
            raise ValueError(f"{x_name} has {n} samples but {what} has {len(y)}; they must match")
        out = self.output_shape
        return check_targets(y, out, self._loss_for(y), what)

    def _resolve_metrics(self, y: np.ndarray) -> list:
        out = self.output_shape
        metrics = [_metrics.resolve(m, (None, *y.shape[1:]), out) for m in self._metric_ids]
        names = [m.name for m in metrics]
        if "loss" in names or len(set(names)) != len(names):
            raise ValueError(f"metric names must be distinct and not 'loss', got {names}; give objects distinct name=")
        return metrics

    def _metric_logs(self, metrics, y_true, y_pred, prefix: str = "") -> dict:
        return {f"{prefix}{m.name}": m.compute(y_true, y_pred) for m in metrics}

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1, *,
            seed=None):  # fmt: skip
        """Trains for ``epochs`` passes over ``(x, y)``; returns the ``History``.

        As Keras: ``batch_size`` defaults to 32 (the last batch of an epoch
        is smaller); ``validation_split`` holds out the *last* fraction of
        the samples before shuffling (``validation_data=(x_val, y_val)``
        takes precedence); ``initial_epoch`` resumes the epoch count;
        ``validation_freq`` evaluates every that many epochs. ``verbose``:
        0 silent, 1 (``'auto'``) a progress line per epoch, 2 one line per
        epoch. ``seed`` (approx) fixes this fit's shuffling and dropout.
        ``class_weight``, ``sample_weight`` and ``steps_per_epoch`` are not
        supported. Everything is checked before anything is compiled.
        """
        self._require_compiled("fit")
        for option, value in (("class_weight", class_weight), ("sample_weight", sample_weight),
                              ("steps_per_epoch", steps_per_epoch), ("validation_steps", validation_steps)):  # fmt: skip
            if value is not None:
                raise NotInSubsetError(f"fit({option}=...) is not supported by approx.keras")
        if x is None or y is None:
            raise ValueError("fit needs training data: model.fit(x, y, ...)")
        batch_size = 32 if batch_size is None else _check_int("batch_size", batch_size, 1)
        epochs = _check_int("epochs", epochs, 1)
        initial_epoch = _check_int("initial_epoch", initial_epoch, 0)
        validation_freq = _check_int("validation_freq", validation_freq, 1)
        if verbose not in VERBOSE or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        if seed is not None:
            _check_int("seed", seed, 0)
        if shuffle == "batch":
            shuffle = True
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"shuffle must be True or False, got {shuffle!r}")
        Interval(float, 0, 1, closed="left").check("validation_split", validation_split)
        callbacks = _callbacks.check_callbacks(callbacks)

        x, y, x_val, y_val = self._fit_data(x, y, validation_data, validation_split)
        metrics = self._resolve_metrics(y)
        self._fit_metrics = metrics
        # Everything is checked: from here on, compile once and train.
        plan, state = self._fit_plan(x, y, x_val, y_val, metrics, batch_size=batch_size, shuffle=bool(shuffle), seed=seed,
                                     epochs=(initial_epoch, epochs), validation_freq=validation_freq, verbose=verbose)  # fmt: skip
        history, diverged = self._train(plan, state, callbacks)
        if diverged:
            warnings.warn(
                "the loss became NaN or infinite: training stopped, and the weights are those from the start of the "
                "epoch in which it did (try a smaller learning rate, or scale the inputs)",
                RuntimeWarning,
                stacklevel=2,
            )
        return history

    def _fit_data(self, x, y, validation_data, validation_split):
        """``(x, y, x_val, y_val)`` checked, the validation pair ``None`` when
        there is none (``validation_split`` holds out the last samples)."""
        x = self._inputs(x)
        y = self._targets(y, len(x))
        x_val = y_val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val) (sample weights are not supported)")
            x_val = self._inputs(validation_data[0], "validation_data x")
            y_val = self._targets(validation_data[1], len(x_val), "validation_data y", "validation_data x")
        elif validation_split:
            split_at = math.floor(len(x) * (1.0 - validation_split))
            if split_at in (0, len(x)):
                raise ValueError(f"validation_split={validation_split} of {len(x)} samples leaves an empty training or validation set")
            x, x_val, y, y_val = x[:split_at], x[split_at:], y[:split_at], y[split_at:]
        return x, y, x_val, y_val

    def _fit_plan(self, x, y, x_val, y_val, metrics, *, batch_size, shuffle, seed, epochs, validation_freq, verbose):
        """The compiled epoch and what every epoch of this fit needs, and the
        training state to start from."""
        structure = self._structure()
        transform = self.optimizer.transform
        n, has_val = len(x), x_val is not None
        run = _engine.fit_program(structure, transform, _engine.plan_loss(self.loss, structure), min(batch_size, n), n,
                                  shuffle, bool(metrics), len(x_val) if has_val else 0)  # fmt: skip
        state = self._state_for(structure, transform)
        fit_path = (seed, 0, FIT, 0) if seed is not None else self._path(FIT, self._fits)
        self._fits += 1
        plan = _FitPlan(
            run=run, structure=structure, transform=transform, path=fit_path, shuffle=shuffle,
            steps=-(-n // min(batch_size, n)), initial_epoch=epochs[0], epochs=epochs[1], validation_freq=validation_freq,
            mode=0 if verbose == 0 else (2 if verbose == 2 else 1), metrics=metrics, y=y, y_val=y_val,
            train=(jax.device_put(x), jax.device_put(y)),
            val=(jax.device_put(x_val), jax.device_put(y_val)) if has_val else (None, None),
        )  # fmt: skip
        return plan, state

    def _train(self, plan: _FitPlan, state, callbacks: list) -> tuple[_callbacks.History, bool]:
        """The epochs of a fit, callbacks between them: ``(history, diverged)``.
        Without callbacks, metrics or output, the epochs run back to back and
        their losses are read once at the end."""
        history = _callbacks.History()
        params = {"verbose": plan.mode, "epochs": plan.epochs, "steps": plan.steps}
        watchers = [history, *callbacks]
        for cb in watchers:
            cb.set_model(self)
            cb.set_params(params)
        self.history = history
        self.stop_training = False
        deferred = not callbacks and plan.mode == 0 and not plan.metrics
        pending = []
        for cb in watchers:
            cb.on_train_begin()
        self._train_state = state
        diverged = False
        try:
            for epoch in range(plan.initial_epoch, plan.epochs):
                for cb in callbacks:
                    cb.on_epoch_begin(epoch, {})
                if self._seen != ASSIGNMENTS[0]:
                    self._state_for(plan.structure, plan.transform)
                t0 = time.perf_counter()
                out, order = self._run_epoch(plan, epoch)
                if deferred:
                    pending.append((epoch, out))
                    history.seconds.append(time.perf_counter() - t0)
                    continue
                host, logs = self._epoch_logs(plan, epoch, out, order)
                history.seconds.append(time.perf_counter() - t0)
                if plan.mode:
                    print(f"Epoch {epoch + 1}/{plan.epochs}")
                    print(progress_line(plan.steps, history.seconds[-1], logs, plan.mode), flush=True)
                for cb in watchers:
                    cb.on_epoch_end(epoch, logs)
                if bool(host["diverged"]):
                    diverged = True
                    break
                if self.stop_training:
                    break
        finally:
            self._seen = ASSIGNMENTS[0]
            diverged = _log_deferred(plan, pending, history) or diverged
        for cb in watchers:
            cb.on_train_end()
        return history, diverged

    def _run_epoch(self, plan: _FitPlan, epoch: int):
        """Runs epoch ``epoch``'s program and writes the weights back:
        ``(outputs on the device, the examples' order)``."""
        n = len(plan.y)
        order = host_order(n, *plan.path, epoch) if plan.shuffle else np.arange(n, dtype=np.int32)
        step_keys = self._step_keys((*plan.path, epoch), plan.steps, plan.structure.random_layers)
        state, out = plan.run(self._train_state, *plan.train, order, step_keys, *plan.val)
        self._train_state = state
        self._write_back(plan.structure, state.params, state.model_state)
        return out, order

    def _epoch_logs(self, plan: _FitPlan, epoch: int, out, order) -> tuple[dict, dict]:
        """The epoch's outputs on the host and its logs (loss, metrics, and
        their ``val_`` twins in a validation epoch), sorted by name."""
        validate = plan.validates(epoch)
        host = jax.device_get({k: v for k, v in out.items() if validate or not k.startswith("val_")})
        logs = {"loss": float(host["loss"])}
        if plan.metrics:  # the outputs come in the epoch's order
            logs |= self._metric_logs(plan.metrics, plan.y[order], host["outputs"])
        if validate:
            logs["val_loss"] = float(host["val_loss"])
            if plan.metrics:
                logs |= self._metric_logs(plan.metrics, plan.y_val, host["val_outputs"], "val_")
        return host, dict(sorted(logs.items()))

    # -- evaluate / predict ---------------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None, callbacks=None,
                 return_dict=False):  # fmt: skip
        """The loss (``[loss, *metrics]`` with metrics, a dict with
        ``return_dict=True``) on ``(x, y)``, computed exactly on the whole set
        (``batch_size`` only sets the steps the progress line shows)."""
        self._require_compiled("evaluate")
        if sample_weight is not None or steps is not None:
            raise NotInSubsetError("evaluate(sample_weight=..., steps=...) is not supported by approx.keras")
        if verbose not in VERBOSE or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        batch_size = 32 if batch_size is None else _check_int("batch_size", batch_size, 1)
        callbacks = _callbacks.check_callbacks(callbacks)
        if x is None or y is None:
            raise ValueError("evaluate needs data: model.evaluate(x, y)")
        x = self._inputs(x)
        y = self._targets(y, len(x))
        metrics = self._fit_metrics or self._resolve_metrics(y)
        structure = self._structure()
        plan = _engine.plan_loss(self.loss, structure)
        for cb in callbacks:
            cb.set_model(self)
            cb.on_test_begin()
        t0 = time.perf_counter()
        params, model_state = structure.split(self._values())
        loss, outputs = jax.device_get(_engine.evaluate_program(structure, plan, len(x))(params, model_state, x, y))
        logs = {"loss": float(loss), **self._metric_logs(metrics, y, outputs)}
        for cb in callbacks:
            cb.on_test_end(logs)
        if verbose != 0:
            steps_shown = -(-len(x) // batch_size)
            print(progress_line(steps_shown, time.perf_counter() - t0, dict(sorted(logs.items())), 1 if verbose != 2 else 2), flush=True)
        if return_dict:
            return dict(sorted(logs.items()))
        values = [logs["loss"], *(logs[m.name] for m in metrics)]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None) -> np.ndarray:
        """The model's outputs on ``x`` as a NumPy array (computed in chunks;
        ``batch_size`` only sets the steps the progress line shows)."""
        if steps is not None:
            raise NotInSubsetError("predict(steps=...) is not supported by approx.keras")
        if verbose not in VERBOSE or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        batch_size = 32 if batch_size is None else _check_int("batch_size", batch_size, 1)
        t0 = time.perf_counter()
        out = np.asarray(self._forward(self._inputs(x)))
        if verbose != 0:
            print(progress_line(-(-len(out) // batch_size), time.perf_counter() - t0, {}, 1 if verbose != 2 else 2), flush=True)
        return out

    def _forward(self, x: np.ndarray, training: bool = False):
        structure = self._structure()
        params, model_state = structure.split(self._values())
        rows = prediction_rows(len(x))
        program = _engine.predict_program(structure, rows, bool(training))
        self._predictions += bool(training)
        keys = self._step_keys(self._path(PREDICT, self._predictions), 1, structure.random_layers)[0]
        return program(params, model_state, pad_rows(x, rows), keys)[: len(x)]

    def __call__(self, inputs, training: bool = False):
        """The outputs as a JAX array (``training=True`` applies dropout and batch statistics)."""
        if isinstance(inputs, KerasTensor):
            raise NotInSubsetError(_FUNCTIONAL)
        return self._forward(self._inputs(inputs), training)

    def predict_on_batch(self, x) -> np.ndarray:
        return self.predict(x, verbose=0)


class OptaxOptimizer(_optimizers.Optimizer):
    """An Optax transformation given to ``compile`` directly (its learning rate is its own)."""

    def __init__(self, transform: optax.GradientTransformation):
        self._tx = transform
        self._schedule, self._lr = "optax", None
        self.options, self.weight_decay, self.name = {}, None, "optax"
        self.clipnorm = self.clipvalue = self.global_clipnorm = None
        self._live = self._set_live = None

    @property
    def transform(self):
        return self._tx


    @property
    def learning_rate(self):
        raise ValueError("an Optax transformation passed to compile has no learning rate approx.keras can read or set")

    @learning_rate.setter
    def learning_rate(self, value):
        raise ValueError("an Optax transformation passed to compile has no learning rate approx.keras can read or set")
