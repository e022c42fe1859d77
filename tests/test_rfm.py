import warnings

import numpy as np
import pandas as pd
import pytest

from clvlab import datasets, rfm
from clvlab.errors import DataValidationError


def test_cdnow_matches_published_summary_for_every_customer(cdnow_rfm):
    reference = datasets.load_cdnow_summary().astype({"customer_id": str})  # ids are text
    assert len(cdnow_rfm) == len(reference) == 2357
    merged = cdnow_rfm.merge(reference, on="customer_id", suffixes=("", "_ref"), validate="1:1")
    assert len(merged) == 2357
    np.testing.assert_array_equal(merged["frequency"], merged["frequency_ref"])
    # t_x and T are rounded to 2 decimals in the reference file, zbar to the cent.
    for column in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_ref"], atol=0.005 + 1e-9)


def test_cdnow_totals(cdnow_rfm):
    assert cdnow_rfm["frequency"].sum() == 2457
    assert cdnow_rfm["frequency_holdout"].sum() == 1882
    assert cdnow_rfm["T"].min() == pytest.approx(27.0)
    assert cdnow_rfm["T"].max() == pytest.approx(272 / 7)
    assert (cdnow_rfm["duration_holdout"] == 39).all()
    # 6,919 rows become 6,696 purchase days (FHL 2005).
    assert cdnow_rfm.attrs["merged_same_day"] == 6919 - 6696
    assert cdnow_rfm.attrs["customers_after_calibration"] == 0


def _log(rows):
    log = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    log["date"] = pd.to_datetime(log["date"])
    return log


def test_conventions_on_a_hand_made_log():
    log = _log(
        [
            ("a", "2024-01-01", 10.0),  # first purchase: not a repeat, value left out
            ("a", "2024-01-08", 5.0),
            ("a", "2024-01-08", 7.0),  # same day: merged into one purchase of 12
            ("a", "2024-01-15", 30.0),
            ("a", "2024-02-05", 99.0),  # after the calibration end: holdout
            ("b", "2024-01-29", 20.0),  # single purchase
            ("c", "2024-02-10", 1.0),  # first purchase after the calibration end
        ]
    )
    summary = rfm.summarize(log, "2024-01-29", "2024-02-26", time_unit="D")
    a, b = summary.set_index("customer_id").loc[["a", "b"]].to_dict("records")
    assert a == {
        "frequency": 2,
        "recency": 14.0,
        "T": 28.0,
        "monetary_value": 21.0,
        "first_purchase": pd.Timestamp("2024-01-01"),
        "frequency_holdout": 1,
        "monetary_value_holdout": 99.0,
        "duration_holdout": 28.0,
    }
    assert b["frequency"] == 0 and b["recency"] == 0 and b["T"] == 0
    assert b["monetary_value"] == 0
    assert summary.attrs["merged_same_day"] == 1
    assert summary.attrs["customers_after_calibration"] == 1
    weeks = rfm.summarize(log, "2024-01-29", time_unit="W").set_index("customer_id")
    assert weeks.loc["a", "T"] == 4.0 and weeks.loc["a", "recency"] == 2.0
    assert "frequency_holdout" not in weeks


def test_without_amounts_and_default_calibration_end():
    log = _log([(1, "2024-01-01", 1.0), (1, "2024-01-03", 1.0)]).drop(columns="amount")
    summary = rfm.summarize(log, time_unit="D")
    assert list(summary.columns) == ["customer_id", "frequency", "recency", "T", "first_purchase"]
    assert summary.loc[0, "T"] == 2 and summary.loc[0, "frequency"] == 1


def test_time_of_day_does_not_split_a_day():
    log = _log(
        [(1, "2024-01-01 09:00", 1.0), (1, "2024-01-01 18:30", 2.0), (1, "2024-01-02 00:01", 4.0)]
    )
    summary = rfm.summarize(log, "2024-01-10", time_unit="D")
    assert summary.loc[0, "frequency"] == 1
    assert summary.loc[0, "monetary_value"] == 4.0


