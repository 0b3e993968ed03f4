"""Rates from records: log-log slopes with confidence intervals, summaries over
seeds, and the theory's reference lines.

Works on plain rows (dicts of strings, as :mod:`approx.results` reads them)
and NumPy arrays; never trains and never imports JAX.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

__all__ = ["SlopeFit", "fit_slope", "summarize", "barron_line", "t_quantile_975"]

# Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile_975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        return math.inf
    if df <= 30:
        return _T975[df - 1]
    # Cornish-Fisher expansion around the normal quantile; error < 1e-3 for df > 30.
    z = 1.959963984540054
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True)
class SlopeFit:
    """``log y = intercept + slope * log x`` by least squares, with a 95 % CI."""

    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    n_points: int

    def predict(self, x):
        return np.exp(self.intercept) * np.asarray(x, float) ** self.slope

    def __str__(self) -> str:
        half = (self.ci_high - self.ci_low) / 2
        return f"{self.slope:.2f} ± {half:.2f}" if math.isfinite(half) else f"{self.slope:.2f}"


def fit_slope(x: Sequence[float], y: Sequence[float]) -> SlopeFit:
    """Fits a power law ``y ~ C x^slope`` on log-log axes.

    Points with non-positive or non-finite values are left out. The
    interval is ``slope ± t_{0.975, n-2} * se(slope)`` (ordinary least
    squares); with two points it is infinite, with fewer a ValueError.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log(x[ok]), np.log(y[ok])
    n = lx.size
    if n < 2 or np.ptp(lx) == 0:
        raise ValueError(f"a slope needs at least two distinct positive points, got {n}")
    A = np.stack([np.ones(n), lx], axis=1)
    coef, *_ = np.linalg.lstsq(A, ly, rcond=None)
    intercept, slope = float(coef[0]), float(coef[1])
    if n > 2:
        resid = ly - A @ coef
        s2 = float(resid @ resid) / (n - 2)
        se = math.sqrt(s2 / float(np.sum((lx - lx.mean()) ** 2)))
        half = t_quantile_975(n - 2) * se
    else:
        half = math.inf
    return SlopeFit(slope, intercept, slope - half, slope + half, n)


def summarize(
    rows: Iterable[Mapping[str, str]],
    by: Sequence[str],
    value: str,
    *,
    skip_diverged: bool = True,
) -> list[dict[str, float]]:
    """Median, quartiles, min and max of ``value`` over seeds, per ``by`` group.

    Returns a list of dicts sorted by the group keys (numbers where they parse).
    """
    groups: dict[tuple, list[float]] = {}
    for row in rows:
        if skip_diverged and str(row.get("diverged", "false")).lower() == "true":
            continue
        key = tuple(_num(row[k]) for k in by)
        v = _num(row[value])
        if isinstance(v, float) and math.isfinite(v):
            groups.setdefault(key, []).append(v)
    out = []
    for key in sorted(groups, key=lambda k: tuple((0, x) if isinstance(x, (int, float)) else (1, str(x)) for x in k)):
        vals = np.asarray(groups[key])
        out.append(
            dict(zip(by, key))
            | {
                "median": float(np.median(vals)),
                "q25": float(np.quantile(vals, 0.25)),
                "q75": float(np.quantile(vals, 0.75)),
                "min": float(vals.min()),
                "max": float(vals.max()),
                "count": int(vals.size),
            }
        )
    return out


def barron_line(widths: Sequence[float], constant: float) -> np.ndarray:
    """Barron's (1993) bound on the mean squared error of ``n`` sigmoid units,
    ``(2 C)^2 / n``, for a target with Barron constant ``C``."""
    return (2 * constant) ** 2 / np.asarray(widths, float)


def _num(text):
    if isinstance(text, (int, float)):
        return float(text)
    try:
        f = float(text)
    except (TypeError, ValueError):
        return text
    return f
