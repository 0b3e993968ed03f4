"""Lecture figures: one function per figure, one shared style, English and Spanish.

Figures read records (rows as :mod:`approx.results` writes them) and fitted
models; they never train. Every figure is saved as PNG (200 dpi) and PDF and
the functions return the paths written. The style is meant to be read from
the back of a lecture hall: large type, thick lines, a colour-blind-safe
palette (Okabe and Ito, 2008), no top or right spines.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Mapping

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker

from approx.config import LANGS

# No backend is forced here: matplotlib falls back to Agg without a display,
# and forcing it would switch off the figures of a notebook that imports approx.

__all__ = [
    "PALETTE", "LANGS", "decimal_ticks", "number", "display_name", "lecture_style", "log_scale", "save_figure", "text",
]  # fmt: skip

# Okabe-Ito palette: distinguishable under the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

_TEXT = {
    "en": {
        "width": "hidden width n",
        "test_mse": "test MSE (squared L2 error)",
        "test_sup": "sup error  max |f - g|",
        "median_seeds": "median over {k} seeds",
        "spread": "min-max over seeds",
        "fit": "fit: slope {slope}",
        "barron": "Barron: (2C)²/n",
        "one_over_n": "reference 1/n",
        "error_vs_width": "Error against width: {target}",
        "diverged": "{k} diverged runs left out",
        "depth": "depth {d}",
        "l2_panel": "L2 (mean squared) error",
        "sup_panel": "uniform (sup) error",
    },
    "es": {
        "width": "anchura de la capa oculta n",
        "test_mse": "ECM de prueba (error L2 al cuadrado)",
        "test_sup": "error uniforme  máx |f - g|",
        "median_seeds": "mediana de {k} semillas",
        "spread": "mín-máx entre semillas",
        "fit": "ajuste: pendiente {slope}",
        "barron": "Barron: (2C)²/n",
        "one_over_n": "referencia 1/n",
        "error_vs_width": "Error según la anchura: {target}",
        "diverged": "{k} ejecuciones divergentes omitidas",
        "depth": "profundidad {d}",
        "l2_panel": "error L2 (cuadrático medio)",
        "sup_panel": "error uniforme (sup)",
    },
}


# Names of targets and activations as a class reads them (the code's names
# are English identifiers; unknown names, e.g. a user's module:function, are
# shown as given).
_NAMES = {
    "en": {"relu": "ReLU", "gelu": "GELU", "elu": "ELU", "cos_squasher": "cosine squasher", "teacher": "teacher network"},
    "es": {
        "sine": "seno", "nielsen": "función de Nielsen", "kink": "función con quiebro", "step": "escalón",
        "bump": "pulso", "sawtooth": "diente de sierra", "ridge": "cresta", "teacher": "red maestra",
        "sigmoid": "sigmoide", "tanh": "tangente hiperbólica", "relu": "ReLU", "gelu": "GELU", "sin": "seno",
        "cos_squasher": "compresora coseno", "softplus": "softplus", "elu": "ELU", "linear": "lineal",
    },
}  # fmt: skip


def display_name(name: str, lang: str = "en") -> str:
    """A target's or an activation's name in the figure language: ``sine``
    is *seno* in Spanish, ``relu`` is *ReLU* in both."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; valid: {', '.join(LANGS)}")
    return _NAMES[lang].get(name, name)


