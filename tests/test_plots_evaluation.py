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
