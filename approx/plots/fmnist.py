"""Fashion-MNIST lecture figures: accuracy against width, learning curves, the
confusion matrix and a grid of test images with their predicted labels.

Every function reads records (``results.csv`` and ``history.csv`` rows as
:func:`approx.results.read_rows` returns them, saved predictions) and the data
set; none trains. Figures use the shared lecture style of :mod:`approx.plots.style`
and come out as PNG and PDF, in English or Spanish (class names included).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from approx.analysis import summarize
from approx.data.fashion_mnist import CLASS_NAMES, CLASS_NAMES_ES, load_fashion_mnist
from approx.experiments.fmnist import predictions_path
from approx.plots.style import PALETTE, decimal_ticks, lecture_style, number, plt, save_figure
from approx.plots.text import display_name, text
from approx.results import read_rows

__all__ = [
    "class_names",
    "plot_accuracy_vs_width",
    "plot_learning_curves",
    "plot_confusion_matrix",
    "plot_predictions",
    "confusion_matrix",
    "cell_label",
    "best_run",
    "plot_fmnist",
]

MISTAKE_COLOR = "#C00000"


def class_names(lang: str = "en") -> tuple[str, ...]:
    """The ten class names in the figure language."""
    text("fm_width", lang)  # validates lang
    return CLASS_NAMES_ES if lang == "es" else CLASS_NAMES


def _int(row, key) -> int:
    return int(float(row[key]))


def _arch(depth: int, width: int, activation: str, lang: str) -> str:
    return text("fm_arch", lang, hidden="-".join([str(width)] * depth), activation=display_name(activation, lang))


def _ok(row) -> bool:
    return str(row.get("diverged", "false")).lower() != "true"


def plot_accuracy_vs_width(rows: Sequence[Mapping[str, str]], stem: str | Path, *, lang: str = "en") -> list[Path]:
    """Test accuracy (median over seeds, min-max band) against width on a
    log2 axis, one line per depth."""
    depths = sorted({_int(r, "depth") for r in rows})
    seeds = len({r["seed"] for r in rows})
    with lecture_style():
        fig, ax = plt.subplots(figsize=(9, 5.6))
        widths_seen: set[int] = set()
        for i, depth in enumerate(depths):
            summary = summarize([r for r in rows if _int(r, "depth") == depth], ("width",), "test_accuracy")
            if not summary:
                continue
            w = np.array([s["width"] for s in summary])
            widths_seen.update(int(v) for v in w)
            med = 100 * np.array([s["median"] for s in summary])
            color = PALETTE[i % len(PALETTE)]
            if seeds > 1:
                lo = 100 * np.array([s["min"] for s in summary])
                hi = 100 * np.array([s["max"] for s in summary])
                ax.fill_between(w, lo, hi, color=color, alpha=0.2, linewidth=0)
            ax.plot(w, med, "o-", color=color, label=text("fm_depth_1" if depth == 1 else "fm_depth_n", lang, d=depth))
            best = int(np.argmax(med))
            ax.annotate(number(med[best], lang, ".1f"), (w[best], med[best]), textcoords="offset points", xytext=(0, 9),
                        ha="center", fontsize=12, color=color)  # fmt: skip
        ax.set_xscale("log", base=2)
        ticks = sorted(widths_seen)
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        if len(ticks) == 1:
            ax.set_xlim(ticks[0] / 2, ticks[0] * 2)
        ax.set_xlabel(text("fm_width", lang))
        ax.set_ylabel(text("fm_test_accuracy", lang))
        ax.set_title(text("fm_acc_vs_width", lang))
        ax.legend(loc="lower right", title=text("fm_seeds", lang, k=seeds) if seeds > 1 else None, title_fontsize=12)
        decimal_ticks(ax, lang)
        fig.tight_layout()
        return save_figure(fig, stem)


def plot_learning_curves(
    history: Sequence[Mapping[str, str]],
    stem: str | Path,
    *,
    depth: int,
    width: int,
    activation: str = "sigmoid",
    lang: str = "en",
) -> list[Path]:
    """Training and test loss (left) and accuracy (right) per epoch for one
    ``(depth, width)``: the median over seeds, with the min-max band."""
    mine = [r for r in history if _int(r, "depth") == depth and _int(r, "width") == width]
    if not mine:
        raise ValueError(f"no history for depth {depth}, width {width}")
    seeds = len({r["seed"] for r in mine})
    with lecture_style():
        fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
        for ax, (metric, scale, ylabel, panel) in zip(
            axes,
            (("loss", 1.0, "fm_loss", "fm_loss_panel"), ("accuracy", 100.0, "fm_accuracy", "fm_accuracy_panel")),
        ):
            for split, color in (("train", PALETTE[0]), ("test", PALETTE[1])):
                s = summarize(mine, ("epoch",), f"{split}_{metric}")
                e = np.array([v["epoch"] for v in s])
                if seeds > 1:
                    ax.fill_between(e, scale * np.array([v["min"] for v in s]), scale * np.array([v["max"] for v in s]),
                                    color=color, alpha=0.2, linewidth=0)  # fmt: skip
                ax.plot(e, scale * np.array([v["median"] for v in s]), "o-" if len(e) <= 30 else "-", color=color,
                        label=text(f"fm_{split}", lang))  # fmt: skip
            ax.set_xlabel(text("fm_epoch", lang))
            ax.set_ylabel(text(ylabel, lang))
            ax.set_title(text(panel, lang))
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.legend(loc="upper right" if metric == "loss" else "lower right")
            decimal_ticks(ax, lang)
        title = text("fm_curves", lang, arch=_arch(depth, width, activation, lang))
        if seeds > 1:
            title += f"  ({text('fm_seeds', lang, k=seeds)})"
        fig.suptitle(title)
        fig.tight_layout()
        return save_figure(fig, stem)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int = 10) -> np.ndarray:
    """Counts ``C[i, j]`` of examples of true class ``i`` predicted as ``j``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    flat = classes * y_true.astype(np.int64) + y_pred.astype(np.int64)
    return np.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def cell_label(count: int, total: int, lang: str = "en") -> str:
    """The text of one cell of the row-normalised confusion matrix: the share
    ``count / total`` of its row in % with one decimal; blank only for no
    image, ``<0.1`` for a share that one decimal would write as 0.0, and
    ``>99.9`` for one it would write as 100.0 without being the whole row."""
    if count == 0:
        return ""
    share = 100 * count / total
    if float(f"{share:.1f}") == 0.0:
        return "<" + number(0.1, lang, ".1f")
    if float(f"{share:.1f}") == 100.0 and count < total:
        return ">" + number(99.9, lang, ".1f")
    return number(share, lang, ".1f")


