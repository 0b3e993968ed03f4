"""The ``approx`` command (:func:`main`); one module per command, shared helpers in :mod:`approx.cli.common`."""

from approx.cli.app import main

__all__ = ["main"]
