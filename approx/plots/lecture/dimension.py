"""Figure 8: dimension, trained networks against random features (Barron 1993)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from approx.analysis import barron_line, fit_slope
from approx.config import SweepConfig
from approx.experiments.comparisons import random_feature_errors
from approx.plots.lecture.cache import FigureCache
from approx.plots.lecture.drawing import median_band, plot_band, save, width_axis
from approx.plots.style import PALETTE, display_name, lecture_style, log_scale, number, text
from approx.targets import make_target

__all__ = ["FIG8_DIMS", "figure_dimension"]

STEM = "08_dimension"
# The dimensions d of the panels.
FIG8_DIMS = (1, 2, 4, 8)


def _config(d: int, quick: bool) -> SweepConfig:
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


def _random_features(cache: FigureCache, config: SweepConfig, widths) -> np.ndarray:
    """Test MSE ``(len(widths), seeds)`` of random features on the sweep's hidden layers, cached."""
    target = make_target(config.target, config.dim)
    settings = {"config": config.to_dict(), "rf_widths": list(widths)}
    compute = lambda: {"mse": random_feature_errors(config, widths, config.seeds, target)}
    return cache.arrays(STEM, settings, compute)["mse"]


def _panel(ax, cache: FigureCache, d: int, rf_widths, quick: bool, lang: str) -> None:
    """One dimension: trained networks, random features and Barron's bound against width."""
    config = _config(d, quick)
    target = make_target("ridge", d)
    rows = cache.sweep(STEM, config)
    w, med, lo, hi = median_band(rows, "test_mse")
    trained_fit = fit_slope(w[w >= 2], med[w >= 2])
    plot_band(ax, w, med, lo, hi, PALETTE[0], text("lf8_trained", lang), marker="o")
    rf = _random_features(cache, config, rf_widths)
    rw = np.asarray(rf_widths, float)
    rmed = np.median(rf, axis=1)
    rf_fit = fit_slope(rw[rw >= 2], rmed[rw >= 2])
    plot_band(ax, rw, rmed, rf.min(axis=1), rf.max(axis=1), PALETTE[1], text("lf8_random", lang), marker="s",
              linestyle="--")  # fmt: skip
    ax.plot(rw, barron_line(rw, target.constants["barron_constant"]), ":", color="0.35", linewidth=2.2,
            label=text("lf8_barron", lang))  # fmt: skip
    log_scale(ax, "y")
    width_axis(ax, rw, lang=lang, max_ticks=5)
    ax.set_title(f"d = {d}", fontsize=17)
    ax.text(0.97, 0.97, text("lf8_slopes", lang, trained=number(trained_fit.slope, lang, ".2f"), random=number(rf_fit.slope, lang, ".2f")),
            transform=ax.transAxes, ha="right", va="top", fontsize=12.5, color="0.25",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85})  # fmt: skip


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
            _panel(ax, cache, d, rf_widths, quick, lang)
        axes[0].set_ylabel(text("lf_mse", lang))
        axes[0].legend(loc="lower left", fontsize=12)
        # Why the trained curves stop before the random features': each trained width costs a full training.
        config = _config(dims[0], quick)
        note = text("lf8_note", lang, n=max(config.widths), steps=number(config.steps, lang, ",d"), m=max(rf_widths))
        fig.text(0.5, 0.0, note, ha="center", va="top", fontsize=13, color="0.3")
        fig.suptitle(text("lf8_title", lang, target=display_name("ridge", lang)))
        fig.tight_layout()
        return save(fig, out_dir, STEM)
