"""Fitted networks on disk: one ``.npz`` per run, read back as NumPy callables.

Fitted networks live in a run directory's ``networks/``, one ``.npz`` per
finished run (``networks/depth1_width64_seed0.npz``, see
:func:`network_path`): plain NumPy arrays, no pickle, so a file from anywhere
is safe to open. Each file holds the run's parameters unpadded to its true
widths, ``kernel_0``, ``bias_0``, ... (kernel ``(fan_in, fan_out)``, bias
``(fan_out,)``, input layer first, the linear readout last, in the training
dtype), and ``meta``, a JSON string with what rebuilds the network without
the manifest (``format``, ``version``, ``activation``, ``dim``, ``widths``,
``out_dim``, ``depth``, ``width``, ``seed``, ``dtype`` and the experiment's
identifying settings). Other arrays may sit beside them (training
snapshots); readers keep them in :attr:`Network.extras`. A network is written
atomically (temporary file, ``rename``) and made durable before its run's
row is appended (:meth:`approx.results.RunDirectory.append`).
:func:`load_network` reads one back as a callable evaluated in NumPy float64.

This module never imports JAX.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from approx.durable import atomic_write

__all__ = [
    "NETWORKS_DIR",
    "NETWORK_ACTIVATIONS",
    "NETWORK_FORMAT_VERSION",
    "Network",
    "NetworkError",
    "load_network",
    "network_path",
    "read_network",
    "saved_networks",
    "write_network",
]

NETWORKS_DIR = "networks"
NETWORK_FORMAT = "approx.network"
NETWORK_FORMAT_VERSION = 1
_NETWORK_NAME = re.compile(r"depth(\d+)_width(\d+)_seed(\d+)\.npz")


def _np_sigmoid(z):
    return 0.5 * np.tanh(0.5 * z) + 0.5  # the logistic function, never overflows


def _np_gelu(z):
    # jax.nn.gelu's default (approximate=True): the tanh form of Hendrycks and Gimpel (2016).
    return 0.5 * z * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z**3)))


def _np_elu(z):
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))


def _np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# NumPy twins of approx.models.ACTIVATIONS (a test checks they agree), so that
# saved networks evaluate without JAX.
NETWORK_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": _np_sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "gelu": _np_gelu,
    "sin": np.sin,
    "cos_squasher": lambda z: 0.5 * (1.0 + np.sin(np.clip(z, -math.pi / 2, math.pi / 2))),
    "softplus": lambda z: np.logaddexp(0.0, z),
    "elu": _np_elu,
    "linear": lambda z: z,
    "softmax": _np_softmax,
}


class NetworkError(ValueError):
    """A network that cannot be built (layers that do not fit, an unknown
    activation), or a saved one that is missing or not a valid file."""


@dataclass(frozen=True, eq=False)
class Network:
    """A fitted fully connected network, evaluated in NumPy float64.

    ``kernels[i]`` is ``(fan_in, fan_out)`` and ``biases[i]`` ``(fan_out,)``,
    input layer first; every layer but the last applies ``activation``, the
    last (the readout) is linear:

        h_0 = x,  h_{i+1} = activation(h_i @ kernels[i] + biases[i]),
        g(x) = h_L @ kernels[L] + biases[L].

    With one hidden layer this is Cybenko's ``G(x) = sum_j a_j sigma(w_j . x +
    b_j) + c``. ``meta`` is the file's metadata (see the module docstring),
    ``extras`` any other arrays the file holds.
    """

    kernels: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activation: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        if self.activation not in NETWORK_ACTIVATIONS:
            raise NetworkError(
                f"unknown activation {self.activation!r}; valid: {', '.join(NETWORK_ACTIVATIONS)}"
            )
        if not self.kernels or len(self.kernels) != len(self.biases):
            raise NetworkError(f"a network needs as many biases as kernels (at least one), got {len(self.kernels)} and {len(self.biases)}")
        fan_in = None
        for i, (k, b) in enumerate(zip(self.kernels, self.biases)):
            if k.ndim != 2 or b.shape != (k.shape[1],):
                raise NetworkError(f"layer {i}: kernel {k.shape} and bias {b.shape} do not fit (kernel (fan_in, fan_out), bias (fan_out,))")
            if fan_in is not None and k.shape[0] != fan_in:
                raise NetworkError(f"layer {i}: kernel {k.shape} does not take the previous layer's {fan_in} outputs")
            fan_in = k.shape[1]

    @property
    def dim(self) -> int:
        """Input dimension ``d``."""
        return self.kernels[0].shape[0]

    @property
    def widths(self) -> tuple[int, ...]:
        """Hidden widths, input side first."""
        return tuple(k.shape[1] for k in self.kernels[:-1])

    @property
    def out_dim(self) -> int:
        return self.kernels[-1].shape[1]

    @property
    def params(self) -> dict:
        """The parameters as a nested dict ``{"layers": {i: {"kernel", "bias"}}}``,
        the structure of ``flax.nnx.to_pure_dict(nnx.state(MLP(...)))``:
        ``nnx.replace_by_pure_dict`` puts them into an :class:`approx.models.MLP`
        of the same widths."""
        return {"layers": {i: {"kernel": k, "bias": b} for i, (k, b) in enumerate(zip(self.kernels, self.biases))}}

    def features(self, x) -> np.ndarray:
        """The last hidden layer's outputs, ``(n, widths[-1])`` float64."""
        x = np.asarray(x, np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"the network takes points of shape (n, {self.dim}), got {x.shape}")
        act = NETWORK_ACTIVATIONS[self.activation]
        h = x
        for k, b in zip(self.kernels[:-1], self.biases[:-1]):
            h = act(h @ k.astype(np.float64) + b.astype(np.float64))
        return h

    def __call__(self, x) -> np.ndarray:
        """``g(x)`` for ``x`` ``(n, d)``, in float64: ``(n,)`` for a network
        with one output (like a target, so ``g(x) - f(x)`` cannot broadcast
        by mistake), else ``(n, out_dim)``."""
        out = self.features(x) @ self.kernels[-1].astype(np.float64) + self.biases[-1].astype(np.float64)
        return out[:, 0] if self.out_dim == 1 else out


