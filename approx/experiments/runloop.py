"""The run loop every grouped runner shares (the width sweep, Fashion-MNIST).

A runner trains ``depths x widths x seeds`` runs in groups (a compiled
program each) and records them in a run directory
(:class:`approx.results.RunDirectory`). What every runner does the same way
lives here, so that each runner says only what is its own (its data, its
groups, its rows):

* **the run directory**: opened before any work (a folder that holds results
  is refused without ``resume``; resuming needs the same config), shared by
  the processes of a multi-process run (:class:`approx.processes.SharedRunDirectory`:
  process 0 alone writes);
* **the runs to do**: every ``(depth, width, seed)`` without a row yet;
* **Ctrl-C**: ``should_stop()`` is asked before each group (on every process at
  once); when it turns true the loop stops after the group in flight, whose
  rows are written, records ``interrupted`` in the manifest and raises
  ``KeyboardInterrupt``;
* **progress**: one line per event through ``progress``.

Rows reach the disk through the run directory's durable writers; the float64
setting is scoped to each runner's computation by
:func:`approx.backend.config_precision`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar

import jax
import numpy as np
from jax.sharding import Mesh

from approx.plan import Run
from approx.processes import SharedRunDirectory, any_process
from approx.results import RunDirectory

__all__ = ["RunLoop", "environment", "make_mesh"]

G = TypeVar("G")


def environment() -> dict:
    """Backend facts for the manifest."""
    devices = jax.devices()
    return {
        "backend": jax.default_backend(),
        "device_count": len(devices),
        "devices": [str(d.device_kind) for d in devices],
        "process_count": jax.process_count(),
        "x64": bool(jax.config.jax_enable_x64),
    }


def make_mesh() -> Mesh | None:
    """A 1-D mesh over all devices (``None`` with a single device)."""
    devices = jax.devices()
    if len(devices) < 2:
        return None
    return Mesh(np.asarray(devices), ("ensemble",))


class RunLoop:
    """One runner's pass over its groups, recorded in ``store``.

    ``log_key`` names the manifest's list of finished groups (``buckets``,
    ``programs``); each group's entry is appended to :attr:`log`.
    """

    def __init__(
        self,
        store: RunDirectory,
        *,
        log_key: str,
        progress: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ):
        self.store = SharedRunDirectory(store)
        self.log_key = log_key
        self.report = progress or (lambda msg: None)
        self.should_stop = should_stop
        self.log: list[dict] = []
        self.done: set[tuple[str, ...]] = set()
        self.skipped = 0

    def open(self, config, *, resume: bool, environment: Mapping[str, Any]) -> list[Run]:
        """Opens the run directory; returns the runs of ``config`` (its
        ``depths``, ``widths`` and ``seeds``) that have no row yet, in the
        config's order, and reports what a resume skips."""
        self.done = self.store.open(resume=resume, environment=environment)
        runs = [
            Run(depth, width, seed)
            for depth in config.depths
            for width in config.widths
            for seed in range(config.seeds)
            if (str(depth), str(width), str(seed)) not in self.done
        ]
        self.skipped = config.seeds * len(config.widths) * len(config.depths) - len(runs)
        if self.skipped:
            self.report(f"resuming: {self.skipped} runs already recorded, {len(runs)} to go")
        elif resume and not self.store.resumed:
            self.report(f"nothing to resume in {self.store.path}: starting the sweep")
        return runs

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """Records ``interrupted`` and the finished groups in the manifest
        when the block ends by ``KeyboardInterrupt``, then lets it go on."""
        try:
            yield
        except KeyboardInterrupt:
            self.store.update_manifest(interrupted=True, **{self.log_key: self.log})
            raise

    def groups(self, groups: Iterable[G]) -> Iterator[tuple[int, G]]:
        """``(i, group)`` from 1, asking ``should_stop()`` before each (on
        every process: all stop after the same group) and raising
        ``KeyboardInterrupt`` when it is true."""
        for i, group in enumerate(groups, 1):
            if any_process(self.should_stop is not None and self.should_stop()):
                raise KeyboardInterrupt
            yield i, group
