"""Regenerates the measured numbers quoted in README.md.

Every number the README states as measured (outside the performance section,
whose figures come from ``approx bench`` as described there) sits between two
markers, ``<!--n:NAME-->value<!--/n-->``, next to the command that produced
it. This script runs each command once (``python -m approx`` of this
checkout, into a temporary folder, figures off unless timed), reads its
``results.csv``, prints each claim with its command and value, and with
``--write`` replaces the values in README.md. Run it when the code changes::

    python scripts/readme_numbers.py                  # run everything and print
    python scripts/readme_numbers.py --write          # ... and update README.md
    python scripts/readme_numbers.py --only fmnist    # the commands whose name starts with fmnist
    python scripts/readme_numbers.py --skip-long      # leave out the 30-epoch run (about 6 minutes on 2 cores)
    python scripts/readme_numbers.py --list           # the claims and commands, without running anything

On 2 CPU cores the sweeps and the 5-epoch Fashion-MNIST runs take 20 to 40 s
each, the 30-epoch run about 6 minutes: about 10 minutes in all. Numbers
are bit-identical on the same machine, backend and device count; another
machine may differ in the last digits. Timings are single measurements on a
machine whose speed drifts; the timed command runs with a cold compilation
cache (APPROX_NO_CACHE=1), as a first run would.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MARKER = re.compile(r"<!--n:(?P<name>[a-z0-9_]+)-->(?P<value>.*?)<!--/n-->")


@dataclass(frozen=True)
class Command:
    """A command exactly as the README prints it, plus how the script runs it."""

    name: str
    args: str  # after "approx"
    figure: bool = False  # keep the figure (timed commands time what a user runs)
    long: bool = False  # left out by --skip-long
    repeat: int = 1  # runs, for a timing stated as a range (the numbers repeat bit for bit)

    @property
    def argv(self) -> tuple[str, ...]:
        return tuple(self.args.split())

    @property
    def text(self) -> str:
        return f"approx {self.args}"


@dataclass(frozen=True)
class Claim:
    """A number in the README: ``value(rows, seconds)`` formats it from a
    command's rows and the wall times of its runs."""

    marker: str
    command: str  # a Command name
    value: Callable[[list[dict], list[float]], str]
    cpu: bool = False  # value() gets the CPU times instead of the wall times


def _f(row: dict, key: str) -> float:
    return float(row[key])


def _median(rows: list[dict], key: str, **where) -> float:
    values = [_f(r, key) for r in rows if all(r[k] == str(v) for k, v in where.items())]
    if not values:
        raise ValueError(f"no rows with {where}")
    return statistics.median(values)


def _sci(x: float) -> str:
    return f"{x:.1e}"


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _accuracy(seed: int, width: int = 256) -> Callable[[list[dict], list[float]], str]:
    return lambda rows, s: _pct(_median(rows, "test_accuracy", seed=seed, width=width))


def _init_cell(width: int) -> Callable[[list[dict], list[float]], str]:
    return lambda rows, s: _sci(_median(rows, "test_mse", width=width))


def _seconds(rows: list[dict], seconds: list[float]) -> str:
    lo, hi = round(min(seconds)), round(max(seconds))
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def _plateau(rows: list[dict], seconds: list[float]) -> str:
    medians = [_median(rows, "test_mse", width=w) for w in (4, 8, 16, 32, 64, 128, 256)]
    return f"{_sci(min(medians))} and {_sci(max(medians))}"


COMMANDS = {
    c.name: c
    for c in (
        Command("sweep_demo", "sweep", figure=True, repeat=3),
        Command("sweep_frameworks", "sweep --init default --output-init none --schedule constant"),
        Command("sweep_init_spread", "sweep --widths 1,16,64,256 --steps 2000"),
        Command(
            "sweep_init_default",
            "sweep --widths 1,16,64,256 --steps 2000 --init default --output-init none --schedule constant",
        ),
        Command("fmnist_default", "fmnist --widths 256 --epochs 5"),
        Command("fmnist_seeds", "fmnist --widths 256 --epochs 5 --seeds 3"),
        Command("fmnist_plain", "fmnist --widths 256 --epochs 5 --lr 1e-3 --schedule constant --no-standardize"),
        Command("fmnist_wide", "fmnist --widths 2048 --epochs 30 --lr 2e-3", long=True),
    )
}

