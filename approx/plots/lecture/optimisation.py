"""Figure 10: optimisation or approximation, how much of the curve is the optimiser."""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import numpy as np

from approx.config import SweepConfig
from approx.experiments.comparisons import refined_errors
from approx.plots.lecture.cache import FigureCache
from approx.plots.lecture.drawing import median_band, plot_band, save, width_axis
from approx.plots.lecture.sweeps import sweep_1d
from approx.plots.style import PALETTE, lecture_style, log_scale, text
from approx.targets import make_target

__all__ = ["figure_optimisation"]

STEM = "10_optimisation_vs_approximation"
FIGURE = "10_optimisation"


def _settings(quick: bool):
    """Figure 4's sweep of ``sine`` (approx's default), the frameworks'
    default setup on the same points, and the restarts' sweep (Adam, float32)
    with the L-BFGS steps that polish each of its networks."""
    spread = sweep_1d("sine", quick)  # figure 4's sweep: shared in the cache
    lecun = sweep_1d("sine", quick, init="default", output_init="none", schedule="constant")
    restarts = dataclasses.replace(
        spread,
        widths=(2, 8) if quick else (1, 2, 4, 8, 16, 32, 64),
        seeds=2 if quick else 8,
        steps=20 if quick else 2000,
    )
    return spread, lecun, restarts, 10 if quick else 400


def _best_errors(cache: FigureCache, restarts: SweepConfig, lbfgs_steps: int) -> dict[str, np.ndarray]:
    """The lowest test MSE found per width ``(widths,)``: each restart (a run
    of the restarts' sweep) polished by L-BFGS in float64, best of all
    restarts before and after polishing."""
    rows = cache.sweep(FIGURE, restarts)
    adam = {(int(r["width"]), int(r["seed"])): float(r["test_mse"]) for r in rows}
    adam = np.array([[adam[(w, s)] for s in range(restarts.seeds)] for w in restarts.widths])
    target = make_target(restarts.target, restarts.dim)

    def compute():
        return {"refined": refined_errors(restarts, cache.sweep_dir(FIGURE, restarts), target, lbfgs_steps)}

    settings = {"restarts": restarts.to_dict(), "lbfgs_steps": lbfgs_steps}
    refined = cache.arrays(FIGURE, settings, compute)["refined"]
    return {"widths": np.asarray(restarts.widths, float), "best": np.minimum(refined, adam).min(axis=1)}


def figure_optimisation(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """For the ``sine`` target: test MSE against width of the frameworks'
    default setup (LeCun init, random readout, constant learning rate), of
    approx's default (spread init, least-squares readout, cosine schedule),
    and the best error found at each width (restarts, then L-BFGS in
    float64). The gap between the last two is the optimiser's share."""
    cache = cache or FigureCache()
    spread, lecun, restarts, lbfgs_steps = _settings(quick)
    rows_spread = cache.sweep(FIGURE, spread)
    rows_lecun = cache.sweep(FIGURE, lecun)
    best = _best_errors(cache, restarts, lbfgs_steps)
    with lecture_style():
        fig, ax = plt.subplots(figsize=(11, 6.2))
        w, *band = median_band(rows_lecun, "test_mse")
        plot_band(ax, w, *band, PALETTE[1], text("lf10_lecun", lang), marker="s")
        w, med, lo, hi = median_band(rows_spread, "test_mse")
        plot_band(ax, w, med, lo, hi, PALETTE[0], text("lf10_adam", lang), marker="o")
        bw, best_mse = best["widths"], best["best"]
        ax.plot(bw, best_mse, "D-", color=PALETTE[2], label=text("lf10_best", lang, k=restarts.seeds))
        common = np.isin(w, bw)
        ax.fill_between(bw, best_mse, med[common], color=PALETTE[2], alpha=0.12, hatch="//", edgecolor=PALETTE[2],
                        linewidth=0, label=text("lf10_gap", lang))  # fmt: skip
        log_scale(ax, "y")
        width_axis(ax, w, lang=lang)
        ax.set_ylabel(text("lf_mse", lang))
        ax.set_title(text("lf10_title", lang, target=text("lf_sine", lang)))
        seeds = len({r["seed"] for r in rows_spread})
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=13, title_fontsize=13, ncol=1,
                  title=text("lf10_legend_title" if seeds > 1 else "lf10_legend_title_1", lang, k=seeds))  # fmt: skip
        fig.tight_layout()
        return save(fig, out_dir, STEM)