def network_path(run_dir: str | Path, depth: int, width: int, seed: int) -> Path:
    """Where the network of run ``(depth, width, seed)`` is kept."""
    return Path(run_dir) / NETWORKS_DIR / f"depth{int(depth)}_width{int(width)}_seed{int(seed)}.npz"


def _network_arrays(network: Network) -> dict[str, np.ndarray]:
    meta = {
        "format": NETWORK_FORMAT,
        "version": NETWORK_FORMAT_VERSION,
        **dict(network.meta),
        "activation": network.activation,
        "dim": network.dim,
        "widths": list(network.widths),
        "out_dim": network.out_dim,
        "dtype": str(network.kernels[0].dtype),
    }
    arrays = {f"kernel_{i}": np.asarray(k) for i, k in enumerate(network.kernels)}
    arrays |= {f"bias_{i}": np.asarray(b) for i, b in enumerate(network.biases)}
    clash = set(network.extras) & (set(arrays) | {"meta"})
    if clash:
        raise ValueError(f"extra arrays may not be named {sorted(clash)}")
    arrays |= {k: np.asarray(v) for k, v in network.extras.items()}
    for name, a in arrays.items():
        if a.dtype.hasobject:
            raise ValueError(f"array {name!r} has dtype object; only plain numeric arrays are saved")
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
    return arrays


def write_network(path: str | Path, network: Network, *, sync: bool = True) -> None:
    """Saves ``network`` to ``path`` (``.npz``) atomically: temporary file,
    ``fsync``, ``rename``, directory ``fsync``. With ``sync=False`` the
    caller makes a batch of files durable at once
    (:func:`approx.durable.sync_files`)."""
    buf = io.BytesIO()
    np.savez(buf, **_network_arrays(network))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buf.getvalue(), sync=sync)


