"""The lecture figures' cache of computed results.

Figures that need trained networks ask a :class:`FigureCache` for them; it
runs the computation once (a width sweep with :func:`~approx.experiments.sweep.run_sweep`,
a Fashion-MNIST sweep with :func:`~approx.experiments.fmnist.run_fmnist`, or any
function that returns NumPy arrays) and keeps the result under
``$XDG_CACHE_HOME/approx/figures`` (default ``~/.cache/approx/figures``), in a
directory named by a hash of its settings and of the source of every module
whose code decides the numbers (a change to the training code makes old
results stale). Sweeps are kept as run directories (``results.csv``,
``manifest.json``, ``networks/``) under ``sweeps/``, shared by the figures
that need the same sweep; other results as ``arrays.npz``.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from approx.config import RESULT_NEUTRAL_KEYS, FMNISTConfig, SweepConfig
from approx.data import DataError, load_fashion_mnist
from approx.experiments import comparisons
from approx.experiments import fmnist as fmnist_runner
from approx.experiments import sweep as sweep_runner
from approx.results import read_manifest, read_rows
from approx.targets import Target

__all__ = ["CACHE_VERSION", "FigureCache", "FigureSkipped", "computing_modules", "default_cache_dir"]

# Bump when a computation changes so that old cached results are not reused.
CACHE_VERSION = 1

# The computations the cache runs: the code of these modules, and of every
# approx module they import (directly or not), decides the cached numbers.
_COMPUTATIONS = (sweep_runner, fmnist_runner, comparisons)


class FigureSkipped(Exception):
    """A figure cannot be drawn here (e.g. its data set is missing); the message says why."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/approx/figures``, default ``~/.cache/approx/figures``."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "approx" / "figures"


def _imported_modules(path: Path, package: Path) -> list[Path]:
    """Source files of the ``approx`` modules that the module at ``path`` imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name == "approx" or not name.startswith("approx."):
                continue
            base = package.joinpath(*name.split(".")[1:])
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    found.append(candidate)
    return found


@functools.lru_cache(maxsize=1)
def computing_modules() -> tuple[Path, ...]:
    """The source files whose code decides the cached numbers: the
    computations' modules and every ``approx`` module they import, followed
    through the imports (a module moved or added is followed too)."""
    package = Path(sweep_runner.__file__).resolve().parents[1]  # approx/
    todo = [Path(m.__file__).resolve() for m in _COMPUTATIONS]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(_imported_modules(path, package))
    return tuple(sorted(seen))


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    h = hashlib.sha256()
    package = Path(sweep_runner.__file__).resolve().parents[1]
    for path in computing_modules():
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _digest(settings: Mapping) -> str:
    blob = json.dumps({"version": CACHE_VERSION, "code": _code_digest(), **settings}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _target_key(target: Target | None):
    if target is None:
        return None
    return {"name": target.name, "dim": target.dim, "description": target.description}


def _finished(path: Path, expected: int) -> list[dict[str, str]] | None:
    """The rows of the run directory ``path`` when it holds a finished run of ``expected`` rows."""
    manifest = read_manifest(path)
    rows = read_rows(path / "results.csv")
    return rows if manifest is not None and manifest.get("finished") and len(rows) >= expected else None


@dataclass
class FigureCache:
    """Computed results of the figures, keyed by ``(figure, settings)``.

    ``refresh=True`` recomputes each entry once in this process (the English
    and Spanish builds of one command then share the fresh result).
    """

    root: Path = field(default_factory=default_cache_dir)
    refresh: bool = False
    progress: Callable[[str], None] = lambda msg: None
    _fresh: set = field(default_factory=set, repr=False)

    def directory(self, figure: str, settings: Mapping) -> Path:
        path = Path(self.root) / figure / _digest(settings)
        if self.refresh and path not in self._fresh and path.exists():
            shutil.rmtree(path)
        self._fresh.add(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "settings.json").write_text(json.dumps(settings, sort_keys=True, indent=1, default=str) + "\n")
        return path

    def arrays(self, figure: str, settings: Mapping, compute: Callable[[], Mapping[str, np.ndarray]]) -> dict:
        """``compute()``'s arrays, from ``arrays.npz`` when present."""
        path = self.directory(figure, settings) / "arrays.npz"
        if path.exists():
            with np.load(path) as data:
                return {k: data[k] for k in data.files}
        result = {k: np.asarray(v) for k, v in compute().items()}
        tmp = path.with_name(f".arrays.{os.getpid()}.npz")
        np.savez_compressed(tmp, **result)
        os.replace(tmp, path)
        return result

    def sweep_dir(self, figure: str, config: SweepConfig, target: Target | None = None) -> Path:
        """The run directory of ``run_sweep(config)`` in the cache, run (or
        resumed) first when unfinished: its rows and its saved networks.

        Sweeps are keyed by their settings alone (less the keys that only
        schedule the work), so figures that need the same sweep share it.
        """
        settings = {k: v for k, v in config.to_dict().items() if k not in RESULT_NEUTRAL_KEYS}
        path = self.directory("sweeps", {"sweep": settings, "target": _target_key(target)})
        expected = len(config.widths) * len(config.depths) * config.seeds
        if _finished(path, expected) is None:
            self.progress(f"{figure}: sweep of {config.target} (d={config.dim}, {config.activation}), {expected} runs")
            sweep_runner.run_sweep(config, path, resume=True, target=target)
        return path

    def sweep(self, figure: str, config: SweepConfig, target: Target | None = None) -> list[dict[str, str]]:
        """The rows of ``run_sweep(config)`` (see :meth:`sweep_dir`)."""
        return read_rows(self.sweep_dir(figure, config, target) / "results.csv")

    def fmnist(self, figure: str, config: FMNISTConfig) -> list[dict[str, str]]:
        """The rows of ``run_fmnist(config)``, run (or resumed) in the cache;
        :class:`FigureSkipped` when the data set is not on this machine."""
        path = self.directory(figure, {"fmnist": config.to_dict()})
        expected = len(config.widths) * len(config.depths) * config.seeds
        rows = _finished(path, expected)
        if rows is not None:
            return rows
        try:
            dataset = load_fashion_mnist(config.data_dir, download=False)
        except DataError as e:
            raise FigureSkipped(f"Fashion-MNIST data not found: {e}") from None
        self.progress(f"{figure}: built-in Fashion-MNIST sweep, widths {','.join(map(str, config.widths))}")
        return fmnist_runner.run_fmnist(config, path, resume=True, dataset=dataset).rows
