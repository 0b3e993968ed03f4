"""The ``.keras`` file of approx.keras: a zip of JSON and NumPy arrays, never pickle.

``config.json`` holds the layers (Keras's ``class_name``/``config`` layout) and
the compile settings, ``metadata.json`` says which program wrote it, and the
weights (``model.weights.npz``, in ``get_weights()`` order) and optimizer
state (``optimizer.npz``) are NumPy archives read with ``allow_pickle=False``.
Keras 3 stores weights as HDF5 instead, so the two programs' files are not
interchangeable; a Keras file given to ``load_model`` is refused with one
clear message. Files are written whole to a temporary name and renamed
(:func:`approx.results.atomic_write`): a failed save leaves an earlier file
as it was.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

from approx.results import atomic_write

FORMAT = "approx.keras"
FORMAT_VERSION = 1


def _version() -> str:
    try:
        return metadata.version("approx")
    except metadata.PackageNotFoundError:
        return "unknown"


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _read_npz(data: bytes, where: str) -> list[np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return [archive[k] for k in sorted(archive.files)]
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise ValueError(f"{where} is damaged ({e})") from None


def _target(filepath, suffix: str, overwrite: bool) -> Path:
    path = Path(os.fspath(filepath))
    if not str(path).endswith(suffix):
        raise ValueError(f"the file name must end in {suffix!r}, got {str(path)!r}")
    if path.exists() and not overwrite:
        raise ValueError(f"{str(path)!r} exists; pass overwrite=True to replace it")
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a directory")
    if not path.parent.exists():
        raise ValueError(f"the folder {str(path.parent)!r} does not exist")
    return path


def write_model(filepath, config: dict, weights: list, opt_state: list | None, *, overwrite: bool = True) -> None:
    path = _target(filepath, ".keras", overwrite)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "approx_version": _version(),
            "date_saved": datetime.now(timezone.utc).isoformat(timespec="seconds")}  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", json.dumps(meta, indent=2))
        z.writestr("config.json", json.dumps(config, indent=2))
        z.writestr("model.weights.npz", _npz({f"weight_{i:04d}": np.asarray(w) for i, w in enumerate(weights)}))
        if opt_state is not None:
            z.writestr("optimizer.npz", _npz({f"state_{i:04d}": np.asarray(a) for i, a in enumerate(opt_state)}))
    atomic_write(path, buf.getvalue())


def _open(filepath) -> zipfile.ZipFile:
    path = Path(os.fspath(filepath))
    if not path.is_file():
        raise ValueError(f"no such file: {str(path)!r}")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValueError(f"{str(path)!r} is not a model saved by approx.keras (not a .keras zip archive)") from None
    names = set(archive.namelist())
    if "model.weights.h5" in names:
        archive.close()
        raise ValueError(
            f"{str(path)!r} was saved by Keras (HDF5 weights); approx.keras reads the .keras files it writes. "
            "Rebuild the model with approx.keras and copy the weights with set_weights"
        )
    try:
        meta = json.loads(archive.read("metadata.json"))
    except (KeyError, ValueError):
        meta = {}
    if meta.get("format") != FORMAT:
        archive.close()
        raise ValueError(f"{str(path)!r} is not a model saved by approx.keras (no approx.keras metadata)")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        archive.close()
        raise ValueError(f"{str(path)!r} was written by a newer approx ({meta.get('approx_version')}); upgrade approx to read it")
    return archive


def read_model(filepath) -> tuple[dict, list[np.ndarray], list[np.ndarray] | None]:
    with _open(filepath) as archive:
        try:
            config = json.loads(archive.read("config.json"))
            weights = _read_npz(archive.read("model.weights.npz"), f"{filepath}: model.weights.npz")
        except KeyError as e:
            raise ValueError(f"{str(filepath)!r} is incomplete: {e.args[0]} is missing") from None
        opt_state = None
        if "optimizer.npz" in archive.namelist():
            opt_state = _read_npz(archive.read("optimizer.npz"), f"{filepath}: optimizer.npz")
    return config, weights, opt_state


def write_weights(filepath, weights: list, *, overwrite: bool = True) -> None:
    path = Path(os.fspath(filepath))
    if str(path).endswith(".h5"):
        raise ValueError(f"approx.keras saves weights as NumPy '.weights.npz' files, not HDF5; got {str(path)!r}")
    path = _target(path, ".weights.npz", overwrite)
    atomic_write(path, _npz({f"weight_{i:04d}": np.asarray(w) for i, w in enumerate(weights)}))


def read_weights(filepath) -> list[np.ndarray]:
    path = Path(os.fspath(filepath))
    if str(path).endswith(".keras"):
        return read_model(path)[1]
    if not path.is_file():
        raise ValueError(f"no such file: {str(path)!r}")
    return _read_npz(path.read_bytes(), str(path))