def number(value: float, lang: str = "en", spec: str = "g") -> str:
    """``value`` written for a figure in ``lang``: ``format(value, spec)`` with
    a true minus sign, and in Spanish a decimal comma and a thin space between
    thousands (``1\u2009234,5``; RAE/SI), so that ``1,000`` never reads as one thousand.
    The one number formatter of every figure, tick and label."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; valid: {', '.join(LANGS)}")
    s = format(value, spec)
    if lang == "es":
        s = format(value, spec.replace(",", "")) if "," in spec else s
        whole, dot, frac = s.partition(".")
        sign = whole[:1] if whole[:1] in "+-" else ""
        digits = whole[len(sign):]
        if digits.isdigit() and len(digits) > 4:  # 1234 stays whole, 12 345 takes a thin space
            digits = f"{int(digits):,}".replace(",", "\u2009")
        s = sign + digits + ("," + frac if dot else "")
    return s.replace("-", "\u2212")


def decimal_ticks(ax, lang: str) -> None:
    """Tick labels of ``ax``'s linear axes through :func:`number` (Spanish:
    ``0,5``, and the minus sign), as the rest of a Spanish figure."""
    if lang != "es":
        return
    spanish = matplotlib.ticker.FuncFormatter(lambda v, _: number(v, lang))
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "linear":
            axis.set_major_formatter(spanish)


def text(key: str, lang: str = "en", **fmt) -> str:
    """A label in the figure language (``en`` or ``es``)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; valid: {', '.join(LANGS)}")
    return _TEXT[lang][key].format(**fmt)


def register_text(entries: Mapping[str, Mapping[str, str]]) -> None:
    """Adds labels: ``{"en": {key: ...}, "es": {key: ...}}``."""
    for lang, table in entries.items():
        _TEXT[lang].update(table)


_STYLE = {
    "font.size": 15,
    "axes.titlesize": 17,
    "axes.labelsize": 15,
    "legend.fontsize": 12,
    "xtick.labelsize": 13,
    "ytick.labelsize": 13,
    "lines.linewidth": 2.5,
    "lines.markersize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,
    "svg.hashsalt": "approx",
}


@contextmanager
def lecture_style():
    with plt.rc_context(_STYLE):
        yield


_SUPERSCRIPTS = str.maketrans("0123456789-\u2212", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁻")
_MATHDEFAULT = re.compile(r"\$\\mathdefault\{(.*)\}\$")
_POWER = re.compile(r"\^\{([-\u22120-9]+)\}")


class PowerFormatter(matplotlib.ticker.LogFormatterSciNotation):
    """matplotlib's log-axis labels (10⁻³, 2⁴, 5×10⁻²) in plain Unicode.

    The same labels as :class:`~matplotlib.ticker.LogFormatterSciNotation`,
    without starting matplotlib's TeX-like parser for them: that took about
    0.5 s of the 1.8 s a sweep's figure cost.
    """

    def __call__(self, x, pos=None):
        label = super().__call__(x, pos)
        match = _MATHDEFAULT.fullmatch(label)
        if match is None:
            return label
        body = _POWER.sub(lambda m: m.group(1).translate(_SUPERSCRIPTS), match.group(1)).replace("\\times", "×")
        return label if ("\\" in body or "{" in body or "^" in body) else body


def log_scale(ax, axis: str = "y", base: float = 10, plain: bool = False) -> None:
    """A logarithmic ``axis`` (``"x"`` or ``"y"``) labelled by :class:`PowerFormatter`,
    or with ``plain`` by the numbers themselves (1, 2, 4, ..., 256 for widths)."""
    getattr(ax, f"set_{axis}scale")("log", base=base)
    target = ax.xaxis if axis == "x" else ax.yaxis
    if plain:
        target.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        target.set_minor_formatter(matplotlib.ticker.NullFormatter())
        return
    major = target.get_major_formatter()
    minor = target.get_minor_formatter()
    target.set_major_formatter(PowerFormatter(base=base, labelOnlyBase=major.labelOnlyBase))
    target.set_minor_formatter(
        PowerFormatter(base=base, labelOnlyBase=minor.labelOnlyBase, minor_thresholds=minor.minor_thresholds)
    )


def save_figure(fig, stem: str | Path) -> list[Path]:
    """Saves ``stem.png`` (200 dpi) and ``stem.pdf``; closes the figure."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=200, metadata={"Software": None})
    fig.savefig(paths[1], metadata={"CreationDate": None, "Producer": None, "Creator": None})
    plt.close(fig)
    return paths
