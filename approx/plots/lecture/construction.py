"""Figure 2: Cybenko's construction (no training) against trained networks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from approx.config import SweepConfig
from approx.experiments.comparisons import staircase_network, unit_terms
from approx.plots.lecture.cache import FigureCache
from approx.plots.lecture.drawing import save, target_1d, width_axis
from approx.plots.style import PALETTE, decimal_ticks, lecture_style, log_scale, number, text
from approx.results import load_network
from approx.targets import make_target

__all__ = ["figure_construction_vs_training"]

STEM = "02_construction_vs_training"


def _settings(quick: bool):
    """The trained networks' sweep (seed 0 of each width) and the widths of the rate panel."""
    widths = (4, 16) if quick else (4, 16, 64)
    config = SweepConfig(
        target="nielsen", widths=widths, seeds=1, steps=30 if quick else 3000, train_points=512, test_points=2048
    )
    return config, (2, 4, 8, 16) if quick else tuple(2**k for k in range(1, 10))


def _trained(cache: FigureCache, config: SweepConfig, xs: np.ndarray):
    """The sweep's networks of seed 0 evaluated at ``xs`` ``(widths, n)`` and their sup errors."""
    run_dir = cache.sweep_dir(STEM, config)
    rows = {int(r["width"]): r for r in cache.sweep(STEM, config) if r["seed"] == "0"}
    curves = np.stack([load_network(run_dir, w, seed=0)(xs[:, None]) for w in config.widths])
    return curves, np.array([float(rows[w]["test_sup"]) for w in config.widths])


def _panel(ax, plot_x, fx, curve, color, target_label, lang, *, first_col, bottom_row):
    """One approximant (solid) over the target (dashed); tick labels on the outer panels only."""
    ax.plot(plot_x, fx, "--", color="0.15", linewidth=2, label=target_label)
    ax.plot(plot_x, curve, color=color, linewidth=2.5)
    ax.set_ylim(0.0, 1.05)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.5, 1])
    decimal_ticks(ax, lang)
    if not first_col:
        ax.set_yticklabels([])
    if not bottom_row:
        ax.set_xticklabels([])


def figure_construction_vs_training(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """Cybenko's construction (a staircase of n steep sigmoids at the cell
    boundaries, no training) for n = 4, 16, 64, with its sup error, above
    networks of the same widths trained by Adam; right: both sup errors
    against n (the construction's falls like 1/n)."""
    cache = cache or FigureCache()
    config, rate_widths = _settings(quick)
    target = make_target(config.target)
    xs = np.linspace(0.0, 1.0, 16385)
    fx = target_1d(target, xs)

    def construct(n):
        return unit_terms(*staircase_network(lambda t: target_1d(target, t), n), xs).sum(axis=0)

    trained, trained_sup = _trained(cache, config, xs)
    construct_sup = np.array([np.max(np.abs(construct(n) - fx)) for n in rate_widths])
    with lecture_style():
        fig = plt.figure(figsize=(18, 8.2))
        grid_spec = fig.add_gridspec(2, len(config.widths) + 1, width_ratios=[1] * len(config.widths) + [1.15])
        for col, n in enumerate(config.widths):
            g = construct(n)
            rows = (
                (g, np.max(np.abs(g - fx)), PALETTE[0], "lf2_row_construct"),
                (trained[col], float(trained_sup[col]), PALETTE[1], "lf2_row_trained"),
            )
            for row, (curve, sup, color, label) in enumerate(rows):
                ax = fig.add_subplot(grid_spec[row, col])
                _panel(ax, xs[::8], fx[::8], curve[::8], color, text("lf_target", lang), lang, first_col=col == 0,
                       bottom_row=row == 1)  # fmt: skip
                if row == 0 and n <= 16:
                    centres = (np.arange(n) + 0.5) / n
                    ax.plot(centres, target_1d(target, centres), "o", color=color, markersize=6,
                            label=text("lf2_values", lang))  # fmt: skip
                ax.set_title(text("lf2_panel", lang, n=n, sup=number(sup, lang, ".3f")), fontsize=15)
                if col == 0:
                    ax.set_ylabel(text(label, lang), fontsize=15)
                if row == 1:
                    ax.set_xlabel(text("lf_x", lang))
                if row == 0 and col == 0:
                    ax.legend(loc="upper left", fontsize=12)
        ax = fig.add_subplot(grid_spec[:, -1])
        ax.plot(rate_widths, construct_sup, "o-", color=PALETTE[0], label=text("lf2_construct", lang))
        ax.plot(config.widths, trained_sup, "s-", color=PALETTE[1], label=text("lf2_trained", lang))
        ref = construct_sup[-1] * rate_widths[-1] / np.asarray(rate_widths, float)
        ax.plot(rate_widths, ref, ":", color="0.4", linewidth=2, label=text("lf2_ref", lang))
        log_scale(ax, "y")
        width_axis(ax, rate_widths, lang=lang)
        ax.set_ylabel(text("lf_sup", lang))
        ax.set_title(text("lf2_rate_title", lang))
        ax.legend(loc="lower left")
        fig.suptitle(text("lf2_title", lang))
        fig.tight_layout()
        return save(fig, out_dir, STEM)
