"""The lecture figures: one function per figure, a registry, and :func:`build_figures`.

``approx figures [--out DIR] [--lang en|es] [--refresh]`` regenerates every
figure of the course into ``figures/`` (PNG at 200 dpi and PDF), in the shared
lecture style of :mod:`approx.plots.style` (large type, Okabe-Ito colours, no chart
junk), with English or Spanish titles, labels and legends.

Every figure function has the signature::

    figure(out_dir, *, lang="en", cache=None, quick=False) -> list[Path]

and returns the paths it wrote. Figures that need trained networks keep what
they computed in a :class:`FigureCache` under ``$XDG_CACHE_HOME/approx/figures``
(default ``~/.cache/approx/figures``): sweep records (``results.csv`` and
``manifest.json`` of :func:`approx.experiments.sweep.run_sweep`, under ``sweeps/``, shared
by figures that need the same sweep) and small NumPy archives, each in a
directory named by a hash of its settings and of the source of the modules
that compute them (a change to the training code makes old results stale).
The cache is outside the repository so that any ``--out`` reuses it and the
Spanish build costs only the drawing; ``--refresh`` recomputes. Seeds are
fixed and the programs deterministic on CPU: a cold build and a cached one
write the same bytes.

``quick=True`` shrinks every computation to a few steps and widths: the
figures are drawn the same way but teach nothing. It exists for the tests.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx
from matplotlib.colors import LogNorm
from matplotlib.ticker import ScalarFormatter

from approx.analysis import barron_line, fit_slope, summarize
from approx.config import RESULT_NEUTRAL_KEYS, SweepConfig
from approx.measure import make_measure_fn
from approx.models import MLP, count_params, sigmoid
from approx.plots.style import LANGS, PALETTE, lecture_style, register_text, save_figure, text
from approx.results import read_manifest, read_rows
from approx.experiments.sweep import make_data, run_sweep
from approx.targets import Target, grid, make_target
from approx.train import TrainConfig, make_apply, make_run_fn, mean_squared_error

__all__ = [
    "FIGURES",
    "BuildReport",
    "Figure",
    "FigureCache",
    "FigureSkipped",
    "build_figures",
    "default_cache_dir",
    "gallery_markdown",
    "staircase_network",
]

# Bump when a computation changes so that old cached results are not reused.
CACHE_VERSION = 1


class FigureSkipped(Exception):
    """A figure cannot be drawn here (e.g. its data set is missing); the message says why."""


# -- the cache -------------------------------------------------------------------
def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/approx/figures``, default ``~/.cache/approx/figures``."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "approx" / "figures"


# The modules whose code decides the cached numbers: a change to any of them
# (a new initialisation, another data key) makes every cached result stale.
_COMPUTING_MODULES = ("targets", "models", "train", "experiments/sweep", "measure", "config", "experiments/fmnist")


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    h = hashlib.sha256()
    package = Path(__file__).resolve().parents[2]  # approx/
    for name in _COMPUTING_MODULES:
        path = package / f"{name}.py"
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()[:16]


def _digest(settings: Mapping) -> str:
    blob = json.dumps({"version": CACHE_VERSION, "code": _code_digest(), **settings}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


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

    def sweep(self, figure: str, config: SweepConfig, target: Target | None = None) -> list[dict[str, str]]:
        """The rows of ``run_sweep(config)``, run (or resumed) in the cache.

        Sweeps are keyed by their settings alone (less the keys that only
        schedule the work), so figures that need the same sweep share it.
        """
        sweep = {k: v for k, v in config.to_dict().items() if k not in RESULT_NEUTRAL_KEYS}
        path = self.directory("sweeps", {"sweep": sweep, "target": _target_key(target)})
        expected = len(config.widths) * len(config.depths) * config.seeds
        manifest = read_manifest(path)
        rows = read_rows(path / "results.csv")
        if manifest is not None and manifest.get("finished") and len(rows) >= expected:
            return rows
        self.progress(f"{figure}: sweep of {config.target} (d={config.dim}, {config.activation}), {expected} runs")
        outcome = run_sweep(config, path, resume=True, target=target)
        return outcome.rows


def _target_key(target: Target | None):
    if target is None:
        return None
    return {"name": target.name, "dim": target.dim, "description": target.description}


# -- small fits with the library's training loop ---------------------------------
@dataclass
class Fits:
    """An ensemble of trained one-hidden-layer (or deep) networks, padded to one width."""

    graphdef: object
    params: object  # pytree with a leading ensemble axis
    masks: tuple
    widths: tuple[int, ...]
    seeds: tuple[int, ...]

    def predict(self, x: jax.Array) -> np.ndarray:
        """``(E, n)`` outputs of every member on ``x`` ``(n, d)``."""
        apply = make_apply(self.graphdef)
        out = jax.jit(jax.vmap(lambda p, m: apply(p, x, m)[:, 0]))(self.params, self.masks)
        return np.asarray(out)

    def member(self, i: int):
        """The ``i``-th network as an ``nnx`` module."""
        return nnx.merge(self.graphdef, jax.tree.map(lambda a: a[i], self.params))


def _train_config(config: SweepConfig, **overrides) -> TrainConfig:
    base = {
        "optimizer": config.optimizer,
        "learning_rate": float(config.lr),
        "steps": config.steps,
        "schedule": config.schedule,
        "batch_size": config.batch_size,
        "output_init": config.output_init,
    }
    return TrainConfig(**(base | overrides))


def _init_members(config: SweepConfig, depth: int, padded: int, members: Sequence[tuple[int, int]]):
    """Initial parameters of ``(width, seed)`` members padded to ``padded``
    units, with the sweep's keys (so a fit equals the sweep's run of the same
    width and seed)."""
    dtype = jnp.float64 if config.x64 else jnp.float32

    def one(seed, active):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), depth), active)
        model = MLP(
            config.dim, [padded] * depth, 1, activation=config.activation, init=config.init,
            active_widths=[active] * depth, slope_scale=config.slope_scale, key=key, dtype=dtype,
        )  # fmt: skip
        return nnx.state(model), jax.random.fold_in(key, 1)

    seeds = jnp.asarray([s for _, s in members], jnp.int32)
    actives = jnp.asarray([w for w, _ in members], jnp.int32)
    params, keys = jax.jit(jax.vmap(one))(seeds, actives)
    shape = {"activation": config.activation, "init": config.init, "slope_scale": config.slope_scale, "dtype": dtype}
    graphdef = nnx.graphdef(
        nnx.eval_shape(lambda: MLP(config.dim, [padded] * depth, 1, key=jax.random.key(0), **shape))
    )
    mask = (np.arange(padded)[None, :] < np.asarray(actives)[:, None]).astype(np.float64 if config.x64 else np.float32)
    return graphdef, params, tuple(jnp.asarray(mask) for _ in range(depth)), keys


def fit_networks(config: SweepConfig, members: Sequence[tuple[int, int]], target: Target, depth: int = 1, *, data=None):
    """Trains ``(width, seed)`` members on the sweep's training data (or
    ``data``) as one compiled, vmapped program; returns :class:`Fits` and the data."""
    data = make_data(config, target) if data is None else data
    padded = max(w for w, _ in members)
    graphdef, params, masks, keys = _init_members(config, depth, padded, members)
    run = make_run_fn(graphdef, _train_config(config), mean_squared_error)
    result = run(params, masks, data.x_train, data.y_train, keys)
    fits = Fits(graphdef, result.params, masks, tuple(w for w, _ in members), tuple(s for _, s in members))
    return fits, data


def refine_fits(fits: Fits, data, train: TrainConfig) -> Fits:
    """Continues training every member of ``fits`` with ``train`` (e.g. L-BFGS)."""
    run = make_run_fn(fits.graphdef, train, mean_squared_error)
    keys = jax.random.split(jax.random.key(0), len(fits.widths))
    result = run(fits.params, fits.masks, data.x_train, data.y_train, keys)
    return Fits(fits.graphdef, result.params, fits.masks, fits.widths, fits.seeds)


def _astype(tree, dtype):
    return jax.tree.map(lambda a: jnp.asarray(a, dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, tree)


def measure_fits(fits: Fits, target: Target, data) -> dict[str, np.ndarray]:
    """``test_mse``, ``test_l1``, ``test_sup`` of every member, ``(E,)`` each."""
    measure = make_measure_fn(fits.graphdef, target.fn, target.dim)
    out = measure(fits.params, fits.masks, data.x_test, data.y_test, data.x_sup)
    return {k: np.asarray(v) for k, v in out.items()}


# -- Cybenko's construction, without training ------------------------------------
def staircase_network(f: Callable[[np.ndarray], np.ndarray], n: int, steepness: float = 40.0):
    """A sum of ``n`` steep sigmoids approximating ``f`` on ``[0, 1]``, no training.

    The construction of Cybenko's (1989) proof as Nielsen draws it: cut
    ``[0, 1]`` into ``n`` cells of width ``1/n``, take ``f`` at each cell's
    centre, ``v_k = f((k + 1/2) / n)``, and build the staircase

        G(x) = v_0 sigma(s (x + 1/n)) + sum_{k=1}^{n-1} (v_k - v_{k-1}) sigma(s (x - k/n)),

    whose first unit is ~1 on the whole interval and whose unit ``k`` climbs
    from cell ``k-1``'s value to cell ``k``'s at the cell boundary. With slope
    ``s = steepness * n`` each step rises within a small fraction of a cell,
    so ``sup |f - G|`` is about the oscillation of ``f`` over half a cell:
    ``O(1/n)`` for a Lipschitz ``f``.

    Returns ``(a, w, b)``, each ``(n,)``: ``G(x) = sum_j a_j sigma(w_j x + b_j)``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    centres = (np.arange(n) + 0.5) / n
    values = np.asarray(f(centres), float)
    a = np.concatenate([values[:1], np.diff(values)])
    s = steepness * n
    thresholds = np.concatenate([[-1.0 / n], np.arange(1, n) / n])
    return a, np.full(n, s), -s * thresholds


