"""``approx bench``: benchmark workloads with compile and run timed apart.

Parses, calls :func:`approx.bench.workloads.run_bench` and prints its table
(or JSON).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

from approx.bench.workloads import BASELINES, WORKLOADS, format_results, run_bench
from approx.cli.common import CLIError, default_out, stderr
from approx.cli.options import add_setting
from approx.config import SWEEP_SETTINGS
from approx.constraints import Optional, Options

__all__ = ["HELP", "add_arguments", "run"]

HELP = "benchmarks: compile and run times, GFLOP/s against the machine's ceiling"

SETTINGS = {
    "workload": Options((*WORKLOADS, "all")),
    "baseline": Optional(Options(tuple(BASELINES))),
    "snapshots": SWEEP_SETTINGS["snapshots"],  # the sweep's
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_setting(
        p, SETTINGS, "workload", "what to time (default all)", metavar="|".join(SETTINGS["workload"].values), default="all",
    )  # fmt: skip
    add_setting(
        p, SETTINGS, "baseline",
        "torch: also time an idiomatic PyTorch CPU loop (w1, fmnist); keras: also run the course programs with "
        "Keras 3 on JAX, side by side (keras); pip install 'approx[bench]'", metavar="|".join(BASELINES),
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--quick", action="store_true", help="tiny workloads (a smoke test, not a measurement)")
    p.add_argument("--out", metavar="DIR", help="directory for the scaling figure (default: runs/bench-TIME)")
    add_setting(
        p, SETTINGS, "snapshots",
        "w1: training snapshots kept per run (the sweep's --snapshots; default the sweep's, 40; 0: none)", metavar="K",
    )  # fmt: skip


def run(args) -> int:
    if args.baseline is not None and importlib.util.find_spec(args.baseline) is None:
        raise CLIError(f"--baseline {args.baseline} needs {args.baseline}: pip install 'approx[bench]'")
    out = Path(args.out) if args.out else default_out("bench")
    report = (lambda msg: None) if args.json else (lambda msg: stderr(f"  {msg}"))
    results = run_bench(args.workload, baseline=args.baseline, quick=args.quick, out=out, report=report, snapshots=args.snapshots)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, default=str))
    else:
        print(format_results(results))
    return 0
