"""Durable files: whole CSV rows appended, files replaced atomically, Ctrl-C held meanwhile.

Rows are appended with a single ``write`` on an ``O_APPEND`` descriptor,
flushed and ``fsync``ed, so a killed process leaves complete rows or nothing;
a torn last line (power loss) is dropped when the file is read back. A whole
file is replaced atomically (temporary file, ``fsync``, ``rename``, directory
``fsync``), so a kill leaves the old file or the new one. Every writer holds
Ctrl-C until it is done (:func:`deferred_interrupt`).

This module never imports JAX.
"""

from __future__ import annotations

import csv
import io
import math
import os
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "append_rows",
    "atomic_write",
    "deferred_interrupt",
    "encode_rows",
    "fsync_dir",
    "read_rows",
    "sync_files",
    "write_rows",
]


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



def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    return str(value)


def encode_rows(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """CSV lines (no header) for ``rows``: floats in full precision
    (``repr``), booleans as ``true``/``false``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        missing = [c for c in columns if c not in row]
        if missing:
            raise KeyError(f"row lacks columns {missing}")
        writer.writerow([_format(row[c]) for c in columns])
    return buf.getvalue().encode()


def append_rows(path: str | Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """Appends whole rows durably: one ``write`` on an ``O_APPEND``
    descriptor, then ``fsync``, with Ctrl-C held until done. A kill leaves
    complete rows or nothing (a torn line after a power loss is dropped by
    :func:`read_rows`)."""
    if not rows:
        return
    data = encode_rows(columns, rows)
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
    data = (",".join(columns) + "\n").encode() + encode_rows(columns, rows)
    with deferred_interrupt():
        atomic_write(Path(path), data)


def atomic_write(path: str | Path, data: bytes, *, sync: bool = True) -> None:
    """Replaces ``path`` with ``data`` atomically: a temporary file renamed
    over ``path``, so a kill leaves the old file or the new one, never part
    of one. With ``sync`` the file and its directory are ``fsync``ed (durable
    against power loss); without, the caller makes a batch durable at once
    (:func:`sync_files`)."""
    path = Path(path)
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
        fsync_dir(path.parent)


def sync_files(paths: Sequence[Path]) -> None:
    """Makes freshly written (and renamed) files durable. On Linux one
    ``sync()``, which returns once everything is on disk, costs one journal
    commit instead of one per file (a group of runs writes dozens of small
    networks at once). Elsewhere (``sync`` may return early) each file and
    folder is ``fsync``ed."""
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
        fsync_dir(folder)


def fsync_dir(path: Path) -> None:
    """Makes a folder's entries (a file renamed into it) durable; a no-op
    where folders cannot be opened."""
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

