"""Tracking tables: cohort repeat purchases per period, actual and expected, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvlab import evaluate
from clvlab.models import BetaGeo


@pytest.fixture
def small_log():
    # a: first 2020-01-01, repeats on day 3 (twice: one purchase day), 10 and 20;
    # b: first 2020-01-08, repeat on day 16; c: first after the calibration end (ignored)
    rows = [
        ("a", "2020-01-01"), ("a", "2020-01-04"), ("a", "2020-01-04"), ("a", "2020-01-11"),
        ("a", "2020-01-21"), ("b", "2020-01-08"), ("b", "2020-01-24"), ("c", "2020-01-16"),
        ("c", "2020-01-20"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["customer_id", "date"]).assign(
        date=lambda d: pd.to_datetime(d["date"])
    )


def test_tracking_by_hand(small_log):
    model = BetaGeo.from_params({"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5})
    table = evaluate.tracking(
        small_log, {"BG/NBD": model}, calibration_end="2020-01-14", observation_end="2020-01-24"
    )
    actual = table[table["series"] == "actual"]
    # weeks end on days 6, 13, 20 and the observation end (day 23)
    ends = actual["period_end"].dt.strftime("%m-%d").tolist()
    assert ends == ["01-07", "01-14", "01-21", "01-24"]
    assert actual["purchases"].tolist() == [1, 1, 1, 1]
    assert actual["phase"].tolist() == ["calibration", "calibration", "holdout", "holdout"]
    predicted = table[table["series"] == "BG/NBD"]
    ages_a = np.array([6, 13, 20, 23]) / 7
    ages_b = np.array([0, 6, 13, 16]) / 7
    by_hand = sum(
        model.expected_purchases_new_customer(t=ages).to_numpy().ravel()
        for ages in (ages_a, ages_b)
    )
    np.testing.assert_allclose(predicted["cumulative"], by_hand, rtol=1e-12)
    np.testing.assert_allclose(predicted["purchases"], np.diff(by_hand, prepend=0.0))
    assert table.attrs["calibration_end"] == 2.0


def test_tracking_rejects_reversed_periods(small_log):
    model = BetaGeo.from_params({"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5})
    with pytest.raises(ValueError, match="before calibration_end"):
        evaluate.tracking(
            small_log, {"m": model}, calibration_end="2020-01-14", observation_end="2020-01-01"
        )
    with pytest.raises(ValueError, match="no customer"):
        evaluate.tracking(
            small_log, {"m": model}, calibration_end="2019-01-14", observation_end="2020-01-01"
        )
