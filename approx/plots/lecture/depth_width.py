"""Figure 7: depth against width on the sawtooth."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from approx.analysis import summarize
from approx.config import SweepConfig
from approx.experiments.comparisons import telgarsky_sawtooth
from approx.plots.lecture.cache import FigureCache
from approx.plots.lecture.drawing import plot_band, save
from approx.plots.style import PALETTE, display_name, lecture_style, log_scale, number, text
from approx.targets import make_target

__all__ = ["figure_depth_vs_width"]

STEM = "07_depth_vs_width"


# The sawtooth with 16 linear pieces: few enough that a trained deep network
# reaches it, enough that shallow networks of the same size do not. With 32
# pieces no training recipe tried fitted a deep network (shallow sigmoid nets
# stayed ahead at every size); with 8, shallow nets fit it as well as deep ones.
COMPOSITIONS = 4


def _settings(quick: bool) -> tuple[SweepConfig, ...]:
    """The sweeps drawn, all trained alike on the sawtooth: one hidden layer of
    sigmoids, one of ReLUs, three of ReLUs. Adam with a warm-up and cosine
    decay at lr 1e-2 over 15,000 full-batch steps is what lets the deep
    networks train; the shallow ones get the same recipe."""
    common = {
        "target": "sawtooth",
        "seeds": 1 if quick else 3,
        "steps": 20 if quick else 15000,
        "lr": 1e-2,
        "schedule": "warmup_cosine",
        "train_points": 128 if quick else 1024,
        "test_points": 256 if quick else 4096,
        "bucket_ratio": 8.0,
    }
    shallow_widths = (4, 16) if quick else (8, 16, 32, 64, 128, 192)
    deep_widths = (4,) if quick else (8, 16)
    return (
        SweepConfig(depths=(1,), widths=shallow_widths, activation="sigmoid", **common),
        SweepConfig(depths=(1,), widths=shallow_widths, activation="relu", **common),
        SweepConfig(depths=(3,), widths=deep_widths, activation="relu", **common),
    )


def figure_depth_vs_width(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """The sawtooth (tent map composed 4 times, 16 linear pieces) fit by
    trained shallow networks (sigmoid, ReLU) and deep ReLU networks: test MSE
    against the number of parameters, and Telgarsky's hand-built deep ReLU
    network that is exact with 6k + 1 = 25 parameters."""
    cache = cache or FigureCache()
    target = make_target("sawtooth", 1, k=COMPOSITIONS)
    sweeps = _settings(quick)
    curves = [(config, cache.sweep(STEM, config, target)) for config in sweeps]
    _, exact_params = telgarsky_sawtooth(COMPOSITIONS)
    with lecture_style():
        fig, ax = plt.subplots(figsize=(12.8, 7.6))
        floor, ceiling = np.inf, 0.0
        for i, (config, rows) in enumerate(curves):
            s = summarize(rows, ("params",), "test_mse")
            p = np.array([v["params"] for v in s], float)
            med, lo, hi = (np.array([v[q] for v in s]) for q in ("median", "min", "max"))
            depth, activation = config.depths[0], display_name(config.activation, lang)
            label = (text("lf7_depth1", lang, activation=activation) if depth == 1
                     else text("lf7_depthn", lang, d=depth, activation=activation))  # fmt: skip
            plot_band(ax, p, med, lo, hi, PALETTE[i], label, marker="os^D"[i])
            place = ("below left", "above", "below right")[i]
            _width_labels(ax, config.widths, p, med, PALETTE[i], lang, place)
            floor, ceiling = min(floor, lo.min()), max(ceiling, hi.max())
        # Below the data, the hand-built network (exact: its error is 0); above
        # it, room for the width labels of the top points under the title.
        y_star = floor / 5
        ax.set_ylim(floor / 25, ceiling * 4)
        ax.plot([exact_params], [y_star], "*", color=PALETTE[4], markersize=22, markeredgecolor="black",
                label=text("lf7_exact", lang, activation=display_name("relu", lang), k=COMPOSITIONS))  # fmt: skip
        ax.annotate(text("lf7_exact_note", lang, p=exact_params), (exact_params, y_star), textcoords="offset points",
                    xytext=(16, 0), fontsize=13, va="center")  # fmt: skip
        log_scale(ax, "x", plain=True, lang=lang)
        log_scale(ax, "y")
        ax.set_xlabel(text("lf7_params", lang))
        ax.set_ylabel(text("lf_mse", lang))
        ax.set_title(text("lf7_title", lang, pieces=2**COMPOSITIONS))
        seeds = sweeps[0].seeds
        key = "lf7_legend_title" if seeds > 1 else "lf7_legend_title_1"
        legend_title = text(key, lang, steps=number(sweeps[0].steps, lang), k=seeds)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=12.5, title_fontsize=12.5,
                  title=legend_title)  # fmt: skip
        fig.tight_layout()
        return save(fig, out_dir, STEM)


# Where a curve's width labels go: below and left of the falling shallow
# curve, below and right of the middle depths, above the deepest (the deep
# curves run close together, one above the other), so that no label sits on
# another curve or marker.
_PLACES = {
    "below left": ((-7, -6), "right", "top"),
    "below right": ((7, -6), "left", "top"),
    "above": ((8, 8), "left", "bottom"),
}


def _width_labels(ax, widths, params, errors, color, lang: str, place: str) -> None:
    """Each point's width n beside it, at ``place`` (a key of ``_PLACES``)."""
    offset, ha, va = _PLACES[place]
    for width, x, y in zip(widths, params, errors):
        ax.annotate(number(width, lang), (x, y), textcoords="offset points", xytext=offset, ha=ha, va=va,
                    fontsize=12, color=color)  # fmt: skip