def plot_confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, stem: str | Path, *, lang: str = "en", arch: str = ""
) -> list[Path]:
    """Row-normalised confusion matrix (each true class sums to 100 %), every
    cell labelled by :func:`cell_label`; the colour bar and a note under the
    matrix say what the numbers are."""
    counts = confusion_matrix(y_true, y_pred)
    totals = counts.sum(axis=1, keepdims=True)
    pct = 100 * counts / np.maximum(totals, 1)
    names = class_names(lang)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    with lecture_style(), plt.rc_context({"axes.grid": False}):
        fig, ax = plt.subplots(figsize=(11, 8))
        image = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
        for i in range(10):
            for j in range(10):
                ax.text(j, i, cell_label(int(counts[i, j]), int(totals[i, 0]), lang), ha="center", va="center",
                        fontsize=13, color="white" if pct[i, j] > 55 else "black")  # fmt: skip
        ax.set_xticks(range(10), names, rotation=40, ha="right", rotation_mode="anchor")
        ax.set_yticks(range(10), names)
        ax.set_xlabel(text("fm_predicted", lang))
        ax.set_ylabel(text("fm_true", lang))
        ax.spines[:].set_visible(False)
        title = text("fm_confusion", lang) + (f": {arch}" if arch else "")
        ax.set_title(f"{title}\n{text('fm_accuracy_is', lang, acc=number(accuracy, lang, '.1%'))}", fontsize=15, pad=12)
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        bar.set_label(text("fm_confusion_bar", lang))
        decimal_ticks(bar.ax, lang)
        note = text("fm_confusion_note", lang, small=number(0.1, lang, ".1f"), small_pct=number(0.001, lang, ".1%"))
        fig.text(0.5, 0.005, note, ha="center", va="bottom", fontsize=12, color="0.25")
        fig.tight_layout(rect=(0, 0.07, 1, 1))
        return save_figure(fig, stem)


