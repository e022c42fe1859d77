import os

import numpy as np
import pytest

from clvlab import datasets, rfm


def test_loaders_work_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cdnow = datasets.load_cdnow()
    assert len(cdnow) == 6919 and cdnow["customer_id"].nunique() == 2357
    assert cdnow["date"].min().isoformat()[:10] == "1997-01-01"
    assert cdnow["date"].max().isoformat()[:10] == "1998-06-30"
    assert cdnow["amount"].sum() == pytest.approx(244_091.94, abs=0.01)
    assert len(datasets.load_cdnow_summary()) == 2357
    donations = datasets.load_donations()
    assert donations["weights"].sum() == 11104
    assert list(datasets.load_sbg_retention().columns) == ["year", "regular", "high_end"]
    grocery = datasets.load_grocery()
    assert grocery["customer_id"].nunique() == 1525 and len(grocery) == 10483
    apparel = datasets.load_apparel()
    assert list(apparel.columns) == ["customer_id", "date", "amount"]
    assert apparel["customer_id"].nunique() == 600
    assert len(datasets.load_apparel(covariates=True)) == 600
    assert os.getcwd() == str(tmp_path)


def test_missing_data_file():
    with pytest.raises(FileNotFoundError, match=r"no_such.csv"):
        datasets.data_path("no_such.csv")


def test_simulation_is_seeded_and_follows_its_parameters():
    first = datasets.simulate_transactions(2000, seed=7)
    second = datasets.simulate_transactions(2000, seed=7)
    assert first.equals(second)
    assert first["customer_id"].nunique() == 2000
    truth = first.attrs["truth"]
    assert len(truth) == 2000
    # Mean spend of a Gamma-Gamma customer is p * gamma / (q - 1) = 6 * 15 / 3 = 30.
    assert first["amount"].mean() == pytest.approx(30, rel=0.1)
    # More purchases for customers with a higher purchase rate.
    counts = first.groupby("customer_id").size().to_numpy()
    high = truth["lambda"].to_numpy() > np.median(truth["lambda"])
    assert counts[high].mean() > 2 * counts[~high].mean()
    summary = rfm.summarize(first, "2024-04-30", time_unit="W")
    assert (summary["T"] > 0).all() and (summary["recency"] <= summary["T"]).all()


def test_simulation_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n_customers must be at least 1"):
        datasets.simulate_transactions(0)
