"""The ``approx`` command: a static table of commands, each a module that
adds its options (``add_arguments(parser)``) and runs (``run(args) -> int``:
parse, one library call, print). No logic lives here.

Exit statuses are those of :mod:`approx.cli.common`: 0 done, 2 bad input
(one ``error:`` line), 1 a bug or a failure of the system (with its
traceback), 130 Ctrl-C.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from approx.cli import animate, bench, explore, figures, fmnist, run, sweep
from approx.cli.common import (
    BAD_INPUT,
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    one_line,
    report_failure,
    stderr,
)
from approx.cli.options import Parser

__all__ = ["COMMANDS", "main", "parser"]

# name -> module with HELP, add_arguments(parser) and run(args) -> int, in the order of ``approx --help``.
COMMANDS = {
    "sweep": sweep,
    "run": run,
    "fmnist": fmnist,
    "figures": figures,
    "bench": bench,
    "explore": explore,
    "animate": animate,
}


def parser() -> Parser:
    """The ``approx`` parser with every command of :data:`COMMANDS`."""
    top = Parser(prog="approx", description="Universal approximation, measured: width sweeps of neural networks on JAX.")
    sub = top.add_subparsers(dest="command", parser_class=Parser)
    for name, command in COMMANDS.items():
        command.add_arguments(sub.add_parser(name, help=command.HELP))
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``approx`` with ``argv`` (default: the process's arguments) and returns the exit status."""
    top = parser()
    try:
        args = top.parse_args(argv)
        if args.command is None:
            top.print_help()
            return 0
        return COMMANDS[args.command].run(args)
    except BAD_INPUT as e:
        stderr(f"error: {one_line(e)}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        stderr("interrupted")
        return EXIT_INTERRUPTED
    except Exception as e:  # not the user's input: say what it is, keep the traceback
        report_failure(e)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
