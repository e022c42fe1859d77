import pandas as pd

from clvlab import explore


def test_purchases_per_customer(cdnow_log):
    table = explore.purchases_per_customer(cdnow_log)
    assert table["customers"].sum() == 2357
    assert (table["purchases"] * table["customers"]).sum() == 6696
    assert table.iloc[0].to_dict() == {"purchases": 1, "customers": 1218}


def test_interpurchase_times(cdnow_log):
    gaps = explore.interpurchase_times(cdnow_log, time_unit="W")
    assert len(gaps) == 6696 - 2357
    assert (gaps["gap"] > 0).all()
    assert gaps["purchase"].min() == 2


def test_cohort_sizes(cdnow_log):
    weeks = explore.cohort_sizes(cdnow_log, freq="W")
    assert weeks["customers"].sum() == 2357
    months = explore.cohort_sizes(cdnow_log, freq="M")
    assert months["cohort"].tolist() == list(
        pd.to_datetime(["1997-01-01", "1997-02-01", "1997-03-01"])
    )
