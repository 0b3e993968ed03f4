"""The lecture figures' registry: what each figure teaches, and :func:`build_figures`.

Every figure function has the signature::

    figure(out_dir, *, lang="en", cache=None, quick=False) -> list[Path]

and returns the paths it wrote (PNG at 200 dpi and PDF). ``quick=True``
shrinks every computation to a few steps and widths: the figures are drawn the
same way but teach nothing; it exists for the tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from approx.plots.lecture.activation_choice import figure_activations
from approx.plots.lecture.cache import FigureCache, FigureSkipped, default_cache_dir
from approx.plots.lecture.construction import figure_construction_vs_training
from approx.plots.lecture.continuity import figure_continuity
from approx.plots.lecture.depth_width import figure_depth_vs_width
from approx.plots.lecture.dimension import figure_dimension
from approx.plots.lecture.fmnist_accuracy import figure_fashion_mnist
from approx.plots.lecture.hidden_units import figure_hidden_units
from approx.plots.lecture.optimisation import figure_optimisation
from approx.plots.lecture.sigmoid_step import figure_sigmoid_step_bump
from approx.plots.lecture.two_dimensions import figure_two_dimensions
from approx.plots.style import LANGS

__all__ = ["FIGURES", "BuildReport", "Figure", "build_figures", "gallery_markdown", "select_figures"]


@dataclass(frozen=True)
class Figure:
    """One lecture figure: its number, file stem, builder, title and what it teaches."""

    number: int
    stem: str
    build: Callable[..., list[Path]]
    title: str
    teaches: str


FIGURES: tuple[Figure, ...] = (
    Figure(1, "01_sigmoid_to_step", figure_sigmoid_step_bump,
           "From sigmoid to step and bump",
           "σ(w(x − s)) becomes a step as w grows, and two steep sigmoids make a bump of any height: "
           "the building block of the visual proof."),
    Figure(2, "02_construction_vs_training", figure_construction_vs_training,
           "Cybenko's construction without training",
           "Cybenko's construction needs no training: a staircase of n steep sigmoids has sup error "
           "falling like 1/n; trained networks of the same width do better."),
    Figure(3, "03_hidden_units", figure_hidden_units,
           "A trained network, unit by unit",
           "A trained network is a sum of shifted, scaled sigmoids: each unit is a soft step, the fit is their sum."),
    Figure(4, "04_continuity_l2_vs_sup", figure_continuity,
           "Continuity: L2 against sup norm",
           "Continuity matters for the sup norm only: on the step the L2 error falls with width while the "
           "sup error stays at 1/2 (Cybenko needs a continuous target, Hornik's L^p statement does not)."),
    Figure(5, "05_activations", figure_activations,
           "Hornik: the activation",
           "Hornik: sigmoid, tanh, cosine squasher and sin (bounded, non-constant) all approximate; so does relu."),
    Figure(6, "06_two_dimensions", figure_two_dimensions,
           "Two dimensions",
           "In two dimensions each unit is a sigmoid ridge; with more units the error map fades."),
    Figure(7, "07_depth_vs_width", figure_depth_vs_width,
           "Depth against width",
           "Depth against width on the sawtooth (16 linear pieces): trained alike, three ReLU layers of width 16 "
           "reach an error far below one hidden layer of the same parameter count, sigmoid or ReLU; Telgarsky's "
           "hand-built depth-4 network is exact with 25 parameters."),
    Figure(8, "08_dimension", figure_dimension,
           "Dimension: trained networks against random features",
           "Barron: on a Barron-class target trained networks keep improving with width in d = 1..8, below "
           "(2C)²/n; random features (output layer only) stall as d grows."),
    Figure(9, "09_fashion_mnist", figure_fashion_mnist,
           "Fashion-MNIST",
           "On real data (Fashion-MNIST) test accuracy grows with width and saturates; "
           "training accuracy keeps climbing."),
    Figure(10, "10_optimisation_vs_approximation", figure_optimisation,
           "Optimisation versus approximation",
           "Which part of the curve is the optimiser: the frameworks' default setup plateaus, approx's default "
           "follows the width, and restarts + L-BFGS (float64) show how much lower the same widths can go."),
)  # fmt: skip


@dataclass
class BuildReport:
    """What :func:`build_figures` did: paths, seconds per figure, skipped figures with reasons."""

    paths: list[Path] = field(default_factory=list)
    seconds: dict[int, float] = field(default_factory=dict)
    skipped: dict[int, str] = field(default_factory=dict)


def select_figures(only: Sequence[int] | None = None) -> list[Figure]:
    """The registry's figures, or those numbered in ``only``."""
    if only is None:
        return list(FIGURES)
    known = {f.number: f for f in FIGURES}
    bad = [n for n in only if n not in known]
    if bad:
        raise ValueError(f"unknown figure number(s) {bad}; valid: 1..{len(FIGURES)}")
    return [known[n] for n in sorted(set(only))]


def build_figures(
    out: str | Path = "figures",
    lang: str = "en",
    refresh: bool = False,
    *,
    only: Sequence[int] | None = None,
    quick: bool = False,
    cache_dir: str | Path | None = None,
    fmnist_results: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Builds the lecture figures into ``out`` (PNG at 200 dpi and PDF).

    ``lang`` is ``"en"`` or ``"es"``; ``refresh`` recomputes cached results;
    ``only`` selects figures by number; ``quick`` uses tiny computations (for
    tests); ``fmnist_results`` is a Fashion-MNIST run directory for figure 9.
    A figure that cannot be drawn here (figure 9 without its data set) is
    skipped with its reason in the report. A full English build also writes
    the gallery ``README.md``.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; valid: {', '.join(LANGS)}")
    report = progress or (lambda msg: None)
    figures = select_figures(only)
    cache = FigureCache(Path(cache_dir) if cache_dir is not None else default_cache_dir(), refresh, report)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = BuildReport()
    for fig in figures:
        t0 = time.perf_counter()
        extra = {"results": fmnist_results} if fig.number == 9 and fmnist_results is not None else {}
        try:
            paths = fig.build(out, lang=lang, cache=cache, quick=quick, **extra)
        except FigureSkipped as e:
            result.skipped[fig.number] = str(e)
            report(f"figure {fig.number} skipped: {e}")
            continue
        result.seconds[fig.number] = time.perf_counter() - t0
        result.paths.extend(paths)
        report(f"figure {fig.number} ({fig.stem}): {result.seconds[fig.number]:.1f} s")
    if lang == "en" and not quick and only is None:
        (out / "README.md").write_text(gallery_markdown())
    return result


def gallery_markdown() -> str:
    """``figures/README.md``: every figure with what it teaches and the command that makes it."""
    lines = [
        "# Lecture figures",
        "",
        "Made by `approx figures` (English, into `figures/`); `approx figures --lang es --out DIR` draws the",
        "same figures with Spanish titles, labels and legends. Each is saved as PNG (200 dpi) and PDF.",
        "Trained results are cached in `~/.cache/approx/figures` (`$XDG_CACHE_HOME`); `--refresh` recomputes.",
        "",
    ]
    for fig in FIGURES:
        lines += [
            f"## {fig.number}. {fig.title}",
            "",
            f"![{fig.stem}]({fig.stem}.png)",
            "",
            f"{fig.teaches} — `approx figures --only {fig.number}`",
            "",
        ]
    return "\n".join(lines)
