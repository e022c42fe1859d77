"""Error metrics and the paired bootstrap, on small hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from clvlab.evaluate import paired_bootstrap, point_metrics

ACTUAL = [0.0, 1.0, 2.0, 5.0]


def test_point_metrics_by_hand():
    m = point_metrics(ACTUAL, [1.0, 1.0, 0.0, 5.0])  # errors 1, 0, -2, 0
    assert m["mae"] == pytest.approx(3 / 4)
    assert m["rmse"] == pytest.approx(np.sqrt(5 / 4))
    assert m["bias"] == pytest.approx(-1 / 4)
    assert m["predicted_total"] == 7.0 and m["actual_total"] == 8.0
    assert m["total_error"] == pytest.approx(-1 / 8)
    # Pearson r of (1, 1, 0, 5) and (0, 1, 2, 5): means 1.75 and 2
    p, a = np.array([-0.75, -0.75, -1.75, 3.25]), np.array([-2.0, -1.0, 0.0, 3.0])
    assert m["correlation"] == pytest.approx(p @ a / np.sqrt((p @ p) * (a @ a)))


def test_point_metrics_per_draw_and_constant_forecast():
    m = point_metrics(ACTUAL, [[0.0, 1.0, 2.0, 5.0], [2.0, 2.0, 2.0, 2.0]])
    np.testing.assert_allclose(m["mae"], [0.0, 1.5])
    np.testing.assert_allclose(m["bias"], [0.0, 0.0])
    assert m["correlation"][0] == pytest.approx(1.0) and np.isnan(m["correlation"][1])


def test_point_metrics_reject_mismatched_lengths():
    with pytest.raises(ValueError, match="3 forecasts for 4 customers"):
        point_metrics(ACTUAL, [1.0, 2.0, 3.0])


def test_paired_bootstrap_difference_and_interval():
    rng = np.random.default_rng(1)
    actual = rng.poisson(2.0, 500).astype(float)
    good, bad = actual + rng.normal(0, 0.5, 500), actual + rng.normal(0, 2.0, 500)
    result = paired_bootstrap(actual, bad, good, metric="mae", n_resamples=300, seed=3)
    assert result["difference"] == pytest.approx(
        np.abs(bad - actual).mean() - np.abs(good - actual).mean()
    )
    assert 0 < result["low"] < result["difference"] < result["high"]
    assert result["share"] == 1.0
    same = paired_bootstrap(actual, good, good, n_resamples=50)
    assert same["difference"] == same["low"] == same["high"] == 0.0
    with pytest.raises(ValueError, match="metric"):
        paired_bootstrap(actual, good, bad, metric="mape")


def test_a_constant_forecast_has_no_correlation_despite_rounding():
    # 0.1 * 3 summed and averaged is not exactly 0.3 in floating point
    m = point_metrics([0.0, 1.0, 4.0], np.full(3, 0.1) * 3)
    assert np.isnan(m["correlation"])