def test_purchase_periods_merges_same_day(cdnow_log):
    periods = rfm.purchase_periods(cdnow_log)
    assert len(periods) == 6696
    assert periods.attrs["merged_same_day"] == 223
    assert periods["amount"].sum() == pytest.approx(cdnow_log["amount"].sum())
    assert not periods.duplicated(["customer_id", "date"]).any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_unit": "M"}, "time_unit 'M' is not supported"),
        (
            {"calibration_end": "2024-02-01", "observation_end": "2024-01-01"},
            "observation_end 2024-01-01 is before calibration_end 2024-02-01",
        ),
        ({"calibration_end": "2023-01-01"}, "no customer bought on or before calibration_end"),
        ({"calibration_end": "not a date"}, "cannot read 'not a date' as a date"),
        ({"calibration_end": ""}, "cannot read '' as a date: it is empty"),  # was a TypeError
    ],
)
def test_bad_arguments(kwargs, message):
    log = _log([(1, "2024-01-01", 1.0)])
    with pytest.raises(DataValidationError, match=message):
        rfm.summarize(log, **kwargs)


def test_unvalidated_log_is_refused():
    log = pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"]})
    with pytest.raises(DataValidationError, match=r"column 'date' holds .* not dates"):
        rfm.summarize(log)
    with pytest.raises(DataValidationError, match="column 'customer' not found"):
        rfm.summarize(log, customer="customer")


def test_simulated_log_totals_reconcile():
    log = datasets.simulate_transactions(500, seed=3)
    summary = rfm.summarize(log, calibration_end=log["date"].max())
    periods = rfm.purchase_periods(log)
    assert summary["frequency"].sum() + len(summary) == len(periods)


def test_dates_after_the_last_purchase_are_warned_about():
    log = _log([(1, "2024-01-01", 1.0), (1, "2024-01-03", 1.0)])
    with pytest.warns(UserWarning) as caught:
        rfm.summarize(log, "2024-01-10", "2024-02-02")
    assert [str(w.message).split(":")[0] for w in caught] == [
        "calibration_end 2024-01-10 is 7 days after the last purchase in the log (2024-01-03)",
        "observation_end 2024-02-02 is 30 days after the last purchase in the log (2024-01-03)",
    ]
    assert caught[0].filename == __file__  # points at the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rfm.summarize(log, "2024-01-02", "2024-01-03")  # inside the log: silent


def test_discrete_summary_counts_one_transaction_per_opportunity(cdnow_log):
    # Customer a: first purchase 2024-01-01 (week 0); purchases in weeks 1 (twice: merged),
    # 3, and one after the calibration end. Customer b: one purchase only. Customer c:
    # first purchase after the calibration end (left out, counted).
    log = pd.DataFrame(
        {
            "customer_id": ["a"] * 6 + ["b", "c"],
            "date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-03",  # still week 0: not a repeat opportunity
                    "2024-01-08",
                    "2024-01-12",  # week 1 again: merged
                    "2024-01-22",
                    "2024-03-01",  # after the calibration end
                    "2024-01-10",
                    "2024-03-01",
                ]
            ),
        }
    )
    summary = rfm.summarize_discrete(log, "2024-02-04", time_unit="W")
    assert summary.to_dict("list") | {"first_purchase": None} == {
        "customer_id": ["a", "b"],
        "frequency": [2, 0],
        "recency": [3, 0],
        "periods": [4, 3],  # 34 and 25 days: the opportunity holding the calibration end
        "first_purchase": None,
    }
    assert summary.attrs["merged_same_opportunity"] == 1
    assert summary.attrs["customers_after_calibration"] == 1
    # in days, the discrete summary is the daily RFM summary
    daily = rfm.summarize_discrete(cdnow_log, "1997-09-30", time_unit="D")
    rfm_daily = rfm.summarize(cdnow_log, "1997-09-30", time_unit="D")
    for discrete, continuous in (
        ("frequency", "frequency"),
        ("recency", "recency"),
        ("periods", "T"),
    ):
        np.testing.assert_array_equal(daily[discrete], rfm_daily[continuous])
