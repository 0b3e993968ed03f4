"""Figure 3: a trained width-8 network, unit by unit."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from approx.config import SweepConfig
from approx.experiments.comparisons import unit_terms
from approx.plots.lecture.cache import FigureCache
from approx.plots.lecture.drawing import save, target_1d
from approx.plots.style import PALETTE, decimal_ticks, lecture_style, number, text
from approx.results import load_network
from approx.targets import make_target

__all__ = ["UNIT_COLORS", "figure_hidden_units"]

STEM = "03_hidden_units"

# Unit colours: the Okabe-Ito hues other than the network's blue, yellow (too
# pale on white) and black (the target).
UNIT_COLORS = ("#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#999999")


def _settings(quick: bool) -> SweepConfig:
    # slope_scale 4: the spread init's transitions start as steep as Cybenko's
    # steps; with the default (1) the least-squares readout of eight gentle,
    # nearly collinear sigmoids has coefficients of +-50 that cancel, which
    # fits as well but cannot be drawn on the target's scale.
    return SweepConfig(
        target="nielsen", widths=(8,), seeds=4, steps=30 if quick else 3000, train_points=512,
        test_points=2048, slope_scale=4.0,
    )  # fmt: skip


def _best_network(cache: FigureCache, config: SweepConfig) -> dict:
    """The unit parameters ``w, b, a`` ``(n,)`` and output bias ``c`` of the
    sweep's network with the lowest test MSE, with its ``mse`` and ``sup``."""
    rows = cache.sweep(STEM, config)
    best = min(rows, key=lambda r: float(r["test_mse"]))
    net = load_network(cache.sweep_dir(STEM, config), int(best["width"]), int(best["seed"]))
    (k0, k1), (b0, b1) = net.kernels, net.biases
    return {"w": k0[0], "b": b0, "a": k1[:, 0], "c": float(b1[0]), "mse": float(best["test_mse"]),
            "sup": float(best["test_sup"])}  # fmt: skip


def figure_hidden_units(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """A trained width-8 sigmoid network on ``nielsen`` (the best of four
    seeds), unit by unit: each term a_j sigma(w_j x + b_j) faint, their sum
    plus the output bias in bold, the target dashed."""
    cache = cache or FigureCache()
    config = _settings(quick)
    target = make_target(config.target)
    p = _best_network(cache, config)
    x = np.linspace(0.0, 1.0, 1001)
    units = unit_terms(p["a"], p["w"], p["b"], x)
    total = units.sum(axis=0) + p["c"]
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
        ax.axhline(p["c"], color="0.35", linestyle=":", linewidth=2, label=text("lf3_bias", lang))
        ax.plot(x, target_1d(target, x), "--", color="black", linewidth=2.5, label=text("lf_target", lang))
        ax.plot(x, total, color=PALETTE[0], linewidth=4, label=text("lf3_sum", lang))
        ax.set_xlim(0, 1)
        decimal_ticks(ax, lang)
        ax.set_xlabel(text("lf_x", lang))
        ax.set_title(text("lf3_title", lang, n=config.widths[0]))
        ax.text(0.99, 0.98, text("lf3_note", lang, mse=number(p["mse"], lang, ".1e"), sup=number(p["sup"], lang, ".2f")), transform=ax.transAxes,
                ha="right", va="top", fontsize=13, color="0.3")  # fmt: skip
        ax.legend(loc="upper left", ncol=2, fontsize=12)
        lo, hi = min(units.min(), 0.0), max(units.max(), total.max())
        ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.35 * (hi - lo))
        fig.tight_layout()
        return save(fig, out_dir, STEM)
