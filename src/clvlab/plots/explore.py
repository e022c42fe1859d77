"""Seaborn plots of the exploratory tables in :mod:`clvlab.explore`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator


def _axes(ax: Axes | None) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=(7, 3.5))[1]


def _integer_counts(ax: Axes) -> Axes:
    """Ticks at whole numbers on the y axis, which counts customers or purchases."""
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def plot_purchases_per_customer(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Bar chart of customers by number of purchases (from ``purchases_per_customer``)."""
    ax = _axes(ax)
    sns.barplot(table, x="purchases", y="customers", color="C0", ax=ax)
    ax.set(
        xlabel="purchases (days with a purchase)",
        ylabel="customers",
        title="Purchases per customer",
    )
    return _integer_counts(ax)


def plot_interpurchase_times(
    table: pd.DataFrame, unit: str = "days", ax: Axes | None = None
) -> Axes:
    """Histogram of the gaps between purchases (from ``interpurchase_times``)."""
    ax = _axes(ax)
    sns.histplot(table, x="gap", bins=40, color="C1", ax=ax)
    ax.set(
        xlabel=f"time between purchases ({unit})",
        ylabel="repeat purchases",
        title="Inter-purchase times",
    )
    return _integer_counts(ax)


def plot_cohort_sizes(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """New customers per acquisition period (from ``cohort_sizes``)."""
    ax = _axes(ax)
    sns.lineplot(table, x="cohort", y="customers", marker="o", ax=ax)
    ax.set(
        xlabel="first purchase (period start)", ylabel="new customers", title="Acquisition cohorts"
    )
    ax.tick_params(axis="x", labelrotation=30)
    return _integer_counts(ax)
