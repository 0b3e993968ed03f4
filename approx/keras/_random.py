"""approx.keras's randomness, named on the host.

Randomness is named by a path of integers (seed, stream, kind, index, ...) and
hashed on the host into a ``jax.random`` key's data (threefry's two 32-bit
words), so no key needs to be folded inside a compiled program: every
``fold_in`` is a threefry hash, and every hash in a program adds to XLA's
compilation on a CPU. The training data's order per epoch is drawn on the host
from the same path (NumPy's counter-based Philox generator), as Keras
shuffles on the host, at no cost in compilation.
"""

from __future__ import annotations

import hashlib

import jax
import numpy as np

__all__ = ["FIT", "INIT", "PREDICT", "host_order", "key_data", "make_key", "next_stream", "set_global_seed"]


def _digest(path, size: int) -> bytes:
    data = np.asarray([int(p) for p in path], np.int64).tobytes()
    return hashlib.blake2b(data, digest_size=size, person=b"approx.keras").digest()


def key_data(*path: int) -> np.ndarray:
    """The ``uint32[2]`` data of the threefry key that ``path`` names."""
    return np.frombuffer(_digest(path, 8), np.uint32).copy()


def make_key(data) -> jax.Array:
    """The key whose data :func:`key_data` made (inside or outside a program)."""
    return jax.random.wrap_key_data(data, impl="threefry2x32")


def host_order(n: int, *path: int) -> np.ndarray:
    """A permutation of ``range(n)`` drawn on the host from ``path`` (int32)."""
    rng = np.random.Generator(np.random.Philox(key=int.from_bytes(_digest(path, 16), "little")))
    return rng.permutation(n).astype(np.int32)


class _SeedState:
    """approx.keras's global random sequence: a seed and a counter, so that a
    notebook run from the top gives the same numbers (``keras.utils.set_random_seed``)."""

    seed = 0
    count = 0


def set_global_seed(seed: int) -> None:
    """Restarts the global sequence from ``seed`` (``keras.utils.set_random_seed``)."""
    _SeedState.seed, _SeedState.count = int(seed), 0


def next_stream() -> tuple[int, int]:
    """The next ``(seed, stream)`` of the global sequence."""
    _SeedState.count += 1
    return _SeedState.seed, _SeedState.count


# Kinds of randomness under one model's ``(seed, stream)``.
INIT, FIT, PREDICT = 1, 2, 3
