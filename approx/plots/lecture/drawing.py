"""What several lecture figures draw alike: width axes, median bands over
seeds, a target on 1-D points, and saving a figure by its file stem."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np

from approx.analysis import summarize
from approx.plots.style import log_scale, number, save_figure, text
from approx.targets import Target

__all__ = ["median_band", "norm_panels", "plot_band", "save", "target_1d", "width_axis"]


def save(fig, out_dir, stem: str) -> list[Path]:
    """Writes ``fig`` as ``out_dir/stem.png`` (200 dpi) and ``.pdf``; returns both paths."""
    return save_figure(fig, Path(out_dir) / stem)


def target_1d(target: Target, x: np.ndarray) -> np.ndarray:
    """A 1-D target's values ``(n,)`` at the points ``x`` ``(n,)``."""
    return np.asarray(target(jnp.asarray(x, jnp.float32)[:, None]))


def median_band(rows, metric: str, transform=lambda v: v):
    """Widths, and the median, min and max over seeds of ``metric`` per width."""
    s = summarize(rows, ("width",), metric)
    w = np.array([r["width"] for r in s], float)
    return (
        w,
        transform(np.array([r["median"] for r in s])),
        transform(np.array([r["min"] for r in s])),
        transform(np.array([r["max"] for r in s])),
    )


def plot_band(ax, w, med, lo, hi, color, label, marker="o", linestyle="-"):
    """The median as a line with markers over a light min-max band."""
    ax.fill_between(w, lo, hi, color=color, alpha=0.18, linewidth=0)
    ax.plot(w, med, marker=marker, linestyle=linestyle, color=color, label=label)


def width_axis(ax, widths, label_key="lf_width_n", lang="en", max_ticks=9):
    """A log2 x axis ticked at the widths (every other one past ``max_ticks``),
    labelled as plain integers."""
    ax.set_xscale("log", base=2)
    ticks = [int(w) for w in widths]
    if len(ticks) > max_ticks:
        ticks = ticks[::2]
    ax.set_xticks(ticks, [number(t, lang) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel(text(label_key, lang))


def norm_panels(axes, widths, titles: tuple[str, str], lang: str) -> None:
    """An L2 panel and a sup-norm panel side by side: log y axes, width x
    axes, their labels, and the two titles (text keys)."""
    for ax, key, ylabel in zip(axes, titles, ("lf_l2", "lf_sup")):
        log_scale(ax, "y")
        width_axis(ax, widths, lang=lang)
        ax.set_ylabel(text(ylabel, lang))
        ax.set_title(text(key, lang), fontsize=16)
