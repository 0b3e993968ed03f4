"""Figure 4: continuity matters for the sup norm, not for L2."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from approx.plots.lecture.cache import FigureCache
from approx.plots.lecture.drawing import median_band, norm_panels, plot_band, save
from approx.plots.lecture.sweeps import sweep_1d
from approx.plots.style import PALETTE, display_name, lecture_style, text

__all__ = ["FIG4_TARGETS", "figure_continuity"]

# (target, label): smooth, kinked, discontinuous; the labels name a target by its display name.
FIG4_TARGETS = (("sine", "lf4_smooth"), ("kink", "lf4_kink"), ("step", "lf4_step"))


def figure_continuity(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """Error against width for a smooth, a kinked and a discontinuous target,
    L2 norm and sup norm side by side: for the step the L2 error falls
    (Hornik 1991, L^p) while the sup error stays at 1/2 (Cybenko 1989 needs
    a continuous target; any continuous g is >= 1/2 away somewhere)."""
    cache = cache or FigureCache()
    results = {name: cache.sweep("04_continuity", sweep_1d(name, quick)) for name, _ in FIG4_TARGETS}
    with lecture_style():
        fig, axes = plt.subplots(1, 2, figsize=(14, 5.8), sharex=True)
        for i, (name, label) in enumerate(FIG4_TARGETS):
            rows = results[name]
            label = text(label, lang, name=display_name(name, lang))
            w, *l2 = median_band(rows, "test_mse", np.sqrt)
            plot_band(axes[0], w, *l2, PALETTE[i], label, marker="os^"[i])
            w, *sup = median_band(rows, "test_sup")
            plot_band(axes[1], w, *sup, PALETTE[i], label, marker="os^"[i])
        axes[1].axhline(0.5, color=PALETTE[2], linestyle=":", linewidth=2, label=text("lf4_half", lang))
        norm_panels(axes, w, ("lf4_l2_panel", "lf4_sup_panel"), lang)
        axes[0].legend(loc="lower left")
        axes[1].legend(loc="lower left", fontsize=11.5)
        fig.suptitle(text("lf4_title", lang))
        fig.tight_layout()
        return save(fig, out_dir, "04_continuity_l2_vs_sup")
