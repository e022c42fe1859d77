"""Exploration plots: count axes tick at whole numbers, even for a handful of customers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from clvlab.plots import explore as plots


def test_count_axes_have_integer_ticks():
    few = pd.DataFrame({"purchases": [1, 2, 3], "customers": [3, 1, 2]})
    gaps = pd.DataFrame({"gap": [1.0, 2.5, 4.0], "purchase": [2, 2, 3]})
    cohorts = pd.DataFrame(
        {"cohort": pd.to_datetime(["2024-01-01", "2024-02-01"]), "customers": [2, 3]}
    )
    for ax in (
        plots.plot_purchases_per_customer(few),
        plots.plot_interpurchase_times(gaps),
        plots.plot_cohort_sizes(cohorts),
    ):
        ticks = ax.get_yticks()
        assert len(ticks) > 1 and all(float(t).is_integer() for t in ticks), ticks
    plt.close("all")
