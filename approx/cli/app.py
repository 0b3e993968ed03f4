"""The ``approx`` command: parse, call the library, print. No logic lives here.

Exit status (see :mod:`approx.errors`):

* 0 - done;
* 2 - bad input (an :class:`~approx.errors.InputError` and the library's
  other input errors): one line on stderr starting ``error:``, nothing
  compiled or written;
* 1 - anything else: a bug in approx (its traceback, then a line saying so
  and how to report it) or a failure of the system (a full disk, a file
  that vanished: its traceback and the system's message);
* 130 - Ctrl-C: finished runs are kept, a line says how to resume.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

from approx.errors import InputError, input_errors

__all__ = ["main", "sweep_settings", "experiment_settings", "CLIError", "StopRequest"]

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXPERIMENT_KEYS = ("kind", "out", "description", "lang")


class CLIError(InputError):
    """Bad input detected by the command line itself."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise CLIError(message)


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _progress(banner: str | None = None) -> Callable[[str], None]:
    """Plain progress lines on stderr (a terminal or a log alike). The banner
    is printed with the first message, so that bad input, refused before any
    work, leaves the error line alone."""
    pending = [banner] if banner else []

    def report(msg: str) -> None:
        while pending:
            _stderr(pending.pop())
        _stderr(f"  {msg}")

    return report


def _setup_jax(args) -> None:
    """Process-wide JAX settings, before any array exists (float64 is not
    one of them: the runners scope it to their computation)."""
    import jax

    if getattr(args, "distributed", False):
        from approx.processes import initialize

        initialize()
    if not getattr(args, "no_cache", False) and not os.environ.get("APPROX_NO_CACHE"):
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "approx" / "jax"
        try:
            cache.mkdir(parents=True, exist_ok=True)
            jax.config.update("jax_compilation_cache_dir", str(cache))
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.05)
            jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        except OSError:
            pass  # no cache is no error


