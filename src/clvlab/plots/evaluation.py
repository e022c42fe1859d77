"""Plots that judge fitted models against what happened: the figures of the literature.

* :func:`plot_tracking` - repeat purchases per period (or cumulative) over calibration
  and holdout, actual against each model (FHL 2005, Figures 2-3);
* :func:`plot_frequency_histogram` - customers by calibration frequency 0..7+, actual
  against simulated (FHL 2005, Figure 1);
* :func:`plot_activity_reliability` - reliability diagram of the predicted probability of
  a holdout purchase (with each bin's mean P(alive));
* :func:`plot_metric` - one metric of a comparison table per model, with its interval.

Each draws a table of :mod:`clvlab.evaluate` and returns the matplotlib Axes; posterior
fits get a band (the table's central interval), count axes get integer ticks.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

__all__ = [
    "plot_activity_reliability",
    "plot_frequency_histogram",
    "plot_metric",
    "plot_tracking",
]

UNIT_NAMES = {"W": "week", "D": "day"}


def _axes(ax: Axes | None, figsize: tuple[float, float] = (8, 4)) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=figsize)[1]


def plot_tracking(table: pd.DataFrame, *, cumulative: bool = False, ax: Axes | None = None) -> Axes:
    """Repeat purchases per period, actual (black) against each model (dashed, with band).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`clvlab.evaluate.tracking`.
    cumulative : bool
        Draw cumulative repeat purchases instead of purchases per period.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).

    Notes
    -----
    A dotted vertical line marks the end of the calibration period; bands show the
    table's central interval over posterior draws where a model has several.
    """
    column = "cumulative" if cumulative else "purchases"
    ax = _axes(ax)
    unit = UNIT_NAMES.get(table.attrs.get("time_unit", "W"), "period")
    for i, (series, rows) in enumerate(table.groupby("series", sort=False)):
        if series == "actual":
            ax.plot(rows["period"], rows[column], color="black", lw=1.8, label="actual")
            continue
        ax.plot(rows["period"], rows[column], ls="--", color=f"C{i - 1}", label=series)
        low, high = rows[f"{column}_low"], rows[f"{column}_high"]
        if (high > low).any():
            ax.fill_between(rows["period"], low, high, color=f"C{i - 1}", alpha=0.2, lw=0)
    if "calibration_end" in table.attrs:
        ax.axvline(table.attrs["calibration_end"], color="grey", ls=":", lw=1)
        ax.annotate(
            "end of calibration",
            (table.attrs["calibration_end"], 0.98),
            xycoords=("data", "axes fraction"),
            ha="right",
            va="top",
            fontsize="small",
            color="grey",
        )
    what = "cumulative repeat purchases" if cumulative else f"repeat purchases per {unit}"
    ax.set(
        xlabel=f"{unit} since the first acquisition",
        ylabel=what,
        title=f"Tracking: {what}, actual vs models",
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return ax


def plot_frequency_histogram(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Customers by calibration frequency: actual bars, each model's simulated mean beside
    them with the interval of its simulated counts as an error bar.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`clvlab.evaluate.frequency_histogram`.
    """
    ax = _axes(ax)
    series = list(dict.fromkeys(table["series"]))
    width = 0.8 / len(series)
    groups = np.sort(table["frequency"].unique())
    for i, name in enumerate(series):
        rows = table[table["series"] == name].set_index("frequency").loc[groups]
        x = groups + (i - (len(series) - 1) / 2) * width
        if name == "actual":
            ax.bar(x, rows["customers"], width, color="black", label="actual")
            continue
        error = np.vstack(
            [rows["customers"] - rows["customers_low"], rows["customers_high"] - rows["customers"]]
        )
        ax.bar(x, rows["customers"], width, yerr=error, color=f"C{i - 1}", label=name, capsize=2)
    labels = [str(g) for g in groups]
    labels[-1] += "+"
    ax.set_xticks(groups, labels)
    ax.set(
        xlabel="repeat purchases in the calibration period",
        ylabel="customers",
        title="Calibration-period frequencies: actual vs simulated",
    )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return ax


def plot_activity_reliability(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Reliability diagram: observed share of holdout buyers against the predicted
    probability of a holdout purchase, per bin and model; the diagonal is perfect
    calibration, crosses mark each bin's mean P(alive).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`clvlab.evaluate.activity_reliability`.
    """
    ax = _axes(ax, (6, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfect calibration")
    for i, (model, rows) in enumerate(table.groupby("model", sort=False)):
        ax.errorbar(
            rows["predicted"],
            rows["observed"],
            yerr=rows["observed_se"],
            marker="o",
            ls="-",
            color=f"C{i}",
            label=model,
            capsize=2,
        )
        ax.scatter(
            rows["probability_alive"], rows["observed"], marker="x", color=f"C{i}", alpha=0.6
        )
    ax.set(
        xlabel="predicted P(at least one holdout purchase)  (x: mean P(alive))",
        ylabel="share who bought in the holdout",
        xlim=(0, 1),
        ylim=(0, 1),
        title="P(alive) calibration: predicted vs observed activity",
    )
    ax.legend(loc="upper left")
    return ax


def plot_metric(table: pd.DataFrame, metric: str = "mae", ax: Axes | None = None) -> Axes:
    """One metric of a comparison table per model (and data set), with its interval.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`clvlab.evaluate.compare_models` or
        :func:`clvlab.evaluate.comparison_table`.
    metric : str
        A column of the table; ``<metric>_low``/``<metric>_high`` give the error bars
        where present.
    """
    ax = _axes(ax, (7, 0.5 + 0.4 * len(table)))
    names = table["model"] + (" (" + table["method"] + ")")
    if "dataset" in table:
        names = table["dataset"] + ": " + names
    y = np.arange(len(table))[::-1]
    values = table[metric].to_numpy(dtype=float)
    if f"{metric}_low" in table:
        error = np.vstack([values - table[f"{metric}_low"], table[f"{metric}_high"] - values])
        ax.errorbar(values, y, xerr=error, fmt="o", color="C0", capsize=3)
    else:
        ax.plot(values, y, "o", color="C0")
    ax.set_yticks(y, names)
    ax.set(xlabel=metric, title=f"{metric} by model")
    return ax