def read_network(path: str | Path) -> Network:
    """The network saved in ``path``, read with ``allow_pickle=False``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise NetworkError(f"no network file {str(path)!r}") from None
    except (OSError, ValueError, EOFError) as e:  # not a zip, a torn file, or an object array
        raise NetworkError(f"{str(path)!r} is not an approx network file ({_first_line(e)})") from None
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except (KeyError, json.JSONDecodeError):
        raise NetworkError(f"{str(path)!r} is not an approx network file (no readable 'meta')") from None
    if not isinstance(meta, dict) or meta.get("format") != NETWORK_FORMAT:
        raise NetworkError(f"{str(path)!r} is not an approx network file (format {meta.get('format') if isinstance(meta, dict) else meta!r})")
    version = meta.get("version")
    if not isinstance(version, int) or not 1 <= version <= NETWORK_FORMAT_VERSION:
        raise NetworkError(
            f"{str(path)!r} has network format version {version!r}; this approx reads versions 1..{NETWORK_FORMAT_VERSION}"
        )
    layers = len(meta.get("widths", ())) + 1
    names = [(f"kernel_{i}", f"bias_{i}") for i in range(layers)]
    missing = [n for pair in names for n in pair if n not in arrays]
    if missing:
        raise NetworkError(f"{str(path)!r} lacks arrays {missing}")
    kernels = tuple(arrays.pop(k) for k, _ in names)
    biases = tuple(arrays.pop(b) for _, b in names)
    try:
        network = Network(kernels, biases, meta.get("activation", ""), meta, arrays)
    except NetworkError as e:
        raise NetworkError(f"{str(path)!r}: {e}") from None
    if list(network.widths) != list(meta["widths"]) or network.dim != meta.get("dim"):
        raise NetworkError(f"{str(path)!r}: arrays of widths {list(network.widths)} and dim {network.dim} disagree with its meta")
    return network


def _first_line(e: Exception) -> str:
    return " ".join((str(e) or e.__class__.__name__).split())


def saved_networks(run_dir: str | Path) -> list[tuple[int, int, int]]:
    """``(depth, width, seed)`` of every network saved in ``run_dir``, sorted."""
    folder = Path(run_dir) / NETWORKS_DIR
    if not folder.is_dir():
        return []
    found = (_NETWORK_NAME.fullmatch(p.name) for p in folder.iterdir())
    return sorted(tuple(int(g) for g in m.groups()) for m in found if m)


def load_network(run_dir: str | Path, width: int, seed: int = 0, depth: int = 1) -> Network:
    """The fitted network of run ``(depth, width, seed)`` of ``run_dir``.

    Returns a :class:`Network`: call it on ``(n, d)`` points for ``g(x)``
    in NumPy float64; ``.params``, ``.kernels``, ``.biases`` are its
    parameters at the run's true width and ``.meta`` its metadata. A
    missing network raises :class:`NetworkError` (a ``ValueError``)
    naming the networks that exist.

    >>> net = load_network("runs/sweep", width=64)          # doctest: +SKIP
    >>> err = net(x) - approx.make_target("sine")(x)         # doctest: +SKIP
    """
    path = network_path(run_dir, depth, width, seed)
    if path.is_file():
        return read_network(path)
    have = saved_networks(run_dir)
    if not have:
        raise NetworkError(
            f"{str(run_dir)!r} holds no saved networks (not a run directory, a sweep run with save_networks=False, "
            "or one written before networks were saved)"
        )
    raise NetworkError(
        f"no saved network for depth {depth}, width {width}, seed {seed} in {str(run_dir)!r}; saved: {_describe(have)}"
    )


def _describe(keys: Sequence[tuple[int, int, int]]) -> str:
    """``depth 1: widths 1,2,4 x seeds 0-3`` per depth (seeds as a range when contiguous)."""
    parts = []
    for depth in sorted({k[0] for k in keys}):
        mine = [k for k in keys if k[0] == depth]
        widths = sorted({k[1] for k in mine})
        seeds = sorted({k[2] for k in mine})
        seed_text = f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 1 else ",".join(map(str, seeds))
        full = len(mine) == len(widths) * len(seeds)
        parts.append(f"depth {depth}: widths {','.join(map(str, widths))} x seeds {seed_text}" + ("" if full else " (not every pair)"))
    return "; ".join(parts)
