"""``approx fmnist``: the Fashion-MNIST width sweep from the command line.

Parses, calls :func:`approx.experiments.fmnist.run_fmnist`, prints the table,
then draws the figures (the runner draws nothing). Also ``approx run`` for
experiment files with ``kind = "fmnist"``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from approx.cli.common import (
    EXIT_INTERRUPTED,
    CLIError,
    StopRequest,
    default_out,
    interrupted,
    progress,
    setup_jax,
    stderr,
)
from approx.cli.options import add_lang, add_no_cache, add_setting, add_shared_settings, build_config, resolve_out
from approx.config import FMNIST_SETTINGS, FMNISTConfig, defaults
from approx.data import FashionMNIST, load_fashion_mnist
from approx.experiments.fmnist import FMNISTOutcome, format_table, run_fmnist
from approx.limits import check_fmnist
from approx.plots.fmnist import plot_fmnist

__all__ = ["HELP", "add_arguments", "fmnist_settings", "run"]

HELP = "MLPs of growing width on Fashion-MNIST (accuracy against width)"

# option attribute -> FMNISTConfig field (--subset sets train_subset)
FLAGS = {name: name for name in FMNIST_SETTINGS if name != "train_eval_examples"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    d, t = defaults(FMNISTConfig), FMNIST_SETTINGS  # stated once, in the config
    p.add_argument(
        "config", nargs="?", metavar="CONFIG.toml",
        help="experiment file with settings (options override it)",
    )  # fmt: skip
    add_setting(
        p, t, "widths", f"hidden widths, a list or a range of powers of two (default {','.join(map(str, d.widths))})",
        metavar="64,256|16..2048",
    )  # fmt: skip
    add_shared_settings(p, t, d, ("depths", "activation"))
    add_setting(p, t, "epochs", f"passes over the training set (default {d.epochs})", metavar="E")
    add_setting(p, t, "batch_size", f"minibatch size (default {d.batch_size})", metavar="B")
    add_shared_settings(p, t, d, ("lr", "seeds", "optimizer", "schedule"))
    add_setting(p, t, "weight_decay", f"weight decay, decoupled with adamw (default {d.weight_decay:g})", metavar="WD")
    add_setting(p, t, "label_smoothing", f"label smoothing in [0, 1) (default {d.label_smoothing:g})", metavar="A")
    p.add_argument(
        "--no-standardize", dest="standardize", action="store_false", default=None,
        help="raw pixels in [0, 1] (default: standardised per pixel with the training set's statistics)",
    )  # fmt: skip
    add_setting(
        p, t, "data_dir", "directory with the four Fashion-MNIST files (default: $APPROX_DATA_DIR, "
        "/usr/share/datasets/fashion-mnist, ~/.cache/approx/fashion-mnist, else a download into the latter)",
        metavar="DIR",
    )  # fmt: skip
    p.add_argument("--out", metavar="DIR", help="output directory (default: runs/fmnist-ACTIVATION-TIME)")
    p.add_argument("--resume", action="store_true", help="continue a run in --out, skipping finished runs")
    add_lang(p, "language of the figures (default en; the terminal table stays in English)")
    p.add_argument("--no-figure", action="store_true", help="skip the figures")
    add_no_cache(p)
    p.add_argument("--x64", action="store_true", default=None, help="float64 throughout")
    # Quick runs and tests: the first N training / test examples only.
    add_setting(p, t, "train_subset", argparse.SUPPRESS, flag="--subset")
    add_setting(p, t, "test_subset", argparse.SUPPRESS)


def fmnist_settings(args, data: dict | None = None, where: str | None = None) -> tuple[FMNISTConfig, Path, str]:
    """The run's config, output directory and language from the options over
    an experiment file's settings. Raises ConfigError or CLIError."""
    config, meta = build_config(FMNISTConfig, args, data, where, "fmnist", FLAGS)
    out, lang = resolve_out(args, meta, lambda: default_out("fmnist", config.activation))
    return config, out, lang


def run(args, data: dict | None = None, where: str | None = None) -> int:
    """``approx fmnist``, or ``approx run`` with the file's ``data`` (read from ``where``)."""
    config, out, lang = fmnist_settings(args, data, where)
    setup_jax(cache=not args.no_cache)
    check_fmnist(config)  # a LimitError (exit 2) before the data are read
    dataset = load_fashion_mnist(config.data_dir)  # a DataError (exit 2) before anything compiles
    _check_subsets(config, dataset)
    total = len(config.widths) * len(config.depths) * config.seeds
    stderr(
        f"approx fmnist: {config.activation} MLPs, depth {','.join(map(str, config.depths))}, "
        f"widths {','.join(map(str, config.widths))} x {config.seeds} seed(s) = {total} runs, "
        f"{config.epochs} epochs of batch {config.batch_size}, {config.optimizer} lr {config.lr:g} -> {out}"
    )
    try:
        with StopRequest() as stop:  # Ctrl-C: stop after the group of runs in flight
            outcome = run_fmnist(config, out, resume=args.resume, progress=progress(), dataset=dataset, should_stop=stop)
    except KeyboardInterrupt:
        interrupted(out, "fmnist")
        return EXIT_INTERRUPTED
    _report(outcome, config, dataset, out, lang, figures=not getattr(args, "no_figure", False))
    return 0


def _check_subsets(config: FMNISTConfig, dataset: FashionMNIST) -> None:
    subsets = (
        ("--subset", "train_subset", config.train_subset, len(dataset.y_train)),
        ("--test-subset", "test_subset", config.test_subset, len(dataset.y_test)),
    )
    for flag, key, value, available in subsets:
        if value > available:
            raise CLIError(f"{flag} ({key}) must be at most {available} (the examples in the data set), got {value}")


def _report(outcome: FMNISTOutcome, config: FMNISTConfig, dataset, out: Path, lang: str, *, figures: bool) -> None:
    """The table, the files written; the figures drawn here."""
    print(format_table(outcome.summary))
    if outcome.diverged:
        print(f"{outcome.diverged} run(s) diverged (loss became NaN/Inf); they are marked diverged=true")
    print(f"results: {out / 'results.csv'}")
    print(f"history: {out / 'history.csv'}")
    if figures and outcome.rows:
        for path in plot_fmnist(out, lang=lang, dataset=dataset, test_subset=config.test_subset):
            print(f"figure: {path}")
    print(
        f"time: {outcome.wall_seconds:.1f} s (compile {outcome.compile_seconds:.1f} s, "
        f"train {outcome.run_seconds:.1f} s, evaluate {outcome.eval_seconds:.1f} s)"
    )
