"""Model comparison plots, checked against the tables they draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from clvlab import evaluate
from clvlab.models import BetaGeo, ModifiedBetaGeo
from clvlab.plots import comparison

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


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_conditional_expectations_draws_the_table(data, models):
    predictions = evaluate.holdout_predictions(models, data)
    ax = comparison.plot_conditional_expectations(predictions, max_frequency=7)
    table = evaluate.conditional_expectations(predictions, max_frequency=7)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"actual", "BG/NBD", "MBG/NBD"}
    for label in lines:
        np.testing.assert_allclose(lines[label].get_ydata(), table[label])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "2", "7+"]


def test_plot_probability_alive_by_age_one_time_buyer(models):
    ages = np.array([5.0, 20.0, 40.0])
    ax = comparison.plot_probability_alive_by_age(models, ages=ages)
    lines = {line.get_label(): line for line in ax.get_lines()}
    # BG/NBD: a customer without repeat purchases cannot have dropped out.
    np.testing.assert_allclose(lines["BG/NBD"].get_ydata(), 1.0)
    # MBG/NBD: P(alive) = 1 / (1 + a / b ((alpha + T) / alpha)^r) for x = 0, falling in T.
    r, alpha, a, b = (MBG[k] for k in ("r", "alpha", "a", "b"))
    expected = 1 / (1 + a / b * ((alpha + ages) / alpha) ** r)
    np.testing.assert_allclose(lines["MBG/NBD"].get_ydata(), expected, rtol=1e-10)
    assert "x = 0" in ax.get_title()


def test_plot_probability_alive_by_age_shades_posterior_draws(models):
    posterior_like = BetaGeo.from_params(BG)
    draws = posterior_like.idata["posterior"].to_dataset()
    stretched = draws.isel(draw=[0, 0, 0]).assign_coords(draw=[0, 1, 2])
    stretched["a"] = stretched["a"] * pd.Series([0.5, 1.0, 2.0]).to_numpy()
    posterior_like.idata["posterior"] = stretched
    ax = comparison.plot_probability_alive_by_age(
        {"draws": posterior_like}, frequency=3, recency=10.0
    )
    assert len(ax.collections) == 1  # the 94% band
