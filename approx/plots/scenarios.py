"""The course scenarios' figures: decision regions, ROC curve, confusion counts, regression fit, training curves.

:func:`approx.experiments.scenarios.run_scenario` trains and records;
:func:`plot_scenario` then draws a finished scenario's figures (PNG and PDF,
English or Spanish) into its run directory and records them in its manifest.
Each figure is also a function of its own, which the course notebooks call on
their own models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap, ListedColormap

from approx import metrics as _metrics
from approx.experiments.scenarios import ScenarioOutcome
from approx.plots import style as plots
from approx.results import update_manifest

__all__ = [
    "plot_confusion_counts",
    "plot_decision_regions",
    "plot_regression_fit",
    "plot_roc",
    "plot_scenario",
    "plot_training_curves",
]
_SCENARIO_TEXT = {
    "en": {
        "scn_x1": "$x_1$",
        "scn_x2": "$x_2$",
        "scn_class": "class {c}",
        "scn_regions": "Decision regions (test points)",
        "scn_class_regions": "Class regions (test points)",
        "scn_boundary": "p = 0.5",
        "scn_roc": "ROC curve (test set)",
        "scn_fpr": "false positive rate",
        "scn_tpr": "true positive rate",
        "scn_auc": "network, AUC = {auc:.3f}",
        "scn_chance": "chance",
        "scn_confusion": "Confusion matrix (test set)",
        "scn_true": "true class",
        "scn_pred": "predicted class",
        "scn_fit": "Fit against the target",
        "scn_target": "target f(x)",
        "scn_network": "network",
        "scn_data": "training data",
        "scn_x": "x",
        "scn_y": "y",
        "scn_curves": "Training curves",
        "scn_epoch": "epoch",
        "scn_train": "train {name}",
        "scn_val": "validation {name}",
        "scn_metric_loss": "loss",
        "scn_metric_accuracy": "accuracy",
        "scn_metric_mae": "mean absolute error",
    },
    "es": {
        "scn_x1": "$x_1$",
        "scn_x2": "$x_2$",
        "scn_class": "clase {c}",
        "scn_regions": "Regiones de decisión (puntos de prueba)",
        "scn_class_regions": "Regiones de cada clase (puntos de prueba)",
        "scn_boundary": "p = 0,5",
        "scn_roc": "Curva ROC (conjunto de prueba)",
        "scn_fpr": "tasa de falsos positivos",
        "scn_tpr": "tasa de verdaderos positivos",
        "scn_auc": "red, AUC = {auc:.3f}",
        "scn_chance": "azar",
        "scn_confusion": "Matriz de confusión (conjunto de prueba)",
        "scn_true": "clase real",
        "scn_pred": "clase predicha",
        "scn_fit": "Ajuste frente a la función objetivo",
        "scn_target": "objetivo f(x)",
        "scn_network": "red",
        "scn_data": "datos de entrenamiento",
        "scn_x": "x",
        "scn_y": "y",
        "scn_curves": "Curvas de entrenamiento",
        "scn_epoch": "época",
        "scn_train": "{name} de entrenamiento",
        "scn_val": "{name} de validación",
        "scn_metric_loss": "pérdida",
        "scn_metric_accuracy": "exactitud",
        "scn_metric_mae": "error absoluto medio",
    },
}

plots.register_text(_SCENARIO_TEXT)


def _metric_label(key: str, lang: str) -> str:
    """A history key as a figure label (``loss``, ``accuracy`` and ``mae`` translated)."""
    return _SCENARIO_TEXT[lang].get(f"scn_metric_{key}", key)


def _fmt_auc(text: str, lang: str) -> str:
    return text.replace(".", ",") if lang == "es" else text


def plot_decision_regions(
    model, x, labels, stem, *, lang: str = "en", resolution: int = 200, title_key: str = "scn_regions"
) -> list[Path]:
    """The classes the fitted ``model`` predicts over ``[0, 1]^2``, with the points ``x``.

    One sigmoid output: regions split at ``p = 0.5`` (drawn), shaded by ``p``.
    Several softmax outputs: each region takes its class's colour.
    """
    axis = np.linspace(0.0, 1.0, resolution, dtype=np.float32)
    g1, g2 = np.meshgrid(axis, axis)
    probs = model.predict(np.stack([g1.ravel(), g2.ravel()], axis=1), verbose=0)
    k = max(2, probs.shape[1])
    colors = list(plots.PALETTE[:k])
    with plots.lecture_style():
        fig, ax = plt.subplots(figsize=(6.4, 6))
        if probs.shape[1] == 1:
            p = probs[:, 0].reshape(g1.shape)
            ax.contourf(g1, g2, p, levels=np.linspace(0, 1, 11), cmap=_two_colour_map(colors), alpha=0.35)
            ax.contour(g1, g2, p, levels=[0.5], colors="0.2", linewidths=2)
            ax.plot([], [], color="0.2", label=plots.text("scn_boundary", lang))
        else:
            region = probs.argmax(axis=1).reshape(g1.shape)
            ax.contourf(g1, g2, region, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(colors), alpha=0.3)
        markers = "osD^v<>p"
        for c in range(k):
            mine = labels == c
            ax.scatter(x[mine, 0], x[mine, 1], s=18, color=colors[c], marker=markers[c], edgecolors="white",
                       linewidths=0.4, label=plots.text("scn_class", lang, c=c))  # fmt: skip
        ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal")
        ax.set_xlabel(plots.text("scn_x1", lang))
        ax.set_ylabel(plots.text("scn_x2", lang))
        ax.set_title(plots.text(title_key, lang))
        ax.grid(False)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
        return plots.save_figure(fig, stem)


def _two_colour_map(colors):
    return LinearSegmentedColormap.from_list("approx_binary", [colors[0], "white", colors[1]])


def plot_roc(y_true, scores, stem, *, lang: str = "en") -> list[Path]:
    """The ROC curve of binary ``scores`` against ``y_true``, its AUC in the legend."""
    fpr, tpr, _ = _metrics.roc_curve(y_true, scores)
    auc = _metrics.roc_auc(y_true, scores)
    with plots.lecture_style():
        fig, ax = plt.subplots(figsize=(6, 6))
        ax.plot([0, 1], [0, 1], ":", color="0.5", label=plots.text("scn_chance", lang))
        ax.step(
            fpr, tpr, where="post", color=plots.PALETTE[0], label=_fmt_auc(plots.text("scn_auc", lang, auc=auc), lang)
        )
        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), aspect="equal")
        ax.set_xlabel(plots.text("scn_fpr", lang))
        ax.set_ylabel(plots.text("scn_tpr", lang))
        ax.set_title(plots.text("scn_roc", lang))
        ax.legend(loc="lower right")
        return plots.save_figure(fig, stem)


def plot_confusion_counts(cm, stem, *, lang: str = "en") -> list[Path]:
    """The confusion matrix of counts ``cm[true, predicted]`` (as
    :func:`approx.metrics.confusion_matrix` returns it), each cell shaded by
    its share of the true class."""
    cm = np.asarray(cm)
    k = cm.shape[0]
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    with plots.lecture_style():
        fig, ax = plt.subplots(figsize=(1.2 * k + 3.5, 1.2 * k + 3))
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if share[i, j] > 0.6 else "black")
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xlabel(plots.text("scn_pred", lang))
        ax.set_ylabel(plots.text("scn_true", lang))
        ax.set_title(plots.text("scn_confusion", lang))
        ax.grid(False)
        return plots.save_figure(fig, stem)


def plot_regression_fit(model, target: Callable, x, y, stem, *, lang: str = "en") -> list[Path]:
    """The fitted ``model`` against the noiseless ``target`` on ``[0, 1]``, with the training data."""
    grid = np.linspace(0.0, 1.0, 1001, dtype=np.float32)[:, None]
    with plots.lecture_style():
        fig, ax = plt.subplots(figsize=(8, 5))
        ax.scatter(x[:, 0], np.reshape(y, -1), s=6, color="0.65", alpha=0.6, label=plots.text("scn_data", lang))
        ax.plot(
            grid[:, 0],
            np.asarray(target(jnp.asarray(grid))),
            color=plots.PALETTE[0],
            label=plots.text("scn_target", lang),
        )
        ax.plot(
            grid[:, 0], model.predict(grid, verbose=0)[:, 0], "--", color=plots.PALETTE[1], label=plots.text("scn_network", lang)
        )
        ax.set_xlim(0, 1)
        ax.set_xlabel(plots.text("scn_x", lang))
        ax.set_ylabel(plots.text("scn_y", lang))
        ax.set_title(plots.text("scn_fit", lang))
        ax.legend(loc="best")
        return plots.save_figure(fig, stem)


def plot_training_curves(history: Mapping[str, Sequence[float]], stem, *, lang: str = "en") -> list[Path]:
    """Training and validation loss per epoch (log scale when positive) and, in a
    second panel, one metric (accuracy if recorded, else the first)."""
    metric_keys = [k for k in history if k != "loss" and not k.startswith("val_")]
    shown = ["loss"] + (["accuracy" if "accuracy" in metric_keys else metric_keys[0]] if metric_keys else [])
    with plots.lecture_style():
        fig, axes = plt.subplots(1, len(shown), figsize=(6.5 * len(shown), 4.8), squeeze=False)
        for ax, key in zip(axes[0], shown):
            name = _metric_label(key, lang)
            values = np.asarray(history[key], float)
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, color=plots.PALETTE[0], label=plots.text("scn_train", lang, name=name))
            if f"val_{key}" in history:
                val = np.asarray(history[f"val_{key}"], float)
                ax.plot(epochs, val, "--", color=plots.PALETTE[1], label=plots.text("scn_val", lang, name=name))
            if key == "loss" and np.all(values > 0) and np.all(np.asarray(history.get("val_loss", [1.0])) > 0):
                ax.set_yscale("log")
            ax.set_xlabel(plots.text("scn_epoch", lang))
            ax.set_ylabel(name)
            ax.legend(loc="best")
        fig.suptitle(plots.text("scn_curves", lang))
        fig.tight_layout()
        return plots.save_figure(fig, stem)


def plot_scenario(outcome: ScenarioOutcome, *, lang: str = "en") -> list[Path]:
    """Draws the figures of a scenario that :func:`~approx.experiments.scenarios.run_scenario`
    has just run (its ``fit``) into its directory, records them and ``lang``
    in its manifest, and returns their paths (PNG and PDF of each):

    * ``binary``: ``decision_regions``, ``roc_curve``, ``training_curves``;
    * ``multiclass``: ``class_regions``, ``confusion_matrix``, ``training_curves``;
    * ``regression``: ``regression_fit``, ``training_curves``.
    """
    if lang not in plots.LANGS:
        raise ValueError(f"unknown language {lang!r}; valid: {', '.join(plots.LANGS)}")
    fit, out = outcome.fit, outcome.out
    if fit is None:
        raise ValueError(f"the {outcome.kind} run in {str(out)!r} was already complete: its figures are {outcome.figures}")
    figures = []
    if outcome.kind == "binary":
        figures += plot_decision_regions(fit.model, fit.x_test, fit.y_test.astype(int), out / "decision_regions", lang=lang)
        figures += plot_roc(fit.y_test, fit.scores, out / "roc_curve", lang=lang)
    elif outcome.kind == "multiclass":
        figures += plot_decision_regions(
            fit.model, fit.x_test, fit.y_test, out / "class_regions", lang=lang, title_key="scn_class_regions"
        )
        figures += plot_confusion_counts(fit.confusion, out / "confusion_matrix", lang=lang)
    else:
        figures += plot_regression_fit(fit.model, fit.target, fit.x_train, fit.y_train, out / "regression_fit", lang=lang)
    figures += plot_training_curves(fit.history.history, out / "training_curves", lang=lang)
    update_manifest(out, figures=[str(p) for p in figures], lang=lang)
    return figures
