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


def _fhl_eq8(n, t, r, alpha, a, b):
    """P(X(t) = n) of a BG/NBD customer alive at 0 (FHL 2005, eq. 8), written out."""
    from scipy.special import betaln, gammaln

    def nb(j):
        return np.exp(
            gammaln(r + j) - gammaln(r) - gammaln(j + 1)
            + r * np.log(alpha / (alpha + t)) + j * np.log(t / (alpha + t))
        )  # fmt: skip

    value = np.exp(betaln(a, b + n) - betaln(a, b)) * nb(n)
    if n > 0:
        tail = 1 - sum(nb(j) for j in range(n))
        value += np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * tail
    return value


def test_log_score_is_the_log_of_the_predicted_distribution(published_models):
    # customers without repeat purchases: BG/NBD keeps them alive, with the purchase
    # rate's posterior Gamma(r, alpha + T), so P(Y(t) = n) is eq. 8 with alpha + T
    data = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "frequency": [0, 0, 0, 0],
            "recency": [0.0, 0.0, 0.0, 0.0],
            "T": [38.86, 30.0, 38.86, 20.0],
            "frequency_holdout": [0, 2, 1, 3],
            "duration_holdout": [39.0, 39.0, 20.0, 39.0],
        }
    )
    r, alpha, a, b = published_models["BG/NBD"].params.values()
    direct = [
        np.log(_fhl_eq8(n, t, r, alpha + T, a, b))
        for n, t, T in zip(
            data["frequency_holdout"], data["duration_holdout"], data["T"], strict=True
        )
    ]
    scores = evaluate.holdout_log_scores(published_models["BG/NBD"], data)
    np.testing.assert_allclose(scores, direct, rtol=1e-10)


def test_log_score_averages_probabilities_over_draws(holdout_data, published_models):
    model = published_models["BG/NBD"]
    point = evaluate.holdout_log_scores(model, holdout_data)
    draws = model.idata["posterior"].to_dataset()
    stretched = draws.isel(draw=[0, 0]).assign_coords(draw=[0, 1])
    stretched["r"] = stretched["r"] * np.array([0.5, 1.5])
    model.idata["posterior"] = stretched
    both = evaluate.holdout_log_scores(model, holdout_data)
    singles = []
    for factor in (0.5, 1.5):
        one = type(model).from_params({**model.params, "r": 0.2426 * factor})
        singles.append(np.exp(evaluate.holdout_log_scores(one, holdout_data)))
    np.testing.assert_allclose(both, np.log(np.mean(singles, axis=0)), rtol=1e-10)
    assert not np.allclose(both, point)


def test_expected_holdout_purchases_per_draw(holdout_data, published_models):
    values = evaluate.expected_holdout_purchases(published_models["BG/NBD"], holdout_data)
    table = evaluate.holdout_predictions(published_models, holdout_data)
    assert values.shape == (1, 5)
    np.testing.assert_allclose(values[0], table["BG/NBD"])