class StopRequest:
    """Ctrl-C during a long run: the first press asks the run to stop after
    the group of runs in flight (whose rows are then written); a second
    press interrupts at once. Raising ``KeyboardInterrupt`` inside JAX's
    compiled calls can lose it, so the first press only sets a flag that the
    run checks between groups."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __call__(self) -> bool:
        return self.requested

    def _handler(self, signum, frame):
        self.requested = True
        _stderr("stopping after the runs in flight (Ctrl-C again to stop now) ...")
        signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread
            self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def _default_out(kind: str, label: str) -> Path:
    return Path("runs") / f"{kind}-{label}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


# -- sweep ---------------------------------------------------------------------
def _add_sweep_args(p: argparse.ArgumentParser) -> None:
    from approx.config import (
        ACTIVATION_CHOICES,
        INIT_CHOICES,
        OPTIMIZER_CHOICES,
        SCHEDULE_CHOICES,
        TARGET_CHOICES,
        SweepConfig,
        defaults,
    )

    d = defaults(SweepConfig)  # stated once, in the config
    p.add_argument(
        "config", nargs="?", metavar="CONFIG.toml",
        help="experiment file with sweep settings (options override it)",
    )
    p.add_argument(
        "--target", metavar="NAME|module:function",
        help=f"a target by name ({', '.join(TARGET_CHOICES)}; default {d.target}) or your function f(x: (n, d)) -> (n,) "
        "in module.py (the current folder is searched first)",
    )  # fmt: skip
    p.add_argument("--dim", type=int, metavar="D", help=f"input dimension d (default {d.dim})")
    p.add_argument(
        "--widths", metavar="1,2,4|1..256",
        help=f"hidden widths, a list or a range of powers of two (default {d.widths[0]}..{d.widths[-1]})",
    )
    p.add_argument(
        "--depth", metavar="L|1,2",
        help=f"hidden layers of the same width, one or a list (default {','.join(map(str, d.depths))})",
    )
    p.add_argument("--activation", metavar="NAME", help=f"{', '.join(ACTIVATION_CHOICES)} (default {d.activation})")
    p.add_argument(
        "--seeds", type=int, metavar="N",
        help=f"initialisations per width, seeds 0..N-1 (default {d.seeds})",
    )
    p.add_argument("--steps", type=int, metavar="S", help=f"optimiser steps per run (default {d.steps})")
    p.add_argument("--lr", type=float, metavar="LR", help=f"peak learning rate (default {d.lr:g})")
    p.add_argument("--optimizer", metavar="NAME", help=f"{', '.join(OPTIMIZER_CHOICES)} (default {d.optimizer})")
    p.add_argument("--schedule", metavar="NAME", help=f"{', '.join(SCHEDULE_CHOICES)} (default {d.schedule})")
    p.add_argument(
        "--init", metavar="|".join(INIT_CHOICES),
        help="spread: transitions spread over the cube (default); default: LeCun normal, the frameworks' choice",
    )  # fmt: skip
    p.add_argument(
        "--output-init", metavar="lstsq|none",
        help="least-squares readout before training (default) or none",
    )
    p.add_argument(
        "--train-points", type=int, metavar="N",
        help=f"uniform random training points (default {d.train_points})",
    )
    p.add_argument("--test-points", type=int, metavar="N", help=f"held-out points (default {d.test_points})")
    p.add_argument("--batch-size", type=int, metavar="B", help="minibatch size (default: full batch)")
    p.add_argument("--data-seed", type=int, metavar="N", help=f"seed of the training points (default {d.data_seed})")
    p.add_argument(
        "--bucket-ratio", type=float, metavar="R",
        help=f"widths within this ratio share one compiled program (default {d.bucket_ratio:g}; 1: one per width)",
    )  # fmt: skip
    p.add_argument("--x64", action="store_true", default=None, help="float64 throughout")
    p.add_argument("--out", metavar="DIR", help="output directory (default: runs/sweep-TARGET-TIME)")
    p.add_argument("--resume", action="store_true", help="continue a sweep in --out, skipping finished runs")
    p.add_argument(
        "--lang", choices=("en", "es"),
        help="language of the figure and the explorer page (default en; the terminal table stays in English)",
    )  # fmt: skip
    p.add_argument("--no-figure", action="store_true", help="skip the figure")
    p.add_argument(
        "--no-params", dest="save_networks", action="store_false", default=None,
        help="do not keep the trained networks (networks/*.npz; kept by default)",
    )  # fmt: skip
    keep = p.add_mutually_exclusive_group()
    keep.add_argument(
        "--snapshots", type=int, metavar="K",
        help=f"keep each network's fit and parameters at step 0 and K equally spaced steps of training, for "
        f"the explorer and approx animate (default {d.snapshots}, at most --steps; 0: none)",
    )  # fmt: skip
    keep.add_argument(
        "--no-explorer", dest="snapshots", action="store_const", const=0,
        help="keep no training snapshots and write no explorer page (the same as --snapshots 0)",
    )  # fmt: skip
    p.add_argument("--no-cache", action="store_true", help="do not use the persistent compilation cache")
    p.add_argument("--distributed", action="store_true", help="multi-host: call jax.distributed.initialize() first")


_SWEEP_FLAGS = {
    "target": "target", "dim": "dim", "activation": "activation", "seeds": "seeds", "steps": "steps",
    "lr": "lr", "optimizer": "optimizer", "schedule": "schedule", "init": "init",
    "output_init": "output_init", "train_points": "train_points", "test_points": "test_points",
    "batch_size": "batch_size", "data_seed": "data_seed", "bucket_ratio": "bucket_ratio", "x64": "x64",
    "save_networks": "save_networks", "snapshots": "snapshots",
}  # fmt: skip


def _experiment_file(path: str | None) -> dict:
    if not path:
        return {}
    from approx.config import load_toml

    return load_toml(path)


def _split_experiment(data: dict, expected_kind: str, where: str) -> tuple[dict, dict]:
    if not isinstance(data, dict):
        raise CLIError(f"{where} must hold a TOML table")
    meta = {k: data[k] for k in EXPERIMENT_KEYS if k in data}
    settings = {k: v for k, v in data.items() if k not in EXPERIMENT_KEYS}
    kind = meta.get("kind", expected_kind)
    if kind != expected_kind:
        kinds = ("sweep", *_RUN_KINDS)
        if kind not in kinds:
            raise CLIError(f"unknown experiment kind {kind!r} in {where}; valid kinds: {', '.join(kinds)}")
        raise CLIError(f"{where} is a {kind!r} experiment; run it with 'approx run {where}'")
    return meta, settings


def sweep_settings(args, data: dict | None = None, where: str | None = None):
    """The sweep's config, output directory and language from CLI options
    over an experiment file's settings. Raises ConfigError or CLIError."""
    from approx.config import ConfigError, SweepConfig, config_from_mapping

    meta, settings = experiment_settings(args, data, where, "sweep", _SWEEP_FLAGS)
    where = where or getattr(args, "config", None)
    try:
        config = config_from_mapping(SweepConfig, settings, where or "options", extra_keys=EXPERIMENT_KEYS)
    except TypeError as e:
        raise ConfigError(str(e)) from None
    out = args.out or meta.get("out")
    if out is not None and not isinstance(out, str):
        raise ConfigError(f"out must be a path, got {out!r}")
    lang = args.lang or meta.get("lang", "en")
    if lang not in ("en", "es"):
        raise ConfigError(f"unknown lang {lang!r}; valid: en, es")
    if out is None and getattr(args, "distributed", False):  # a default name carries each process's start time
        raise CLIError("--distributed needs --out: every process must name the same folder")
    out = Path(out) if out else _default_out("sweep", config.target.replace(":", "_"))
    return config, out, lang


