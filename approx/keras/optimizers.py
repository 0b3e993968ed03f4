"""``keras.optimizers``: Keras 3's optimizers and defaults, built from Optax transforms.

Each optimizer is the Optax chain that applies Keras's update rule:

=============================  ===========================================================
``SGD(0.01, momentum, nesterov)``  ``optax.trace`` (momentum) then the learning rate
``Adam(0.001, 0.9, 0.999, 1e-7)``  ``optax.scale_by_adam`` (``amsgrad``: ``scale_by_amsgrad``)
``AdamW(0.001, wd=0.004)``         Adam with decoupled weight decay (``add_decayed_weights``)
``RMSprop(0.001, rho=0.9)``        ``optax.scale_by_rms`` (epsilon inside the root, as Keras;
                                   ``centered``: ``scale_by_stddev``), optional momentum
``Adagrad(0.001, 0.1, 1e-7)``      ``optax.scale_by_rss`` from an accumulator of 0.1
=============================  ===========================================================

Keras's ``weight_decay`` on any optimizer is decoupled (``w -= lr * wd * w``),
``clipnorm`` clips each gradient's norm, ``clipvalue`` each entry,
``global_clipnorm`` the norm of all gradients together. Two differences:
Keras adds Adam's ``epsilon`` to ``sqrt(v)`` before the bias correction of the
step size and Optax after it (with ``epsilon = 1e-7`` the steps differ by less
than ``1e-4`` relative over the first steps, and less later); and with
``amsgrad=True`` Optax keeps the maximum of the bias-corrected second moment,
Keras of the raw one.

The learning rate is a value of the optimizer's state
(``optax.inject_hyperparams``), so callbacks can change it between epochs
(``ReduceLROnPlateau``, ``LearningRateScheduler``, or
``model.optimizer.learning_rate = 1e-4``) without recompiling, and models that
differ only in their learning rate share one compiled program. A
``keras.optimizers.schedules`` schedule is evaluated at every step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax

from approx.constraints import Interval
from approx.keras._subset import missing_name

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "get", "schedules"]


def _positive(name: str, value, allow_zero: bool = False):
    Interval(float, 0, None, closed="both" if allow_zero else "neither").check(name, value)
    return float(value)


class Optimizer:
    """Base class: a Keras optimizer's settings and the Optax transform they make.

    ``learning_rate`` (a number or a ``schedules`` schedule) and, once a model
    trains with it, ``iterations`` (the steps taken) can be read; the
    learning rate can also be set between epochs.
    """

    _defaults: dict = {}

    def __init__(self, learning_rate=0.001, *, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name: str | None = None, **options):  # fmt: skip
        unknown = set(options) - set(self._defaults) - {"use_ema", "ema_momentum", "ema_overwrite_frequency",
                                                        "loss_scale_factor", "gradient_accumulation_steps"}  # fmt: skip
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected argument(s) {', '.join(sorted(unknown))}; "
                f"it takes learning_rate, {', '.join(self._defaults)}, weight_decay, clipnorm, clipvalue, global_clipnorm"
            )
        for key in ("use_ema", "gradient_accumulation_steps", "loss_scale_factor"):
            if options.get(key):
                raise ValueError(f"{key} is not supported by approx.keras optimizers")
        if isinstance(learning_rate, schedules.LearningRateSchedule) or callable(learning_rate):
            self._schedule = learning_rate
            self._lr = None
        else:
            self._schedule = None
            self._lr = _positive("learning_rate", learning_rate, allow_zero=True)
        self.options = {k: options.get(k, v) for k, v in self._defaults.items()}
        self.weight_decay = None if weight_decay is None else _positive("weight_decay", weight_decay, True)
        self.clipnorm = None if clipnorm is None else _positive("clipnorm", clipnorm)
        self.clipvalue = None if clipvalue is None else _positive("clipvalue", clipvalue)
        self.global_clipnorm = None if global_clipnorm is None else _positive("global_clipnorm", global_clipnorm)
        if self.clipnorm and self.global_clipnorm:
            raise ValueError("pass at most one of clipnorm and global_clipnorm")
        self.name = name or type(self).__name__.lower()
        self._live: Callable | None = None  # () -> the model's current optimiser state
        self._set_live: Callable | None = None

    # -- the Optax transform --------------------------------------------------------------
    @staticmethod
    def _preconditioner(options: dict) -> list[optax.GradientTransformation]:
        raise NotImplementedError

    @property
    def transform(self) -> optax.GradientTransformation:
        """The Optax transform; equal settings give the same object (one compiled program)."""
        clip = (self.clipnorm, self.clipvalue, self.global_clipnorm)
        return _transform(type(self), tuple(sorted(self.options.items())), self.weight_decay, clip, self._schedule)

    # -- the live learning rate ---------------------------------------------------------------
    def _bind(self, read: Callable, write: Callable) -> None:
        self._live, self._set_live = read, write

    @property
    def learning_rate(self):
        state = self._live() if self._live is not None else None
        if state is not None:
            return float(jax.device_get(state[-1].hyperparams["learning_rate"]))
        return self._schedule if self._schedule is not None else self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        if self._schedule is not None:
            raise ValueError("this optimizer's learning rate is a schedule; it cannot be set")
        self._lr = _positive("learning_rate", value, allow_zero=True)
        if self._set_live is not None:
            self._set_live(self._lr)

    lr = learning_rate

    @property
    def iterations(self) -> int:
        state = self._live() if self._live is not None else None
        return 0 if state is None else int(jax.device_get(state[-1].count))

    def initial_learning_rate(self):
        """The learning rate a new optimiser state starts with (a schedule's is its own)."""
        return self._lr

    def get_config(self) -> dict:
        lr = self._lr if self._schedule is None else schedules.serialize(self._schedule)
        return {"name": self.name, "learning_rate": lr, **self.options, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm}  # fmt: skip

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate!r})"


