"""Plots that judge fitted models against what happened: the figures of the literature.

* :func:`plot_tracking` - repeat purchases per period (or cumulative) over calibration
  and holdout, actual against each model (FHL 2005, Figures 2-3);

Each draws a table of :mod:`clvlab.evaluate` and returns the matplotlib Axes; posterior
fits get a band (the table's central interval), count axes get integer ticks.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

__all__ = ["plot_tracking"]

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
