"""Run directories: an append-only ``results.csv``, a ``manifest.json`` and the fitted networks.

A run directory holds one CSV row per finished run (header first) and a
manifest describing the experiment (its config, package versions, backend,
device count, git revision and times). Rows are appended durably and the
manifest is replaced atomically (:mod:`approx.durable`). Each run's fitted
network (:mod:`approx.networks`) is written and made durable *before* its
row is appended (one ``sync()`` per group of runs on Linux), and the row is
what marks a run finished, so after any kill or power loss every row has its
network; a network without a row (killed between the two) is removed when
the directory is resumed, and the run, trained again, writes it anew.

The writers and the networks' names are re-exported here, so that
``approx.results`` is the one module to read a run directory with.
This module never imports JAX: it is what analysis and plotting read.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from approx.durable import (
    append_rows,
    atomic_write,
    deferred_interrupt,
    encode_rows,
    fsync_dir,
    read_rows,
    sync_files,
    write_rows,
)
from approx.networks import (
    NETWORK_ACTIVATIONS,
    NETWORK_FORMAT_VERSION,
    NETWORKS_DIR,
    Network,
    NetworkError,
    load_network,
    network_path,
    read_network,
    saved_networks,
    write_network,
)

from approx.errors import InputError

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


class RunDirError(InputError):
    """The output directory cannot be used as asked (not empty, unwritable, config differs)."""


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


def read_manifest(directory: str | Path) -> dict[str, Any] | None:
    path = Path(directory) / "manifest.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunDirError(f"{path} is not valid JSON; move it away or choose another output directory (out)") from None


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
        atomic_write(path, data)


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
            raise RunDirError(f"output directory (out) {str(self.path)!r} exists and is not a directory")
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
                f"output directory {str(self.path)!r} already holds results; continue it with resume=True or choose another output directory (out)"
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
            atomic_write(self.csv_path, (",".join(self.columns) + "\n").encode())
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
            fsync_dir(folder)

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
        :func:`approx.durable.sync_files`), then the rows in one ``write`` of whole lines
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
                    write_network(paths[-1], network, sync=False)
                sync_files(paths)
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