def _clip_each_norm(max_norm: float) -> optax.GradientTransformation:
    """Keras's ``clipnorm``: each gradient array's L2 norm capped at ``max_norm``."""

    def clip(updates, params=None):
        def one(g):
            norm = jnp.sqrt(jnp.sum(jnp.square(g)))
            return g * jnp.minimum(1.0, max_norm / jnp.maximum(norm, 1e-30))

        return jax.tree.map(one, updates)

    return optax.stateless(clip)


@functools.lru_cache(maxsize=64)
def _transform(cls, options: tuple, weight_decay, clip: tuple, schedule) -> optax.GradientTransformation:
    clipnorm, clipvalue, global_clipnorm = clip
    parts = []
    if clipvalue is not None:
        parts.append(optax.clip(clipvalue))
    if clipnorm is not None:
        parts.append(_clip_each_norm(clipnorm))
    if global_clipnorm is not None:
        parts.append(optax.clip_by_global_norm(global_clipnorm))
    parts += cls._preconditioner(dict(options))
    if weight_decay:
        parts.append(optax.add_decayed_weights(weight_decay))
    # Last, so that the learning rate is ``state[-1].hyperparams["learning_rate"]``.
    lr = schedule if schedule is not None else 0.0  # the value itself lives in the state
    parts.append(optax.inject_hyperparams(optax.scale_by_learning_rate)(learning_rate=lr))
    return optax.chain(*parts)


def initial_state(optimizer: Optimizer, params):
    """``optimizer.transform.init(params)`` with the learning rate set."""
    state = optimizer.transform.init(params)
    if optimizer._schedule is None:
        state = set_learning_rate(state, optimizer._lr)
    return state


def set_learning_rate(state, value: float):
    """The optimiser state with its injected learning rate replaced."""
    last = state[-1]
    hyper = dict(last.hyperparams)
    hyper["learning_rate"] = jnp.asarray(value, jnp.asarray(hyper["learning_rate"]).dtype)
    return (*state[:-1], last._replace(hyperparams=hyper))


class SGD(Optimizer):
    """Gradient descent, optionally with momentum (Nesterov's if ``nesterov``)."""

    _defaults = {"momentum": 0.0, "nesterov": False}

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs):
        _positive("momentum", momentum, True)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        super().__init__(learning_rate, momentum=float(momentum), nesterov=bool(nesterov), **kwargs)

    @staticmethod
    def _preconditioner(o):
        return [optax.trace(decay=o["momentum"], nesterov=o["nesterov"])] if o["momentum"] else []


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with Keras's defaults."""

    _defaults = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=bool(amsgrad), **kwargs)
        for key in ("beta_1", "beta_2"):
            if not 0 <= self.options[key] < 1:
                raise ValueError(f"{key} must be in [0, 1), got {self.options[key]!r}")

    @staticmethod
    def _preconditioner(o):
        scale = optax.scale_by_amsgrad if o["amsgrad"] else optax.scale_by_adam
        return [scale(b1=o["beta_1"], b2=o["beta_2"], eps=o["epsilon"])]


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019); Keras's default decay 0.004."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):  # fmt: skip
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e) as Keras: ``w -= lr g / sqrt(v + eps)``."""

    _defaults = {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, rho=rho, momentum=momentum, epsilon=epsilon, centered=bool(centered), **kwargs)

    @staticmethod
    def _preconditioner(o):
        if o["centered"]:
            parts = [optax.scale_by_stddev(decay=o["rho"], eps=o["epsilon"])]
        else:
            parts = [optax.scale_by_rms(decay=o["rho"], eps=o["epsilon"], eps_in_sqrt=True)]
        if o["momentum"]:
            parts.append(optax.trace(decay=o["momentum"]))
        return parts


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): ``w -= lr g / sqrt(sum g^2 + eps)``, the sum starting at 0.1."""

    _defaults = {"initial_accumulator_value": 0.1, "epsilon": 1e-7}

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, initial_accumulator_value=initial_accumulator_value, epsilon=epsilon, **kwargs)

    @staticmethod
    def _preconditioner(o):
        return [optax.scale_by_rss(initial_accumulator_value=o["initial_accumulator_value"], eps=o["epsilon"])]


