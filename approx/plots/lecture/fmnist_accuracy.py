"""Figure 9: Fashion-MNIST accuracy against hidden width."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import matplotlib.pyplot as plt

from approx.config import FMNISTConfig
from approx.plots.lecture.cache import FigureCache, FigureSkipped
from approx.plots.lecture.drawing import median_band, plot_band, save, width_axis
from approx.plots.style import PALETTE, decimal_ticks, lecture_style, number, text
from approx.results import read_rows

__all__ = ["CANONICAL_FMNIST", "canonical_fmnist_results", "figure_fashion_mnist"]

STEM = "09_fashion_mnist"
# The canonical sweep's experiment file (its ``out`` is where its results are).
CANONICAL_FMNIST = Path(__file__).resolve().parents[3] / "experiments" / "fmnist_width.toml"


# Fashion-MNIST's training and test images (Xiao, Rasul and Vollgraf, 2017).
FMNIST_SIZES = (60000, 10000)


def _config(quick: bool) -> FMNISTConfig:
    """The built-in sweep drawn when the canonical sweep's results are not
    found: the whole data set, 10 epochs, widths 16..1024, depths 1 and 2."""
    if quick:
        return FMNISTConfig(
            widths=(8, 32), seeds=1, epochs=1, train_subset=512, test_subset=512, train_eval_examples=512
        )
    return FMNISTConfig(widths=(16, 32, 64, 128, 256, 512, 1024), depths=(1, 2), seeds=2, epochs=10, lr=0.002)


def canonical_fmnist_results() -> Path | None:
    """The run directory of ``approx run experiments/fmnist_width.toml`` (its
    ``out``, relative to the working directory) when it holds results."""
    try:
        out = tomllib.loads(CANONICAL_FMNIST.read_text()).get("out")
    except (OSError, ValueError):
        return None
    if out and read_rows(Path(out) / "results.csv"):
        return Path(out)
    return None


def _fmnist_rows(cache: FigureCache, quick: bool, results: str | Path | None):
    """Rows of the canonical sweep (or ``results``), else of the built-in
    sweep run in the cache; FigureSkipped when neither is possible."""
    if results is not None:
        rows = read_rows(Path(results) / "results.csv") if Path(results).is_dir() else read_rows(results)
        if not rows:
            raise FigureSkipped(f"no Fashion-MNIST results in {results}")
        return rows, ("results", str(results))
    found = None if quick else canonical_fmnist_results()
    if found is not None:
        return read_rows(found / "results.csv"), ("results", str(found))
    config = _config(quick)
    rows = cache.fmnist(STEM, config)
    return rows, ("builtin", config)


def figure_fashion_mnist(out_dir, *, lang="en", cache: FigureCache | None = None, quick=False, results=None):
    """Fashion-MNIST test accuracy (and training accuracy, dashed) against
    hidden width: from the canonical sweep's results when found
    (``approx run experiments/fmnist_width.toml``), else from the
    built-in sweep (all 60,000 training images, 10 epochs), whose size the
    figure states."""
    cache = cache or FigureCache()
    rows, (kind, source) = _fmnist_rows(cache, quick, results)
    depths = sorted({int(float(r["depth"])) for r in rows})
    note = _trained_on(source, lang) if kind == "builtin" else text("lf9_results", lang, path=source)
    with lecture_style():
        fig, ax = plt.subplots(figsize=(11, 6.2))
        for i, depth in enumerate(depths):
            mine = [r for r in rows if int(float(r["depth"])) == depth]
            label = text("lf9_depth1", lang) if depth == 1 else text("lf9_depthn", lang, d=depth)
            w, med, lo, hi = median_band(mine, "test_accuracy", lambda v: 100 * v)
            plot_band(ax, w, med, lo, hi, PALETTE[i], label + text("lf9_test", lang), marker="os^"[i])
            if all(r.get("train_accuracy") not in (None, "") for r in mine):
                w, med, _, _ = median_band(mine, "train_accuracy", lambda v: 100 * v)
                ax.plot(w, med, linestyle="--", marker="os^"[i], markerfacecolor="white", color=PALETTE[i],
                        label=label + text("lf9_train", lang))  # fmt: skip
        width_axis(ax, sorted({int(float(r["width"])) for r in rows}), lang=lang)
        ax.set_ylabel(text("lf9_accuracy", lang))
        decimal_ticks(ax, lang)
        low = min(100 * float(r["test_accuracy"]) for r in rows)
        ax.set_ylim(max(0.0, 5 * math.floor(low / 5) - 5), 100)
        ax.set_title(text("lf9_title", lang))
        ax.text(0.99, 0.02, note, transform=ax.transAxes, ha="right", va="bottom", fontsize=12, color="0.35")
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.08), fontsize=13)
        fig.tight_layout()
        return save(fig, out_dir, STEM)


def _trained_on(config: FMNISTConfig, lang: str) -> str:
    """How many images and epochs the built-in sweep's networks were trained on, and tested on."""
    n = config.train_subset or FMNIST_SIZES[0]
    m = config.test_subset or FMNIST_SIZES[1]
    key = "lf9_trained_on_1" if config.epochs == 1 else "lf9_trained_on"
    return text(key, lang, n=number(n, lang, ",d"), m=number(m, lang, ",d"), epochs=config.epochs)
