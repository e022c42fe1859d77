"""Frequency histogram and activity reliability, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvlab import evaluate


def test_frequency_histogram_counts_and_matches_the_count_distribution(
    holdout_data, published_models
):
    model = {"BG/NBD": published_models["BG/NBD"]}
    table = evaluate.frequency_histogram(model, holdout_data, max_frequency=3, replicates=4000)
    actual = table[table["series"] == "actual"]
    assert actual["customers"].tolist() == [2, 0, 1, 2]  # frequencies 0, 0, 2, 9, 12
    simulated = table[table["series"] == "BG/NBD"].set_index("frequency")
    assert simulated["customers"].sum() == pytest.approx(5)
    # the mean simulated count is sum_i P(X(T_i) = k) of a new customer observed T_i
    new = pd.DataFrame({"customer_id": [0], "frequency": [0], "recency": [0.0], "T": [0.0]})
    bg = published_models["BG/NBD"]
    expected = [
        sum(bg.probability_of_purchases(new, n=k, t=T).item() for T in holdout_data["T"])
        for k in range(3)
    ]
    np.testing.assert_allclose(simulated["customers"].iloc[:3], expected, atol=0.05)
    assert (simulated["customers_low"] <= simulated["customers"]).all()


def test_activity_reliability_by_hand(holdout_data, published_models):
    table = evaluate.activity_reliability(published_models, holdout_data, bins=2)
    bg = published_models["BG/NBD"]
    predicted = np.array(
        [
            1 - bg.probability_of_purchases(holdout_data.iloc[[i]], n=0, t=t).item()
            for i, t in enumerate(holdout_data["duration_holdout"])
        ]
    )
    bought = (holdout_data["frequency_holdout"] > 0).to_numpy()
    rows = table[table["model"] == "BG/NBD"].set_index("bin")
    for edge, members in ((0.5, predicted < 0.5), (1.0, predicted >= 0.5)):
        if members.any():
            assert rows.loc[edge, "customers"] == members.sum()
            assert rows.loc[edge, "predicted"] == pytest.approx(predicted[members].mean())
            assert rows.loc[edge, "observed"] == pytest.approx(bought[members].mean())
    assert rows["customers"].sum() == 5
