"""``approx bench``: benchmark workloads with compile and run timed apart."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path


def _add_args(p) -> None:
    p.add_argument("--workload", metavar="w1|fmnist|scaling|keras|all", default="all", help="what to time (default all)")
    p.add_argument(
        "--baseline",
        metavar="torch|keras",
        help="torch: also time an idiomatic PyTorch CPU loop (w1, fmnist); keras: also run the course programs with "
        "Keras 3 on JAX, side by side (keras); pip install 'approx[bench]'",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--quick", action="store_true", help="tiny workloads (a smoke test, not a measurement)")
    p.add_argument("--out", metavar="DIR", help="directory for the scaling figure (default: runs/bench-TIME)")
    p.add_argument(
        "--snapshots", type=int, metavar="K",
        help="w1: training snapshots kept per run (the sweep's --snapshots; default the sweep's, 40; 0: none)",
    )  # fmt: skip


def _cmd(args) -> int:
    import importlib.util

    from approx.bench.workloads import WORKLOADS, format_results, run_bench
    from approx.cli.app import CLIError

    if args.workload not in (*WORKLOADS, "all"):
        raise CLIError(f"unknown workload {args.workload!r}; valid: {', '.join(WORKLOADS)}, all")
    if args.baseline not in (None, "torch", "keras"):
        raise CLIError(f"unknown baseline {args.baseline!r}; valid: torch, keras")
    if args.baseline is not None and importlib.util.find_spec(args.baseline) is None:
        raise CLIError(f"--baseline {args.baseline} needs {args.baseline}: pip install 'approx[bench]'")
    out = Path(args.out) if args.out else Path("runs") / f"bench-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    report = (lambda msg: None) if args.json else (lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
    if args.snapshots is not None and args.snapshots < 0:
        raise CLIError(f"--snapshots must be a non-negative integer, got {args.snapshots}")
    results = run_bench(args.workload, baseline=args.baseline, quick=args.quick, out=out, report=report, snapshots=args.snapshots)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, default=str))
    else:
        print(format_results(results))
    return 0


def register(extra_commands, register_run_kind) -> None:
    extra_commands["bench"] = (_add_args, _cmd, "benchmarks: compile and run times, GFLOP/s against the machine's ceiling")
