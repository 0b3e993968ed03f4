"""The ``approx`` command."""

from approx.cli.app import main

__all__ = ["main"]
