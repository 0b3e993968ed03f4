"""Options and experiment files: the command line's side of the settings tables.

Every option that sets a config field takes its type, range and choices
from the field's constraint in :mod:`approx.config` (one declaration for the
config, the TOML file and the option), so a bad value is refused while the
command line is parsed, in the constraint's words. An experiment file's
settings are overridden by the options given.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from approx.cli.common import CLIError, OptionError
from approx.config import (
    EXPERIMENT_KEYS,
    EXPERIMENT_KINDS,
    EXPERIMENT_SETTINGS,
    LANGS,
    OPTION_KEYS,
    ConfigError,
    config_from_mapping,
    load_toml,
)
from approx.constraints import Constraint, Interval, Sizes

__all__ = [
    "SHARED_OPTIONS",
    "Parser",
    "add_shared_settings",
    "add_lang",
    "add_no_cache",
    "add_setting",
    "argument_type",
    "build_config",
    "experiment_settings",
    "resolve_out",
    "split_experiment",
]


class Parser(argparse.ArgumentParser):
    """argparse, with a bad command line as one ``error:`` line (exit 2), not a usage dump."""

    def error(self, message):
        raise CLIError(message)


def argument_type(name: str, constraint: Constraint) -> Callable[[str], Any]:
    """An argparse ``type`` from a setting's constraint: the text converted
    and checked, a bad value refused with the constraint's message (the same
    as from a config or an experiment file)."""

    def convert(text: str):
        try:
            value = constraint.parse(text, name) if isinstance(constraint, Sizes) else constraint.parse(text)
            constraint.check(name, value)
        except ConfigError as e:
            raise OptionError(str(e)) from None
        return value  # a ValueError above (int("x")): argparse says "invalid int value: 'x'"

    inner = getattr(constraint, "inner", constraint)
    convert.__name__ = ("int" if inner.integer else "float") if isinstance(inner, Interval) else "value"
    return convert


def add_setting(parser, table: Mapping[str, Constraint], name: str, help: str, *, flag: str | None = None,
                metavar: str | None = None, key: str | None = None, **extra) -> None:  # fmt: skip
    """``--name`` for the setting ``name`` of ``table``: its type and checks
    from the table, ``{choices}`` in ``help`` replaced by what it allows.
    ``key``: the setting's name in messages when the option sets another
    spelling (``--depth`` sets ``depths``); ``extra``: more of argparse's
    keywords (``default``, ``required``)."""
    constraint = table[name]
    parser.add_argument(
        flag or "--" + name.replace("_", "-"),
        dest=name,
        type=argument_type(key or name, constraint),
        metavar=metavar,
        help=help.replace("{choices}", constraint.describe()),
        **extra,
    )


# The options that the sweep and Fashion-MNIST share: name -> (help, metavar, flag);
# {default} and {choices} are filled in from the config's defaults and table.
SHARED_OPTIONS = {
    "depths": ("hidden layers of the same width, one or a list (default {default})", "L|1,2", "--depth"),
    "activation": ("hidden activation: {choices} (default {default})", "NAME", None),
    "seeds": ("initialisations per width, seeds 0..N-1 (default {default})", "N", None),
    "lr": ("peak learning rate (default {default})", "LR", None),
    "optimizer": ("{choices} (default {default})", "NAME", None),
    "schedule": ("{choices} (default {default})", "NAME", None),
}


def add_shared_settings(parser, table: Mapping[str, Constraint], defaults, names: tuple[str, ...]) -> None:
    """The options of :data:`SHARED_OPTIONS` named in ``names``, with the command's table and defaults."""
    for name in names:
        help, metavar, flag = SHARED_OPTIONS[name]
        default = getattr(defaults, name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else format(default, "g" if isinstance(default, float) else "")
        key = flag[2:] if flag else None  # --depth's messages say depth
        add_setting(parser, table, name, help.replace("{default}", shown), flag=flag, metavar=metavar, key=key)


def add_lang(parser, help: str, default: str | None = None) -> None:
    """``--lang en|es``: the language of figures, pages and movies."""
    parser.add_argument("--lang", choices=LANGS, default=default, help=help)


def add_no_cache(parser) -> None:
    parser.add_argument("--no-cache", action="store_true", help="do not use the persistent compilation cache")


def split_experiment(data: Mapping[str, Any], expected_kind: str | None, where: str) -> tuple[dict, dict]:
    """An experiment file's metadata (``kind``, ``out``, ``description``,
    ``lang``: checked against :data:`approx.config.EXPERIMENT_SETTINGS`) and
    its settings. A file of another kind than ``expected_kind`` is refused
    with the command that runs it."""
    if not isinstance(data, Mapping):
        raise CLIError(f"{where} must hold a TOML table")
    meta = {k: data[k] for k in EXPERIMENT_KEYS if k in data}
    settings = {k: v for k, v in data.items() if k not in EXPERIMENT_KEYS}
    kind = meta.setdefault("kind", expected_kind or "sweep")
    if kind not in EXPERIMENT_KINDS:
        raise CLIError(f"unknown experiment kind {kind!r} in {where}; valid kinds: {', '.join(EXPERIMENT_KINDS)}")
    if expected_kind is not None and kind != expected_kind:
        raise CLIError(f"{where} is a {kind!r} experiment; run it with 'approx run {where}'")
    for key, value in meta.items():
        try:
            EXPERIMENT_SETTINGS[key].check(key, value)
        except ConfigError as e:
            raise ConfigError(f"{e} (in {where})") from None
    return meta, settings


def experiment_settings(args, data: Mapping | None, where: str | None, kind: str, flags: Mapping[str, str]):
    """An experiment file's metadata and settings (read from ``args.config``
    when ``data`` is None), overridden by the options named in ``flags``
    (option attribute -> config key)."""
    if data is None:
        where = getattr(args, "config", None)
        data = load_toml(where) if where else {}
    meta, settings = split_experiment(data, kind, where or "config")
    overrides = {key: getattr(args, flag, None) for flag, key in flags.items()}
    overrides = {key: value for key, value in overrides.items() if value is not None}
    spelled = {alias: name for keys in OPTION_KEYS.values() for alias, (name, _) in keys.items()}
    # An option overrides the file's setting under either of its keys (depths or depth, ...).
    settings = {k: v for k, v in settings.items() if spelled.get(k, k) not in overrides} | overrides
    return meta, settings


def build_config(cls, args, data: Mapping | None, where: str | None, kind: str, flags: Mapping[str, str]):
    """The config ``cls`` of an experiment file with the options over it, and the file's metadata."""
    meta, settings = experiment_settings(args, data, where, kind, flags)
    where = where or getattr(args, "config", None)
    return config_from_mapping(cls, settings, where or "options", extra_keys=EXPERIMENT_KEYS), meta


def resolve_out(args, meta: Mapping, default: Callable[[], Path]) -> tuple[Path, str]:
    """The output folder (``--out``, the file's ``out``, else ``default()``)
    and the language (``--lang``, the file's ``lang``, else English)."""
    out = getattr(args, "out", None) or meta.get("out")
    lang = getattr(args, "lang", None) or meta.get("lang", "en")
    return Path(out) if out else default(), lang