def experiment_settings(args, data: dict | None, where: str | None, kind: str, flags: dict) -> tuple[dict, dict]:
    """An experiment file's metadata and settings (read from ``args.config``
    when ``data`` is None), overridden by the CLI options named in ``flags``
    (option attribute -> config key) and by ``--widths`` / ``--depth``."""
    from approx.config import OPTION_KEYS, parse_widths

    if data is None:
        data = _experiment_file(args.config)
        where = args.config
    meta, settings = _split_experiment(data, kind, where or "config")
    overrides = {key: getattr(args, flag, None) for flag, key in flags.items()}
    if getattr(args, "widths", None) is not None:
        overrides["widths"] = list(parse_widths(args.widths))
    if getattr(args, "depth", None) is not None:
        overrides["depths"] = list(parse_widths(args.depth, "depth"))
    overrides = {key: value for key, value in overrides.items() if value is not None}
    spelled = {alias: name for keys in OPTION_KEYS.values() for alias, (name, _) in keys.items()}
    # An option overrides the file's setting under either of its keys (depths or depth, ...).
    settings = {k: v for k, v in settings.items() if spelled.get(k, k) not in overrides} | overrides
    return meta, settings


def _cmd_sweep(args, data: dict | None = None, where: str | None = None) -> int:
    config, out, lang = sweep_settings(args, data, where)
    _setup_jax(argparse.Namespace(x64=config.x64, no_cache=args.no_cache, distributed=args.distributed))
    from approx.limits import check_sweep

    check_sweep(config)  # before the target is built, anything compiled or the folder created
    _check_target(config)

    from approx.experiments.sweep import format_table, run_sweep

    total = len(config.widths) * len(config.depths) * config.seeds
    banner = (
        f"approx sweep: {config.target} on [0,1]^{config.dim}, {config.activation}, "
        f"widths {','.join(map(str, config.widths))} x {config.seeds} seeds = {total} runs, "
        f"{config.steps} {config.optimizer} steps -> {out}"
    )
    try:
        with StopRequest() as stop:
            outcome = run_sweep(
                config, out, resume=args.resume, progress=_progress(banner), should_stop=stop,
            )
    except KeyboardInterrupt:
        if args.distributed and not _is_writer():
            _stderr(f"interrupted: stopped with the other processes; process 0 keeps the finished runs in {out}")
        else:
            _interrupted(out, "sweep")
        return EXIT_INTERRUPTED
    if args.distributed and not _is_writer():
        import jax

        print(
            f"process {jax.process_index()} of {jax.process_count()}: computed its share of {len(outcome.rows)} runs; "
            f"process 0 writes the results to {out / 'results.csv'}"
        )
        return 0
    print(format_table(outcome.summary))
    if outcome.slope is not None:
        print(f"slope of median test MSE against width (log-log, widths >= 2): {outcome.slope} (95% CI)")
    if outcome.diverged:
        print(f"{outcome.diverged} run(s) diverged (loss became NaN/Inf); they are marked diverged=true and left out of the figure")
    print(f"results: {out / 'results.csv'}")
    if not args.no_figure and outcome.rows:
        from approx.plots.sweep import plot_error_vs_width
        from approx.targets import resolve_target

        target = resolve_target(config.target, config.dim)
        for path in plot_error_vs_width(outcome.rows, out / "error_vs_width", lang=lang, target=target):
            print(f"figure: {path}")
        if config.snapshot_count:
            from approx.plots.explorer import write_explorer

            print(f"explorer: {write_explorer(out, lang=lang)}")
    print(f"time: {outcome.wall_seconds:.1f} s (compile {outcome.compile_seconds:.1f} s, train+measure {outcome.run_seconds:.1f} s)")
    return 0


def _check_target(config) -> None:
    """The target named by ``--target`` exists for ``--dim`` (a ConfigError
    otherwise). Every ValueError of :func:`approx.targets.resolve_target` is
    about the name, the module or the dimension it is given: none calls the
    target itself."""
    from approx.config import ConfigError
    from approx.targets import resolve_target

    try:
        resolve_target(config.target, config.dim)
    except InputError:
        raise
    except ValueError as e:
        raise ConfigError(_one_line(e)) from None


