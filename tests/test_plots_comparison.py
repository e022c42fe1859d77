"""Model comparison plots, checked against the tables they draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from clvlab import evaluate
from clvlab.plots import comparison


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_conditional_expectations_draws_the_table(holdout_data, published_models):
    predictions = evaluate.holdout_predictions(published_models, holdout_data)
    ax = comparison.plot_conditional_expectations(predictions, max_frequency=7)
    table = evaluate.conditional_expectations(predictions, max_frequency=7)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"actual", "BG/NBD", "MBG/NBD"}
    for label in lines:
        np.testing.assert_allclose(lines[label].get_ydata(), table[label])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "2", "7+"]


def test_plot_probability_alive_by_age_one_time_buyer(published_models):
    ages = np.array([5.0, 20.0, 40.0])
    ax = comparison.plot_probability_alive_by_age(published_models, ages=ages)
    lines = {line.get_label(): line for line in ax.get_lines()}
    # BG/NBD: a customer without repeat purchases cannot have dropped out.
    np.testing.assert_allclose(lines["BG/NBD"].get_ydata(), 1.0)
    # MBG/NBD: P(alive) = 1 / (1 + a / b ((alpha + T) / alpha)^r) for x = 0, falling in T.
    r, alpha, a, b = published_models["MBG/NBD"].params.values()
    expected = 1 / (1 + a / b * ((alpha + ages) / alpha) ** r)
    np.testing.assert_allclose(lines["MBG/NBD"].get_ydata(), expected, rtol=1e-10)
    assert "x = 0" in ax.get_title()


def test_plot_probability_alive_by_age_shades_posterior_draws(published_models):
    posterior_like = published_models["BG/NBD"]
    draws = posterior_like.idata["posterior"].to_dataset()
    stretched = draws.isel(draw=[0, 0, 0]).assign_coords(draw=[0, 1, 2])
    stretched["a"] = stretched["a"] * pd.Series([0.5, 1.0, 2.0]).to_numpy()
    posterior_like.idata["posterior"] = stretched
    ax = comparison.plot_probability_alive_by_age(
        {"draws": posterior_like}, frequency=3, recency=10.0
    )
    assert len(ax.collections) == 1  # the 94% band


def test_plot_probability_alive_by_age_names_a_sequence_of_models(published_models):
    ax = comparison.plot_probability_alive_by_age(list(published_models.values()))
    assert [line.get_label() for line in ax.get_lines()] == ["BG/NBD", "MBG/NBD"]
    same = [published_models["BG/NBD"], published_models["BG/NBD"]]
    with pytest.raises(ValueError, match="display name"):
        comparison.plot_probability_alive_by_age(same)


def test_plot_conditional_expectations_bands_of_posterior_draws(holdout_data, published_models):
    model = published_models["BG/NBD"]
    draws = model.idata["posterior"].to_dataset()
    stretched = draws.isel(draw=[0, 0, 0]).assign_coords(draw=[0, 1, 2])
    stretched["r"] = stretched["r"] * np.array([0.5, 1.0, 2.0])
    model.idata["posterior"] = stretched
    models = {"BG/NBD": model}
    predictions = evaluate.holdout_predictions(models, holdout_data)
    intervals = evaluate.conditional_expectation_intervals(models, holdout_data, interval=0.5)
    # by hand: per draw, the mean over the group of frequency 0 (customers 1 and 2)
    per_draw = evaluate.expected_holdout_purchases(model, holdout_data)[:, :2].mean(axis=1)
    low, high = np.quantile(per_draw, [0.25, 0.75])
    assert intervals.loc[0, "BG/NBD_low"] == pytest.approx(low)
    assert intervals.loc[0, "BG/NBD_high"] == pytest.approx(high)
    ax = comparison.plot_conditional_expectations(predictions, intervals=intervals)
    assert len(ax.collections) == 1