# -- learning-rate schedules ----------------------------------------------------------------
class _Schedules:
    """``keras.optimizers.schedules``: learning rates as functions of the step."""

    class LearningRateSchedule:
        def get_config(self) -> dict:
            return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @dataclass(frozen=True)
    class ExponentialDecay(LearningRateSchedule):
        """``initial * decay_rate ** (step / decay_steps)`` (floored exponent with ``staircase``)."""

        initial_learning_rate: float
        decay_steps: int
        decay_rate: float
        staircase: bool = False
        name: str = "ExponentialDecay"

        def __call__(self, step):
            p = jnp.asarray(step, jnp.float32) / self.decay_steps
            return self.initial_learning_rate * self.decay_rate ** (jnp.floor(p) if self.staircase else p)

    @dataclass(frozen=True)
    class InverseTimeDecay(LearningRateSchedule):
        """``initial / (1 + decay_rate * step / decay_steps)``."""

        initial_learning_rate: float
        decay_steps: int
        decay_rate: float
        staircase: bool = False
        name: str = "InverseTimeDecay"

        def __call__(self, step):
            p = jnp.asarray(step, jnp.float32) / self.decay_steps
            return self.initial_learning_rate / (1.0 + self.decay_rate * (jnp.floor(p) if self.staircase else p))

    @dataclass(frozen=True)
    class CosineDecay(LearningRateSchedule):
        """Cosine decay from ``initial`` to ``alpha * initial`` over ``decay_steps``
        (Loshchilov and Hutter, 2017), after an optional linear warm-up."""

        initial_learning_rate: float
        decay_steps: int
        alpha: float = 0.0
        name: str = "CosineDecay"
        warmup_target: float | None = None
        warmup_steps: int = 0

        def __call__(self, step):
            step = jnp.asarray(step, jnp.float32)
            peak = self.initial_learning_rate if self.warmup_target is None else self.warmup_target
            done = jnp.clip((step - self.warmup_steps) / self.decay_steps, 0.0, 1.0)
            decayed = peak * ((1 - self.alpha) * 0.5 * (1 + jnp.cos(jnp.pi * done)) + self.alpha)
            if not self.warmup_steps:
                return decayed
            warm = self.initial_learning_rate + (peak - self.initial_learning_rate) * step / self.warmup_steps
            return jnp.where(step < self.warmup_steps, warm, decayed)

    @dataclass(frozen=True)
    class PiecewiseConstantDecay(LearningRateSchedule):
        """``values[i]`` while ``step <= boundaries[i]``, then the next value."""

        boundaries: tuple
        values: tuple
        name: str = "PiecewiseConstant"

        def __post_init__(self):
            object.__setattr__(self, "boundaries", tuple(self.boundaries))
            object.__setattr__(self, "values", tuple(self.values))
            if len(self.values) != len(self.boundaries) + 1:
                raise ValueError("PiecewiseConstantDecay needs one more value than boundaries")

        def __call__(self, step):
            index = jnp.sum(jnp.asarray(step) > jnp.asarray(self.boundaries))
            return jnp.asarray(self.values, jnp.float32)[index]

    _CLASSES = ("ExponentialDecay", "InverseTimeDecay", "CosineDecay", "PiecewiseConstantDecay")

    def serialize(self, schedule) -> dict:
        return {"class_name": type(schedule).__name__, "config": schedule.get_config()}

    def deserialize(self, config: dict):
        cls = getattr(self, config.get("class_name", ""), None)
        if cls is None or config["class_name"] not in self._CLASSES:
            raise ValueError(f"unknown learning-rate schedule {config!r}")
        return cls(**config["config"])

    def __getattr__(self, name):
        return missing_name("keras.optimizers.schedules", "schedules", self._CLASSES)(name)


schedules = _Schedules()
_CLASSES = (SGD, Adam, AdamW, RMSprop, Adagrad)
_BY_NAME = {c.__name__.lower(): c for c in _CLASSES}


def get(identifier) -> Optimizer:
    """An optimizer from a name (``'adam'``, ``'sgd'``, ``'rmsprop'``, ...,
    with Keras's defaults), a class, an instance or a config dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; valid optimizers: {', '.join(sorted(_BY_NAME))}")
        return cls()
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(str(identifier.get("class_name", "")).lower())
        if cls is None:
            raise ValueError(f"unknown optimizer config {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    raise ValueError(
        f"optimizer must be a name ({', '.join(sorted(_BY_NAME))}) or a keras.optimizers.Optimizer, got {identifier!r}"
    )


def serialize(optimizer: Optimizer) -> dict:
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


__getattr__ = missing_name("keras.optimizers", "optimizers", [c.__name__ for c in _CLASSES] + ["schedules"])