CLAIMS = (
    Claim("sweep_demo_seconds", "sweep_demo", _seconds),
    Claim("sweep_demo_cpu", "sweep_demo", _seconds, cpu=True),
    Claim("frameworks_plateau", "sweep_frameworks", _plateau),
    *(Claim(f"init_spread_{w}", "sweep_init_spread", _init_cell(w)) for w in (1, 16, 64, 256)),
    *(Claim(f"init_default_{w}", "sweep_init_default", _init_cell(w)) for w in (1, 16, 64, 256)),
    Claim("fmnist_default", "fmnist_default", _accuracy(0)),
    *(Claim(f"fmnist_seed{k}", "fmnist_seeds", _accuracy(k)) for k in range(3)),
    Claim("fmnist_plain", "fmnist_plain", _accuracy(0)),
    Claim("fmnist_wide", "fmnist_wide", _accuracy(0, 2048)),
    Claim("fmnist_wide_minutes", "fmnist_wide", lambda rows, s: f"{min(s) / 60:.0f}"),
    Claim("fmnist_wide_cpu_minutes", "fmnist_wide", lambda rows, s: f"{min(s) / 60:.0f}", cpu=True),
)


def run_command(command: Command, workdir: Path) -> tuple[list[dict], float, float]:
    """Runs ``python -m approx`` of this checkout; returns the rows, the wall
    time and the CPU time (user + system) of the command."""
    out = Path(tempfile.mkdtemp(prefix=command.name + "-", dir=workdir)) / "run"
    argv = [sys.executable, "-m", "approx", *command.argv, "--out", str(out)]
    if not command.figure:
        argv.append("--no-figure")
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    if command.figure:  # the timed command: a first run, with nothing compiled yet
        env["APPROX_NO_CACHE"] = "1"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"{command.text} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    with (out / "results.csv").open(newline="") as f:
        return list(csv.DictReader(f)), seconds, cpu


def update_readme(text: str, values: dict[str, str]) -> str:
    """``text`` with the value of every marker named in ``values`` replaced."""

    def swap(m: re.Match) -> str:
        name = m["name"]
        return f"<!--n:{name}-->{values[name]}<!--/n-->" if name in values else m[0]

    return MARKER.sub(swap, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md with the new values")
    parser.add_argument("--only", help="run only the commands whose name starts with this")
    parser.add_argument("--skip-long", action="store_true", help="leave out the long runs")
    parser.add_argument("--list", action="store_true", help="print the claims and commands, run nothing")
    args = parser.parse_args(argv)

    wanted = [
        c
        for c in COMMANDS.values()
        if (not args.only or c.name.startswith(args.only)) and not (args.skip_long and c.long)
    ]
    if args.list:
        for claim in CLAIMS:
            print(f"{claim.marker:22} {COMMANDS[claim.command].text}")
        return 0
    values: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="readme-numbers-") as tmp:
        for command in wanted:
            print(f"running: {command.text}", file=sys.stderr, flush=True)
            seconds, cpu = [], []
            for _ in range(command.repeat):
                rows, s, c = run_command(command, Path(tmp))
                seconds.append(s)
                cpu.append(c)
                print(f"  {s:.1f} s ({c:.1f} s of CPU time)", file=sys.stderr, flush=True)
            for claim in CLAIMS:
                if claim.command == command.name:
                    values[claim.marker] = claim.value(rows, cpu if claim.cpu else seconds)
                    print(f"{claim.marker:22} {values[claim.marker]:>20}   {command.text}", flush=True)
    if args.write:
        old = README.read_text()
        missing = sorted(set(values) - {m["name"] for m in MARKER.finditer(old)})
        if missing:
            raise SystemExit(f"README.md has no marker for: {', '.join(missing)}")
        README.write_text(update_readme(old, values))
        print(f"updated {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
