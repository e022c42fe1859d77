"""Evaluation plots, checked against the tables they draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from clvlab import evaluate
from clvlab.models import BetaGeo
from clvlab.plots import evaluation


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def tracking_table():
    days = pd.date_range("2020-01-01", periods=60, freq="3D")
    log = pd.DataFrame({"customer_id": np.arange(60) % 7, "date": days})
    model = BetaGeo.from_params({"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5})
    return evaluate.tracking(
        log, {"BG/NBD": model}, calibration_end="2020-04-01", observation_end="2020-06-30"
    )


@pytest.mark.parametrize("cumulative", [False, True])
def test_plot_tracking_draws_each_series(tracking_table, cumulative):
    ax = evaluation.plot_tracking(tracking_table, cumulative=cumulative)
    lines = {line.get_label(): line for line in ax.get_lines() if not line.get_label()[0] == "_"}
    assert set(lines) == {"actual", "BG/NBD"}
    column = "cumulative" if cumulative else "purchases"
    for label, line in lines.items():
        rows = tracking_table[tracking_table["series"] == label]
        np.testing.assert_allclose(line.get_ydata(), rows[column])
    assert len(ax.collections) == 0  # a point fit: no band
    assert "cumulative" in ax.get_ylabel() if cumulative else "per week" in ax.get_ylabel()


def test_plot_frequency_histogram_bars_and_ticks(holdout_data, published_models):
    table = evaluate.frequency_histogram(
        {"BG/NBD": published_models["BG/NBD"]}, holdout_data, max_frequency=3, replicates=50
    )
    ax = evaluation.plot_frequency_histogram(table)
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights[:4], [2, 0, 1, 2])
    np.testing.assert_allclose(heights[4:], table[table["series"] == "BG/NBD"]["customers"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "3+"]


def test_plot_activity_reliability_and_metric(holdout_data, published_models):
    table = evaluate.activity_reliability(published_models, holdout_data, bins=2)
    ax = evaluation.plot_activity_reliability(table)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "perfect calibration" in labels
    comparison = evaluate.compare_models(published_models, holdout_data, log_score=False)
    ax = evaluation.plot_metric(comparison, "mae")
    labels = [t.get_text() for t in ax.get_yticklabels()]  # first model at the top
    assert labels[0] == "BG/NBD (fixed)" and labels[-1] == "naive: average rate (baseline)"
    assert ax.get_yticks()[0] == len(comparison) - 1
    np.testing.assert_allclose(ax.lines[0].get_xdata(), comparison["mae"])
