"""The lecture figures: one module per figure, a registry, and :func:`build_figures`.

``approx figures [--out DIR] [--lang en|es] [--refresh]`` regenerates every
figure of the course into ``figures/`` (PNG at 200 dpi and PDF), in the shared
lecture style of :mod:`approx.plots.style` (large type, Okabe-Ito colours, no chart
junk), with English or Spanish titles, labels and legends (their rows in
:mod:`approx.plots.text`).

The figures draw; they never train. Figures that need trained networks ask a
:class:`~approx.plots.lecture.cache.FigureCache` for them: it runs the width
sweeps of :mod:`approx.experiments.sweep` (whose records and saved networks
the figures read), the comparisons of :mod:`approx.experiments.comparisons`
and the Fashion-MNIST sweep once, and keeps them outside the repository so
that any ``--out`` reuses them and the Spanish build costs only the drawing;
``--refresh`` recomputes. Seeds are fixed and the programs deterministic on
CPU: a cold build and a cached one write the same bytes.

Modules: :mod:`.registry` (the figures, :func:`build_figures`, the gallery),
:mod:`.cache`, :mod:`.drawing` (what figures draw alike),
:mod:`.sweeps` (the 1-D sweep figures 4, 5 and 10 share), and one module per
figure: :mod:`.sigmoid_step` (1), :mod:`.construction` (2),
:mod:`.hidden_units` (3), :mod:`.continuity` (4), :mod:`.activation_choice` (5),
:mod:`.two_dimensions` (6), :mod:`.depth_width` (7), :mod:`.dimension` (8),
:mod:`.fmnist_accuracy` (9), :mod:`.optimisation` (10).
"""

from approx.plots.lecture.cache import FigureCache, FigureSkipped, default_cache_dir
from approx.plots.lecture.registry import FIGURES, BuildReport, Figure, build_figures, gallery_markdown, select_figures

__all__ = [
    "FIGURES",
    "BuildReport",
    "Figure",
    "FigureCache",
    "FigureSkipped",
    "build_figures",
    "default_cache_dir",
    "gallery_markdown",
    "select_figures",
]
