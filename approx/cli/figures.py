"""``approx figures [--out DIR] [--lang en|es] [--refresh] [--only 1,4]``: the lecture figures.

Parses, calls :func:`approx.plots.lecture.build_figures` and prints what it
wrote; the figures and their cache live in :mod:`approx.plots.lecture`.
"""

from __future__ import annotations

import argparse

from approx.cli.common import CLIError, progress, setup_jax
from approx.cli.options import add_lang, add_no_cache
from approx.plots.lecture import build_figures, select_figures

__all__ = ["HELP", "add_arguments", "run"]

HELP = "regenerate the lecture figures (PNG + PDF, en or es)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", default="figures", help="output directory (default: figures)")
    add_lang(p, "language of titles, labels and legends (default en)", default="en")
    p.add_argument("--refresh", action="store_true", help="recompute cached results instead of reusing them")
    p.add_argument("--only", metavar="1,4", help="figure numbers to build (default: all, 1..10)")
    p.add_argument("--cache-dir", metavar="DIR", help="cache of computed results (default: ~/.cache/approx/figures)")
    p.add_argument(
        "--fmnist-results", metavar="DIR",
        help="Fashion-MNIST run directory for figure 9 (default: runs/fmnist-width if it holds results, "
        "else a short built-in run)",
    )  # fmt: skip
    p.add_argument("--quick", action="store_true", help="tiny computations, for tests: the figures teach nothing")
    add_no_cache(p)


def _parse_only(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        numbers = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise CLIError(f"--only must be figure numbers like 1,4, got {text!r}") from None
    if not numbers:
        raise CLIError(f"--only must name at least one figure, got {text!r}")
    try:
        select_figures(numbers)  # validates before any work
    except ValueError as e:  # select_figures checks the numbers and nothing else
        raise CLIError(str(e)) from None
    return numbers


def run(args) -> int:
    only = _parse_only(args.only)
    try:
        figures = select_figures(only)  # validates before any work
    except ValueError as e:  # select_figures checks the numbers and nothing else
        raise CLIError(str(e)) from None
    setup_jax(cache=not args.no_cache)
    banner = f"approx figures: {len(figures)} figure(s), {args.lang} -> {args.out}"
    report = build_figures(
        args.out,
        args.lang,
        args.refresh,
        only=only,
        quick=args.quick,
        cache_dir=args.cache_dir,
        fmnist_results=args.fmnist_results,
        progress=progress(banner),
    )
    for path in report.paths:
        print(f"figure: {path}")
    for number, reason in report.skipped.items():
        print(f"skipped figure {number}: {reason}")
    per_figure = ", ".join(f"{n}: {s:.1f}" for n, s in report.seconds.items())
    print(f"time: {sum(report.seconds.values()):.1f} s" + (f" ({per_figure})" if per_figure else ""))
    return 0
