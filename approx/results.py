"""Run records on disk: an append-only ``results.csv``, a ``manifest.json``
and the fitted networks.

A run directory holds one CSV row per finished run (header first) and a
manifest describing the experiment (its config, package versions, backend,
device count, git revision and times). Rows are appended with a single
``write`` on an ``O_APPEND`` descriptor, flushed and ``fsync``ed, so a killed
process leaves complete rows or nothing; a torn last line (power loss) is
dropped when the file is read back. The manifest is replaced atomically
(temporary file, ``fsync``, ``rename``).

Fitted networks live in ``networks/``, one ``.npz`` per finished run
(``networks/depth1_width64_seed0.npz``, see :func:`network_path`): plain
NumPy arrays, no pickle, so a file from anywhere is safe to open. Each file
holds the run's parameters unpadded to its true widths, ``kernel_0``,
``bias_0``, ... (kernel ``(fan_in, fan_out)``, bias ``(fan_out,)``, input
layer first, the linear readout last, in the training dtype), and ``meta``,
a JSON string with what rebuilds the network without the manifest
(``format``, ``version``, ``activation``, ``dim``, ``widths``, ``out_dim``,
``depth``, ``width``, ``seed``, ``dtype`` and the experiment's identifying
settings). Other arrays may sit beside them (a later format may add training
snapshots); readers keep them in :attr:`Network.extras`. A network is written
atomically (temporary file, ``rename``) and made durable (``fsync``, or one
``sync()`` per group of runs on Linux) *before* its run's row is appended,
and the row is what marks a run finished, so after any kill or power loss
every row has its network; a network without a row (killed between the two)
is removed when the directory is resumed, and the run, trained again, writes
it anew. :func:`load_network` reads one back as a
callable evaluated in NumPy float64.

This module never imports JAX: it is what analysis and plotting read.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "NETWORK_ACTIVATIONS",
    "NETWORK_FORMAT_VERSION",
    "Network",
    "NetworkError",
    "RunDirectory",
    "RunDirError",
    "SWEEP_COLUMNS",
    "append_rows",
    "atomic_write",
    "deferred_interrupt",
    "encode_rows",
    "new_manifest",
    "FMNIST_COLUMNS",
    "read_rows",
    "read_manifest",
    "load_frame",
    "update_manifest",
    "load_network",
    "network_path",
    "read_network",
    "saved_networks",
    "write_network",
    "write_rows",
    "package_versions",
    "git_revision",
]

SWEEP_COLUMNS = (
    "target", "dim", "depth", "width", "activation", "seed", "steps", "optimizer", "lr", "init",
    "train_loss", "test_mse", "test_sup", "test_l1", "sup_method", "params", "diverged", "seconds",
)  # fmt: skip
FMNIST_COLUMNS = (
    "depth", "width", "activation", "seed", "epochs", "train_loss", "test_loss", "test_accuracy",
    "params", "diverged", "seconds",
)  # fmt: skip


class RunDirError(ValueError):
    """The output directory cannot be used as asked (not empty, unwritable, config differs)."""


@contextmanager
def deferred_interrupt():
    """Holds Ctrl-C (SIGINT) until the block ends, so that a write of rows or
    of the manifest is never cut in half by an interrupt; the interrupt is
    then raised as usual. Outside the main thread it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []

    def hold(signum, frame):
        received.append(signum)

    try:
        previous = signal.signal(signal.SIGINT, hold)
    except ValueError:  # not in the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)  # the default handler raises KeyboardInterrupt
            else:
                raise KeyboardInterrupt


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def package_versions(names: Iterable[str] = ("approx", "jax", "jaxlib", "flax", "optax", "numpy", "matplotlib")) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_revision(path: str | Path | None = None) -> str | None:
    """The git commit of the package source, if it lives in a git checkout."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    return str(value)


def _encode_rows(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        missing = [c for c in columns if c not in row]
        if missing:
            raise KeyError(f"row lacks columns {missing}")
        writer.writerow([_format(row[c]) for c in columns])
    return buf.getvalue().encode()


def encode_rows(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """CSV lines (no header) for ``rows``: floats in full precision
    (``repr``), booleans as ``true``/``false``."""
    return _encode_rows(columns, rows)


def append_rows(path: str | Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """Appends whole rows durably: one ``write`` on an ``O_APPEND``
    descriptor, then ``fsync``, with Ctrl-C held until done. A kill leaves
    complete rows or nothing (a torn line after a power loss is dropped by
    :func:`read_rows`)."""
    if not rows:
        return
    data = _encode_rows(columns, rows)
    with deferred_interrupt():
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)


def write_rows(path: str | Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Replaces ``path`` with a CSV of ``columns`` (header first) and ``rows``,
    atomically and durably (:func:`atomic_write`), with Ctrl-C held until done."""
    data = (",".join(columns) + "\n").encode() + _encode_rows(columns, rows)
    with deferred_interrupt():
        _atomic_write(Path(path), data)


def atomic_write(path: str | Path, data: bytes) -> None:
    """Replaces ``path`` with ``data`` atomically (temporary file, fsync, rename)."""
    _atomic_write(Path(path), data)