def _eval_units(a, w, b, x, activation=sigmoid) -> np.ndarray:
    """``(n_units, len(x))`` terms ``a_j act(w_j x + b_j)`` on 1-D points."""
    z = np.asarray(w)[:, None] * np.asarray(x)[None, :] + np.asarray(b)[:, None]
    return np.asarray(a)[:, None] * np.asarray(activation(jnp.asarray(z)))


def _target_1d(target: Target, x: np.ndarray) -> np.ndarray:
    return np.asarray(target(jnp.asarray(x, jnp.float32)[:, None]))


# -- labels ------------------------------------------------------------------------
register_text(
    {
        "en": {
            "lf_x": "x",
            "lf_target": "target f",
            "lf_width_n": "hidden width n",
            "lf_sup": "sup error  max |f − g|",
            "lf_l2": "L2 error  ‖f − g‖₂",
            "lf_mse": "mean squared error",
            "lf_sine": "sin(2πx) + ½ sin(6πx)",
            "lf_l2_panel": "L2 norm",
            "lf_sup_panel": "sup norm",
            # 1
            "lf1_title": "From sigmoid to step, from two steps to a bump",
            "lf1_left": "σ(w (x − s)) as w grows  (s = {s})",
            "lf1_right": "h [σ(w (x − s₁)) − σ(w (x − s₂))]",
            "lf1_step": "step at s",
            "lf1_w": "w = {w}",
            "lf1_h": "height h = {h}",
            # 2
            "lf2_title": (
                "Cybenko's construction (no training) against training:  "
                "f(x) = 0.2 + 0.4x² + 0.3x sin 15x + 0.05 cos 50x"
            ),
            "lf2_row_construct": "sum of n steep\nsigmoid steps",
            "lf2_row_trained": "trained network\n(Adam, seed 0)",
            "lf2_panel": "n = {n}:  sup error {sup:.3f}",
            "lf2_rate_title": "sup error against n",
            "lf2_construct": "construction",
            "lf2_trained": "trained",
            "lf2_ref": "slope −1",
            "lf2_values": "cell centres",
            # 3
            "lf3_title": "A trained width-{n} network, unit by unit",
            "lf3_units": r"units  $a_j\,\sigma(w_j x + b_j)$",
            "lf3_sum": "their sum + c  (the network)",
            "lf3_bias": "output bias c",
            "lf3_note": "MSE {mse:.1e},  sup error {sup:.2f}",
            # 4
            "lf4_title": "Continuity matters for the sup norm, not for L2",
            "lf4_smooth": "smooth: sin(2πx) + ½ sin(6πx)",
            "lf4_kink": "kink: |x − ½|",
            "lf4_step": "step: 1[x ≥ ½]",
            "lf4_half": "½: no continuous g does better on the step",
            "lf4_l2_panel": "L2 error (Hornik: → 0 for all three)",
            "lf4_sup_panel": "sup error (Cybenko needs continuity)",
            # 5
            "lf5_title": "Hornik: any bounded, non-constant activation approximates  (target {target})",
            # 6
            "lf6_title": "Two inputs: target, fit and error on [0, 1]²",
            "lf6_target": "target f(x₁, x₂)",
            "lf6_fit": "network, n = {n}",
            "lf6_err": "|f − g|,  n = {n}\nsup {sup:.2g}",
            "lf6_value": "value",
            "lf6_abs_err": "|f − g|",
            # 7
            "lf7_title": "Depth against width on the sawtooth ({pieces} linear pieces)",
            "lf7_params": "number of parameters   (at each point: its width n)",
            "lf7_depth1": "1 hidden layer (shallow, wide)",
            "lf7_depthn": "{d} hidden layers (deep, narrow)",
            # 8
            "lf8_title": "Barron class (target ridge): trained networks keep improving with width in every dimension;\n"
            "random features (fixed hidden layer) fall further behind as d grows",
            "lf8_trained": "trained (all layers)",
            "lf8_random": "random features (output layer only)",
            "lf8_barron": "Barron's bound (2C)²/n",
            # 9
            "lf9_title": "Fashion-MNIST: accuracy against hidden width",
            "lf9_accuracy": "accuracy (%)",
            "lf9_depth1": "1 hidden layer",
            "lf9_depthn": "{d} hidden layers",
            "lf9_builtin": "short built-in sweep: {n} training images, {epochs} epoch(s)",
            "lf9_results": "results from {path}",
            # 10
            "lf10_title": "Optimisation or approximation?  (target {target})",
            "lf10_lecun": "frameworks' default (LeCun init, random readout), Adam",
            "lf10_adam": "approx's default (spread init, least-squares readout), Adam",
            "lf10_best": "best of {k} restarts, each polished by L-BFGS in float64",
            "lf10_gap": "what the optimiser leaves",
            "lf10_legend_title": "Adam in float32: median and min–max of {k} seeds",
        },
        "es": {
            "lf_x": "x",
            "lf_target": "función objetivo f",
            "lf_width_n": "anchura oculta n",
            "lf_sup": "error uniforme  máx |f − g|",
            "lf_l2": "error L2  ‖f − g‖₂",
            "lf_mse": "error cuadrático medio",
            "lf_sine": "sen(2πx) + ½ sen(6πx)",
            "lf_l2_panel": "norma L2",
            "lf_sup_panel": "norma uniforme (sup)",
            "lf1_title": "De la sigmoide al escalón, de dos escalones a un pulso",
            "lf1_left": "σ(w (x − s)) al crecer w  (s = {s})",
            "lf1_right": "h [σ(w (x − s₁)) − σ(w (x − s₂))]",
            "lf1_step": "escalón en s",
            "lf1_w": "w = {w}",
            "lf1_h": "altura h = {h}",
            "lf2_title": (
                "La construcción de Cybenko (sin entrenar) frente al entrenamiento:  "
                "f(x) = 0.2 + 0.4x² + 0.3x sen 15x + 0.05 cos 50x"
            ),
            "lf2_row_construct": "suma de n escalones\nsigmoides abruptos",
            "lf2_row_trained": "red entrenada\n(Adam, semilla 0)",
            "lf2_panel": "n = {n}:  error uniforme {sup:.3f}",
            "lf2_rate_title": "error uniforme frente a n",
            "lf2_construct": "construcción",
            "lf2_trained": "entrenada",
            "lf2_ref": "pendiente −1",
            "lf2_values": "centros de celda",
            "lf3_title": "Una red entrenada de anchura {n}, unidad por unidad",
            "lf3_units": r"unidades  $a_j\,\sigma(w_j x + b_j)$",
            "lf3_sum": "su suma + c  (la red)",
            "lf3_bias": "sesgo de salida c",
            "lf3_note": "ECM {mse:.1e},  error uniforme {sup:.2f}",
            "lf4_title": "La continuidad importa para la norma uniforme, no para L2",
            "lf4_smooth": "suave: sen(2πx) + ½ sen(6πx)",
            "lf4_kink": "pico: |x − ½|",
            "lf4_step": "escalón: 1[x ≥ ½]",
            "lf4_half": "½: ninguna g continua mejora en el escalón",
            "lf4_l2_panel": "error L2 (Hornik: → 0 en los tres)",
            "lf4_sup_panel": "error uniforme (Cybenko exige continuidad)",
            "lf5_title": "Hornik: toda activación acotada y no constante aproxima  (función objetivo {target})",
            "lf6_title": "Dos entradas: función objetivo, ajuste y error en [0, 1]²",
            "lf6_target": "función objetivo f(x₁, x₂)",
            "lf6_fit": "red, n = {n}",
            "lf6_err": "|f − g|,  n = {n}\nmáx {sup:.2g}",
            "lf6_value": "valor",
            "lf6_abs_err": "|f − g|",
            "lf7_title": "Profundidad frente a anchura en el diente de sierra ({pieces} tramos lineales)",
            "lf7_params": "número de parámetros   (junto a cada punto: su anchura n)",
            "lf7_depth1": "1 capa oculta (poco profunda, ancha)",
            "lf7_depthn": "{d} capas ocultas (profunda, estrecha)",
            "lf8_title": (
                "Clase de Barron (función objetivo ridge): las redes entrenadas mejoran con la anchura en toda\n"
                "dimensión; los rasgos aleatorios (capa oculta fija) se quedan más atrás al crecer d"
            ),
            "lf8_trained": "red entrenada (todas las capas)",
            "lf8_random": "rasgos aleatorios (solo la capa de salida)",
            "lf8_barron": "cota de Barron (2C)²/n",
            "lf9_title": "Fashion-MNIST: exactitud frente a la anchura oculta",
            "lf9_accuracy": "exactitud (%)",
            "lf9_depth1": "1 capa oculta",
            "lf9_depthn": "{d} capas ocultas",
            "lf9_builtin": "barrido breve incorporado: {n} imágenes de entrenamiento, {epochs} época(s)",
            "lf9_results": "resultados de {path}",
            "lf10_title": "¿Optimización o aproximación?  (función objetivo {target})",
            "lf10_lecun": "por defecto en los frameworks (inic. LeCun, salida aleatoria), Adam",
            "lf10_adam": "por defecto en approx (inic. repartida, salida por mínimos cuadrados), Adam",
            "lf10_best": "la mejor de {k} reinicios, cada uno pulido con L-BFGS en float64",
            "lf10_gap": "lo que deja el optimizador",
            "lf10_legend_title": "Adam en float32: mediana y mín–máx de {k} semillas",
        },
    }
)


