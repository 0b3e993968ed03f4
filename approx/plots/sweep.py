"""The sweep's figure: error against width, median and spread over seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from approx.analysis import fit_slope, summarize
from approx.plots.style import PALETTE, lecture_style, log_scale, number, plt, save_figure
from approx.plots.text import display_name, text

__all__ = ["plot_error_vs_width"]


def _band(ax, summary, color, label):
    w = np.array([s["width"] for s in summary], float)
    med = np.array([s["median"] for s in summary])
    lo = np.array([s["min"] for s in summary])
    hi = np.array([s["max"] for s in summary])
    ax.fill_between(w, lo, hi, color=color, alpha=0.2, linewidth=0)
    ax.plot(w, med, "o-", color=color, label=label)
    return w, med


def _slope(fit, lang: str) -> str:
    """The fitted slope with the half-width of its 95 % interval: ``-1.02 ± 0.05``."""
    half = (fit.ci_high - fit.ci_low) / 2
    slope = number(fit.slope, lang, ".2f")
    return f"{slope} ± {number(half, lang, '.2f')}" if np.isfinite(half) else slope


def _seeds_label(seeds: int, lang: str) -> str:
    return text("one_seed", lang) if seeds == 1 else text("median_seeds", lang, k=seeds)


def plot_error_vs_width(
    rows: Sequence[Mapping[str, str]],
    stem: str | Path,
    *,
    lang: str = "en",
    target=None,
    title: str | None = None,
) -> list[Path]:
    """Median and spread over seeds of test MSE and sup error against width
    (log-log), one line per depth, the fitted slope of the MSE with its 95 %
    confidence interval, and Barron's 1/n reference line (with the target's
    constant when known, else through the first fitted point)."""
    depths = sorted({int(float(r["depth"])) for r in rows})
    seeds = len({r["seed"] for r in rows})
    diverged = sum(str(r.get("diverged", "")).lower() == "true" for r in rows)
    target_name = target.name if target is not None else rows[0].get("target", "")
    with lecture_style():
        fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
        for panel, (ax, metric) in enumerate(zip(axes, ("test_mse", "test_sup"))):
            for i, depth in enumerate(depths):
                mine = [r for r in rows if int(float(r["depth"])) == depth]
                summary = summarize(mine, ("width",), metric)
                if not summary:
                    continue
                label = _seeds_label(seeds, lang) if len(depths) == 1 else text("depth", lang, d=depth)
                w, med = _band(ax, summary, PALETTE[i], label)
                if metric == "test_mse" and i == 0 and len(w) >= 2:
                    keep = w >= 2 if np.sum(w >= 2) >= 2 else np.ones_like(w, bool)
                    try:
                        fit = fit_slope(w[keep], med[keep])
                    except ValueError:
                        fit = None
                    if fit is not None:
                        fit_label = text("fit", lang, slope=_slope(fit, lang))
                        ax.plot(w[keep], fit.predict(w[keep]), "--", color="0.3", linewidth=1.8, label=fit_label)
                    constant = (getattr(target, "constants", {}) or {}).get("barron_constant")
                    if constant:
                        ax.plot(w, (2 * constant) ** 2 / w, ":", color="0.45", linewidth=2, label=text("barron", lang))
                    else:
                        ref = med[0] * w[0] / w
                        ax.plot(w, ref, ":", color="0.45", linewidth=2, label=text("one_over_n", lang))
            log_scale(ax, "x", base=2, plain=True, lang=lang)
            log_scale(ax, "y")
            ax.set_xlabel(text("width", lang))
            ax.set_ylabel(text(metric, lang))
            ax.set_title(text("l2_panel" if panel == 0 else "sup_panel", lang))
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="lower left")
        fig.suptitle(title or text("error_vs_width", lang, target=display_name(target_name, lang)))
        if diverged:
            note = text("diverged_1", lang) if diverged == 1 else text("diverged", lang, k=diverged)
            fig.text(0.99, 0.01, note, ha="right", va="bottom", fontsize=11, color="0.4")
        fig.tight_layout(rect=(0, 0.04, 1, 1) if diverged else (0, 0, 1, 1))  # room for the note under the axes
        return save_figure(fig, stem)

