"""Figure 1: from sigmoid to step, from two steps to a bump (no computation)."""

from __future__ import annotations

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from approx.models import sigmoid
from approx.plots.lecture.cache import FigureCache
from approx.plots.lecture.drawing import save
from approx.plots.style import PALETTE, decimal_ticks, display_name, lecture_style, number, text

__all__ = ["figure_sigmoid_step_bump"]


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
            ax.plot(
                x,
                np.asarray(sigmoid(jnp.asarray(w * (x - s)))),
                color=PALETTE[i],
                label=text("lf1_w", lang, w=number(w, lang)),
            )
        ax.set_title(text("lf1_left", lang, s=number(s, lang)))
        ax.set_xticks([0, s, 1], ["0", "s", "1"])
        ax.legend(loc="upper left")
        ax = axes[1]
        for i, w in enumerate(slopes[1:], 1):
            bump = h * (np.asarray(sigmoid(jnp.asarray(w * (x - s1)))) - np.asarray(sigmoid(jnp.asarray(w * (x - s2)))))
            ax.plot(x, bump, color=PALETTE[i], label=text("lf1_w", lang, w=number(w, lang)))
        arrow = {"arrowstyle": "<->", "color": "0.2", "linewidth": 2}
        ax.annotate("", xy=(0.74, h), xytext=(0.74, 0), arrowprops=arrow)
        ax.hlines(h, s2, 0.74, colors="0.5", linestyles=":", linewidth=1.5)
        ax.text(0.76, h / 2, text("lf1_h", lang, h=number(h, lang)), va="center", fontsize=14)
        ax.set_title(text("lf1_right", lang))
        ax.set_xticks([0, s1, s2, 1], ["0", "s₁", "s₂", "1"])
        ax.legend(loc="upper left")
        for ax in axes:
            ax.set_xlabel(text("lf_x", lang))
            ax.set_ylim(-0.05, 1.12)
            ax.set_xlim(0, 1)
            decimal_ticks(ax, lang)
        fig.suptitle(text("lf1_title", lang, sigmoid=display_name("sigmoid", lang)))
        fig.tight_layout()
        return save(fig, out_dir, "01_sigmoid_to_step")
