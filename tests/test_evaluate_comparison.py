"""The tidy comparison tables of clvlab.evaluate.comparison."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

from clvlab import evaluate


def test_compare_models_includes_baselines_and_matches_the_parts(holdout_data, published_models):
    table = evaluate.compare_models(published_models, holdout_data)
    assert table["model"].tolist() == [
        "BG/NBD",
        "MBG/NBD",
        "naive: own rate",
        "naive: average rate",
    ]
    assert table["method"].tolist() == ["fixed", "fixed", "baseline", "baseline"]
    predictions = evaluate.holdout_predictions(published_models, holdout_data)
    errors = evaluate.holdout_errors(predictions)
    row = table.set_index("model").loc["BG/NBD"]
    assert row["mae"] == pytest.approx(errors.loc["BG/NBD", "MAE"])
    assert row["predicted_total"] == pytest.approx(errors.loc["BG/NBD", "predicted_total"])
    assert row["mae_low"] == row["mae"] == row["mae_high"]  # a point fit: no interval
    scores = evaluate.holdout_log_scores(published_models["BG/NBD"], holdout_data)
    assert row["log_score"] == pytest.approx(scores.sum())
    assert row["log_score_se"] == pytest.approx(np.sqrt(5) * scores.std())


def test_average_rate_baseline_log_score_by_hand(holdout_data, published_models):
    table = evaluate.compare_models(published_models, holdout_data).set_index("model")
    rate = holdout_data["frequency"].sum() / holdout_data["T"].sum()
    mean = rate * holdout_data["duration_holdout"]
    expected = st.poisson.logpmf(holdout_data["frequency_holdout"], mean).sum()
    assert table.loc["naive: average rate", "log_score"] == pytest.approx(expected)
    # customers 1 and 2 made no repeat purchase: own rate forecasts 0, customer 2 bought
    assert table.loc["naive: own rate", "log_score"] == -np.inf


def test_intervals_over_posterior_draws(holdout_data, published_models):
    model = published_models["BG/NBD"]
    draws = model.idata["posterior"].to_dataset()
    stretched = draws.isel(draw=[0, 0, 0]).assign_coords(draw=[0, 1, 2])
    stretched["r"] = stretched["r"] * np.array([0.5, 1.0, 2.0])
    model.idata["posterior"] = stretched
    row = evaluate.compare_models({"BG/NBD": model}, holdout_data, baselines=False).iloc[0]
    assert row["predicted_total_low"] < row["predicted_total"] < row["predicted_total_high"]


def test_comparison_table_stacks_data_sets(holdout_data, published_models):
    table = evaluate.comparison_table(
        {"five": (published_models, holdout_data), "three": (published_models, holdout_data[:3])},
        baselines=False,
        log_score=False,
    )
    assert table.columns[0] == "dataset" and "log_score" not in table
    assert table.groupby("dataset")["customers"].first().to_dict() == {"five": 5, "three": 3}


def test_compare_models_needs_models_and_holdout(holdout_data, published_models):
    with pytest.raises(ValueError, match="at least one"):
        evaluate.compare_models({}, holdout_data)
    with pytest.raises(ValueError, match="duration_holdout"):
        evaluate.compare_models(published_models, holdout_data.drop(columns="duration_holdout"))
