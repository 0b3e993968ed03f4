"""What every command shares: exit statuses, error lines, progress, Ctrl-C,
output folders, JAX's process-wide settings.

Exit status (see :mod:`approx.errors`):

* 0 - done;
* 2 - bad input (an :class:`~approx.errors.InputError` and the library's
  other input errors): one line on stderr starting ``error:``, nothing
  compiled or written;
* 1 - anything else: a bug in approx (its traceback, then a line saying so
  and how to report it) or a failure of the system (a full disk, a file
  that vanished: its traceback and the system's message);
* 130 - Ctrl-C: finished runs are kept, a line says how to resume.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from importlib import metadata
from pathlib import Path

from approx.errors import InputError
from approx.processes import initialize
from approx.results import read_rows

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "BAD_INPUT",
    "CLIError",
    "OptionError",
    "StopRequest",
    "default_out",
    "interrupted",
    "one_line",
    "progress",
    "report_failure",
    "setup_jax",
    "stderr",
]

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class CLIError(InputError):
    """Bad input detected by the command line itself."""


class OptionError(Exception):
    """A bad option value, in its setting's words (the message of a
    ConfigError). Not a ValueError, so that argparse lets it through instead
    of rewording it; the command reports it as bad input."""


# What the command reports as bad input: one ``error:`` line, exit status 2.
BAD_INPUT = (InputError, OptionError)


def stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# The library's errors name settings as a Python caller writes them; the
# command line names the same settings by its flags.
FLAG_OF_SETTING = (
    ("continue it with resume=True", "pass --resume to continue it"),
    ("output directory (out)", "--out"),
    ("save_networks=False", "--no-params"),
    ("with save_networks=True", "without --no-params"),
    ("snapshots=0", "--no-explorer or --snapshots 0"),
    ("snapshots=K", "--snapshots K"),
    ("format='mp4'", "--format mp4"),
    ("format='gif'", "--format gif"),
    ("units=True", "--units"),
    ("multi-process run:", "--distributed:"),
    ("output file (out)", "--out"),
    ("the output directory of a width sweep", "approx sweep --out DIR"),
    ("give a sweep's output directory", "give the folder of 'approx sweep --out DIR'"),
)


def one_line(e: BaseException) -> str:
    """``e``'s message on one line, with the settings it names written as the
    command's flags (:data:`FLAG_OF_SETTING`)."""
    msg = " ".join((str(e) or e.__class__.__name__).split())
    for setting, flag in FLAG_OF_SETTING:
        msg = msg.replace(setting, flag)
    return msg


def progress(banner: str | None = None) -> Callable[[str], None]:
    """Plain progress lines on stderr (a terminal or a log alike). The banner
    is printed with the first message, so that bad input, refused before any
    work, leaves the error line alone."""
    pending = [banner] if banner else []

    def report(msg: str) -> None:
        while pending:
            stderr(pending.pop())
        stderr(f"  {msg}")

    return report


def default_out(kind: str, label: str | None = None) -> Path:
    """``runs/KIND-LABEL-TIME`` (or ``runs/KIND-TIME``): a new folder for each run started without ``--out``."""
    parts = (kind, label, datetime.now().strftime("%Y%m%d-%H%M%S"))
    return Path("runs") / "-".join(p for p in parts if p)


def setup_jax(*, cache: bool = True, distributed: bool = False) -> None:
    """Process-wide JAX settings, before any array exists (float64 is not
    one of them: the runners scope it to their computation). ``cache``: the
    persistent compilation cache (``APPROX_NO_CACHE`` turns it off too)."""
    import jax

    if distributed:
        initialize()
    if cache and not os.environ.get("APPROX_NO_CACHE"):
        folder = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "approx" / "jax"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            jax.config.update("jax_compilation_cache_dir", str(folder))
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.05)
            jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        except OSError:
            pass  # no cache is no error


class StopRequest:
    """Ctrl-C during a long run: the first press asks the run to stop after
    the group of runs in flight (whose rows are then written); a second
    press interrupts at once. Raising ``KeyboardInterrupt`` inside JAX's
    compiled calls can lose it, so the first press only sets a flag that the
    run checks between groups."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __call__(self) -> bool:
        return self.requested

    def _handler(self, signum, frame):
        self.requested = True
        stderr("stopping after the runs in flight (Ctrl-C again to stop now) ...")
        signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread
            self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def interrupted(out: Path, command: str) -> None:
    """The line after Ctrl-C: how many runs were kept and how to continue."""
    n = len(read_rows(out / "results.csv"))
    stderr(f"interrupted: {n} finished run(s) kept in {out}; continue with: approx {command} ... --out {out} --resume")


def report_failure(e: Exception) -> None:
    """The traceback of an unexpected exception, then one line that says
    whether it is a failure of the system (a full disk, a vanished file) or
    a bug in approx, and what to do."""
    traceback.print_exception(e, file=sys.stderr)
    what = f"{type(e).__name__}: {one_line(e)}"
    if isinstance(e, MemoryError) or "RESOURCE_EXHAUSTED" in str(e):
        stderr(
            f"error: out of memory ({what}). approx estimates a run's memory before it starts and should have "
            "refused this one: please report it with the command line (this is a bug in approx's estimate); "
            "smaller --widths, --train-points or --seeds will fit"
        )
    elif isinstance(e, OSError):
        stderr(f"error: the system refused an operation ({what}); the traceback above shows where")
    else:
        stderr(
            f"error: this is a bug in approx {_version()}, not a problem with your input ({what}); "
            "please report it with the command line and the traceback above"
        )


def _version() -> str:
    try:
        return metadata.version("approx")
    except metadata.PackageNotFoundError:
        return "(version unknown)"
