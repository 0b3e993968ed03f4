"""``approx animate RUN_DIR --width N [--seed S] [--depth D] [--format gif|mp4] [--units] [--lang en|es] [--out FILE]``.

Parses, calls :func:`approx.plots.animate.animate` and prints the path it wrote;
the drawing lives in :mod:`approx.plots.animate`.
"""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a sweep's output directory (its networks/ keep the snapshots)")
    p.add_argument("--width", type=int, required=True, metavar="N", help="hidden width of the run to animate")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="its seed (default 0)")
    p.add_argument("--depth", type=int, default=1, metavar="D", help="its number of hidden layers (default 1)")
    p.add_argument("--format", dest="fmt", default="gif", metavar="gif|mp4", help="gif (Pillow, default) or mp4 (needs ffmpeg)")
    p.add_argument("--units", action="store_true", help="also draw each hidden unit's contribution a_j sigma(w_j x + b_j) (d = 1, depth 1)")
    p.add_argument("--lang", choices=("en", "es"), default="en", help="language of titles and labels (default en)")
    p.add_argument("--out", metavar="FILE", help="output file (default RUN_DIR/animation_depthD_widthN_seedS.gif)")


def _cmd_animate(args) -> int:
    from approx.plots.animate import animate

    path = animate(
        args.run_dir, args.width, args.seed, args.depth, fmt=args.fmt, units=args.units, lang=args.lang, out=args.out
    )
    print(f"animation: {path}")
    return 0


def register(extra_commands: dict, register_run_kind) -> None:
    """Adds the ``animate`` subcommand."""
    del register_run_kind
    extra_commands["animate"] = (_add_args, _cmd_animate, "a movie of a sweep run's fit during training (GIF or MP4)")
