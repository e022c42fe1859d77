"""Evaluation tables of clvlab.evaluate, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvlab import evaluate
from clvlab.models import BetaGeo, ModifiedBetaGeo

# Published BG/NBD and MBG/NBD estimates on CDNOW (weeks), see shared REFERENCE.md.
BG = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
MBG = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}


@pytest.fixture
def data():
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5],
            "frequency": [0, 0, 2, 9, 12],
            "recency": [0.0, 0.0, 30.43, 20.0, 38.0],
            "T": [38.86, 30.0, 38.86, 35.0, 38.5],
            "frequency_holdout": [0, 1, 1, 0, 6],
            "duration_holdout": [39.0, 39.0, 39.0, 39.0, 20.0],
        }
    )


@pytest.fixture
def models():
    return {"BG/NBD": BetaGeo.from_params(BG), "MBG/NBD": ModifiedBetaGeo.from_params(MBG)}


def test_holdout_predictions_use_each_customers_holdout_duration(data, models):
    table = evaluate.holdout_predictions(models, data)
    assert list(table.columns) == ["customer_id", "frequency", "actual", "BG/NBD", "MBG/NBD"]
    assert table["actual"].tolist() == [0, 1, 1, 0, 6]
    for label, model in models.items():
        for row, duration in zip(range(5), data["duration_holdout"], strict=True):
            one = data.iloc[[row]]
            expected = float(model.expected_purchases(one, t=duration).mean())
            assert table[label].iloc[row] == pytest.approx(expected, rel=1e-12)
    # BTYD vignette spot check: x = 2, t_x = 30.43, T = 38.86 -> 1.226 in 39 weeks.
    assert table["BG/NBD"].iloc[2] == pytest.approx(1.226, abs=1e-3)


def test_holdout_predictions_need_holdout_columns(data, models):
    with pytest.raises(ValueError, match="frequency_holdout"):
        evaluate.holdout_predictions(models, data.drop(columns="frequency_holdout"))
    with pytest.raises(ValueError, match="at least one"):
        evaluate.holdout_predictions({}, data)


def test_holdout_errors_by_hand():
    predictions = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "frequency": [0, 1, 2, 3],
            "actual": [0.0, 1.0, 2.0, 5.0],
            "good": [0.0, 1.0, 2.0, 5.0],
            "off": [1.0, 1.0, 0.0, 5.0],
        }
    )
    table = evaluate.holdout_errors(predictions)
    assert table.loc["good", ["MAE", "RMSE", "total_error"]].tolist() == [0.0, 0.0, 0.0]
    assert table.loc["off", "MAE"] == pytest.approx(3 / 4)
    assert table.loc["off", "RMSE"] == pytest.approx(np.sqrt(5 / 4))
    assert table.loc["off", "predicted_total"] == 7.0
    assert table.loc["off", "actual_total"] == 8.0
    assert table.loc["off", "total_error"] == pytest.approx(7 / 8 - 1)


def test_conditional_expectations_pool_the_top_group(data, models):
    predictions = evaluate.holdout_predictions(models, data)
    table = evaluate.conditional_expectations(predictions, max_frequency=7)
    assert table.index.tolist() == [0, 2, 7]
    assert table["customers"].tolist() == [2, 1, 2]
    assert table.loc[7, "actual"] == 3.0
    assert table.loc[0, "BG/NBD"] == pytest.approx(predictions["BG/NBD"].iloc[:2].mean())
