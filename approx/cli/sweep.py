"""``approx sweep``: error against width on a target function (default: the Cybenko demo).

Parses, calls :func:`approx.experiments.sweep.run_sweep`, prints the table,
then draws the figure and the explorer page (the runner draws nothing). Also
``approx run`` for experiment files with ``kind = "sweep"``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax

from approx.cli.common import (
    EXIT_INTERRUPTED,
    CLIError,
    StopRequest,
    default_out,
    interrupted,
    one_line,
    progress,
    setup_jax,
    stderr,
)  # fmt: skip
from approx.cli.options import add_lang, add_no_cache, add_setting, add_shared_settings, build_config, resolve_out
from approx.config import SWEEP_SETTINGS, ConfigError, SweepConfig, defaults
from approx.errors import InputError
from approx.experiments.sweep import SweepOutcome, format_table, run_sweep
from approx.limits import check_sweep
from approx.plots.explorer import write_explorer
from approx.plots.sweep import plot_error_vs_width
from approx.processes import is_writer
from approx.targets import resolve_target

__all__ = ["HELP", "add_arguments", "run", "sweep_settings"]

HELP = "error against width on a target function (default: the Cybenko demo)"

# option attribute -> SweepConfig field
FLAGS = {name: name for name in SWEEP_SETTINGS if name not in ("slope_scale", "max_bucket_runs")}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "config", nargs="?", metavar="CONFIG.toml",
        help="experiment file with sweep settings (options override it)",
    )  # fmt: skip
    _add_network_args(p)
    _add_data_args(p)
    _add_output_args(p)


def _add_network_args(p: argparse.ArgumentParser) -> None:
    d, t = defaults(SweepConfig), SWEEP_SETTINGS  # stated once, in the config
    add_setting(
        p, t, "target", f"a target by name ({', '.join(t['target'].values)}; default {d.target}) or your function "
        "f(x: (n, d)) -> (n,) in module.py (the current folder is searched first)", metavar="NAME|module:function",
    )  # fmt: skip
    add_setting(p, t, "dim", f"input dimension d (default {d.dim})", metavar="D")
    add_setting(
        p, t, "widths", f"hidden widths, a list or a range of powers of two (default {d.widths[0]}..{d.widths[-1]})",
        metavar="1,2,4|1..256",
    )  # fmt: skip
    add_shared_settings(p, t, d, ("depths", "activation", "seeds"))
    add_setting(p, t, "steps", f"optimiser steps per run (default {d.steps})", metavar="S")
    add_shared_settings(p, t, d, ("lr", "optimizer", "schedule"))
    add_setting(
        p, t, "init", "spread: transitions spread over the cube (default); default: LeCun normal, the frameworks' choice",
        metavar="|".join(t["init"].values),
    )  # fmt: skip
    add_setting(
        p, t, "output_init", "least-squares readout before training (default) or none",
        metavar="|".join(t["output_init"].values),
    )  # fmt: skip


def _add_data_args(p: argparse.ArgumentParser) -> None:
    d, t = defaults(SweepConfig), SWEEP_SETTINGS
    add_setting(p, t, "train_points", f"uniform random training points (default {d.train_points})", metavar="N")
    add_setting(p, t, "test_points", f"held-out points (default {d.test_points})", metavar="N")
    add_setting(p, t, "batch_size", "minibatch size (default: full batch)", metavar="B")
    add_setting(p, t, "data_seed", f"seed of the training points (default {d.data_seed})", metavar="N")
    add_setting(
        p, t, "bucket_ratio",
        f"widths within this ratio share one compiled program (default {d.bucket_ratio:g}; 1: one per width)",
        metavar="R",
    )  # fmt: skip
    p.add_argument("--x64", action="store_true", default=None, help="float64 throughout")


def _add_output_args(p: argparse.ArgumentParser) -> None:
    d, t = defaults(SweepConfig), SWEEP_SETTINGS
    p.add_argument("--out", metavar="DIR", help="output directory (default: runs/sweep-TARGET-TIME)")
    p.add_argument("--resume", action="store_true", help="continue a sweep in --out, skipping finished runs")
    add_lang(p, "language of the figure and the explorer page (default en; the terminal table stays in English)")
    p.add_argument("--no-figure", action="store_true", help="skip the figure")
    p.add_argument(
        "--no-params", dest="save_networks", action="store_false", default=None,
        help="do not keep the trained networks (networks/*.npz; kept by default)",
    )  # fmt: skip
    keep = p.add_mutually_exclusive_group()
    add_setting(
        keep, t, "snapshots", f"keep each network's fit and parameters at step 0 and K equally spaced steps of "
        f"training, for the explorer and approx animate (default {d.snapshots}, at most --steps; 0: none)",
        metavar="K",
    )  # fmt: skip
    keep.add_argument(
        "--no-explorer", dest="snapshots", action="store_const", const=0,
        help="keep no training snapshots and write no explorer page (the same as --snapshots 0)",
    )  # fmt: skip
    add_no_cache(p)
    p.add_argument("--distributed", action="store_true", help="multi-host: call jax.distributed.initialize() first")


def sweep_settings(args, data: dict | None = None, where: str | None = None) -> tuple[SweepConfig, Path, str]:
    """The sweep's config, output directory and language from the options
    over an experiment file's settings (``args.config``, or ``data`` read
    from ``where``). Raises ConfigError or CLIError."""
    config, meta = build_config(SweepConfig, args, data, where, "sweep", FLAGS)
    if not (getattr(args, "out", None) or meta.get("out")) and getattr(args, "distributed", False):
        # A default name carries each process's start time.
        raise CLIError("--distributed needs --out: every process must name the same folder")
    out, lang = resolve_out(args, meta, lambda: default_out("sweep", config.target.replace(":", "_")))
    return config, out, lang


def run(args, data: dict | None = None, where: str | None = None) -> int:
    """``approx sweep``, or ``approx run`` with the file's ``data`` (read from ``where``)."""
    config, out, lang = sweep_settings(args, data, where)
    distributed = getattr(args, "distributed", False)
    setup_jax(cache=not args.no_cache, distributed=distributed)
    check_sweep(config)  # before the target is built, anything compiled or the folder created
    _check_target(config)
    total = len(config.widths) * len(config.depths) * config.seeds
    banner = (
        f"approx sweep: {config.target} on [0,1]^{config.dim}, {config.activation}, "
        f"widths {','.join(map(str, config.widths))} x {config.seeds} seeds = {total} runs, "
        f"{config.steps} {config.optimizer} steps -> {out}"
    )
    try:
        with StopRequest() as stop:
            outcome = run_sweep(config, out, resume=args.resume, progress=progress(banner), should_stop=stop)
    except KeyboardInterrupt:
        if distributed and not is_writer():
            stderr(f"interrupted: stopped with the other processes; process 0 keeps the finished runs in {out}")
        else:
            interrupted(out, "sweep")
        return EXIT_INTERRUPTED
    if distributed and not is_writer():
        print(
            f"process {jax.process_index()} of {jax.process_count()}: computed its share of {len(outcome.rows)} runs; "
            f"process 0 writes the results to {out / 'results.csv'}"
        )
        return 0
    _report(outcome, config, out, lang, figure=not getattr(args, "no_figure", False))
    return 0


