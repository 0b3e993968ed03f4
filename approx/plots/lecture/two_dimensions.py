"""Figure 6: two inputs, the target, the fits and their errors on [0, 1]^2."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from approx.config import SweepConfig
from approx.experiments.sweep import make_data
from approx.plots.lecture.cache import FigureCache
from approx.plots.lecture.drawing import save
from approx.plots.style import PowerFormatter, decimal_ticks, lecture_style, number, text
from approx.results import load_network
from approx.targets import grid, make_target

__all__ = ["figure_two_dimensions"]

STEM = "06_two_dimensions"


def _settings(quick: bool):
    """The sweep (seed 0 of three widths) and the side of the drawing grid."""
    widths = (4, 16) if quick else (2, 8, 64)
    config = SweepConfig(
        target="ridge", dim=2, widths=widths, seeds=1, steps=30 if quick else 3000,
        train_points=256 if quick else 2048, test_points=1024 if quick else 4096,
    )  # fmt: skip
    return config, 33 if quick else 129


def _fits(cache: FigureCache, config: SweepConfig, points) -> tuple[np.ndarray, np.ndarray]:
    """The sweep's networks of seed 0 on ``points`` ``(widths, m*m)`` and their sup errors ``(widths,)``."""
    run_dir = cache.sweep_dir(STEM, config)
    rows = {int(r["width"]): r for r in cache.sweep(STEM, config) if r["seed"] == "0"}
    fits = np.stack([load_network(run_dir, w, seed=0)(np.asarray(points)) for w in config.widths])
    return fits, np.array([float(rows[w]["test_sup"]) for w in config.widths])


def _ticks(axes, lang: str):
    ticks = [0, 0.5, 1]
    for ax in axes.ravel():
        ax.set_xticks(ticks, [number(t, lang) for t in ticks])
        ax.set_yticks(ticks, [number(t, lang) for t in ticks])
    for ax in axes[1]:
        ax.set_xlabel("x₁")
    for ax in axes[:, 0]:
        ax.set_ylabel("x₂")


def figure_two_dimensions(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """A 2-D target (``ridge``: three plane waves) on [0,1]^2, the fits of
    trained sigmoid networks of three widths, and their errors |f - g| on
    one logarithmic colour scale."""
    cache = cache or FigureCache()
    config, m = _settings(quick)
    target = make_target(config.target, config.dim)
    points = grid(m, 2)
    fits, sups = _fits(cache, config, points)
    fits = fits.reshape(len(config.widths), m, m)
    xt = np.asarray(make_data(config, target).x_train)
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
        axes[1, 0].plot(xt[:, 0], xt[:, 1], ".", color="0.3", markersize=2.5)
        axes[1, 0].set_title(text("lf6_train", lang, n=number(len(xt), lang, ",d")), fontsize=15)
        axes[1, 0].set_aspect("equal")
        axes[1, 0].set_xlim(0, 1)
        axes[1, 0].set_ylim(0, 1)
        for j, n in enumerate(config.widths):
            axes[0, j + 1].imshow(fits[j].T, cmap="viridis", vmin=lo, vmax=hi, **show)
            axes[0, j + 1].set_title(text("lf6_fit", lang, n=n), fontsize=15)
            err = np.clip(np.abs(fits[j] - f), 1e-4, 1.0)
            err_image = axes[1, j + 1].imshow(err.T, cmap="magma", norm=err_norm, **show)
            axes[1, j + 1].set_title(text("lf6_err", lang, n=n, sup=number(float(sups[j]), lang, ".2g")), fontsize=15)
        _ticks(axes, lang)
        value_bar = fig.colorbar(value_image, ax=axes[0, :], shrink=0.9, pad=0.02)
        value_bar.set_label(text("lf6_value", lang))
        decimal_ticks(value_bar.ax, lang)
        err_bar = fig.colorbar(err_image, ax=axes[1, :], shrink=0.9, pad=0.02)
        err_bar.set_label(text("lf6_abs_err", lang))
        err_bar.ax.yaxis.set_major_formatter(PowerFormatter(base=10))  # 10⁻³, as the other log axes
        fig.suptitle(text("lf6_title", lang))
        return save(fig, out_dir, STEM)
