"""Several processes, one sweep: joining them, and who writes what.

``approx sweep --distributed`` starts one process per host (or per GPU) with
the same command. :func:`initialize` joins them through
``jax.distributed.initialize``; from then on ``jax.devices()`` lists every
process's devices, the sweep's mesh spans them all, and each compiled group's
ensemble is sharded across processes (each computes its slice; XLA's
collectives, Gloo on CPUs, move the results).

One results file, no duplicates: **process 0 alone writes** the run folder
(manifest, rows, figure). It opens the folder first and tells the others
which runs are already done (or why the folder was refused, so that every
process stops with the same error); the others keep their rows in memory.
A request to stop (Ctrl-C) on any process stops all of them after the same
group, since a process that left early would leave the others waiting in a
collective.

With a single process every function here is a no-op or a plain call.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
from typing import Any, Mapping, Sequence

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding, PartitionSpec

from approx.durable import encode_rows
from approx.errors import InputError, input_errors

__all__ = [
    "DistributedError",
    "initialize",
    "settings_from_env",
    "is_writer",
    "to_host",
    "replicate",
    "any_process",
    "SharedRunDirectory",
]

ENV_VARS = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")


class DistributedError(InputError):
    """``--distributed`` cannot start: settings missing or inconsistent, or
    the processes cannot reach each other."""


def _env_int(env: Mapping[str, str], name: str, minimum: int, maximum: int | None = None) -> int | None:
    text = env.get(name)
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        allowed = f"an integer >= {minimum}" if maximum is None else f"an integer in {minimum}..{maximum}"
        raise DistributedError(f"{name} must be {allowed}, got {text!r}")
    return value


def settings_from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``jax.distributed.initialize``'s arguments from ``JAX_COORDINATOR_ADDRESS``
    (``host:port``), ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``.

    JAX itself reads only the first of the three (and finds all of them on
    SLURM, Open MPI and TPU pods); approx reads the other two, so the same
    three variables start a run anywhere. Unset variables stay ``None`` for
    JAX to detect.
    """
    env = os.environ if env is None else env
    address = env.get("JAX_COORDINATOR_ADDRESS") or None
    if address is not None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise DistributedError(f"JAX_COORDINATOR_ADDRESS must be host:port (e.g. 10.0.0.1:1234), got {address!r}")
    count = _env_int(env, "JAX_NUM_PROCESSES", 1)
    index = _env_int(env, "JAX_PROCESS_ID", 0, None if count is None else count - 1)
    return {"coordinator_address": address, "num_processes": count, "process_id": index}


def initialize(env: Mapping[str, str] | None = None) -> None:
    """Joins the processes of a multi-process run (``--distributed``).

    Raises :class:`DistributedError` (bad input, exit 2) when the settings
    are missing or the coordinator cannot be reached, naming the variables
    to set.
    """
    settings = settings_from_env(env)
    try:
        jax.distributed.initialize(**settings)
    except (ValueError, TypeError) as e:  # JAX's own checks of its arguments
        raise DistributedError(
            f"multi-process run: {e} Set {', '.join(ENV_VARS)} on every process "
            "(or run under SLURM, Open MPI or a TPU pod, where JAX finds them)"
        ) from None
    except RuntimeError as e:  # the coordinator never answered
        if "must be called before" in str(e):  # approx started JAX too early: a bug, not the user's
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DistributedError(
            f"multi-process run: cannot join the processes at {settings['coordinator_address']}: {first}"
        ) from None


def process_count() -> int:
    return jax.process_count()


def is_writer() -> bool:
    """Whether this process writes the run folder (process 0)."""
    return jax.process_index() == 0


