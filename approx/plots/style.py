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

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker

from approx.config import LANGS
from approx.plots.text import display_name, register_text, text

# No backend is forced here: matplotlib falls back to Agg without a display,
# and forcing it would switch off the figures of a notebook that imports approx.

# text, display_name, register_text and LANGS live in approx.plots.text (every
# label in one table); they are named here too for the lecture and scenario
# figures, which take their style and their labels from this module.
__all__ = [
    "PALETTE", "LANGS", "decimal_ticks", "number", "display_name", "lecture_style", "log_scale", "register_text",
    "save_figure", "text",
]  # fmt: skip

# Okabe-Ito palette: distinguishable under the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

NBSP = "\u00a0"  # between a Spanish percentage and its sign: 90,3 %, never broken apart
THIN = "\u2009"  # between a Spanish number's groups of three digits: 12 345
MINUS = "\u2212"


def number(value: float, lang: str = "en", spec: str = "g") -> str:
    """``value`` written for a figure in ``lang``: ``format(value, spec)`` with
    a true minus sign (−), and in Spanish a decimal comma, a thin space between
    thousands from five digits on (``1234``, ``12\u2009345,5``; RAE, SI) and a
    space before the percent sign (``number(0.903, "es", ".1%")`` is
    ``90,3\u00a0%``; English ``90.3%``), so that ``1,000`` never reads as one
    thousand. The one number formatter of every figure, tick and label."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; valid: {', '.join(LANGS)}")
    s = format(value, spec.replace(",", "") if lang == "es" else spec)
    percent = s.endswith("%")
    s = s.removesuffix("%")
    if lang == "es":
        whole, dot, frac = s.partition(".")
        sign = whole[:1] if whole[:1] in "+-" else ""
        digits = whole[len(sign) :]
        if digits.isdigit() and len(digits) > 4:  # 1234 stays whole, 12 345 takes a thin space
            digits = f"{int(digits):,}".replace(",", THIN)
        s = sign + digits + ("," + frac if dot else "")
    if percent:
        s += NBSP + "%" if lang == "es" else "%"
    return s.replace("-", MINUS)


def decimal_ticks(ax, lang: str) -> None:
    """Tick labels of ``ax``'s linear axes through :func:`number` (Spanish:
    ``0,5``, and the minus sign), as the rest of a Spanish figure."""
    if lang != "es":
        return
    spanish = matplotlib.ticker.FuncFormatter(lambda v, _: number(v, lang))
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "linear":
            axis.set_major_formatter(spanish)


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
    without starting matplotlib's TeX-like parser for them, which was a large
    share of a sweep figure's drawing time.
    """

    def __call__(self, x, pos=None):
        label = super().__call__(x, pos)
        match = _MATHDEFAULT.fullmatch(label)
        if match is None:
            return label
        body = _POWER.sub(lambda m: m.group(1).translate(_SUPERSCRIPTS), match.group(1)).replace("\\times", "×")
        return label if ("\\" in body or "{" in body or "^" in body) else body


def log_scale(ax, axis: str = "y", base: float = 10, plain: bool = False, lang: str = "en") -> None:
    """A logarithmic ``axis`` (``"x"`` or ``"y"``) labelled by :class:`PowerFormatter`,
    or with ``plain`` by the numbers themselves, written by :func:`number` in
    ``lang`` (1, 2, 4, ..., 256 for widths; 0,5 in Spanish)."""
    getattr(ax, f"set_{axis}scale")("log", base=base)
    target = ax.xaxis if axis == "x" else ax.yaxis
    if plain:
        target.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: number(v, lang)))
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
