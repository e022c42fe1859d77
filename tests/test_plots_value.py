"""Value plots, checked against the tables and checks they draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.ticker import MaxNLocator

from clvlab import clv
from clvlab.models.gamma_gamma import check_spend_independence
from clvlab.phases import PHASE_DTYPE, PHASES
from clvlab.plots import value


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_spend_vs_frequency_draws_repeat_buyers_and_states_the_correlation(cdnow_rfm):
    ax = value.plot_spend_vs_frequency(cdnow_rfm)
    check = check_spend_independence(cdnow_rfm)
    dots = ax.collections[0].get_offsets()
    assert len(dots) == check.n_customers == 946  # one-time buyers left out
    grouped = cdnow_rfm[cdnow_rfm["frequency"] > 0].groupby("frequency")["monetary_value"]
    median = grouped.median()[grouped.size() >= 10]  # sparse frequencies: no median
    assert median.index.max() < cdnow_rfm["frequency"].max()
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), median.index)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), median)
    assert f"correlation {check.correlation:.2f}" in ax.get_title()
    assert f"{check.low:.2f} to {check.high:.2f}" in ax.get_title()
    assert "Gamma-Gamma" in ax.get_title()
    assert ax.get_yscale() == "log"
    locator = ax.xaxis.get_major_locator()
    assert isinstance(locator, MaxNLocator) and locator._integer  # counts: whole ticks


def test_lorenz_curve_one_line_per_input_with_gini_and_top_share():
    values = {"equal": np.ones(10), "skewed": np.r_[np.zeros(9), 10.0]}
    ax = value.plot_lorenz_curve(values)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert "equal value" in lines
    assert "equal\nGini 0.00, top 10% hold 10%" in lines
    skewed = lines["skewed\nGini 0.90, top 10% hold 100%"]
    expected = clv.lorenz_curve(values["skewed"])["value_share"]
    np.testing.assert_allclose(skewed.get_ydata(), expected)


def test_lorenz_curve_rejects_negative_values():
    with pytest.raises(Exception, match="finite and >= 0"):
        value.plot_lorenz_curve({"bad": [1.0, -2.0]})


def test_clv_by_phase_bars_have_readable_labels_and_the_table_shares():
    phases = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5],
            "phase": pd.Categorical(
                ["new", "retained", "retained", "at_risk", "lapsed"], dtype=PHASE_DTYPE
            ),
        }
    )
    values = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5], "clv": [1.0, 4.0, 4.0, 1.0, 0.0]})
    table = clv.clv_by_phase(values, phases)
    ax = value.plot_clv_by_phase(table)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["new", "growing", "retained", "at risk", "lapsed"]
    assert not any("_" in label for label in labels)
    heights = [p.get_height() for p in ax.patches]
    customers, values_share = heights[: len(PHASES)], heights[len(PHASES) :]
    np.testing.assert_allclose(customers, [0.2, 0.0, 0.4, 0.2, 0.2])
    np.testing.assert_allclose(values_share, table["value_share"])
    assert "mean 4" in [t.get_text() for t in ax.texts]