def to_host(tree):
    """``tree`` as NumPy arrays on this host: ``jax.device_get``, or with
    several processes the whole of every (sharded) array, gathered."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    return multihost_utils.process_allgather(tree, tiled=True)


def replicate(tree, mesh):
    """``tree`` as arrays replicated on every device of ``mesh``. Needed with
    several processes, where a compiled program takes only arrays that span
    its mesh; each process must hold the same values (approx's data and
    initial parameters are drawn from the same keys everywhere)."""
    if tree is None or mesh is None or jax.process_count() == 1:
        return tree
    if dataclasses.is_dataclass(tree):  # its array fields; names, counts and indices stay
        arrays = {f.name: getattr(tree, f.name) for f in dataclasses.fields(tree) if _all_arrays(getattr(tree, f.name))}
        return dataclasses.replace(tree, **{k: replicate(v, mesh) for k, v in arrays.items()})
    sharding = NamedSharding(mesh, PartitionSpec())

    def put(a):
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            data = jax.device_put(np.asarray(jax.random.key_data(a)), sharding)
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(a))
        return jax.device_put(np.asarray(a), sharding)

    return jax.tree.map(put, tree)


def _all_arrays(value) -> bool:
    leaves = jax.tree.leaves(value)
    return bool(leaves) and all(isinstance(leaf, jax.Array) for leaf in leaves)


def any_process(flag: bool) -> bool:
    """True on every process when ``flag`` is true on any of them."""
    if jax.process_count() == 1:
        return bool(flag)
    return bool(np.any(multihost_utils.process_allgather(np.asarray(flag, bool))))


def _broadcast_bytes(data: bytes) -> bytes:
    """Process 0's ``data`` on every process."""
    n = int(multihost_utils.broadcast_one_to_all(np.asarray(len(data), np.int64)))
    buf = np.zeros(n, np.uint8)
    buf[: len(data)] = np.frombuffer(data, np.uint8)[:n]
    return bytes(multihost_utils.broadcast_one_to_all(buf))


class SharedRunDirectory:
    """A :class:`~approx.results.RunDirectory` shared by the processes of a run.

    Process 0 opens and writes it; the others receive from it the keys of
    the runs already done (or the error that refused the folder), keep the
    rows they computed in memory and write nothing. Every process must run
    the same configuration: a digest of it travels with the keys, and a
    process whose settings differ stops with an error.
    """

    def __init__(self, store):
        self._store = store
        self._rows: list[dict[str, str]] = []

    def __getattr__(self, name):
        return getattr(self._store, name)

    def open(self, *, resume: bool = False, environment: Mapping[str, Any] | None = None) -> set[tuple[str, ...]]:
        if process_count() == 1:
            return self._store.open(resume=resume, environment=environment)
            # Every process must run the same sweep: compare digests of the configs before anything is written.
        digest = hashlib.sha256(json.dumps(self._store.config, sort_keys=True, default=str).encode()).digest()
        digests = multihost_utils.process_allgather(np.frombuffer(digest, np.uint8))
        differ = [i for i, d in enumerate(digests) if bytes(d) != bytes(digests[0])]
        if differ:
            raise DistributedError(
                f"process(es) {', '.join(map(str, differ))} run other settings than process 0: "
                "start every process with the same command"
            )
        if is_writer():
            try:
                done = self._store.open(resume=resume, environment=environment)
            except Exception as e:  # the others must not wait for an answer that never comes
                bad_input = isinstance(e, input_errors())
                reason = str(e) if bad_input else f"{type(e).__name__} (see process 0's traceback)"
                _broadcast_bytes(json.dumps({"error": reason}).encode())
                raise
            _broadcast_bytes(json.dumps({"done": sorted(done)}).encode())
            return done
        message = json.loads(_broadcast_bytes(b""))
        if "error" in message:
            raise DistributedError(f"process 0 refused the run: {message['error']}")
        return {tuple(key) for key in message["done"]}

    def append(self, rows: Sequence[Mapping[str, Any]], networks=None) -> None:
        if is_writer():
            self._store.append(rows, networks)
        else:
            text = ",".join(self._store.columns) + "\n" + encode_rows(self._store.columns, rows).decode()
            self._rows.extend(csv.DictReader(io.StringIO(text)))

    def update_manifest(self, **fields: Any) -> None:
        if is_writer():
            self._store.update_manifest(**fields)

    def finish(self, **fields: Any) -> None:
        if is_writer():
            self._store.finish(**fields)

    def rows(self) -> list[dict[str, str]]:
        """Every row of the folder (process 0), or the rows this run computed (the others)."""
        return self._store.rows() if is_writer() else list(self._rows)