def _fmt_num(value: float, lang: str, digits: int = 2) -> str:
    """A decimal number with the language's decimal mark (Spanish: comma)."""
    s = f"{value:.{digits}f}"
    return s.replace(".", ",") if lang == "es" else s


# Unit colours for figure 3: the Okabe-Ito hues other than the network's blue,
# yellow (too pale on white) and black (the target).
UNIT_COLORS = ("#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#999999")


def _stem(out_dir, name: str) -> Path:
    return Path(out_dir) / name


# -- 1. from sigmoid to step and bump ------------------------------------------------
def figure_sigmoid_step_bump(out_dir, *, lang: str = "en", cache: FigureCache | None = None, quick: bool = False):
    """sigma(w (x - s)) tends to the step 1[x >= s] as w grows; the difference
    of two steep sigmoids is a bump of height h on [s1, s2] (the building
    block of the visual proof of Cybenko's theorem)."""
    del cache, quick  # nothing to compute
    x = np.linspace(0.0, 1.0, 1201)
    s, (s1, s2), h = 0.4, (0.3, 0.6), 0.8
    slopes = (3, 10, 30, 300)
    with lecture_style():
        fig, axes = plt.subplots(1, 2, figsize=(14, 5.4))
        ax = axes[0]
        ax.plot(x, (x >= s).astype(float), "--", color="0.2", linewidth=2, label=text("lf1_step", lang), zorder=1)
        for i, w in enumerate(slopes):
            ax.plot(x, np.asarray(sigmoid(jnp.asarray(w * (x - s)))), color=PALETTE[i], label=text("lf1_w", lang, w=w))
        ax.set_title(text("lf1_left", lang, s=s))
        ax.set_xticks([0, s, 1], ["0", "s", "1"])
        ax.legend(loc="upper left")
        ax = axes[1]
        for i, w in enumerate(slopes[1:], 1):
            bump = h * (np.asarray(sigmoid(jnp.asarray(w * (x - s1)))) - np.asarray(sigmoid(jnp.asarray(w * (x - s2)))))
            ax.plot(x, bump, color=PALETTE[i], label=text("lf1_w", lang, w=w))
        arrow = {"arrowstyle": "<->", "color": "0.2", "linewidth": 2}
        ax.annotate("", xy=(0.74, h), xytext=(0.74, 0), arrowprops=arrow)
        ax.hlines(h, s2, 0.74, colors="0.5", linestyles=":", linewidth=1.5)
        ax.text(0.76, h / 2, text("lf1_h", lang, h=h), va="center", fontsize=14)
        ax.set_title(text("lf1_right", lang))
        ax.set_xticks([0, s1, s2, 1], ["0", "s₁", "s₂", "1"])
        ax.legend(loc="upper left")
        for ax in axes:
            ax.set_xlabel(text("lf_x", lang))
            ax.set_ylim(-0.05, 1.12)
            ax.set_xlim(0, 1)
        fig.suptitle(text("lf1_title", lang))
        fig.tight_layout()
        return save_figure(fig, _stem(out_dir, "01_sigmoid_to_step"))


# -- 2. Cybenko's construction against training ----------------------------------------
def _fig2_settings(quick: bool):
    widths = (4, 16) if quick else (4, 16, 64)
    config = SweepConfig(
        target="nielsen", widths=widths, seeds=1, steps=30 if quick else 3000, train_points=512, test_points=2048
    )
    return config, (2, 4, 8, 16) if quick else tuple(2**k for k in range(1, 10))


