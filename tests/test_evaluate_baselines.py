"""Naive baselines, checked on hand-computed rates and Poisson probabilities."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from clvlab.evaluate import AverageRate, OwnRate, naive_baselines


@pytest.fixture
def calibration():
    return pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "frequency": [0, 4, 2], "T": [10.0, 20.0, 0.0]}
    )


def test_own_rate_repeats_each_customers_calibration_rate(calibration):
    expected = OwnRate().fit(calibration).expected_purchases(calibration, t=5.0)
    assert expected.dims == ("chain", "draw", "customer_id")
    # 0 / 10, 4 / 20, and 0 for T = 0 (no time observed: no rate)
    np.testing.assert_allclose(expected.to_numpy().ravel(), [0.0, 1.0, 0.0])


def test_average_rate_pools_the_calibration_period(calibration):
    baseline = AverageRate().fit(calibration)
    assert baseline.rate_ == pytest.approx(6 / 30)
    other = pd.DataFrame({"customer_id": ["z"], "frequency": [9], "T": [1.0]})
    assert baseline.expected_purchases(other, t=10.0).item() == pytest.approx(2.0)


def test_probabilities_are_poisson_with_the_forecast_as_mean(calibration):
    baseline = OwnRate()
    p = baseline.probability_of_purchases(calibration, n=2, t=5.0).to_numpy().ravel()
    assert p[1] == pytest.approx(math.exp(-1.0) / 2)
    assert p[0] == 0.0  # a zero forecast rules out purchases


def test_unfitted_average_and_missing_columns(calibration):
    with pytest.raises(ValueError, match="not fitted"):
        AverageRate().expected_purchases(calibration, t=1.0)
    with pytest.raises(ValueError, match="'T'"):
        OwnRate().fit(calibration.drop(columns="T"))


def test_naive_baselines_are_labelled_and_fitted(calibration):
    baselines = naive_baselines(calibration)
    assert list(baselines) == ["naive: own rate", "naive: average rate"]
    assert all(b.method == "baseline" for b in baselines.values())
