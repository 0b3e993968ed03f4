"""``approx animate RUN_DIR --width N [--seed S] [--depth D] [--format gif|mp4] [--units] [--lang en|es] [--out FILE]``.

Parses, calls :func:`approx.plots.animate.animate` and prints the path it wrote;
the drawing lives in :mod:`approx.plots.animate`.
"""

from __future__ import annotations

import argparse

from approx.cli.options import add_lang, add_setting
from approx.config import ANIMATION_FORMATS, SWEEP_SETTINGS, count
from approx.constraints import Options
from approx.plots.animate import animate

__all__ = ["HELP", "add_arguments", "run"]

HELP = "a movie of a sweep run's fit during training (GIF or MP4)"

# The run to animate, as the sweep names it, and the movie's format.
SETTINGS = {
    "width": SWEEP_SETTINGS["widths"].item,
    "seed": count(0),
    "depth": SWEEP_SETTINGS["depths"].item,
    "fmt": Options(ANIMATION_FORMATS),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a sweep's output directory (its networks/ keep the snapshots)")
    add_setting(p, SETTINGS, "width", "hidden width of the run to animate", metavar="N", required=True)
    add_setting(p, SETTINGS, "seed", "its seed (default 0)", metavar="S", default=0)
    add_setting(p, SETTINGS, "depth", "its number of hidden layers (default 1)", metavar="D", default=1)
    add_setting(
        p, SETTINGS, "fmt", "gif (Pillow, default) or mp4 (needs ffmpeg)", flag="--format",
        metavar="|".join(ANIMATION_FORMATS), key="format", default="gif",
    )  # fmt: skip
    p.add_argument(
        "--units", action="store_true",
        help="also draw each hidden unit's contribution a_j sigma(w_j x + b_j) (d = 1, depth 1)",
    )  # fmt: skip
    add_lang(p, "language of titles and labels (default en)", default="en")
    p.add_argument("--out", metavar="FILE", help="output file (default RUN_DIR/animation_depthD_widthN_seedS.gif)")


def run(args) -> int:
    path = animate(
        args.run_dir, args.width, args.seed, args.depth, fmt=args.fmt, units=args.units, lang=args.lang, out=args.out
    )
    print(f"animation: {path}")
    return 0
