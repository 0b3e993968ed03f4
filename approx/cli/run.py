"""``approx run FILE.toml``: an experiment file, run by the command of its ``kind``.

``kind = "sweep"`` (the default) runs as ``approx sweep FILE.toml``,
``"fmnist"`` as ``approx fmnist FILE.toml``, and the course scenarios
(``binary``, ``multiclass``, ``regression``) by :mod:`approx.cli.scenarios`;
the file's settings are used as they are (no options besides these).
"""

from __future__ import annotations

import argparse

from approx.cli import fmnist, scenarios, sweep
from approx.cli.options import add_lang, add_no_cache, split_experiment
from approx.config import EXPERIMENT_KINDS, SCENARIO_KINDS, load_toml

__all__ = ["EXPERIMENTS", "HELP", "add_arguments", "run"]

HELP = "run an experiment file, e.g. experiments/binary.toml"

# kind -> the module whose run(args, data, where) runs a file of that kind
EXPERIMENTS = {"sweep": sweep, "fmnist": fmnist, **dict.fromkeys(SCENARIO_KINDS, scenarios)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", metavar="NAME.toml", help=f"experiment file (kind = {', '.join(EXPERIMENT_KINDS)})")
    p.add_argument("--out", metavar="DIR", help="output directory (default: the file's out, else runs/KIND-...-TIME)")
    p.add_argument("--resume", action="store_true", help="continue a run directory")
    add_lang(p, "figure language (default: the file's lang, else en)")
    add_no_cache(p)


def run(args) -> int:
    data = load_toml(args.experiment)
    meta, _ = split_experiment(data, None, args.experiment)  # the kind, checked
    return EXPERIMENTS[meta["kind"]].run(args, data, args.experiment)
