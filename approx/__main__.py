"""``python -m approx`` is the ``approx`` command."""

from approx.cli import entry

entry()
