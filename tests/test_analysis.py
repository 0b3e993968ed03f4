import math

import numpy as np
import pytest
from scipy import stats

from approx.analysis import barron_line, fit_slope, summarize, t_quantile_975


def test_exact_power_law():
    x = np.array([1, 2, 4, 8, 16.0])
    fit = fit_slope(x, 3.0 * x**-2)
    assert fit.slope == pytest.approx(-2.0, abs=1e-9)
    assert math.exp(fit.intercept) == pytest.approx(3.0, rel=1e-9)
    assert fit.ci_high - fit.ci_low == pytest.approx(0.0, abs=1e-6)


def test_slope_and_interval_match_scipy():
    rng = np.random.default_rng(0)
    x = 2.0 ** np.arange(1, 10)
    y = 0.5 * x**-1.0 * np.exp(rng.normal(0, 0.3, x.size))
    fit = fit_slope(x, y)
    ref = stats.linregress(np.log(x), np.log(y))
    half = stats.t.ppf(0.975, x.size - 2) * ref.stderr
    assert fit.slope == pytest.approx(ref.slope, rel=1e-10)
    assert fit.ci_low == pytest.approx(ref.slope - half, rel=1e-3)
    assert fit.ci_high == pytest.approx(ref.slope + half, rel=1e-3)


@pytest.mark.parametrize("df", [1, 2, 5, 17, 30, 31, 60, 200])
def test_t_quantiles(df):
    assert t_quantile_975(df) == pytest.approx(stats.t.ppf(0.975, df), rel=2e-3)


def test_non_positive_points_are_left_out_and_too_few_raise():
    fit = fit_slope([1, 2, 4, 8], [1.0, 0.0, 0.25, float("nan")])
    assert fit.n_points == 2 and fit.slope == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        fit_slope([1, 2], [1.0, -1.0])


def test_summarize_medians_and_skips_diverged():
    rows = [
        {"width": "4", "v": "1.0", "diverged": "false"},
        {"width": "4", "v": "3.0", "diverged": "false"},
        {"width": "4", "v": "100.0", "diverged": "true"},
        {"width": "2", "v": "5.0", "diverged": "false"},
    ]
    out = summarize(rows, ("width",), "v")
    assert [s["width"] for s in out] == [2.0, 4.0]
    assert out[1]["median"] == 2.0 and out[1]["count"] == 2 and out[1]["max"] == 3.0


def test_barron_line():
    np.testing.assert_allclose(barron_line([1, 4], 0.5), [1.0, 0.25])
