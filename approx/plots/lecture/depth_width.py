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


def _settings(quick: bool):
    """Two sweeps of ``sawtooth``: one hidden layer (widths 2..128), and two or three (widths 2..16)."""
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


def figure_depth_vs_width(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """The sawtooth (tent map composed 3 times, 8 linear pieces) fit by
    shallow wide and deep narrow sigmoid networks: test MSE against the
    number of parameters, and Telgarsky's hand-built deep ReLU network that
    is exact with 6k + 1 = 19 parameters."""
    cache = cache or FigureCache()
    shallow, deep = _settings(quick)
    rows = cache.sweep(STEM, shallow) + cache.sweep(STEM, deep)
    k = int(make_target("sawtooth").constants["compositions"])
    _, exact_params = telgarsky_sawtooth(k)
    depths = sorted({int(r["depth"]) for r in rows})
    with lecture_style():
        fig, ax = plt.subplots(figsize=(12.8, 7.6))
        floor, ceiling = np.inf, 0.0
        for i, depth in enumerate(depths):
            mine = [r for r in rows if int(r["depth"]) == depth]
            s = summarize(mine, ("params",), "test_mse")
            p = np.array([v["params"] for v in s], float)
            med, lo, hi = (np.array([v[q] for v in s]) for q in ("median", "min", "max"))
            label = text("lf7_depth1", lang) if depth == 1 else text("lf7_depthn", lang, d=depth)
            plot_band(ax, p, med, lo, hi, PALETTE[i], label, marker="os^D"[i])
            place = "above" if depth == depths[-1] and depth > 1 else ("below left" if depth == 1 else "below right")
            _width_labels(ax, sorted({int(r["width"]) for r in mine}), p, med, PALETTE[i], lang, place)
            floor, ceiling = min(floor, lo.min()), max(ceiling, hi.max())
        # Below the data, the hand-built network (exact: its error is 0); above
        # it, room for the width labels of the top points under the title.
        y_star = floor / 5
        ax.set_ylim(floor / 25, ceiling * 4)
        ax.plot([exact_params], [y_star], "*", color=PALETTE[4], markersize=22, markeredgecolor="black",
                label=text("lf7_exact", lang, activation=display_name("relu", lang), k=k))  # fmt: skip
        ax.annotate(text("lf7_exact_note", lang, p=exact_params), (exact_params, y_star), textcoords="offset points",
                    xytext=(16, 0), fontsize=13, va="center")  # fmt: skip
        log_scale(ax, "x", plain=True, lang=lang)
        log_scale(ax, "y")
        ax.set_xlabel(text("lf7_params", lang))
        ax.set_ylabel(text("lf_mse", lang))
        ax.set_title(text("lf7_title", lang, pieces=2**k))
        seeds = len({r["seed"] for r in rows})
        key = "lf7_legend_title" if seeds > 1 else "lf7_legend_title_1"
        legend_title = text(key, lang, activation=display_name(shallow.activation, lang), k=seeds)
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
