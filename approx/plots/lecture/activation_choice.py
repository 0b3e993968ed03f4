"""Figure 5: Hornik (1991), any bounded non-constant activation approximates."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from approx.config import SweepConfig
from approx.plots.lecture.cache import FigureCache
from approx.plots.lecture.drawing import median_band, norm_panels, save
from approx.plots.lecture.sweeps import sweep_1d
from approx.plots.style import PALETTE, display_name, lecture_style, text

__all__ = ["FIG5_ACTIVATIONS", "figure_activations"]

# (activation, label, options); label None shows the activation's display name alone. The spread init's slope grows like n; for
# sigmoid-like units that only sharpens the steps, but sin units of frequency
# ~n miss the target's low frequencies (at n = 64 their least-squares readout
# leaves a training MSE of 0.25 with coefficients of 1e5), so sin starts four
# times gentler. Bucket ratios only schedule the work: the cheap activations
# train all widths as one program, the costly sin-based ones in three.
FIG5_ACTIVATIONS = (
    ("sigmoid", None, {"bucket_ratio": 128.0}),
    ("tanh", None, {"bucket_ratio": 128.0}),
    ("cos_squasher", None, {"bucket_ratio": 4.0}),
    ("sin", "lf5_sin", {"bucket_ratio": 4.0, "slope_scale": 0.25}),
    ("relu", "lf5_relu", {"bucket_ratio": 128.0}),
)


def _config(activation: str, options: Mapping, quick: bool) -> SweepConfig:
    """Figure 4's sweep of ``sine`` with ``activation`` (widths 1..64, two seeds, 1500 steps)."""
    more = {} if quick else {"seeds": 2, "steps": 1500, "widths": tuple(2**k for k in range(7))}
    return sweep_1d("sine", quick, activation=activation, **more, **options)


def figure_activations(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False):
    """Hornik (1991): the same width sweep (target ``sine``) with sigmoid,
    tanh, the cosine squasher, sin and relu; every bounded non-constant
    activation approximates (relu too, by Leshno et al. 1993)."""
    cache = cache or FigureCache()
    activations = FIG5_ACTIVATIONS[::4] if quick else FIG5_ACTIVATIONS
    with lecture_style():
        fig, axes = plt.subplots(1, 2, figsize=(14, 5.8), sharex=True)
        for i, (activation, label, options) in enumerate(activations):
            rows = cache.sweep("05_activations", _config(activation, options, quick))
            name = display_name(activation, lang)
            name = text(label, lang, name=name) if label else name
            w, med, _, _ = median_band(rows, "test_mse", np.sqrt)
            axes[0].plot(w, med, marker="os^Dv"[i], color=PALETTE[i], label=name)
            w, med, _, _ = median_band(rows, "test_sup")
            axes[1].plot(w, med, marker="os^Dv"[i], color=PALETTE[i], label=name)
        norm_panels(axes, w, ("lf_l2_panel", "lf_sup_panel"), lang)
        axes[0].legend(loc="lower left")
        fig.suptitle(text("lf5_title", lang, target=text("lf_sine", lang)))
        fig.tight_layout()
        return save(fig, out_dir, "05_activations")
