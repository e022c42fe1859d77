"""The simple CLV: one definition of order value, frequency and exposure."""

import pandas as pd
import pytest

from clvlab import clv


def _log():
    # customer a: two orders on 2024-01-01 (merged into one) and one on 2024-01-11;
    # customer b: one order on 2024-01-06. Window ends 2024-01-11 (inclusive).
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-11", "2024-01-06"]),
            "amount": [10.0, 20.0, 30.0, 40.0],
        }
    )


def test_factors_follow_one_definition():
    result = clv.simple_clv(_log(), lifespan=2)
    years = (11 + 6) / clv.DAYS_PER_YEAR  # a observed 11 days, b 6 days
    assert result["orders"] == 3  # same-day purchases are one order
    assert result["average_order_value"] == pytest.approx(100 / 3)
    assert result["purchase_frequency"] == pytest.approx(3 / years)
    assert result["revenue_per_customer_year"] == pytest.approx(
        result["average_order_value"] * result["purchase_frequency"]
    )
    assert result["clv"] == pytest.approx(2 * 100 / years)


def test_end_cuts_the_window():
    result = clv.simple_clv(_log(), lifespan=1, end="2024-01-06")
    assert result["orders"] == 2 and result["revenue"] == 70.0
    assert result["customer_years"] == pytest.approx((6 + 1) / clv.DAYS_PER_YEAR)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="lifespan"):
        clv.simple_clv(_log(), lifespan=0)
    with pytest.raises(ValueError, match="no purchases on or before 2023-12-31"):
        clv.simple_clv(_log(), lifespan=1, end="2023-12-31")
