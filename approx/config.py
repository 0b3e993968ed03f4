"""Experiment configurations: small frozen dataclasses, validated on creation.

A config is built from keyword arguments, from a TOML table or from CLI
options; whatever the source, unknown keys, wrong types and out-of-range
values raise :class:`ConfigError` (an :class:`~approx.errors.InputError`,
so a ``ValueError``) naming the bad value and what is allowed, before
anything is compiled. Integer settings are bounded by what an int32 holds
inside the compiled programs (steps, seeds, widths, point counts); whether a
whole run fits the machine is :mod:`approx.limits`'s to say.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Mapping

from approx.errors import InputError

__all__ = [
    "ConfigError",
    "SweepConfig",
    "FMNISTConfig",
    "DEFAULT_WIDTHS",
    "config_from_mapping",
    "config_keys",
    "defaults",
    "OPTION_KEYS",
    "load_toml",
    "parse_widths",
    "RESULT_NEUTRAL_KEYS",
    "MAX_SNAPSHOTS",
    "TARGET_CHOICES",
]

# The catalogue of approx.targets (tested equal to its TARGET_NAMES): named
# here so that checking a config needs no JAX.
TARGET_CHOICES = ("sine", "nielsen", "kink", "step", "bump", "sawtooth", "ridge", "teacher")
ACTIVATION_CHOICES = ("sigmoid", "tanh", "relu", "gelu", "sin", "cos_squasher", "softplus", "elu")
OPTIMIZER_CHOICES = ("adam", "adamw", "sgd", "momentum", "nesterov", "rmsprop", "adagrad", "lbfgs")
SCHEDULE_CHOICES = ("constant", "cosine", "warmup_cosine")
INIT_CHOICES = ("spread", "default")
OUTPUT_INIT_CHOICES = ("lstsq", "none")
DEFAULT_WIDTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
# Keys that change how a sweep is scheduled or what it keeps, but not its
# numbers; resuming with a different value is allowed.
# (snapshots: the trained numbers are bit-identical with and without them, tests/test_sweep.py.)
RESULT_NEUTRAL_KEYS = frozenset({"bucket_ratio", "max_bucket_runs", "save_networks", "snapshots"})


# Counters, seeds, widths and point counts are int32 inside the compiled
# programs (a step counter, a seed folded into a key, an index bound).
INT32_MAX = 2**31 - 1


class ConfigError(InputError):
    """A bad configuration value; the message names it and what is allowed."""


def _positive_int(name, value, minimum=1, maximum=INT32_MAX):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value > maximum:
        raise ConfigError(f"{name} must be an integer in {minimum}..{maximum} (an int32 in the compiled program), got {value!r}")


def _positive_float(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value or value == float("inf"):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")


def _choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; valid: {', '.join(choices)}")


def _widths(name, value):
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or not value:
        raise ConfigError(f"{name} must be a non-empty list of integers >= 1, got {value!r}")
    for w in value:
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise ConfigError(f"{name} must be integers >= 1, got {w!r}")
        if w > INT32_MAX:
            raise ConfigError(f"{name} must be integers in 1..{INT32_MAX} (an int32 in the compiled program), got {w!r}")
    if len(set(value)) != len(value):
        raise ConfigError(f"{name} has repeated values: {list(value)}")


# Snapshots of a run: each keeps the fit on the plotting points and every
# parameter of the network in its file, so K + 1 of them make the file K + 1
# times the network's size (plus the fits); a movie needs a few hundred frames at most.
MAX_SNAPSHOTS = 1000
# The default count, capped at a run's steps (a 20-step sweep keeps 20);
# a count given explicitly must be at most the steps.
DEFAULT_SNAPSHOTS = 40


def _snapshots(value, steps):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"snapshots must be a non-negative integer (0: none), got {value!r}")
    if value > MAX_SNAPSHOTS:
        raise ConfigError(
            f"snapshots must be at most {MAX_SNAPSHOTS}, got {value}: each one keeps the fit and every parameter "
            "in each saved network's file (a movie needs a few hundred frames at most)"
        )
    if isinstance(steps, int) and value > steps and value != DEFAULT_SNAPSHOTS:
        raise ConfigError(f"snapshots must be at most steps ({steps}): one snapshot per step at most, got {value}")


@dataclass(frozen=True)
class SweepConfig:
    """A width sweep on a target function over ``[0, 1]^dim``.

    Defaults are the Cybenko demo: a sigmoid network with one hidden layer
    fit to the 1-D ``sine`` target for widths 1..256, four seeds each.
    """

    target: str = "sine"  # a name in approx.targets, or module:function
    dim: int = 1  # input dimension d
    widths: tuple[int, ...] = DEFAULT_WIDTHS  # hidden widths n
    depths: tuple[int, ...] = (1,)  # hidden layers, each of width n
    activation: str = "sigmoid"  # hidden activation
    seeds: int = 4  # initialisations per width: seeds 0..seeds-1
    steps: int = 3000  # full-batch optimiser steps
    lr: float = 1e-2  # peak learning rate
    optimizer: str = "adam"
    schedule: str = "cosine"  # learning rate decays to 0 over the run
    init: str = "spread"  # 'spread' (transitions spread over the cube) or 'default' (LeCun)
    output_init: str = "lstsq"  # least-squares readout before training, or 'none'
    slope_scale: float = 1.0  # slope of the spread init at width 1, grows as n^(1/d)
    train_points: int = 1024  # uniform random training points
    test_points: int = 4096  # held-out points: a midpoint grid for d <= 2
    batch_size: int | None = None  # None: full batch
    data_seed: int = 0  # seed of the training points
    x64: bool = False  # float64 throughout
    bucket_ratio: float = 2.0  # widths within this ratio share a compiled program
    max_bucket_runs: int = 0  # > 0 caps the runs trained together in one program
    save_networks: bool = True  # keep each run's trained network in networks/ (.npz); False for huge sweeps
    snapshots: int = DEFAULT_SNAPSHOTS  # fits and parameters kept at K + 1 steps of training with each network (0: none; at most steps)

    def __post_init__(self):
        if not isinstance(self.target, str) or not self.target:
            raise ConfigError(f"target must be a name or module:function, got {self.target!r}")
        if ":" not in self.target:
            _choice("target", self.target, TARGET_CHOICES)
        _positive_int("dim", self.dim)
        _widths("widths", self.widths)
        _widths("depths", self.depths)
        _choice("activation", self.activation, ACTIVATION_CHOICES)
        _positive_int("seeds", self.seeds)
        _positive_int("steps", self.steps)
        _positive_float("lr", self.lr)
        _choice("optimizer", self.optimizer, OPTIMIZER_CHOICES)
        _choice("schedule", self.schedule, SCHEDULE_CHOICES)
        _choice("init", self.init, INIT_CHOICES)
        _choice("output_init", self.output_init, OUTPUT_INIT_CHOICES)
        _positive_float("slope_scale", self.slope_scale)
        _positive_int("train_points", self.train_points, 2)
        _positive_int("test_points", self.test_points, 2)
        if self.batch_size is not None:
            _positive_int("batch_size", self.batch_size)
        _positive_int("data_seed", self.data_seed, 0)
        if not isinstance(self.x64, bool):
            raise ConfigError(f"x64 must be true or false, got {self.x64!r}")
        if isinstance(self.bucket_ratio, bool) or not isinstance(self.bucket_ratio, (int, float)) or self.bucket_ratio < 1:
            raise ConfigError(f"bucket_ratio must be a number >= 1, got {self.bucket_ratio!r}")
        _positive_int("max_bucket_runs", self.max_bucket_runs, 0)
        if not isinstance(self.save_networks, bool):
            raise ConfigError(f"save_networks must be true or false, got {self.save_networks!r}")
        _snapshots(self.snapshots, self.steps)

    @property
    def snapshot_count(self) -> int:
        """Snapshots each run keeps: ``snapshots``, the default capped at
        ``steps``; none when the networks are not saved (they live in the
        network files)."""
        return min(self.snapshots, self.steps) if self.save_networks else 0

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


@dataclass(frozen=True)
class FMNISTConfig:
    """A width (and depth) sweep of MLPs on Fashion-MNIST.

    The defaults train 784-256-10 sigmoid networks with Adam and a cosine
    schedule on standardised pixels (see approx.experiments.fmnist for the measurements
    behind them).
    """

    widths: tuple[int, ...] = (256,)  # hidden widths n
    depths: tuple[int, ...] = (1,)  # hidden layers, each of width n
    activation: str = "sigmoid"  # hidden activation; the output is a softmax
    seeds: int = 1  # initialisations per (depth, width): seeds 0..seeds-1
    epochs: int = 5  # passes over the training set
    batch_size: int = 128  # examples per minibatch (the last one of an epoch may be smaller)
    lr: float = 4e-3  # peak learning rate (measured best of 1e-3..1e-2 for 5 epochs)
    optimizer: str = "adam"
    schedule: str = "cosine"  # learning rate decays to 0 over the run
    weight_decay: float = 0.0  # decoupled with adamw, L2 otherwise
    standardize: bool = True  # pixels scaled to zero mean, unit variance (train statistics)
    label_smoothing: float = 0.0  # targets (1 - a) one_hot + a / 10
    data_dir: str | None = None  # None: the standard sources (approx.data.fashion_mnist)
    train_subset: int = 0  # > 0: train on the first N training examples only (quick runs, tests)
    test_subset: int = 0  # > 0: test on the first N test examples only
    train_eval_examples: int = 10000  # training examples evaluated after each epoch (0: all)
    x64: bool = False  # float64 throughout

    def __post_init__(self):
        _widths("widths", self.widths)
        _widths("depths", self.depths)
        _choice("activation", self.activation, ACTIVATION_CHOICES)
        _positive_int("seeds", self.seeds)
        _positive_int("epochs", self.epochs)
        _positive_int("batch_size", self.batch_size)
        _positive_float("lr", self.lr)
        _choice("optimizer", self.optimizer, tuple(o for o in OPTIMIZER_CHOICES if o != "lbfgs"))
        _choice("schedule", self.schedule, SCHEDULE_CHOICES)
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) or not 0 <= self.weight_decay < float("inf"):
            raise ConfigError(f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}")
        if not isinstance(self.standardize, bool):
            raise ConfigError(f"standardize must be true or false, got {self.standardize!r}")
        ls = self.label_smoothing
        if isinstance(ls, bool) or not isinstance(ls, (int, float)) or not 0 <= ls < 1:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {ls!r}")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ConfigError(f"data_dir must be a path, got {self.data_dir!r}")
        _positive_int("train_subset", self.train_subset, 0)
        _positive_int("test_subset", self.test_subset, 0)
        _positive_int("train_eval_examples", self.train_eval_examples, 0)
        if not isinstance(self.x64, bool):
            raise ConfigError(f"x64 must be true or false, got {self.x64!r}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _coerce(name: str, annotation, value, where: str = "config"):
    """Checks a TOML value against a field's annotation (lists become tuples,
    a single integer a tuple of one: ``depth = 2`` as ``--depth 2``).

    Annotations are strings here (``from __future__ import annotations``).
    """
    ann = str(annotation)
    if ann.startswith("tuple"):
        if isinstance(value, int) and not isinstance(value, bool):
            return (value,)
        if not isinstance(value, list):
            raise ConfigError(f"{name} must be a list of integers or one integer, got {value!r} (in {where})")
        return tuple(value)
    if ann == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r} (in {where})")
        return float(value)
    if ann == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer, got {value!r} (in {where})")
        return value
    if ann == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r} (in {where})")
        return value
    if ann == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, got {value!r} (in {where})")
        return value
    return value


def _negated(name: str, value, where: str):
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r} (in {where})")
    return not value


def _explorer(name: str, value, where: str):
    """``explorer = false`` (or ``no_explorer = true``): no snapshots; true: the default number."""
    keep = not _negated(name, value, where) if name == "explorer" else _negated(name, value, where)
    return SweepConfig.snapshots if keep else 0


# Keys accepted besides the field names: a command-line option's own spelling
# with underscores (``--depth 2`` -> ``depth = 2``, ``--no-standardize`` ->
# ``no_standardize = true``), as key -> (field, conversion of the value or None).
OPTION_KEYS: dict[type, dict[str, tuple[str, Any]]] = {
    SweepConfig: {
        "depth": ("depths", None),
        "no_params": ("save_networks", _negated),
        "explorer": ("snapshots", _explorer),
        "no_explorer": ("snapshots", _explorer),
    },
    FMNISTConfig: {"depth": ("depths", None), "no_standardize": ("standardize", _negated)},
}


def defaults(cls) -> SimpleNamespace:
    """The default of every field of a config class, as attributes (no validation, no JAX)."""
    return SimpleNamespace(**{f.name: f.default for f in fields(cls)})


def config_keys(cls) -> tuple[str, ...]:
    """Every key :func:`config_from_mapping` accepts for ``cls``: its fields and their option spellings."""
    return tuple(f.name for f in fields(cls)) + tuple(OPTION_KEYS.get(cls, {}))


def _valid_keys(cls, extra_keys: tuple[str, ...]) -> str:
    aliases: dict[str, list[str]] = {}
    for key, (name, _) in OPTION_KEYS.get(cls, {}).items():
        aliases.setdefault(name, []).append(key)
    listed = [f.name + (f" (or {', '.join(aliases[f.name])})" if f.name in aliases else "") for f in fields(cls)]
    return ", ".join([*extra_keys, *listed])


def config_from_mapping(cls, mapping: Mapping[str, Any], where: str = "config", *, extra_keys: tuple[str, ...] = ()):
    """Builds ``cls`` from a mapping, refusing unknown keys and wrong types.

    Keys are the field names or the option spellings of :data:`OPTION_KEYS`
    (one of them per setting). ``extra_keys`` are listed as valid in the
    message about unknown keys (an experiment file's ``kind``, ``out``, ...:
    the caller has taken them out of ``mapping``).
    """
    known = {f.name: f for f in fields(cls)}
    aliases = OPTION_KEYS.get(cls, {})
    unknown = sorted(k for k in mapping if k not in known and k not in aliases)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} in {where}; valid keys: {_valid_keys(cls, extra_keys)}")
    kwargs: dict[str, Any] = {}
    given: dict[str, str] = {}
    for key, value in mapping.items():
        name, convert = aliases.get(key, (key, None))
        if name in given:
            raise ConfigError(f"{given[name]} and {key} in {where} both set {name}; give one of them")
        given[name] = key
        kwargs[name] = convert(key, value, where) if convert else _coerce(key, known[name].type, value, where)
    return cls(**kwargs)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Reads a TOML file; a missing or malformed file is a ConfigError."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {str(path)!r} is a directory") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {str(path)!r} is not valid UTF-8 TOML") from None


def parse_widths(text: str, name: str = "widths") -> tuple[int, ...]:
    """``"1,2,4"`` -> ``(1, 2, 4)``; ``"1..256"`` -> powers of two from 1 to 256."""
    text = text.strip()
    try:
        if ".." in text:
            lo, hi = (int(t) for t in text.split(".."))
            if lo < 1 or hi < lo:
                raise ValueError
            out, w = [], lo
            while w <= hi:
                out.append(w)
                w *= 2
            return tuple(out)
        values = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ConfigError(f"{name} must be integers like 1,2,4 or a range 1..256, got {text!r}") from None
    _widths(name, values)
    return values

