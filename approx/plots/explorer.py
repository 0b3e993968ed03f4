"""An offline, interactive HTML page of a width sweep: ``approx explore RUN_DIR``.

:func:`write_explorer` reads a sweep's run directory (``results.csv``,
``manifest.json`` and the saved networks, see :mod:`approx.results`) and
writes ONE self-contained HTML file: the page's script, its style, the
plotting library and the data are inline, so it opens by double-click with
no server and no network (a Content-Security-Policy in the page forbids any
request). The page shows

* a slider over the sweep's widths, a seed selector (and a depth selector
  when the sweep has several depths);
* ``d = 1``: the target, the training points and the selected network's fit,
  with a toggle that draws its hidden units' contributions
  ``a_j sigma(w_j x + b_j)`` and their sum plus the output bias, Cybenko's
  ``G(x)`` (one hidden layer only);
* ``d = 2``: heatmaps of the target, the fit and ``|f - g|`` (viridis and
  magma, with colour scales);
* ``d > 2``: a 1-D slice through the cube's centre along a chosen axis;
* the test MSE and sup error against width (log-log, median and min-max over
  seeds), the selected width marked; clicking a point selects its width;
* when the networks carry snapshots (:mod:`approx.snapshots`), a slider over
  the training steps;
* English and Spanish (decimal comma in Spanish), every string from
  :mod:`approx.plots.text`;
* the state in the URL fragment (``#w=16&s=0&step=500&lang=es``), so a link
  to one view can go on a slide.

Every number drawn is computed here in NumPy float64 from the saved networks
and embedded (fits as float32, little-endian, base64); the page does no
training. For the hidden units the first layer's weights and the readout are
embedded (float64) and the page evaluates ``a_j sigma(w_j x + b_j)`` itself.

The plotting library is uPlot (MIT licence, vendored in
``approx/explorer_assets``): 51 KB minified, fast on canvas, with log axes,
bands and hooks for the heatmaps, where a hand-written plotter would have
to reinvent tick placement on log axes.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from approx.backend import on_init_device
from approx.errors import InputError
from approx.models import INIT_COMPILER_OPTIONS
from approx.plots.text import LANGS, display_name, strings
from approx.results import (
    NetworkError,
    atomic_write,
    network_path,
    read_manifest,
    read_network,
    read_rows,
    saved_networks,
)
from approx.snapshots import plot_points, snapshots_of
from approx.targets import resolve_target, sample_uniform

__all__ = ["ExplorerError", "LANGS", "explorer_data", "page_strings", "training_points", "write_explorer"]

DATA_FORMAT = 1
ASSETS = Path(__file__).resolve().parent / "explorer_assets"
# Colour maps sampled from matplotlib: viridis for values, magma for |f - g|.
# Both are perceptually uniform and readable under the common colour-vision
# deficiencies (van der Walt and Smith, 2015).
_COLORMAP_STOPS = 64


class ExplorerError(InputError):
    """A run directory the explorer cannot read (missing, not a sweep,
    without networks), or a bad option; the message names it."""


def page_strings() -> dict[str, dict[str, str]]:
    """Every string of the page in both languages, ``{lang: {name: text}}``:
    the ``ex_`` rows of :mod:`approx.plots.text`, embedded in the page's data."""
    return {lang: strings("ex_", lang) for lang in LANGS}


# -- encoding --------------------------------------------------------------------------
def _f32(a) -> str:
    """Float32, little-endian, base64: 4 bytes a number (the page decodes it
    with ``Float32Array``)."""
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def _f64(a) -> str:
    """Float64, little-endian, base64 (the page decodes it with ``Float64Array``)."""
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f8").tobytes()).decode("ascii")


def _number(value: str) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# -- reading the run directory -----------------------------------------------------------
@dataclass(frozen=True)
class _Sweep:
    config: Mapping[str, Any]
    rows: list[dict[str, str]]
    keys: list[tuple[int, int, int]]  # (depth, width, seed) with a row and a network


