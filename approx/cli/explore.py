"""``approx explore RUN_DIR [--out FILE.html] [--lang en|es]``: a sweep's offline explorer page.

Parses, calls :func:`approx.plots.explorer.write_explorer` and prints the path
written; the page lives in :mod:`approx.plots.explorer`.
"""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a sweep's output directory (approx sweep --out DIR)")
    p.add_argument("--out", metavar="FILE.html", help="the page to write (default: RUN_DIR/explorer.html)")
    p.add_argument(
        "--lang", choices=("en", "es"), default="en",
        help="the page's initial language; it switches between both (default en)",
    )  # fmt: skip
    p.add_argument("--no-cache", action="store_true", help="do not use the persistent compilation cache")


def _cmd_explore(args) -> int:
    from approx.cli.app import _setup_jax
    from approx.plots.explorer import write_explorer

    _setup_jax(args)
    print(write_explorer(args.run_dir, args.out, lang=args.lang))
    return 0


def register(extra_commands: dict, register_run_kind) -> None:
    """Adds the ``explore`` subcommand."""
    del register_run_kind
    extra_commands["explore"] = (
        _add_args, _cmd_explore, "write a sweep's interactive page (one offline HTML file: fits, units, errors)",
    )  # fmt: skip
