"""``approx fmnist``: the Fashion-MNIST width sweep from the command line.

Registered by :func:`register` (see ``approx.cli.app._load_extensions``); also the
handler of ``approx run`` for experiment files with ``kind = "fmnist"``.
Parse, call :func:`approx.experiments.fmnist.run_fmnist`, print: no logic lives here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from approx.cli.app import (
    EXIT_INTERRUPTED,
    EXPERIMENT_KEYS,
    CLIError,
    StopRequest,
    _default_out,
    _interrupted,
    _progress,
    _setup_jax,
    _stderr,
    experiment_settings,
)

__all__ = ["register"]

# flag attribute -> FMNISTConfig field
_FLAGS = {
    "activation": "activation", "seeds": "seeds", "epochs": "epochs", "batch_size": "batch_size",
    "lr": "lr", "optimizer": "optimizer", "schedule": "schedule", "weight_decay": "weight_decay",
    "label_smoothing": "label_smoothing", "standardize": "standardize", "data_dir": "data_dir",
    "subset": "train_subset", "test_subset": "test_subset", "x64": "x64",
}  # fmt: skip
_FLOAT_KEYS = ("lr", "weight_decay", "label_smoothing")


def _add_args(p: argparse.ArgumentParser) -> None:
    from approx.config import ACTIVATION_CHOICES, OPTIMIZER_CHOICES, SCHEDULE_CHOICES, FMNISTConfig, defaults

    d = defaults(FMNISTConfig)  # stated once, in the config
    optimizers = ", ".join(o for o in OPTIMIZER_CHOICES if o != "lbfgs")
    p.add_argument(
        "config", nargs="?", metavar="CONFIG.toml",
        help="experiment file with settings (options override it)",
    )
    p.add_argument(
        "--widths", metavar="64,256|16..2048",
        help=f"hidden widths, a list or a range of powers of two (default {','.join(map(str, d.widths))})",
    )
    p.add_argument(
        "--depth", metavar="L|1,2",
        help=f"hidden layers of the same width, one or a list (default {','.join(map(str, d.depths))})",
    )
    p.add_argument(
        "--activation", metavar="NAME",
        help=f"hidden activation: {', '.join(ACTIVATION_CHOICES)} (default {d.activation})",
    )
    p.add_argument("--epochs", type=int, metavar="E", help=f"passes over the training set (default {d.epochs})")
    p.add_argument("--batch-size", type=int, metavar="B", help=f"minibatch size (default {d.batch_size})")
    p.add_argument("--lr", type=float, metavar="LR", help=f"peak learning rate (default {d.lr:g})")
    p.add_argument(
        "--seeds", type=int, metavar="N",
        help=f"initialisations per width, seeds 0..N-1 (default {d.seeds})",
    )
    p.add_argument("--optimizer", metavar="NAME", help=f"{optimizers} (default {d.optimizer})")
    p.add_argument("--schedule", metavar="NAME", help=f"{', '.join(SCHEDULE_CHOICES)} (default {d.schedule})")
    p.add_argument(
        "--weight-decay", type=float, metavar="WD",
        help=f"weight decay, decoupled with adamw (default {d.weight_decay:g})",
    )
    p.add_argument(
        "--label-smoothing", type=float, metavar="A", help=f"label smoothing in [0, 1) (default {d.label_smoothing:g})"
    )
    p.add_argument(
        "--no-standardize", dest="standardize", action="store_false", default=None,
        help="raw pixels in [0, 1] (default: standardised per pixel with the training set's statistics)",
    )  # fmt: skip
    p.add_argument(
        "--data-dir", metavar="DIR",
        help="directory with the four Fashion-MNIST files (default: $APPROX_DATA_DIR, "
        "/usr/share/datasets/fashion-mnist, ~/.cache/approx/fashion-mnist, else a download into the latter)",
    )
    p.add_argument("--out", metavar="DIR", help="output directory (default: runs/fmnist-ACTIVATION-TIME)")
    p.add_argument("--resume", action="store_true", help="continue a run in --out, skipping finished runs")
    p.add_argument(
        "--lang", choices=("en", "es"), help="language of the figures (default en; the terminal table stays in English)"
    )
    p.add_argument("--no-figure", action="store_true", help="skip the figures")
    p.add_argument("--no-cache", action="store_true", help="do not use the persistent compilation cache")
    p.add_argument("--x64", action="store_true", default=None, help="float64 throughout")
    # Quick runs and tests: the first N training / test examples only.
    p.add_argument("--subset", type=int, help=argparse.SUPPRESS)
    p.add_argument("--test-subset", type=int, help=argparse.SUPPRESS)


def _cmd_fmnist(args, data: dict | None = None, where: str | None = None) -> int:
    from approx.config import ConfigError, FMNISTConfig, config_from_mapping

    meta, settings = experiment_settings(args, data, where, "fmnist", _FLAGS)
    where = where or getattr(args, "config", None)
    for key in _FLOAT_KEYS:  # TOML's 1 is an int; a rate is a number either way
        if isinstance(settings.get(key), int) and not isinstance(settings[key], bool):
            settings[key] = float(settings[key])
    try:
        config = config_from_mapping(FMNISTConfig, settings, where or "options", extra_keys=EXPERIMENT_KEYS)
    except TypeError as e:
        raise ConfigError(str(e)) from None
    out = args.out or meta.get("out")
    if out is not None and not isinstance(out, str):
        raise ConfigError(f"out must be a path, got {out!r}")
    out = Path(out or _default_out("fmnist", config.activation))
    lang = args.lang or meta.get("lang", "en")
    if lang not in ("en", "es"):
        raise ConfigError(f"unknown lang {lang!r}; valid: en, es")
    _setup_jax(argparse.Namespace(x64=config.x64, no_cache=args.no_cache, distributed=False))

    from approx.data import load_fashion_mnist
    from approx.experiments.fmnist import format_table, run_fmnist
    from approx.limits import check_fmnist

    check_fmnist(config)  # a LimitError (exit 2) before the data are read
    dataset = load_fashion_mnist(config.data_dir)  # a DataError (exit 2) before anything compiles
    subsets = (("--subset", config.train_subset, len(dataset.y_train)), ("--test-subset", config.test_subset, len(dataset.y_test)))
    for name, value, available in subsets:
        if value > available:
            raise CLIError(f"{name} must be at most {available} (the examples in the data set), got {value}")
    total = len(config.widths) * len(config.depths) * config.seeds
    _stderr(
        f"approx fmnist: {config.activation} MLPs, depth {','.join(map(str, config.depths))}, "
        f"widths {','.join(map(str, config.widths))} x {config.seeds} seed(s) = {total} runs, "
        f"{config.epochs} epochs of batch {config.batch_size}, {config.optimizer} lr {config.lr:g} -> {out}"
    )
    try:
        with StopRequest() as stop:  # Ctrl-C: stop after the group of runs in flight
            outcome = run_fmnist(
                config, out, resume=args.resume, progress=_progress(), dataset=dataset, should_stop=stop,
            )  # fmt: skip
    except KeyboardInterrupt:
        _interrupted(out, "fmnist")
        return EXIT_INTERRUPTED
    print(format_table(outcome.summary))
    if outcome.diverged:
        print(f"{outcome.diverged} run(s) diverged (loss became NaN/Inf); they are marked diverged=true")
    print(f"results: {out / 'results.csv'}")
    print(f"history: {out / 'history.csv'}")
    if not getattr(args, "no_figure", False) and outcome.rows:
        from approx.plots.fmnist import plot_fmnist

        for path in plot_fmnist(out, lang=lang, dataset=dataset, test_subset=config.test_subset):
            print(f"figure: {path}")
    print(
        f"time: {outcome.wall_seconds:.1f} s (compile {outcome.compile_seconds:.1f} s, "
        f"train {outcome.run_seconds:.1f} s, evaluate {outcome.eval_seconds:.1f} s)"
    )
    return 0


def _run_kind(args, data: dict) -> int:
    """``approx run FILE.toml`` with ``kind = "fmnist"``: the file's settings, no flags."""
    ns = _parser_defaults()
    ns.out, ns.resume, ns.lang, ns.no_cache = args.out, args.resume, args.lang, args.no_cache
    return _cmd_fmnist(ns, data, args.experiment)


def _parser_defaults() -> argparse.Namespace:
    p = argparse.ArgumentParser(add_help=False)
    _add_args(p)
    return p.parse_args([])


def register(extra_commands: dict, register_run_kind) -> None:
    help_text = "MLPs of growing width on Fashion-MNIST (accuracy against width)"
    extra_commands["fmnist"] = (_add_args, _cmd_fmnist, help_text)
    register_run_kind("fmnist", _run_kind)