def _check_is_dir(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise ExplorerError(f"no such run directory {str(run_dir)!r}; give a sweep's output directory")


def _read_sweep(run_dir: Path) -> _Sweep:
    """The sweep's config, rows and saved runs; an :class:`ExplorerError` for
    a folder that is not a sweep with saved networks."""
    _check_is_dir(run_dir)
    manifest = read_manifest(run_dir)
    if manifest is None:
        raise ExplorerError(
            f"{str(run_dir)!r} is not a run directory (no manifest.json); give a sweep's output directory"
        )
    kind = manifest.get("kind", "sweep")
    if kind != "sweep" or not isinstance(manifest.get("config"), dict):
        raise ExplorerError(
            f"{str(run_dir)!r} holds a {kind!r} run; approx explore reads sweep run directories "
            "(the output directory of a width sweep)"
        )
    rows = read_rows(run_dir / "results.csv")
    if not rows:
        raise ExplorerError(f"{str(run_dir)!r} holds no finished runs (results.csv is missing or empty)")
    saved = set(saved_networks(run_dir))
    keys = sorted(
        {(int(r["depth"]), int(r["width"]), int(r["seed"])) for r in rows} & saved
    )
    if not keys:
        raise ExplorerError(
            f"{str(run_dir)!r} holds no saved networks of its runs (a sweep run with save_networks=False); "
            "run the sweep again with save_networks=True"
        )
    return _Sweep(manifest["config"], rows, keys)


def _read_run(run_dir: Path, depth: int, width: int, seed: int):
    try:
        return read_network(network_path(run_dir, depth, width, seed))
    except NetworkError as e:
        raise ExplorerError(str(e)) from None


# -- what the page draws ----------------------------------------------------------------
def _draw_training_points(config: Mapping[str, Any], seed):
    import jax
    import jax.numpy as jnp


    dtype = jnp.float64 if config.get("x64") else jnp.float32
    key = jax.random.fold_in(jax.random.key(seed), 0)  # the key approx.experiments.sweep.make_data folds for them
    return sample_uniform(key, int(config["train_points"]), int(config["dim"]), dtype)


def training_points(config: Mapping[str, Any]) -> np.ndarray:
    """The sweep's training inputs ``(train_points, d)``, drawn as
    :func:`approx.experiments.sweep.make_data` draws them (uniform on the cube from
    ``data_seed``, in the training dtype), from the manifest's ``config``."""
    return _target_and_training(config, np.zeros((0, int(config["dim"]))), with_training=True)[1]


def _target_and_training(config: Mapping[str, Any], x: np.ndarray, *, with_training: bool):
    """The target on ``x`` ``(P, d)`` and, with ``with_training``, the
    training points and the target on them, in one compiled call (eager
    operations would each compile on their own, several times slower).
    Returns ``(f(x), x_train, f(x_train), why)``; the values are ``None``,
    and ``why`` says why, for a ``module:function`` target that cannot be
    imported here."""
    import jax
    import jax.numpy as jnp


    dtype = jnp.float64 if config.get("x64") else jnp.float32
    target, why = None, ""
    try:
        target = resolve_target(config["target"], int(config["dim"]))
    except (ValueError, ImportError) as e:
        why = " ".join(str(e).split())

    @jax.jit
    def build(seed):
        x_train = _draw_training_points(config, seed) if with_training else jnp.zeros((0, x.shape[1]), dtype)
        if target is None:
            return x_train, None
        return x_train, target(jnp.concatenate([jnp.asarray(x, dtype), x_train]))

    seed = np.int32(config.get("data_seed", 0))
    # The host's CPU; run once, so compiled without LLVM's optimisations (it compiles faster);
    # in the sweep's precision (a float64 sweep drew its points in float64).
    with on_init_device(), jax.enable_x64(bool(config.get("x64"))):
        x_train, values = build.lower(seed).compile(compiler_options=INIT_COMPILER_OPTIONS)(seed)
    x_train = np.asarray(x_train)
    if values is None:
        return None, x_train, None, why
    values = np.asarray(values, np.float64).reshape(-1)
    return values[: len(x)], x_train, values[len(x) :], ""


def _curves(rows: Sequence[Mapping[str, str]], depth: int) -> dict[str, Any]:
    """Median, min and max of test MSE and sup error per width over seeds
    (diverged runs left out)."""
    by_width: dict[int, list[tuple[float, float]]] = {}
    for r in rows:
        if int(r["depth"]) != depth or r.get("diverged") == "true":
            continue
        mse, sup = _number(r["test_mse"]), _number(r["test_sup"])
        if mse is not None and sup is not None:
            by_width.setdefault(int(r["width"]), []).append((mse, sup))
    widths = sorted(by_width)
    out: dict[str, Any] = {"widths": widths}
    for i, name in enumerate(("mse", "sup")):
        values = [np.array([v[i] for v in by_width[w]]) for w in widths]
        out[name] = {
            "median": [float(np.median(v)) for v in values],
            "min": [float(v.min()) for v in values],
            "max": [float(v.max()) for v in values],
        }
    out["seeds"] = [len(by_width[w]) for w in widths]
    return out


def _run_entry(network, x: np.ndarray, row: Mapping[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "depth": len(network.widths),
        "width": network.widths[0],
        "seed": int(row["seed"]),
        "test_mse": _number(row["test_mse"]),
        "test_sup": _number(row["test_sup"]),
        "diverged": row.get("diverged") == "true",
        "fit": _f32(network(x)),
    }
    finite = all(np.isfinite(a).all() for a in (*network.kernels, *network.biases))
    if len(network.widths) == 1 and network.dim == 1 and finite:  # Cybenko's G term by term (not of a diverged run)
        entry["units"] = {
            "w": _f64(network.kernels[0][0]),
            "b": _f64(network.biases[0]),
            "a": _f64(network.kernels[1][:, 0]),
            "c": float(network.biases[1][0]),
        }
    snaps = snapshots_of(network)
    if snaps is not None:
        if snaps.x.shape != x.shape or not np.allclose(snaps.x, x, atol=1e-6):
            raise ExplorerError(
                f"the snapshots of depth {entry['depth']}, width {entry['width']}, seed {entry['seed']} are on points "
                f"{snaps.x.shape} other than approx.snapshots.plot_points({network.dim}) {x.shape}"
            )
        entry["snapshots"] = {"steps": [int(s) for s in snaps.steps], "fit": _f32(snaps.fit)}
        if "units" in entry and snaps.params is not None and snaps.params.shape[1] == 3 * entry["width"] + 1:
            # The hidden units at every snapshot: rows (w_1..w_n, b_1..b_n, a_1..a_n, c), the
            # layout of approx.snapshots' flat parameters for one hidden layer on d = 1.
            entry["snapshots"]["params"] = _f32(snaps.params)
    return entry


def _colormaps() -> dict[str, list[str]]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    t = np.linspace(0.0, 1.0, _COLORMAP_STOPS)
    return {name: [to_hex(c) for c in colormaps[name](t)] for name in ("viridis", "magma")}


def explorer_data(run_dir: str | Path, *, lang: str = "en") -> dict[str, Any]:
    """The data the page embeds (a JSON-able dict): the sweep's settings,
    the plotting points ``x`` ``(P, d)`` (:func:`approx.snapshots.plot_points`),
    the target on them, the training points (``d = 1``), the error curves per
    depth and one entry per saved run: its fit on ``x`` (float64 evaluation,
    float32 encoding), its hidden units (depth 1, ``d = 1``) and its snapshots."""
    if lang not in LANGS:
        raise ExplorerError(f"unknown lang {lang!r}; valid: {', '.join(LANGS)}")
    run_dir = Path(run_dir)
    sweep = _read_sweep(run_dir)
    config = sweep.config
    dim = int(config["dim"])
    x = plot_points(dim)
    target, x_train, y_train, why = _target_and_training(config, x, with_training=dim == 1)
    rows = {(int(r["depth"]), int(r["width"]), int(r["seed"])): r for r in sweep.rows}
    runs = [_run_entry(_read_run(run_dir, *key), x, rows[key]) for key in sweep.keys]
    depths = sorted({k[0] for k in sweep.keys})
    return {
        "format": DATA_FORMAT,
        "lang": lang,
        "strings": page_strings(),
        "sweep": {
            "target": str(config["target"]),
            "dim": dim,
            "activation": str(config.get("activation", "sigmoid")),
            # as each language names them (approx.plots.text.display_name)
            "names": {
                code: {
                    "target": display_name(str(config["target"]), code),
                    "activation": display_name(str(config.get("activation", "sigmoid")), code),
                }
                for code in LANGS
            },
            "depths": depths,
            "widths": sorted({k[1] for k in sweep.keys}),
            "seeds": sorted({k[2] for k in sweep.keys}),
            "train_points": int(config.get("train_points", 0)),
        },
        "x": _f32(x),
        "target": None if target is None else _f32(target),
        "target_missing": why,
        "train": None if y_train is None or dim != 1 else {"x": _f32(x_train), "y": _f32(y_train)},
        "curves": {str(d): _curves(sweep.rows, d) for d in depths},
        "runs": runs,
        "colormaps": _colormaps(),
    }


_MARKERS = re.compile(r"/\*(UPLOT_CSS|UPLOT_JS|EXPLORER_JS|EXPLORER_DATA|LANG)\*/")


def _page(data: Mapping[str, Any]) -> str:
    template = (ASSETS / "explorer.html").read_text(encoding="utf-8")
    # "</" would end the inline script element early; "<\/" is the same JSON string.
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).replace("</", "<\\/")
    parts = {
        "UPLOT_CSS": (ASSETS / "uPlot.min.css").read_text(encoding="utf-8"),
        "UPLOT_JS": (ASSETS / "uPlot.iife.min.js").read_text(encoding="utf-8"),
        "EXPLORER_JS": (ASSETS / "explorer.js").read_text(encoding="utf-8"),
        "EXPLORER_DATA": payload,
        "LANG": str(data["lang"]),
    }
    # One pass, so that no inserted text is searched for markers.
    return _MARKERS.sub(lambda m: parts[m.group(1)], template)


def write_explorer(run_dir: str | Path, out: str | Path | None = None, *, lang: str = "en") -> Path:
    """Writes the explorer page of the sweep in ``run_dir`` to ``out``
    (default ``RUN_DIR/explorer.html``), atomically, and returns its path.

    ``lang`` (``en`` or ``es``) is the page's initial language; the page
    switches between both. Raises :class:`ExplorerError` (an
    :class:`~approx.errors.InputError`) for a folder that is not a sweep run
    directory with saved networks, a bad ``lang`` or an ``out`` that cannot
    be written.
    """
    if lang not in LANGS:
        raise ExplorerError(f"unknown lang {lang!r}; valid: {', '.join(LANGS)}")
    _check_is_dir(Path(run_dir))
    path = Path(out) if out is not None else Path(run_dir) / "explorer.html"
    if path.is_dir():
        raise ExplorerError(f"output file (out) {str(path)!r} is a directory; give a file name such as explorer.html")
    if not path.parent.is_dir():
        raise ExplorerError(f"output file (out) {str(path)!r}: no such directory {str(path.parent)!r}")
    data = explorer_data(run_dir, lang=lang)
    atomic_write(path, _page(data).encode("utf-8"))
    return path
