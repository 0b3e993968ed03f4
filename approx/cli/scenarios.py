"""``approx run experiments/{binary,multiclass,regression}.toml``: the course scenarios.

Parses the file, calls :func:`approx.experiments.scenarios.run_scenario`,
draws with :func:`approx.plots.scenarios.plot_scenario` and prints what it
measured and wrote.
"""

from __future__ import annotations

from approx.cli.common import default_out, setup_jax
from approx.cli.options import resolve_out, split_experiment
from approx.experiments.scenarios import config_for, format_metrics, run_scenario

from approx.plots.scenarios import plot_scenario

__all__ = ["run"]


def run(args, data: dict, where: str) -> int:
    """``approx run`` with a scenario's file (``kind`` binary, multiclass or regression)."""
    meta, settings = split_experiment(data, None, where)
    kind = meta["kind"]
    config = config_for(kind, settings, where)
    out, lang = resolve_out(args, meta, lambda: default_out(kind))
    setup_jax(cache=not args.no_cache)
    outcome = run_scenario(kind, config, out, resume=args.resume, description=meta.get("description", ""))
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