def figure_construction_vs_training(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """Cybenko's construction (a staircase of n steep sigmoids at the cell
    boundaries, no training) for n = 4, 16, 64, with its sup error, above
    networks of the same widths trained by Adam; right: both sup errors
    against n (the construction's falls like 1/n)."""
    cache = cache or FigureCache()
    config, rate_widths = _fig2_settings(quick)
    target = make_target(config.target)
    xs = np.linspace(0.0, 1.0, 16385)
    fx = _target_1d(target, xs)

    def construct(n):
        a, w, b = staircase_network(lambda t: _target_1d(target, t), n)
        return _eval_units(a, w, b, xs).sum(axis=0)

    def compute():
        fits, data = fit_networks(config, [(w, 0) for w in config.widths], target)
        errors = measure_fits(fits, target, data)
        return {"trained": fits.predict(jnp.asarray(xs[:, None], jnp.float32)), "trained_sup": errors["test_sup"]}

    trained = cache.arrays("02_construction_vs_training", {"config": config.to_dict()}, compute)
    construct_sup = np.array([np.max(np.abs(construct(n) - fx)) for n in rate_widths])
    plot_x = xs[::8]
    with lecture_style():
        fig = plt.figure(figsize=(18, 8.2))
        grid_spec = fig.add_gridspec(2, len(config.widths) + 1, width_ratios=[1] * len(config.widths) + [1.15])
        for col, n in enumerate(config.widths):
            g = construct(n)
            rows = (
                (g, np.max(np.abs(g - fx)), PALETTE[0], "lf2_row_construct"),
                (trained["trained"][col], float(trained["trained_sup"][col]), PALETTE[1], "lf2_row_trained"),
            )
            for row, (curve, sup, color, label) in enumerate(rows):
                ax = fig.add_subplot(grid_spec[row, col])
                ax.plot(plot_x, fx[::8], "--", color="0.15", linewidth=2, label=text("lf_target", lang))
                ax.plot(plot_x, curve[::8], color=color, linewidth=2.5)
                if row == 0:
                    centres = (np.arange(n) + 0.5) / n
                    if n <= 16:
                        ax.plot(centres, _target_1d(target, centres), "o", color=color, markersize=6,
                                label=text("lf2_values", lang))  # fmt: skip
                ax.set_title(text("lf2_panel", lang, n=n, sup=sup), fontsize=15)
                ax.set_ylim(0.0, 1.05)
                ax.set_xlim(0, 1)
                ax.set_xticks([0, 0.5, 1])
                if col == 0:
                    ax.set_ylabel(text(label, lang), fontsize=15)
                else:
                    ax.set_yticklabels([])
                if row == 1:
                    ax.set_xlabel(text("lf_x", lang))
                else:
                    ax.set_xticklabels([])
                if row == 0 and col == 0:
                    ax.legend(loc="upper left", fontsize=12)
        ax = fig.add_subplot(grid_spec[:, -1])
        ax.plot(rate_widths, construct_sup, "o-", color=PALETTE[0], label=text("lf2_construct", lang))
        ax.plot(config.widths, trained["trained_sup"], "s-", color=PALETTE[1], label=text("lf2_trained", lang))
        ref = construct_sup[-1] * rate_widths[-1] / np.asarray(rate_widths, float)
        ax.plot(rate_widths, ref, ":", color="0.4", linewidth=2, label=text("lf2_ref", lang))
        ax.set_yscale("log")
        _width_axis(ax, rate_widths, lang=lang)
        ax.set_ylabel(text("lf_sup", lang))
        ax.set_title(text("lf2_rate_title", lang))
        ax.legend(loc="lower left")
        fig.suptitle(text("lf2_title", lang))
        fig.tight_layout()
        return save_figure(fig, _stem(out_dir, "02_construction_vs_training"))


# -- 3. hidden-unit decomposition ------------------------------------------------------
def _fig3_settings(quick: bool):
    # slope_scale 4: the spread init's transitions start as steep as Cybenko's
    # steps; with the default (1) the least-squares readout of eight gentle,
    # nearly collinear sigmoids has coefficients of +-50 that cancel, which
    # fits as well but cannot be drawn on the target's scale.
    return SweepConfig(
        target="nielsen", widths=(8,), seeds=4, steps=30 if quick else 3000, train_points=512,
        test_points=2048, slope_scale=4.0,
    )  # fmt: skip


def figure_hidden_units(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """A trained width-8 sigmoid network on ``nielsen`` (the best of four
    seeds), unit by unit: each term a_j sigma(w_j x + b_j) faint, their sum
    plus the output bias in bold, the target dashed."""
    cache = cache or FigureCache()
    config = _fig3_settings(quick)
    width = config.widths[0]
    target = make_target(config.target)

    def compute():
        fits, data = fit_networks(config, [(width, s) for s in range(config.seeds)], target)
        errors = measure_fits(fits, target, data)
        best = int(np.argmin(errors["test_mse"]))
        model = fits.member(best)
        return {
            "w": np.asarray(model.layers[0].kernel[...])[0],
            "b": np.asarray(model.layers[0].bias[...]),
            "a": np.asarray(model.layers[1].kernel[...])[:, 0],
            "c": np.asarray(model.layers[1].bias[...]),
            "mse": errors["test_mse"][best],
            "sup": errors["test_sup"][best],
        }

    p = cache.arrays("03_hidden_units", {"config": config.to_dict()}, compute)
    x = np.linspace(0.0, 1.0, 1001)
    units = _eval_units(p["a"], p["w"], p["b"], x)
    total = units.sum(axis=0) + float(p["c"][0])
    with lecture_style():
        fig, ax = plt.subplots(figsize=(11, 6.2))
        ax.axhline(0.0, color="0.6", linewidth=1)
        for k, j in enumerate(np.argsort(-p["b"] / p["w"])):
            color = UNIT_COLORS[k % len(UNIT_COLORS)]
            ax.plot(x, units[j], color=color, alpha=0.55, linewidth=2.2)
            centre = -p["b"][j] / p["w"][j]
            if 0.0 <= centre <= 1.0:
                ax.plot([centre], [p["a"][j] / 2], "o", color=color, alpha=0.9, markersize=7)
        ax.plot([], [], color="0.55", linewidth=2.2, label=text("lf3_units", lang))
        ax.axhline(float(p["c"][0]), color="0.35", linestyle=":", linewidth=2, label=text("lf3_bias", lang))
        ax.plot(x, _target_1d(target, x), "--", color="black", linewidth=2.5, label=text("lf_target", lang))
        ax.plot(x, total, color=PALETTE[0], linewidth=4, label=text("lf3_sum", lang))
        ax.set_xlim(0, 1)
        ax.set_xlabel(text("lf_x", lang))
        ax.set_title(text("lf3_title", lang, n=width))
        ax.text(0.99, 0.98, text("lf3_note", lang, mse=float(p["mse"]), sup=float(p["sup"])), transform=ax.transAxes,
                ha="right", va="top", fontsize=13, color="0.3")  # fmt: skip
        ax.legend(loc="upper left", ncol=2, fontsize=12)
        lo, hi = min(units.min(), 0.0), max(units.max(), total.max())
        ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.35 * (hi - lo))
        fig.tight_layout()
        return save_figure(fig, _stem(out_dir, "03_hidden_units"))


# -- shared 1-D sweep settings ----------------------------------------------------------
def _sweep_1d(target: str, quick: bool, **overrides) -> SweepConfig:
    """The 1-D width sweep behind figures 4 and 5: widths 1..128, three seeds,
    2000 Adam steps (cosine schedule) from the spread init, 512 training points."""
    base = {
        "target": target,
        "widths": (2, 8) if quick else tuple(2**k for k in range(8)),
        "seeds": 1 if quick else 3,
        "steps": 20 if quick else 2000,
        "train_points": 128 if quick else 512,
        "test_points": 256 if quick else 2048,
        "bucket_ratio": 8.0 if quick else 4.0,
    }
    return SweepConfig(**(base | overrides))


def _median_band(rows, metric: str, transform=lambda v: v):
    """Widths, and the median, min and max over seeds of ``metric`` per width."""
    s = summarize(rows, ("width",), metric)
    w = np.array([r["width"] for r in s], float)
    return (
        w,
        transform(np.array([r["median"] for r in s])),
        transform(np.array([r["min"] for r in s])),
        transform(np.array([r["max"] for r in s])),
    )


def _plot_band(ax, w, med, lo, hi, color, label, marker="o", linestyle="-"):
    ax.fill_between(w, lo, hi, color=color, alpha=0.18, linewidth=0)
    ax.plot(w, med, marker=marker, linestyle=linestyle, color=color, label=label)


def _width_axis(ax, widths, label_key="lf_width_n", lang="en", max_ticks=9):
    """A log2 x axis ticked at the widths (every other one past ``max_ticks``),
    labelled as plain integers."""
    ax.set_xscale("log", base=2)
    ticks = [int(w) for w in widths]
    if len(ticks) > max_ticks:
        ticks = ticks[::2]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel(text(label_key, lang))


# -- 4. continuity: L2 against sup ---------------------------------------------------------
FIG4_TARGETS = (("sine", "lf4_smooth"), ("kink", "lf4_kink"), ("step", "lf4_step"))


def figure_continuity(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """Error against width for a smooth, a kinked and a discontinuous target,
    L2 norm and sup norm side by side: for the step the L2 error falls
    (Hornik 1991, L^p) while the sup error stays at 1/2 (Cybenko 1989 needs
    a continuous target; any continuous g is >= 1/2 away somewhere)."""
    cache = cache or FigureCache()
    results = {name: cache.sweep("04_continuity", _sweep_1d(name, quick)) for name, _ in FIG4_TARGETS}
    with lecture_style():
        fig, axes = plt.subplots(1, 2, figsize=(14, 5.8), sharex=True)
        for i, (name, label) in enumerate(FIG4_TARGETS):
            rows = results[name]
            w, *l2 = _median_band(rows, "test_mse", np.sqrt)
            _plot_band(axes[0], w, *l2, PALETTE[i], text(label, lang), marker="os^"[i])
            w, *sup = _median_band(rows, "test_sup")
            _plot_band(axes[1], w, *sup, PALETTE[i], text(label, lang), marker="os^"[i])
        axes[1].axhline(0.5, color=PALETTE[2], linestyle=":", linewidth=2, label=text("lf4_half", lang))
        for ax, key, ylabel in ((axes[0], "lf4_l2_panel", "lf_l2"), (axes[1], "lf4_sup_panel", "lf_sup")):
            ax.set_yscale("log")
            _width_axis(ax, w, lang=lang)
            ax.set_ylabel(text(ylabel, lang))
            ax.set_title(text(key, lang), fontsize=16)
        axes[0].legend(loc="lower left")
        axes[1].legend(loc="lower left", fontsize=11.5)
        fig.suptitle(text("lf4_title", lang))
        fig.tight_layout()
        return save_figure(fig, _stem(out_dir, "04_continuity_l2_vs_sup"))


# -- 5. Hornik: any bounded non-constant activation ------------------------------------------
# (activation, label, options). The spread init's slope grows like n; for
# sigmoid-like units that only sharpens the steps, but sin units of frequency
# ~n miss the target's low frequencies (at n = 64 their least-squares readout
# leaves a training MSE of 0.25 with coefficients of 1e5), so sin starts four
# times gentler. Bucket ratios only schedule the work: the cheap activations
# train all widths as one program, the costly sin-based ones in three.
FIG5_ACTIVATIONS = (
    ("sigmoid", "lf5_sigmoid", {"bucket_ratio": 128.0}),
    ("tanh", "tanh", {"bucket_ratio": 128.0}),
    ("cos_squasher", "lf5_cos", {"bucket_ratio": 4.0}),
    ("sin", "lf5_sin", {"bucket_ratio": 4.0, "slope_scale": 0.25}),
    ("relu", "lf5_relu", {"bucket_ratio": 128.0}),
)
register_text(
    {
        "en": {
            "lf5_sigmoid": "sigmoid",
            "lf5_cos": "cosine squasher",
            "lf5_sin": "sin (init slope ×¼)",
            "lf5_relu": "relu (unbounded: Leshno 1993)",
        },
        "es": {
            "lf5_sigmoid": "sigmoide",
            "lf5_cos": "aplastador coseno",
            "lf5_sin": "sen (pendiente inicial ×¼)",
            "lf5_relu": "relu (no acotada: Leshno 1993)",
        },
    }
)


def _fig5_config(activation: str, options: Mapping, quick: bool) -> SweepConfig:
    more = {} if quick else {"seeds": 2, "steps": 1500, "widths": tuple(2**k for k in range(7))}
    return _sweep_1d("sine", quick, activation=activation, **more, **options)


def figure_activations(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """Hornik (1991): the same width sweep (target ``sine``) with sigmoid,
    tanh, the cosine squasher, sin and relu; every bounded non-constant
    activation approximates (relu too, by Leshno et al. 1993)."""
    cache = cache or FigureCache()
    activations = FIG5_ACTIVATIONS[::4] if quick else FIG5_ACTIVATIONS
    with lecture_style():
        fig, axes = plt.subplots(1, 2, figsize=(14, 5.8), sharex=True)
        for i, (activation, label, options) in enumerate(activations):
            rows = cache.sweep("05_activations", _fig5_config(activation, options, quick))
            name = text(label, lang) if label.startswith("lf") else label
            w, med, _, _ = _median_band(rows, "test_mse", np.sqrt)
            axes[0].plot(w, med, marker="os^Dv"[i], color=PALETTE[i], label=name)
            w, med, _, _ = _median_band(rows, "test_sup")
            axes[1].plot(w, med, marker="os^Dv"[i], color=PALETTE[i], label=name)
        for ax, key, ylabel in ((axes[0], "lf_l2_panel", "lf_l2"), (axes[1], "lf_sup_panel", "lf_sup")):
            ax.set_yscale("log")
            _width_axis(ax, w, lang=lang)
            ax.set_ylabel(text(ylabel, lang))
            ax.set_title(text(key, lang), fontsize=16)
        axes[0].legend(loc="lower left")
        fig.suptitle(text("lf5_title", lang, target=text("lf_sine", lang)))
        fig.tight_layout()
        return save_figure(fig, _stem(out_dir, "05_activations"))


# -- 6. two dimensions -----------------------------------------------------------------------
def _fig6_settings(quick: bool):
    widths = (4, 16) if quick else (2, 8, 64)
    config = SweepConfig(
        target="ridge", dim=2, widths=widths, seeds=1, steps=30 if quick else 3000,
        train_points=256 if quick else 2048, test_points=1024 if quick else 4096,
    )  # fmt: skip
    return config, 33 if quick else 129


def figure_two_dimensions(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """A 2-D target (``ridge``: three plane waves) on [0,1]^2, the fits of
    trained sigmoid networks of three widths, and their errors |f - g| on
    one logarithmic colour scale."""
    cache = cache or FigureCache()
    config, m = _fig6_settings(quick)
    target = make_target(config.target, config.dim)
    points = grid(m, 2)

    def compute():
        fits, data = fit_networks(config, [(w, 0) for w in config.widths], target)
        errors = measure_fits(fits, target, data)
        return {
            "fit": fits.predict(points).reshape(len(config.widths), m, m),
            "sup": errors["test_sup"],
            "mse": errors["test_mse"],
            "x_train": np.asarray(data.x_train),
        }

    r = cache.arrays("06_two_dimensions", {"config": config.to_dict(), "m": m}, compute)
    f = np.asarray(target(points)).reshape(m, m)
    lo, hi = float(f.min()), float(f.max())
    err_norm = LogNorm(vmin=1e-4, vmax=1.0)
    k = len(config.widths)
    show = {"origin": "lower", "extent": (0, 1, 0, 1), "interpolation": "nearest"}
    with lecture_style(), plt.rc_context({"axes.grid": False}):
        fig, axes = plt.subplots(2, k + 1, figsize=(4.1 * (k + 1) + 1.6, 8.4), constrained_layout=True)
        # grid(m, 2) is indexed (x1, x2) -> transpose so that x1 runs along the horizontal axis.
        value_image = axes[0, 0].imshow(f.T, cmap="viridis", vmin=lo, vmax=hi, **show)
        axes[0, 0].set_title(text("lf6_target", lang), fontsize=15)
        xt = r["x_train"]
        axes[1, 0].plot(xt[:, 0], xt[:, 1], ".", color="0.3", markersize=2.5)
        axes[1, 0].set_title(text("lf6_train", lang, n=len(xt)), fontsize=15)
        axes[1, 0].set_aspect("equal")
        axes[1, 0].set_xlim(0, 1)
        axes[1, 0].set_ylim(0, 1)
        for j, n in enumerate(config.widths):
            axes[0, j + 1].imshow(r["fit"][j].T, cmap="viridis", vmin=lo, vmax=hi, **show)
            axes[0, j + 1].set_title(text("lf6_fit", lang, n=n), fontsize=15)
            err = np.clip(np.abs(r["fit"][j] - f), 1e-4, 1.0)
            err_image = axes[1, j + 1].imshow(err.T, cmap="magma", norm=err_norm, **show)
            axes[1, j + 1].set_title(text("lf6_err", lang, n=n, sup=float(r["sup"][j])), fontsize=15)
        for ax in axes.ravel():
            ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
            ax.set_yticks([0, 0.5, 1], ["0", "0.5", "1"])
        for ax in axes[1]:
            ax.set_xlabel("x₁")
        for ax in axes[:, 0]:
            ax.set_ylabel("x₂")
        fig.colorbar(value_image, ax=axes[0, :], shrink=0.9, pad=0.02).set_label(text("lf6_value", lang))
        fig.colorbar(err_image, ax=axes[1, :], shrink=0.9, pad=0.02).set_label(text("lf6_abs_err", lang))
        fig.suptitle(text("lf6_title", lang))
        return save_figure(fig, _stem(out_dir, "06_two_dimensions"))


register_text(
    {
        "en": {"lf6_train": "{n} training points"},
        "es": {"lf6_train": "{n} puntos de entrenamiento"},
    }
)


# -- 7. depth against width -----------------------------------------------------------------------
def _fig7_settings(quick: bool):
    common = {
        "target": "sawtooth",
        "seeds": 1 if quick else 3,
        "steps": 20 if quick else 3000,
        "train_points": 128 if quick else 512,
        "test_points": 256 if quick else 2048,
    }
    shallow_widths = (2, 8) if quick else tuple(2**k for k in range(1, 8))
    shallow = SweepConfig(depths=(1,), widths=shallow_widths, bucket_ratio=8.0, **common)
    deep_widths = (2, 4) if quick else (2, 4, 8, 16)
    deep = SweepConfig(depths=(2,) if quick else (2, 3), widths=deep_widths, bucket_ratio=8.0, **common)
    return shallow, deep


def telgarsky_sawtooth(k: int):
    """Telgarsky's (2016) ReLU network for the tent map composed ``k`` times:
    depth ``k``, width 2, ``6k + 1`` parameters, exact on [0, 1].

    One layer computes ``tent(t) = 2 relu(t) - 4 relu(t - 1/2)``; the next
    layer's weights absorb the combination. Returns ``(forward, params)``.
    """
    w_in, b_in = np.array([1.0, 1.0]), np.array([0.0, -0.5])
    combine = np.array([2.0, -4.0])

    def forward(x):
        h = np.maximum(np.outer(x, w_in) + b_in, 0.0)
        for _ in range(k - 1):
            t = h @ combine
            h = np.maximum(np.outer(t, w_in) + b_in, 0.0)
        return h @ combine

    return forward, count_params(1, [2] * k, 1)


def figure_depth_vs_width(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """The sawtooth (tent map composed 3 times, 8 linear pieces) fit by
    shallow wide and deep narrow sigmoid networks: test MSE against the
    number of parameters, and Telgarsky's hand-built deep ReLU network that
    is exact with 6k + 1 = 19 parameters."""
    cache = cache or FigureCache()
    shallow, deep = _fig7_settings(quick)
    rows = cache.sweep("07_depth_vs_width", shallow) + cache.sweep("07_depth_vs_width", deep)
    k = int(make_target("sawtooth").constants["compositions"])
    _, exact_params = telgarsky_sawtooth(k)
    depths = sorted({int(r["depth"]) for r in rows})
    with lecture_style():
        fig, ax = plt.subplots(figsize=(11, 6.4))
        floor = None
        for i, depth in enumerate(depths):
            mine = [r for r in rows if int(r["depth"]) == depth]
            s = summarize(mine, ("params",), "test_mse")
            p = np.array([v["params"] for v in s], float)
            med, lo, hi = (np.array([v[q] for v in s]) for q in ("median", "min", "max"))
            label = text("lf7_depth1", lang) if depth == 1 else text("lf7_depthn", lang, d=depth)
            _plot_band(ax, p, med, lo, hi, PALETTE[i], label, marker="os^D"[i])
            widths = sorted({int(r["width"]) for r in mine})
            for w_, p_, m_ in zip(widths, p, med):
                ax.annotate(f"{w_}", (p_, m_), textcoords="offset points", xytext=(5, 7), fontsize=12, color=PALETTE[i])
            floor = lo.min() if floor is None else min(floor, lo.min())
        y_star = floor / 5
        ax.set_ylim(floor / 25, None)
        ax.plot([exact_params], [y_star], "*", color=PALETTE[4], markersize=22, markeredgecolor="black",
                label=text("lf7_exact", lang, k=k, p=exact_params))  # fmt: skip
        ax.annotate(text("lf7_exact_note", lang), (exact_params, y_star), textcoords="offset points",
                    xytext=(16, -4), fontsize=12, va="center")  # fmt: skip
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_yscale("log")
        ax.set_xlabel(text("lf7_params", lang))
        ax.set_ylabel(text("lf_mse", lang))
        ax.set_title(text("lf7_title", lang, pieces=2**k))
        seeds = len({r["seed"] for r in rows})
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 0.1), fontsize=12.5, title_fontsize=12.5,
                  title=text("lf7_legend_title", lang, k=seeds))  # fmt: skip
        fig.tight_layout()
        return save_figure(fig, _stem(out_dir, "07_depth_vs_width"))


register_text(
    {
        "en": {
            "lf7_exact": "hand-built: ReLU, depth {k}, width 2 ({p} parameters)",
            "lf7_exact_note": "exact: depth pays off in principle,\nyet training finds no such solution",
            "lf7_legend_title": "trained sigmoid networks, median of {k} seeds",
        },
        "es": {
            "lf7_exact": "construida a mano: ReLU, profundidad {k}, anchura 2 ({p} parámetros)",
            "lf7_exact_note": (
                "exacta: en principio la profundidad sale a cuenta,\npero el entrenamiento no halla algo así"
            ),
            "lf7_legend_title": "redes sigmoides entrenadas, mediana de {k} semillas",
        },
    }
)


# -- 8. dimension ---------------------------------------------------------------------------------------
FIG8_DIMS = (1, 2, 4, 8)


def _fig8_config(d: int, quick: bool) -> SweepConfig:
    # Measured on this target (median test MSE over widths 8..128): with the
    # sweep defaults (slope_scale 1, 2000 Adam steps) the error hardly falls
    # for d = 4 and 8 (train and test MSE alike, 2e-2..7e-2): the spread
    # init's slope n^(1/d) leaves the units nearly linear and Adam barely
    # moves them. Four times steeper units and 6000 steps recover a clear
    # rate (20000 steps or 4096 points change d = 8 little: slope -0.6 to
    # -0.7), and help in d = 2 (slope -2.3 against -1.4). In d = 1 the
    # default is right: 4x steeper units plateau at 5e-5 from n = 4 while
    # the default falls to 3e-7 at n = 32.
    return SweepConfig(
        target="ridge", dim=d, widths=(2, 8) if quick else tuple(2**k for k in range(6)), seeds=1 if quick else 2,
        steps=20 if quick else 6000, train_points=256 if quick else 2048, test_points=512 if quick else 4096,
        slope_scale=1.0 if d == 1 else 4.0, bucket_ratio=2.0,
    )  # fmt: skip


def random_feature_errors(config: SweepConfig, widths: Sequence[int], seeds: int, target: Target) -> np.ndarray:
    """Test MSE ``(len(widths), seeds)`` of random-features fits: the spread
    initialisation's hidden layer kept fixed, only the output layer fit by
    least squares on the training points (in float64, on each member's own
    ``width`` features). These are the networks a sweep starts training from."""
    data = make_data(config, target)
    members = [(w, s) for w in widths for s in range(seeds)]
    graphdef, params, masks, _ = _init_members(config, 1, max(widths), members)

    @jax.jit
    def features(p, m, x):
        return nnx.merge(graphdef, p).features(x, m)

    x_train, x_test = data.x_train, data.x_test
    y_train = np.asarray(data.y_train, np.float64)[:, 0]
    y_test = np.asarray(data.y_test, np.float64)
    errors = np.empty(len(members))
    for i, (w, _) in enumerate(members):
        p, m = jax.tree.map(lambda a, i=i: a[i], params), tuple(a[i] for a in masks)
        h_train = np.asarray(features(p, m, x_train), np.float64)[:, :w]
        h_test = np.asarray(features(p, m, x_test), np.float64)[:, :w]
        design = np.concatenate([h_train, np.ones((len(h_train), 1))], axis=1)
        coef, *_ = np.linalg.lstsq(design, y_train, rcond=None)
        errors[i] = np.mean((h_test @ coef[:-1] + coef[-1] - y_test) ** 2)
    return errors.reshape(len(widths), seeds)


def figure_dimension(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """Test MSE against width on the Barron-class ``ridge`` target, one panel
    per dimension d = 1, 2, 4, 8: trained networks against random features
    (the same initial hidden layer, only the output layer fit by least
    squares), with Barron's bound (2C)^2/n for the target's constant C."""
    cache = cache or FigureCache()
    dims = FIG8_DIMS[1:2] if quick else FIG8_DIMS
    rf_widths = (2, 8) if quick else tuple(2**k for k in range(9))
    with lecture_style():
        fig, axes = plt.subplots(1, len(dims), figsize=(4.6 * len(dims) + 0.8, 6.4), sharey=True, squeeze=False)
        axes = axes[0]
        for ax, d in zip(axes, dims):
            config = _fig8_config(d, quick)
            target = make_target("ridge", d)
            rows = cache.sweep("08_dimension", config)
            w, med, lo, hi = _median_band(rows, "test_mse")
            trained_fit = fit_slope(w[w >= 2], med[w >= 2])
            _plot_band(ax, w, med, lo, hi, PALETTE[0], text("lf8_trained", lang), marker="o")
            rf = cache.arrays(
                "08_dimension", {"config": config.to_dict(), "rf_widths": list(rf_widths)},
                lambda config=config, target=target: {
                    "mse": random_feature_errors(config, rf_widths, config.seeds, target)
                },
            )["mse"]  # fmt: skip
            rw = np.asarray(rf_widths, float)
            rmed = np.median(rf, axis=1)
            rf_fit = fit_slope(rw[rw >= 2], rmed[rw >= 2])
            _plot_band(ax, rw, rmed, rf.min(axis=1), rf.max(axis=1), PALETTE[1], text("lf8_random", lang), marker="s",
                       linestyle="--")  # fmt: skip
            ax.plot(rw, barron_line(rw, target.constants["barron_constant"]), ":", color="0.35", linewidth=2.2,
                    label=text("lf8_barron", lang))  # fmt: skip
            ax.set_yscale("log")
            _width_axis(ax, rw, lang=lang, max_ticks=5)
            ax.set_title(f"d = {d}", fontsize=17)
            ax.text(0.97, 0.97, text("lf8_slopes", lang, trained=trained_fit.slope, random=rf_fit.slope),
                    transform=ax.transAxes, ha="right", va="top", fontsize=12.5, color="0.25",
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85})  # fmt: skip
        axes[0].set_ylabel(text("lf_mse", lang))
        axes[0].legend(loc="lower left", fontsize=12)
        fig.suptitle(text("lf8_title", lang))
        fig.tight_layout()
        return save_figure(fig, _stem(out_dir, "08_dimension"))


register_text(
    {
        "en": {"lf8_slopes": "slope (n ≥ 2)\ntrained {trained:.2f}\nrandom {random:.2f}"},
        "es": {"lf8_slopes": "pendiente (n ≥ 2)\nentrenada {trained:.2f}\naleatorios {random:.2f}"},
    }
)


# -- 10. optimisation against approximation -------------------------------------------------------------
def _fig10_settings(quick: bool):
    spread = _sweep_1d("sine", quick)  # figure 4's sweep: shared in the cache
    lecun = _sweep_1d("sine", quick, init="default", output_init="none", schedule="constant")
    restarts = 2 if quick else 8
    best = {
        "widths": [2, 8] if quick else [1, 2, 4, 8, 16, 32, 64],
        "restarts": restarts,
        "adam_steps": 20 if quick else 2000,
        "lbfgs_steps": 10 if quick else 400,
    }
    return spread, lecun, best


def _best_errors(spread: SweepConfig, best: Mapping, target: Target) -> dict[str, np.ndarray]:
    """The lowest test MSE found per width: ``restarts`` seeds trained by Adam
    (float32, as the sweep), then L-BFGS in float64 from each, best of all."""
    data32 = make_data(spread, target)
    config = SweepConfig(**(spread.to_dict() | {"steps": best["adam_steps"], "widths": tuple(best["widths"])}))
    out = {"adam": [], "best": []}
    for group in _width_groups(best["widths"]):
        members = [(w, s) for w in group for s in range(best["restarts"])]
        fits, _ = fit_networks(config, members, target, data=data32)
        adam = measure_fits(fits, target, data32)["test_mse"].reshape(len(group), -1)
        with jax.enable_x64(True):  # the L-BFGS refinement alone
            data64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64) if isinstance(a, jax.Array) else a, data32)
            fits64 = Fits(fits.graphdef, _astype(fits.params, jnp.float64), _astype(fits.masks, jnp.float64),
                          fits.widths, fits.seeds)  # fmt: skip
            fits64 = refine_fits(fits64, data64, TrainConfig(optimizer="lbfgs", steps=best["lbfgs_steps"]))
            refined = measure_fits(fits64, target, data64)["test_mse"].reshape(len(group), -1)
        out["adam"].append(adam)
        out["best"].append(np.minimum(refined, adam))
    return {
        "widths": np.asarray(best["widths"]),
        "adam": np.concatenate(out["adam"]),
        "best": np.concatenate(out["best"]),
    }


def _width_groups(widths: Sequence[int], ratio: float = 8.0) -> list[list[int]]:
    groups: list[list[int]] = []
    for w in sorted(widths):
        if groups and w <= groups[-1][0] * ratio:
            groups[-1].append(w)
        else:
            groups.append([w])
    return groups


def figure_optimisation(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """For the ``sine`` target: test MSE against width of the frameworks'
    default setup (LeCun init, random readout, constant learning rate), of
    approx's default (spread init, least-squares readout, cosine schedule),
    and the best error found at each width (restarts, then L-BFGS in
    float64). The gap between the last two is the optimiser's share."""
    cache = cache or FigureCache()
    spread, lecun, best = _fig10_settings(quick)
    target = make_target(spread.target)
    rows_spread = cache.sweep("10_optimisation", spread)
    rows_lecun = cache.sweep("10_optimisation", lecun)
    b = cache.arrays("10_optimisation", {"spread": spread.to_dict(), "best": dict(best)},
                     lambda: _best_errors(spread, best, target))  # fmt: skip
    with lecture_style():
        fig, ax = plt.subplots(figsize=(11, 6.2))
        w, *band = _median_band(rows_lecun, "test_mse")
        _plot_band(ax, w, *band, PALETTE[1], text("lf10_lecun", lang), marker="s")
        w, med, lo, hi = _median_band(rows_spread, "test_mse")
        _plot_band(ax, w, med, lo, hi, PALETTE[0], text("lf10_adam", lang), marker="o")
        bw = b["widths"].astype(float)
        best_mse = b["best"].min(axis=1)
        ax.plot(bw, best_mse, "D-", color=PALETTE[2], label=text("lf10_best", lang, k=b["best"].shape[1]))
        common = np.isin(w, bw)
        ax.fill_between(bw, best_mse, med[common], color=PALETTE[2], alpha=0.12, hatch="//", edgecolor=PALETTE[2],
                        linewidth=0, label=text("lf10_gap", lang))  # fmt: skip
        ax.set_yscale("log")
        _width_axis(ax, w, lang=lang)
        ax.set_ylabel(text("lf_mse", lang))
        ax.set_title(text("lf10_title", lang, target=text("lf_sine", lang)))
        seeds = len({r["seed"] for r in rows_spread})
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=13, title_fontsize=13, ncol=1,
                  title=text("lf10_legend_title", lang, k=seeds))  # fmt: skip
        fig.tight_layout()
        return save_figure(fig, _stem(out_dir, "10_optimisation_vs_approximation"))


# -- 9. Fashion-MNIST ---------------------------------------------------------------------------------------
CANONICAL_FMNIST = Path(__file__).resolve().parents[3] / "experiments" / "fmnist_width.toml"


def _fig9_config(quick: bool):
    from approx.config import FMNISTConfig

    if quick:
        return FMNISTConfig(
            widths=(8, 32), seeds=1, epochs=1, train_subset=512, test_subset=512, train_eval_examples=512
        )
    return FMNISTConfig(
        widths=(4, 16, 64, 256, 1024), seeds=1, epochs=2, train_subset=10000, test_subset=10000,
        train_eval_examples=10000,
    )  # fmt: skip


def canonical_fmnist_results() -> Path | None:
    """The run directory of ``approx run experiments/fmnist_width.toml`` (its
    ``out``, relative to the working directory) when it holds results."""
    try:
        import tomllib

        out = tomllib.loads(CANONICAL_FMNIST.read_text()).get("out")
    except (OSError, ValueError):
        return None
    if out and read_rows(Path(out) / "results.csv"):
        return Path(out)
    return None


def _fmnist_rows(cache: FigureCache, quick: bool, results: str | Path | None):
    """Rows of the canonical sweep (or ``results``), else of a short built-in
    sweep run in the cache; FigureSkipped when neither is possible."""
    if results is not None:
        rows = read_rows(Path(results) / "results.csv") if Path(results).is_dir() else read_rows(results)
        if not rows:
            raise FigureSkipped(f"no Fashion-MNIST results in {results}")
        return rows, ("results", str(results))
    found = None if quick else canonical_fmnist_results()
    if found is not None:
        return read_rows(found / "results.csv"), ("results", str(found))
    from approx.data import DataError, load_fashion_mnist
    from approx.experiments.fmnist import run_fmnist

    config = _fig9_config(quick)
    path = cache.directory("09_fashion_mnist", {"fmnist": config.to_dict()})
    rows = read_rows(path / "results.csv")
    manifest = read_manifest(path)
    expected = len(config.widths) * len(config.depths) * config.seeds
    if not (manifest and manifest.get("finished") and len(rows) >= expected):
        try:
            dataset = load_fashion_mnist(config.data_dir, download=False)
        except DataError as e:
            raise FigureSkipped(f"Fashion-MNIST data not found: {e}") from None
        cache.progress(f"09_fashion_mnist: short built-in sweep, widths {','.join(map(str, config.widths))}")
        rows = run_fmnist(config, path, resume=True, dataset=dataset).rows
    return rows, ("builtin", config)


def figure_fashion_mnist(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False, results=None):
    """Fashion-MNIST test accuracy (and training accuracy, dashed) against
    hidden width: from the canonical sweep's results when found
    (``approx run experiments/fmnist_width.toml``), else from a short
    built-in sweep (10,000 training images, 2 epochs)."""
    cache = cache or FigureCache()
    rows, (kind, source) = _fmnist_rows(cache, quick, results)
    depths = sorted({int(float(r["depth"])) for r in rows})
    note = (
        text("lf9_builtin", lang, n=source.train_subset, epochs=source.epochs)
        if kind == "builtin"
        else text("lf9_results", lang, path=source)
    )
    with lecture_style():
        fig, ax = plt.subplots(figsize=(11, 6.2))
        for i, depth in enumerate(depths):
            mine = [r for r in rows if int(float(r["depth"])) == depth]
            label = text("lf9_depth1", lang) if depth == 1 else text("lf9_depthn", lang, d=depth)
            w, med, lo, hi = _median_band(mine, "test_accuracy", lambda v: 100 * v)
            _plot_band(ax, w, med, lo, hi, PALETTE[i], label + text("lf9_test", lang), marker="os^"[i])
            if all(r.get("train_accuracy") not in (None, "") for r in mine):
                w, med, _, _ = _median_band(mine, "train_accuracy", lambda v: 100 * v)
                ax.plot(w, med, linestyle="--", marker="os^"[i], markerfacecolor="white", color=PALETTE[i],
                        label=label + text("lf9_train", lang))  # fmt: skip
        _width_axis(ax, sorted({int(float(r["width"])) for r in rows}), lang=lang)
        ax.set_ylabel(text("lf9_accuracy", lang))
        low = min(100 * float(r["test_accuracy"]) for r in rows)
        ax.set_ylim(max(0.0, 5 * math.floor(low / 5) - 5), 100)
        ax.set_title(text("lf9_title", lang))
        ax.text(0.99, 0.02, note, transform=ax.transAxes, ha="right", va="bottom", fontsize=12, color="0.35")
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.08), fontsize=13)
        fig.tight_layout()
        return save_figure(fig, _stem(out_dir, "09_fashion_mnist"))


