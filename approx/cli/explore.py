"""``approx explore RUN_DIR [--out FILE.html] [--lang en|es]``: a sweep's offline explorer page.

Parses, calls :func:`approx.plots.explorer.write_explorer` and prints the path
written; the page lives in :mod:`approx.plots.explorer`.
"""

from __future__ import annotations

import argparse

from approx.cli.common import setup_jax
from approx.cli.options import add_lang, add_no_cache
from approx.plots.explorer import write_explorer

__all__ = ["HELP", "add_arguments", "run"]

HELP = "write a sweep's interactive page (one offline HTML file: fits, units, errors)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a sweep's output directory (approx sweep --out DIR)")
    p.add_argument("--out", metavar="FILE.html", help="the page to write (default: RUN_DIR/explorer.html)")
    add_lang(p, "the page's initial language; it switches between both (default en)", default="en")
    add_no_cache(p)


def run(args) -> int:
    setup_jax(cache=not args.no_cache)
    print(write_explorer(args.run_dir, args.out, lang=args.lang))
    return 0