def _is_writer() -> bool:
    from approx.processes import is_writer

    return is_writer()


def _interrupted(out: Path, command: str) -> None:
    from approx.results import read_rows

    n = len(read_rows(out / "results.csv"))
    _stderr(f"interrupted: {n} finished run(s) kept in {out}; continue with: approx {command} ... --out {out} --resume")


# -- run -------------------------------------------------------------------------
def _cmd_run(args) -> int:
    from approx.config import load_toml

    data = load_toml(args.experiment)
    kind = data.get("kind", "sweep")
    if not isinstance(kind, str):
        raise CLIError(f"kind must be a string in {args.experiment}, got {kind!r}")
    if kind == "sweep":
        ns = _parser().parse_args(["sweep"])
        ns.out, ns.resume, ns.lang, ns.no_cache = args.out, args.resume, args.lang, args.no_cache
        ns.distributed = False
        return _cmd_sweep(ns, data, args.experiment)
    handler = _RUN_KINDS.get(kind)
    if handler is None:
        raise CLIError(f"unknown experiment kind {kind!r} in {args.experiment}; valid kinds: sweep, {', '.join(_RUN_KINDS)}")
    return handler(args, data)


_RUN_KINDS: dict[str, Callable] = {}


def register_run_kind(kind: str, handler: Callable) -> None:
    _RUN_KINDS[kind] = handler


# -- parser ----------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="approx", description="Universal approximation, measured: width sweeps of neural networks on JAX.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    p = sub.add_parser("sweep", help="error against width on a target function (default: the Cybenko demo)")
    _add_sweep_args(p)
    p.set_defaults(func=_cmd_sweep)
    p = sub.add_parser("run", help="run an experiment file, e.g. experiments/binary.toml")
    p.add_argument(
        "experiment", metavar="NAME.toml",
        help="experiment file (kind = sweep, fmnist, binary, multiclass or regression)",
    )
    p.add_argument("--out", metavar="DIR", help="output directory (default: the file's out, else runs/KIND-...-TIME)")
    p.add_argument("--resume", action="store_true", help="continue a run directory")
    p.add_argument("--lang", choices=("en", "es"), help="figure language (default: the file's lang, else en)")
    p.add_argument("--no-cache", action="store_true", help="do not use the persistent compilation cache")
    p.set_defaults(func=_cmd_run)
    for name, (add_args, func, help_text) in _EXTRA_COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        add_args(p)
        p.set_defaults(func=func)
    return parser


_EXTRA_COMMANDS: dict[str, tuple[Callable, Callable, str]] = {}


def _load_extensions() -> None:
    """Subcommands that live with their features (fmnist, figures, bench, scenarios, explore, animate)."""
    import importlib

    extensions = (
        "approx.cli.fmnist", "approx.cli.figures", "approx.cli.bench", "approx.cli.scenarios",
        "approx.cli.explore", "approx.cli.animate",
    )
    for module in extensions:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name == module:
                continue
            raise
        mod.register(_EXTRA_COMMANDS, register_run_kind)


def main(argv: Sequence[str] | None = None) -> int:
    _load_extensions()
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return args.func(args)
    except input_errors() as e:
        _stderr(f"error: {_one_line(e)}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _stderr("interrupted")
        return EXIT_INTERRUPTED
    except Exception as e:  # not the user's input: say what it is, keep the traceback
        _failure(e)
        return EXIT_FAILURE


def _one_line(e: BaseException) -> str:
    msg = str(e) or e.__class__.__name__
    return " ".join(msg.split())


def _failure(e: Exception) -> None:
    """The traceback of an unexpected exception, then one line that says
    whether it is a failure of the system (a full disk, a vanished file) or
    a bug in approx, and what to do."""
    traceback.print_exception(e, file=sys.stderr)
    what = f"{type(e).__name__}: {_one_line(e)}"
    if isinstance(e, MemoryError) or "RESOURCE_EXHAUSTED" in str(e):
        _stderr(
            f"error: out of memory ({what}). approx estimates a run's memory before it starts and should have "
            "refused this one: please report it with the command line (this is a bug in approx's estimate); "
            "smaller --widths, --train-points or --seeds will fit"
        )
    elif isinstance(e, OSError):
        _stderr(f"error: the system refused an operation ({what}); the traceback above shows where")
    else:
        _stderr(
            f"error: this is a bug in approx {_version()}, not a problem with your input ({what}); "
            "please report it with the command line and the traceback above"
        )


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("approx")
    except metadata.PackageNotFoundError:
        return "(version unknown)"


if __name__ == "__main__":
    sys.exit(main())