register_text(
    {
        "en": {"lf9_test": ", test", "lf9_train": ", training"},
        "es": {"lf9_test": ", prueba", "lf9_train": ", entrenamiento"},
    }
)


# -- the registry ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """One lecture figure: its number, file stem, builder, title and what it teaches."""

    number: int
    stem: str
    build: Callable[..., list[Path]]
    title: str
    teaches: str


FIGURES: tuple[Figure, ...] = (
    Figure(1, "01_sigmoid_to_step", figure_sigmoid_step_bump,
           "From sigmoid to step and bump",
           "σ(w(x − s)) becomes a step as w grows, and two steep sigmoids make a bump of any height: "
           "the building block of the visual proof."),
    Figure(2, "02_construction_vs_training", figure_construction_vs_training,
           "Cybenko's construction without training",
           "Cybenko's construction needs no training: a staircase of n steep sigmoids has sup error "
           "falling like 1/n; trained networks of the same width do better."),
    Figure(3, "03_hidden_units", figure_hidden_units,
           "A trained network, unit by unit",
           "A trained network is a sum of shifted, scaled sigmoids: each unit is a soft step, the fit is their sum."),
    Figure(4, "04_continuity_l2_vs_sup", figure_continuity,
           "Continuity: L2 against sup norm",
           "Continuity matters for the sup norm only: on the step the L2 error falls with width while the "
           "sup error stays at 1/2 (Cybenko needs a continuous target, Hornik's L^p statement does not)."),
    Figure(5, "05_activations", figure_activations,
           "Hornik: the activation",
           "Hornik: sigmoid, tanh, cosine squasher and sin (bounded, non-constant) all approximate; so does relu."),
    Figure(6, "06_two_dimensions", figure_two_dimensions,
           "Two dimensions",
           "In two dimensions each unit is a sigmoid ridge; with more units the error map fades."),
    Figure(7, "07_depth_vs_width", figure_depth_vs_width,
           "Depth against width",
           "Depth against width on the sawtooth: a depth-3 ReLU network is exact with 19 parameters, yet trained "
           "deep sigmoid networks lose to shallow wide ones at equal parameter count."),
    Figure(8, "08_dimension", figure_dimension,
           "Dimension: trained networks against random features",
           "Barron: on a Barron-class target trained networks keep improving with width in d = 1..8, below "
           "(2C)²/n; random features (output layer only) stall as d grows."),
    Figure(9, "09_fashion_mnist", figure_fashion_mnist,
           "Fashion-MNIST",
           "On real data (Fashion-MNIST) test accuracy grows with width and saturates; "
           "training accuracy keeps climbing."),
    Figure(10, "10_optimisation_vs_approximation", figure_optimisation,
           "Optimisation versus approximation",
           "Which part of the curve is the optimiser: the frameworks' default setup plateaus, approx's default "
           "follows the width, and restarts + L-BFGS (float64) show how much lower the same widths can go."),
)  # fmt: skip


