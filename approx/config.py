"""Experiment configurations: small frozen dataclasses, validated on creation.

A config is built from keyword arguments, from a TOML table or from CLI
options; whatever the source, unknown keys, wrong types and out-of-range
values raise :class:`ConfigError` (an :class:`~approx.errors.InputError`,
so a ``ValueError``) naming the bad value and what is allowed, before
anything is compiled. What each setting may be is declared once, in the
tables below (:data:`SWEEP_SETTINGS`, :data:`FMNIST_SETTINGS`,
:data:`EXPERIMENT_SETTINGS`, with the constraints of :mod:`approx.constraints`):
the configs, the TOML loader and the command line's options all use them.
Integer settings are bounded by what an int32 holds inside the compiled
programs (steps, seeds, widths, point counts); whether a whole run fits the
machine is :mod:`approx.limits`'s to say.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from approx.constraints import (
    Boolean,
    ConfigError,
    Constraint,
    Interval,
    Optional,
    Options,
    Sizes,
    Snapshots,
    Target,
    Text,
    check_fields,
)

__all__ = [
    "ACTIVATION_CHOICES",
    "ANIMATION_FORMATS",
    "DEFAULT_WIDTHS",
    "EXPERIMENT_KEYS",
    "EXPERIMENT_KINDS",
    "EXPERIMENT_SETTINGS",
    "FMNIST_SETTINGS",
    "LANGS",
    "MAX_SNAPSHOTS",
    "MINIBATCH_OPTIMIZERS",
    "OPTIMIZER_CHOICES",
    "OPTION_KEYS",
    "RESULT_NEUTRAL_KEYS",
    "SCENARIO_KINDS",
    "SCHEDULE_CHOICES",
    "SWEEP_SETTINGS",
    "TARGET_CHOICES",
    "ConfigError",
    "FMNISTConfig",
    "SweepConfig",
    "config_from_mapping",
    "config_keys",
    "count",
    "defaults",
    "load_toml",
    "parse_widths",
]

# The catalogue of approx.targets (tested equal to its TARGET_NAMES): named
# here so that checking a config needs no JAX.
TARGET_CHOICES = ("sine", "nielsen", "kink", "step", "bump", "sawtooth", "ridge", "teacher")
ACTIVATION_CHOICES = ("sigmoid", "tanh", "relu", "gelu", "sin", "cos_squasher", "softplus", "elu")
OPTIMIZER_CHOICES = ("adam", "adamw", "sgd", "momentum", "nesterov", "rmsprop", "adagrad", "lbfgs")
# Minibatch training (Fashion-MNIST, the course scenarios): L-BFGS needs the full batch.
MINIBATCH_OPTIMIZERS = tuple(o for o in OPTIMIZER_CHOICES if o != "lbfgs")
SCHEDULE_CHOICES = ("constant", "cosine", "warmup_cosine")
INIT_CHOICES = ("spread", "default")
OUTPUT_INIT_CHOICES = ("lstsq", "none")
LANGS = ("en", "es")  # the languages of figures, pages and movies
ANIMATION_FORMATS = ("gif", "mp4")
# What ``kind`` an experiment file may declare: a sweep, Fashion-MNIST or a course scenario.
SCENARIO_KINDS = ("binary", "multiclass", "regression")
EXPERIMENT_KINDS = ("sweep", "fmnist", *SCENARIO_KINDS)
DEFAULT_WIDTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
# Keys that change how a sweep is scheduled or what it keeps, but not its
# numbers; resuming with a different value is allowed.
# (snapshots: the trained numbers are bit-identical with and without them, tests/test_sweep.py.)
RESULT_NEUTRAL_KEYS = frozenset({"bucket_ratio", "max_bucket_runs", "save_networks", "snapshots"})


# Counters, seeds, widths and point counts are int32 inside the compiled
# programs (a step counter, a seed folded into a key, an index bound).
INT32_MAX = 2**31 - 1
# Snapshots of a run: each keeps the fit on the plotting points and every
# parameter of the network in its file, so K + 1 of them make the file K + 1
# times the network's size (plus the fits); a movie needs a few hundred frames at most.
MAX_SNAPSHOTS = 1000
# The default count, capped at a run's steps (a 20-step sweep keeps 20);
# a count given explicitly must be at most the steps.
DEFAULT_SNAPSHOTS = 40


def count(low: int = 1) -> Interval:
    """An integer from ``low`` that the compiled programs hold in an int32."""
    return Interval(int, low, INT32_MAX, why="an int32 in the compiled program")


SIZES = Sizes(count(1))  # widths and depths
POSITIVE = Interval(float, 0, None, closed="neither")

# Every setting of an experiment file besides its config's: what it may be.
EXPERIMENT_SETTINGS: dict[str, Constraint] = {
    "kind": Options(EXPERIMENT_KINDS),
    "out": Text("a path", empty=False),
    "description": Text(),
    "lang": Options(LANGS),
}
EXPERIMENT_KEYS = tuple(EXPERIMENT_SETTINGS)

# A sweep's settings, in the order of SweepConfig's fields.
SWEEP_SETTINGS: dict[str, Constraint] = {
    "target": Target(TARGET_CHOICES),
    "dim": count(1),
    "widths": SIZES,
    "depths": SIZES,
    "activation": Options(ACTIVATION_CHOICES),
    "seeds": count(1),
    "steps": count(1),
    "lr": POSITIVE,
    "optimizer": Options(OPTIMIZER_CHOICES),
    "schedule": Options(SCHEDULE_CHOICES),
    "init": Options(INIT_CHOICES),
    "output_init": Options(OUTPUT_INIT_CHOICES),
    "slope_scale": POSITIVE,
    "train_points": count(2),
    "test_points": count(2),
    "batch_size": Optional(count(1)),
    "data_seed": count(0),
    "x64": Boolean(),
    "bucket_ratio": Interval(float, 1, None),
    "max_bucket_runs": count(0),
    "save_networks": Boolean(),
    "snapshots": Snapshots(
        int,
        0,
        MAX_SNAPSHOTS,
        why="each one keeps the fit and every parameter in each saved network's file "
        "(a movie needs a few hundred frames at most)",
    ),
}

# Fashion-MNIST's settings, in the order of FMNISTConfig's fields.
FMNIST_SETTINGS: dict[str, Constraint] = {
    "widths": SIZES,
    "depths": SIZES,
    "activation": Options(ACTIVATION_CHOICES),
    "seeds": count(1),
    "epochs": count(1),
    "batch_size": count(1),
    "lr": POSITIVE,
    "optimizer": Options(MINIBATCH_OPTIMIZERS),
    "schedule": Options(SCHEDULE_CHOICES),
    "weight_decay": Interval(float, 0, None),
    "standardize": Boolean(),
    "label_smoothing": Interval(float, 0, 1, closed="left"),
    "data_dir": Optional(Text("a path", empty=False)),
    "train_subset": count(0),
    "test_subset": count(0),
    "train_eval_examples": count(0),
    "x64": Boolean(),
}


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

    SETTINGS = SWEEP_SETTINGS  # what each field may be (not a field: no annotation)

    def __post_init__(self):
        check_fields(self, self.SETTINGS)
        if self.snapshots > self.steps and self.snapshots != DEFAULT_SNAPSHOTS:
            raise ConfigError(f"snapshots must be at most steps ({self.steps}): one snapshot per step at most, got {self.snapshots}")

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

    SETTINGS = FMNIST_SETTINGS  # what each field may be (not a field: no annotation)

    def __post_init__(self):
        check_fields(self, self.SETTINGS)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


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
        kwargs[name] = convert(key, value, where) if convert else cls.SETTINGS[name].coerce(key, value, where)
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
    return SIZES.parse(text, name)
