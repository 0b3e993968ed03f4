"""What counts as bad input, and what counts as a bug.

approx keeps one promise about failures (DESIGN.md, "the contract"):

* **Bad input** - a setting out of range, an unknown name, a file that is
  missing or malformed, an output folder that cannot be used, a run that
  would not fit the machine - is the user's to fix. It is raised as an
  :class:`InputError` (or one of its subclasses) whose message is one line
  naming the bad value and what is allowed. The command prints ``error: <message>`` and exits with
  status 2. Library messages name the setting (``train_subset``), not a
  command-line flag; the command line may phrase its own.
* **Anything else** raised inside approx is a bug (or an operating-system
  failure such as a full disk): the command prints the traceback, says which
  it is, and exits with status 1. A plain ``ValueError`` is *not* bad input:
  library code that checks user input raises an ``InputError`` so that a
  genuine bug never passes for a user mistake.

This module imports nothing heavy (no JAX), so every layer can use it.
"""

from __future__ import annotations

__all__ = ["InputError", "LimitError", "input_errors"]


class InputError(ValueError):
    """Bad input: the message is one line naming the value and what is allowed.

    A ``ValueError`` so that ``except ValueError`` in user code keeps
    working; the command line treats only this family as the user's mistake.
    """


class LimitError(InputError):
    """A setting that would exceed the machine (memory, int32 step counters,
    the number of runs); the message names the setting, the estimate and the
    limit."""


def input_errors() -> tuple[type[BaseException], ...]:
    """The exception types the command line reports as bad input (exit 2):
    :class:`InputError`, which every input error of the library derives
    from (``ConfigError``, ``LimitError``, ``RunDirError`` for output
    folders, ``DataError`` for data sets, ...)."""
    return (InputError,)