def new_manifest(kind: str, config: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """The manifest every run directory starts with: the config, package
    versions, git revision, command, platform and start time."""
    return {
        "kind": kind,
        "config": dict(config),
        "versions": package_versions(),
        "git_revision": git_revision(),
        "command": sys.argv,
        "platform": platform.platform(),
        **fields,
        "started": _now(),
        "finished": None,
    }


def _atomic_write(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Writes a temporary file and renames it over ``path``: a kill leaves
    the old file or the new one, never part of one. With ``sync`` the file
    and its directory are ``fsync``ed (durable against power loss);
    without, the caller makes a batch durable at once (:func:`_sync_files`)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # the old file, if any, is untouched
        raise
    if sync:
        _fsync_dir(path.parent)


def _sync_files(paths: Sequence[Path]) -> None:
    """Makes freshly written (and renamed) files durable. On Linux one
    ``sync()``, which returns once everything is on disk, costs one journal
    commit instead of one per file: measured on ext4, 36 small networks in
    12-40 ms instead of 180-330 ms with an ``fsync`` each (W1 writes 36).
    Elsewhere (``sync`` may return early) each file and folder is ``fsync``ed."""
    if not paths:
        return
    if sys.platform.startswith("linux"):
        os.sync()
        return
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    for folder in {p.parent for p in paths}:
        _fsync_dir(folder)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """Rows of a results CSV as dicts of strings; a torn last line is ignored."""
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_bytes().decode(errors="replace")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return list(csv.DictReader(io.StringIO(text)))


def read_manifest(directory: str | Path) -> dict[str, Any] | None:
    path = Path(directory) / "manifest.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunDirError(f"{path} is not valid JSON; move it away or choose another --out") from None


def update_manifest(directory: str | Path, **fields: Any) -> None:
    """Adds ``fields`` to the manifest of the run directory ``directory``
    (replaced atomically, Ctrl-C held until done)."""
    manifest = read_manifest(directory)
    if manifest is None:
        raise RunDirError(f"{str(directory)!r} has no manifest.json to update")
    manifest.update(fields)
    _write_manifest(Path(directory) / "manifest.json", manifest)


def _write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    data = (json.dumps(manifest, indent=2, default=str) + "\n").encode()
    with deferred_interrupt():
        _atomic_write(path, data)


def load_frame(directory_or_csv: str | Path):
    """The results as a pandas DataFrame (pandas is needed only here:
    ``pip install pandas``, or the ``test`` extra)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("load_frame needs pandas: pip install pandas (results.csv also opens with the csv module)") from None

    path = Path(directory_or_csv)
    if path.is_dir():
        path = path / "results.csv"
    rows = read_rows(path)
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        converted = pd.to_numeric(frame[column], errors="coerce")
        if converted.notna().all():
            frame[column] = converted
        elif set(frame[column]) <= {"true", "false"}:
            frame[column] = frame[column] == "true"
    return frame


# -- fitted networks -----------------------------------------------------------
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


def _write_network(path: Path, network: Network, *, sync: bool) -> None:
    buf = io.BytesIO()
    np.savez(buf, **_network_arrays(network))
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, buf.getvalue(), sync=sync)


def write_network(path: str | Path, network: Network) -> None:
    """Saves ``network`` to ``path`` (``.npz``) atomically: temporary file,
    ``fsync``, ``rename``, directory ``fsync``."""
    _write_network(Path(path), network, sync=True)


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
            f"{str(run_dir)!r} holds no saved networks (not a run directory, a sweep run with --no-params, "
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


class RunDirectory:
    """An output directory for one experiment.

    ``open`` checks the directory before any work: a non-empty directory
    needs ``resume=True``; resuming needs the recorded config to agree on
    every key that changes results (``RunDirError`` names those that differ).
    ``append`` writes finished rows durably; ``finish`` completes the
    manifest. Rows already on disk are never rewritten.
    """

    def __init__(
        self,
        path: str | Path,
        columns: Sequence[str],
        key_columns: Sequence[str],
        config: Mapping[str, Any],
        *,
        kind: str,
        neutral_keys: Iterable[str] = (),
        csv_name: str = "results.csv",
    ):
        self.path = Path(path)
        self.columns = tuple(columns)
        self.key_columns = tuple(key_columns)
        self.config = dict(config)
        self.kind = kind
        self.neutral_keys = frozenset(neutral_keys)
        self.csv_path = self.path / csv_name
        self.manifest_path = self.path / "manifest.json"
        self.manifest: dict[str, Any] = {}
        self.resumed = False  # set by open: True when it continued an earlier run
        self._t0 = time.time()

    # -- opening -------------------------------------------------------------
    def open(self, *, resume: bool = False, environment: Mapping[str, Any] | None = None) -> set[tuple[str, ...]]:
        """Prepares the directory; returns the keys of runs already finished."""
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"--out {str(self.path)!r} exists and is not a directory")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunDirError(f"cannot create output directory {str(self.path)!r}: {e.strerror}") from None
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise RunDirError(f"output directory {str(self.path)!r} is not writable")
        existing = read_manifest(self.path)
        self.resumed = False
        has_rows = self.csv_path.exists() and self.csv_path.stat().st_size > 0
        if not resume and (existing is not None or has_rows):
            raise RunDirError(
                f"output directory {str(self.path)!r} already holds results; pass --resume to continue it or choose another --out"
            )
        if resume and existing is None and has_rows:
            raise RunDirError(f"{str(self.path)!r} has results.csv but no manifest.json; cannot check it matches")
        done: set[tuple[str, ...]] = set()
        if resume and existing is not None:
            self._check_same(existing)
            rows = read_rows(self.csv_path)
            header = self._header()
            if header is not None and tuple(header) != self.columns:
                raise RunDirError(f"{self.csv_path} has columns {header}, expected {list(self.columns)}")
            self._drop_torn_tail()
            done = {tuple(r[k] for k in self.key_columns) for r in rows}
            self._drop_unfinished_networks(done)
            self.manifest = existing
            self.manifest.setdefault("resumed", []).append(_now())
            self.resumed = True
        else:
            self.manifest = new_manifest(self.kind, self.config)
        self.manifest.update(dict(environment or {}))
        self.manifest["finished"] = None
        self._write_manifest()
        if not self.csv_path.exists() or self.csv_path.stat().st_size == 0:
            _atomic_write(self.csv_path, (",".join(self.columns) + "\n").encode())
        return done

    def finished_manifest(self) -> dict[str, Any] | None:
        """The manifest of a finished run of this same experiment in the
        directory (``RunDirError`` when it holds another kind or config), or
        ``None``; the directory is left untouched."""
        existing = read_manifest(self.path) if self.path.is_dir() else None
        if existing is None or not existing.get("finished") or not self.csv_path.exists():
            return None
        self._check_same(existing)
        return existing

    def _header(self) -> list[str] | None:
        with self.csv_path.open() as f:
            line = f.readline()
        return next(csv.reader([line])) if line else None

    def _drop_torn_tail(self) -> None:
        data = self.csv_path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.csv_path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)
                f.flush()
                os.fsync(f.fileno())

    def _drop_unfinished_networks(self, done: set[tuple[str, ...]]) -> None:
        """Removes networks whose run has no row (killed between the network
        and the row: the run is trained again and writes it anew) and
        temporary files of writes that a kill cut short (here and in the
        directory's folders)."""
        folder = self.path / NETWORKS_DIR
        names = ("depth", "width", "seed")
        finished = set()
        if all(n in self.key_columns for n in names):
            finished = {tuple(int(k[self.key_columns.index(n)]) for n in names) for k in done}
        folders = [self.path, *(p for p in self.path.iterdir() if p.is_dir())]  # networks/, predictions/
        stale = [tmp for where in folders for tmp in where.glob(".*.tmp")]
        stale += [network_path(self.path, *key) for key in saved_networks(self.path) if key not in finished]
        for p in stale:
            p.unlink(missing_ok=True)
        if stale:
            _fsync_dir(folder)

    def _check_same(self, existing: Mapping[str, Any]) -> None:
        if existing.get("kind", self.kind) != self.kind:
            raise RunDirError(f"{str(self.path)!r} holds a {existing.get('kind')!r} experiment, not {self.kind!r}")
        old = existing.get("config", {})
        keys = (set(old) | set(self.config)) - self.neutral_keys
        differ = sorted(k for k in keys if old.get(k) != self.config.get(k))
        if differ:
            detail = "; ".join(f"{k}: recorded {old.get(k)!r}, now {self.config.get(k)!r}" for k in differ)
            raise RunDirError(f"cannot resume {str(self.path)!r}: config differs in {', '.join(differ)} ({detail})")

    # -- writing -------------------------------------------------------------
    def append(self, rows: Sequence[Mapping[str, Any]], networks: Sequence[Network] | None = None) -> None:
        """Appends finished runs: their networks first (``networks[i]`` is
        the network of ``rows[i]``; each written to a temporary file and
        renamed into place, then all made durable at once, see
        :func:`_sync_files`), then the rows in one ``write`` of whole lines
        and an ``fsync``. The row marks a run finished, so a kill or a power
        loss at any point leaves no row without its network. Ctrl-C is held
        until all is written."""
        with deferred_interrupt():
            if networks is not None:
                if len(networks) != len(rows):
                    raise ValueError(f"{len(networks)} networks for {len(rows)} rows")
                paths = []
                for row, network in zip(rows, networks):
                    paths.append(network_path(self.path, row["depth"], row["width"], row["seed"]))
                    _write_network(paths[-1], network, sync=False)
                _sync_files(paths)
            append_rows(self.csv_path, self.columns, rows)

    def update_manifest(self, **fields: Any) -> None:
        self.manifest.update(fields)
        self._write_manifest()

    def finish(self, **fields: Any) -> None:
        self.manifest.update(fields)
        self.manifest["finished"] = _now()
        self.manifest["wall_seconds"] = round(time.time() - self._t0, 3)
        self._write_manifest()

    def _write_manifest(self) -> None:
        _write_manifest(self.manifest_path, self.manifest)

    def rows(self) -> list[dict[str, str]]:
        return read_rows(self.csv_path)