@dataclass
class BuildReport:
    """What :func:`build_figures` did: paths, seconds per figure, skipped figures with reasons."""

    paths: list[Path] = field(default_factory=list)
    seconds: dict[int, float] = field(default_factory=dict)
    skipped: dict[int, str] = field(default_factory=dict)


def select_figures(only: Sequence[int] | None = None) -> list[Figure]:
    """The registry's figures, or those numbered in ``only``."""
    if only is None:
        return list(FIGURES)
    known = {f.number: f for f in FIGURES}
    bad = [n for n in only if n not in known]
    if bad:
        raise ValueError(f"unknown figure number(s) {bad}; valid: 1..{len(FIGURES)}")
    return [known[n] for n in sorted(set(only))]


def build_figures(
    out: str | Path = "figures",
    lang: str = "en",
    refresh: bool = False,
    *,
    only: Sequence[int] | None = None,
    quick: bool = False,
    cache_dir: str | Path | None = None,
    fmnist_results: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Builds the lecture figures into ``out`` (PNG at 200 dpi and PDF).

    ``lang`` is ``"en"`` or ``"es"``; ``refresh`` recomputes cached results;
    ``only`` selects figures by number; ``quick`` uses tiny computations (for
    tests); ``fmnist_results`` is a Fashion-MNIST run directory for figure 9.
    A figure that cannot be drawn here (figure 9 without its data set) is
    skipped with its reason in the report. A full English build also writes
    the gallery ``README.md``.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; valid: {', '.join(LANGS)}")
    report = progress or (lambda msg: None)
    figures = select_figures(only)
    cache = FigureCache(Path(cache_dir) if cache_dir is not None else default_cache_dir(), refresh, report)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = BuildReport()
    for fig in figures:
        t0 = time.perf_counter()
        extra = {"results": fmnist_results} if fig.number == 9 and fmnist_results is not None else {}
        try:
            paths = fig.build(out, lang=lang, cache=cache, quick=quick, **extra)
        except FigureSkipped as e:
            result.skipped[fig.number] = str(e)
            report(f"figure {fig.number} skipped: {e}")
            continue
        result.seconds[fig.number] = time.perf_counter() - t0
        result.paths.extend(paths)
        report(f"figure {fig.number} ({fig.stem}): {result.seconds[fig.number]:.1f} s")
    if lang == "en" and not quick and only is None:
        (out / "README.md").write_text(gallery_markdown())
    return result


def gallery_markdown() -> str:
    """``figures/README.md``: every figure with what it teaches and the command that makes it."""
    lines = [
        "# Lecture figures",
        "",
        "Made by `approx figures` (English, into `figures/`); `approx figures --lang es --out DIR` draws the",
        "same figures with Spanish titles, labels and legends. Each is saved as PNG (200 dpi) and PDF.",
        "Trained results are cached in `~/.cache/approx/figures` (`$XDG_CACHE_HOME`); `--refresh` recomputes.",
        "",
    ]
    for fig in FIGURES:
        lines += [
            f"## {fig.number}. {fig.title}",
            "",
            f"![{fig.stem}]({fig.stem}.png)",
            "",
            f"{fig.teaches} — `approx figures --only {fig.number}`",
            "",
        ]
    return "\n".join(lines)