def _report(outcome: SweepOutcome, config: SweepConfig, out: Path, lang: str, *, figure: bool) -> None:
    """The table, the fitted slope, the files written; the figure and the explorer page drawn here."""
    print(format_table(outcome.summary))
    if outcome.slope is not None:
        print(f"slope of median test MSE against width (log-log, widths >= 2): {outcome.slope} (95% CI)")
    if outcome.diverged:
        print(f"{outcome.diverged} run(s) diverged (loss became NaN/Inf); they are marked diverged=true and left out of the figure")
    print(f"results: {out / 'results.csv'}")
    if figure and outcome.rows:
        target = resolve_target(config.target, config.dim)
        for path in plot_error_vs_width(outcome.rows, out / "error_vs_width", lang=lang, target=target):
            print(f"figure: {path}")
        if config.snapshot_count:
            print(f"explorer: {write_explorer(out, lang=lang)}")
    print(f"time: {outcome.wall_seconds:.1f} s (compile {outcome.compile_seconds:.1f} s, train+measure {outcome.run_seconds:.1f} s)")


def _check_target(config: SweepConfig) -> None:
    """The target named by ``--target`` exists for ``--dim`` (a ConfigError
    otherwise). Every ValueError of :func:`approx.targets.resolve_target` is
    about the name, the module or the dimension it is given: none calls the
    target itself."""
    try:
        resolve_target(config.target, config.dim)
    except InputError:
        raise
    except ValueError as e:
        raise ConfigError(one_line(e)) from None
