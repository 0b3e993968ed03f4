"""Run records on disk: an append-only ``results.csv`` and a ``manifest.json``.

A run directory holds one CSV row per finished run (header first) and a
manifest describing the experiment (its config, package versions, backend,
device count, git revision and times). Rows are appended with a single
``write`` on an ``O_APPEND`` descriptor, flushed and ``fsync``ed, so a killed
process leaves complete rows or nothing; a torn last line (power loss) is
dropped when the file is read back. The manifest is replaced atomically
(temporary file, ``fsync``, ``rename``).

This module never imports JAX: it is what analysis and plotting read.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
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


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # the old file, if any, is untouched
        raise
    _fsync_dir(path.parent)


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
    ):
        self.path = Path(path)
        self.columns = tuple(columns)
        self.key_columns = tuple(key_columns)
        self.config = dict(config)
        self.kind = kind
        self.neutral_keys = frozenset(neutral_keys)
        self.csv_path = self.path / "results.csv"
        self.manifest_path = self.path / "manifest.json"
        self.manifest: dict[str, Any] = {}
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
            self.manifest = existing
            self.manifest.setdefault("resumed", []).append(_now())
        else:
            self.manifest = new_manifest(self.kind, self.config)
        self.manifest.update(dict(environment or {}))
        self.manifest["finished"] = None
        self._write_manifest()
        if not self.csv_path.exists() or self.csv_path.stat().st_size == 0:
            _atomic_write(self.csv_path, (",".join(self.columns) + "\n").encode())
        return done

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
    def append(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Appends finished runs: one ``write`` of whole lines, then ``fsync``."""
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
        data = (json.dumps(self.manifest, indent=2, default=str) + "\n").encode()
        with deferred_interrupt():
            _atomic_write(self.manifest_path, data)

    def rows(self) -> list[dict[str, str]]:
        return read_rows(self.csv_path)