def plot_predictions(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    stem: str | Path,
    *,
    lang: str = "en",
    rows: int = 4,
    cols: int = 6,
) -> list[Path]:
    """The first ``rows x cols`` test images, each titled with its predicted
    and (in brackets) true class; mistakes in red with a red frame."""
    names = class_names(lang)
    n = min(rows * cols, len(images))
    with lecture_style(), plt.rc_context({"axes.grid": False}):
        fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.55 * rows))
        for k, ax in enumerate(np.ravel(axes)):
            ax.set_xticks([])
            ax.set_yticks([])
            if k >= n:
                ax.axis("off")
                continue
            wrong = int(y_pred[k]) != int(y_true[k])
            top = 255 if images.dtype == np.uint8 else 1
            ax.imshow(np.asarray(images[k]).reshape(28, 28), cmap="gray_r", vmin=0, vmax=top)
            color = MISTAKE_COLOR if wrong else "black"
            ax.set_title(f"{names[int(y_pred[k])]}\n({names[int(y_true[k])]})", fontsize=12, color=color,
                         fontweight="bold" if wrong else "normal")  # fmt: skip
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color(MISTAKE_COLOR if wrong else "0.75")
                spine.set_linewidth(4 if wrong else 1)
        fig.suptitle(text("fm_grid", lang))
        fig.tight_layout()
        return save_figure(fig, stem)


def best_run(rows: Sequence[Mapping[str, str]]) -> Mapping[str, str] | None:
    """The finished run with the highest test accuracy (ties: smaller model)."""
    ok = [r for r in rows if _ok(r)]
    if not ok:
        return None
    return max(ok, key=lambda r: (float(r["test_accuracy"]), -_int(r, "params"), -_int(r, "seed")))


def plot_fmnist(out_dir: str | Path, *, lang: str = "en", dataset=None, test_subset: int = 0) -> list[Path]:
    """Every figure of a run directory: accuracy against width, the learning
    curves of the best ``(depth, width)``, and the confusion matrix and image
    grid of its best seed. The data set is loaded (from the manifest's
    ``data_dir``) when not given; ``test_subset`` as in the config."""
    out = Path(out_dir)
    rows = read_rows(out / "results.csv")
    if not rows:
        return []
    paths = plot_accuracy_vs_width(rows, out / "accuracy_vs_width", lang=lang)
    best = best_run(rows)
    if best is None:
        return paths
    depth, width, seed = _int(best, "depth"), _int(best, "width"), _int(best, "seed")
    activation = best.get("activation", "sigmoid")
    history = read_rows(out / "history.csv")
    if any(_int(r, "depth") == depth and _int(r, "width") == width for r in history):
        paths += plot_learning_curves(
            history, out / "learning_curves", depth=depth, width=width, activation=activation, lang=lang
        )
    pred_file = predictions_path(out, depth, width, seed)
    if not pred_file.exists():
        return paths
    config = json.loads((out / "manifest.json").read_text()).get("config", {})
    test_subset = test_subset or config.get("test_subset", 0)
    if dataset is None:
        dataset = load_fashion_mnist(config.get("data_dir"))
    y_pred = np.load(pred_file).astype(np.int64)
    n = test_subset or len(dataset.y_test)
    y_true = np.asarray(dataset.y_test[:n], np.int64)
    if len(y_pred) != len(y_true):
        raise ValueError(f"{pred_file} holds {len(y_pred)} predictions for {len(y_true)} test labels")
    arch = _arch(depth, width, activation, lang) + f", {text('fm_seed', lang, seed=seed)}"
    paths += plot_confusion_matrix(y_true, y_pred, out / "confusion_matrix", lang=lang, arch=arch)
    paths += plot_predictions(dataset.x_test[:n], y_true, y_pred, out / "test_predictions", lang=lang)
    return paths
