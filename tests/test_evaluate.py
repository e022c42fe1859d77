"""Evaluation tables of clvlab.evaluate, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvlab import evaluate


def test_holdout_predictions_use_each_customers_holdout_duration(holdout_data, published_models):
    table = evaluate.holdout_predictions(published_models, holdout_data)
    assert list(table.columns) == ["customer_id", "frequency", "actual", "BG/NBD", "MBG/NBD"]
    assert table["actual"].tolist() == [0, 1, 1, 0, 6]
    for label, model in published_models.items():
        for row, duration in zip(range(5), holdout_data["duration_holdout"], strict=True):
            one = holdout_data.iloc[[row]]
            expected = float(model.expected_purchases(one, t=duration).mean())
            assert table[label].iloc[row] == pytest.approx(expected, rel=1e-12)
    # BTYD vignette spot check: x = 2, t_x = 30.43, T = 38.86 -> 1.226 in 39 weeks.
    assert table["BG/NBD"].iloc[2] == pytest.approx(1.226, abs=1e-3)


def test_holdout_predictions_need_holdout_columns(holdout_data, published_models):
    with pytest.raises(ValueError, match="frequency_holdout"):
        evaluate.holdout_predictions(
            published_models, holdout_data.drop(columns="frequency_holdout")
        )
    with pytest.raises(ValueError, match="at least one"):
        evaluate.holdout_predictions({}, holdout_data)


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


def test_conditional_expectations_pool_the_top_group(holdout_data, published_models):
    predictions = evaluate.holdout_predictions(published_models, holdout_data)
    table = evaluate.conditional_expectations(predictions, max_frequency=7)
    assert table.index.tolist() == [0, 2, 7]
    assert table["customers"].tolist() == [2, 1, 2]
    assert table.loc[7, "actual"] == 3.0
    assert table.loc[0, "BG/NBD"] == pytest.approx(predictions["BG/NBD"].iloc[:2].mean())
