"""``approx run experiments/{binary,multiclass,regression}.toml``: the course scenarios.

Registers one run kind per scenario of :mod:`approx.experiments.scenarios`; the handler
only parses, calls :func:`approx.experiments.scenarios.run_scenario`, draws with
:func:`approx.plots.scenarios.plot_scenario` and prints.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from approx.experiments.scenarios import config_for, format_metrics, run_scenario
from approx.plots.scenarios import plot_scenario
from approx.plots.style import LANGS

__all__ = ["register"]

SCENARIO_KINDS = ("binary", "multiclass", "regression")
META_KEYS = ("kind", "out", "description", "lang")


def _run(args, data: dict) -> int:
    from approx.cli.app import CLIError, _setup_jax

    kind = data["kind"]
    settings = {k: v for k, v in data.items() if k not in META_KEYS}
    config = config_for(kind, settings, args.experiment)
    for key in ("out", "description", "lang"):
        if key in data and not isinstance(data[key], str):
            raise CLIError(f"{key} in {args.experiment} must be a string, got {data[key]!r}")
    out = Path(args.out or data.get("out") or Path("runs") / f"{kind}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
    lang = args.lang or data.get("lang", "en")
    _setup_jax(args)
    if lang not in LANGS:
        raise CLIError(f"unknown language {lang!r}; valid: {', '.join(LANGS)}")
    outcome = run_scenario(kind, config, out, resume=args.resume, description=data.get("description", ""))
    if outcome.already_complete:
        print(f"{kind} run in {out} is already complete")
    figures = outcome.figures if outcome.already_complete else plot_scenario(outcome, lang=lang)
    print(format_metrics(outcome.metrics))
    print(f"metrics: {out / 'metrics.csv'}")
    print(f"history: {out / 'history.csv'}")
    for path in figures:
        print(f"figure: {path}")
    if not outcome.already_complete:
        print(f"time: {outcome.seconds:.1f} s")
    return 0


def register(extra_commands: dict, register_run_kind) -> None:
    """Adds the scenario run kinds (no extra subcommand)."""
    del extra_commands
    for kind in SCENARIO_KINDS:
        register_run_kind(kind, _run)
