"""What a setting may be: types, ranges and choices, declared once.

In the manner of scikit-learn's ``_parameter_constraints``: each setting of a
config, of an experiment file and of the Keras front's arguments is declared
as one constraint object (``Interval(int, 1, None)``, ``Options(("en", "es"))``,
...). The same object checks a value (:meth:`check`, raising
:class:`ConfigError` with a one-line message naming the setting, the bad value
and what is allowed), converts a TOML value (:meth:`coerce`) and a
command-line string (:meth:`parse`), and describes itself for help texts
(:meth:`describe`). The config tables live in :mod:`approx.config`.

This module imports nothing heavy (no JAX), so every layer can use it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from approx.errors import InputError

__all__ = [
    "Boolean",
    "ConfigError",
    "Constraint",
    "Interval",
    "Optional",
    "Options",
    "Sizes",
    "Snapshots",
    "Target",
    "Text",
    "check_fields",
]


class ConfigError(InputError):
    """A bad configuration value; the message names it and what is allowed."""


class Constraint:
    """One setting's rule. ``check`` raises ConfigError; ``coerce`` takes a
    TOML value (``where`` names the file); ``parse`` a command-line string."""

    def check(self, name: str, value: Any) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def coerce(self, name: str, value: Any, where: str) -> Any:
        return value

    def parse(self, text: str) -> Any:
        return text


def _is_int(value, kind=int) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


@dataclass(frozen=True)
class Interval(Constraint):
    """An integer (``kind`` ``int``, or ``numbers.Integral`` to accept NumPy's)
    or a finite real number (``float``) between ``low`` and ``high``
    (``None``: unbounded). ``closed`` says which ends belong to it, as in
    scikit-learn: ``"both"``, ``"left"``, ``"right"`` or ``"neither"``
    (integers: always both). ``why`` explains the upper bound."""

    kind: type
    low: float | None
    high: float | None = None
    closed: str = "both"
    why: str = ""

    @property
    def integer(self) -> bool:
        return self.kind in (int, numbers.Integral)

    def describe(self) -> str:
        if self.integer:
            if self.high is None:
                return f"an integer >= {self.low}"
            return f"an integer in {self.low}..{self.high}" + (f" ({self.why})" if self.why else "")
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.high is None:
            return f"a number {'>=' if left else '>'} {self.low:g}"
        return f"a number in {'[' if left else '('}{self.low:g}, {self.high:g}{']' if right else ')'}"

    def contains(self, value) -> bool:
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        above = self.low is None or (value >= self.low if left or self.integer else value > self.low)
        below = self.high is None or (value <= self.high if right or self.integer else value < self.high)
        return above and below

    def check(self, name: str, value) -> None:
        if self.integer:
            if not _is_int(value, numbers.Integral if self.kind is numbers.Integral else int):
                raise ConfigError(f"{name} must be an integer >= {self.low}, got {value!r}")
            if not self.contains(value):  # below: the lower bound says it all; above: the range and why
                low_only = self.low is not None and value < self.low
                raise ConfigError(f"{name} must be {f'an integer >= {self.low}' if low_only else self.describe()}, got {value!r}")
            return
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not self.contains(value) or not math.isfinite(value):
            what = self.describe()
            if isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isfinite(value):
                what = what.replace("a number", "a finite number")
            raise ConfigError(f"{name} must be {what}, got {value!r}")

    def coerce(self, name: str, value, where: str):
        if self.integer:
            if not _is_int(value):
                raise ConfigError(f"{name} must be an integer, got {value!r} (in {where})")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r} (in {where})")
        return float(value)  # TOML's 1 is an int; a rate is a number either way

    def parse(self, text: str):
        return int(text) if self.integer else float(text)


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of names."""

    values: tuple[str, ...]

    def describe(self) -> str:
        return ", ".join(self.values)

    def check(self, name: str, value) -> None:
        if not isinstance(value, str) or value not in self.values:
            raise ConfigError(f"unknown {name} {value!r}; valid: {self.describe()}")

    def coerce(self, name: str, value, where: str):
        return Text().coerce(name, value, where)


@dataclass(frozen=True)
class Target(Options):
    """A target by name, or ``module:function`` (the user's own)."""

    def describe(self) -> str:
        return f"{super().describe()}, or module:function"

    def check(self, name: str, value) -> None:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{name} must be a name or module:function, got {value!r}")
        if ":" not in value:
            super().check(name, value)


class _Plain(Constraint):
    """A value of one plain type, taken from a TOML file as it is; ``what``
    names what is allowed in messages."""

    what = ""

    def accepts(self, value) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        return self.what

    def check(self, name: str, value) -> None:
        if not self.accepts(value):
            raise ConfigError(f"{name} must be {self.what}, got {value!r}")

    def coerce(self, name: str, value, where: str):
        if not self.accepts(value):
            raise ConfigError(f"{name} must be {self.what}, got {value!r} (in {where})")
        return value


@dataclass(frozen=True)
class Boolean(_Plain):
    what = "true or false"

    def accepts(self, value) -> bool:
        return isinstance(value, bool)


@dataclass(frozen=True)
class Text(_Plain):
    """A string: a path, a description. ``what`` names it in messages; with
    ``empty=False`` (a path) it may not be blank."""

    what: str = "a string"
    empty: bool = True

    def accepts(self, value) -> bool:
        return isinstance(value, str) and (self.empty or bool(value.strip()))


@dataclass(frozen=True)
class Optional(Constraint):
    """``None`` (the default that means "not set"), or a value of ``inner``."""

    inner: Constraint

    def describe(self) -> str:
        return self.inner.describe()

    def check(self, name: str, value) -> None:
        if value is not None:
            self.inner.check(name, value)

    def coerce(self, name: str, value, where: str):
        return self.inner.coerce(name, value, where)

    def parse(self, text: str):
        return self.inner.parse(text)


@dataclass(frozen=True)
class Sizes(Constraint):
    """A non-empty list of distinct integers in ``item`` (widths, depths);
    from the command line ``1,2,4`` or a range of powers of two ``1..256``.
    One integer in a TOML file is a list of one (``depth = 2``)."""

    item: Interval

    def describe(self) -> str:
        return f"a non-empty list of integers >= {self.item.low}"

    def check(self, name: str, value) -> None:
        if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or not value:
            raise ConfigError(f"{name} must be {self.describe()}, got {value!r}")
        for v in value:
            try:
                self.item.check(name, v)
            except ConfigError as e:  # "widths must be integers >= 1, got 0"
                raise ConfigError(str(e).replace(" must be an integer ", " must be integers ", 1)) from None
        if len(set(value)) != len(value):
            raise ConfigError(f"{name} has repeated values: {list(value)}")

    def coerce(self, name: str, value, where: str):
        if _is_int(value):
            return (value,)
        if not isinstance(value, (list, tuple)):  # a tuple: an option's value
            raise ConfigError(f"{name} must be a list of integers or one integer, got {value!r} (in {where})")
        return tuple(value)

    def parse(self, text: str, name: str = "widths") -> tuple[int, ...]:
        text = text.strip()
        try:
            if ".." in text:
                lo, hi = (int(t) for t in text.split(".."))
                if lo < 1 or hi < lo:
                    raise ValueError
                values, w = [], lo
                while w <= hi:
                    values.append(w)
                    w *= 2
                values = tuple(values)
            else:
                values = tuple(int(t) for t in text.split(",") if t.strip())
        except ValueError:
            raise ConfigError(f"{name} must be integers like 1,2,4 or a range 1..256, got {text!r}") from None
        self.check(name, values)
        return values


@dataclass(frozen=True)
class Snapshots(Interval):
    """How many training snapshots a run keeps: ``0`` (none) to ``high``; its
    bound by the run's steps is checked by the config, which knows them."""

    def describe(self) -> str:
        return f"an integer in {self.low}..{self.high} (0: none)"

    def check(self, name: str, value) -> None:
        if not _is_int(value) or value < 0:
            raise ConfigError(f"{name} must be a non-negative integer (0: none), got {value!r}")
        if value > self.high:
            raise ConfigError(f"{name} must be at most {self.high}, got {value}: {self.why}")


def check_fields(obj, table: Mapping[str, Constraint]) -> None:
    """Checks every field of a config ``obj`` named in ``table``, in order."""
    for name, constraint in table.items():
        constraint.check(name, getattr(obj, name))
