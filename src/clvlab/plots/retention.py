"""Plots of contractual retention (:class:`clvlab.models.ShiftedBetaGeo`).

* :func:`plot_survival_projection` - actual survivors of a cohort against the model's
  expected survivors with an interval, fitted and projected periods marked (Fader &
  Hardie 2007, Figure 4);
* :func:`plot_retention_rates` - period-on-period retention rates, observed against the
  model's :math:`r_t = (\\beta + t - 1) / (\\alpha + \\beta + t - 1)` (FH 2007, eq. 8 and
  Figure 5): the rates rise although no customer's churn probability changes.

Intervals are equal-tailed over the posterior draws (none for a point fit such as
``method="mle"``). Each function returns the matplotlib Axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from clvlab.models.shifted_beta_geo import ShiftedBetaGeo, projection_table

__all__ = ["plot_retention_rates", "plot_survival_projection"]


def _axes(ax: Axes | None) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=(7, 4))[1]


def _band(
    ax: Axes, x: np.ndarray, low: np.ndarray, high: np.ndarray, level: float, label: str
) -> None:
    """Shade ``[low, high]`` unless it is a single line (a point fit)."""
    if np.any(high > low):
        ax.fill_between(
            x, low, high, color="C0", alpha=0.25, label=f"{label}, {level:.0%} interval"
        )


def _finish(ax: Axes, period_name: str, ylabel: str, title: str) -> Axes:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel=f"{period_name}s since acquisition", ylabel=ylabel, title=title)
    ax.legend()
    return ax


def plot_survival_projection(
    model: ShiftedBetaGeo,
    survivors: pd.Series,
    *,
    fitted_through: int,
    level: float = 0.94,
    label: str = "sBG",
    period_name: str = "year",
    ax: Axes | None = None,
) -> Axes:
    """Actual against expected survivors of a cohort (FH 2007, Figure 4).

    Parameters
    ----------
    model : ShiftedBetaGeo
        Fitted on the cohort's periods ``0..fitted_through``.
    survivors : pandas.Series
        Actual survivors after periods 0, 1, ... (period 0: the cohort size).
    fitted_through : int
        Last period used in the fit; a dotted line separates the projection.
    level : float
        Probability of the shaded interval of the expected survivors (parameter
        uncertainty; see :func:`clvlab.models.shifted_beta_geo.projection_table`).
    label : str
        Model name in the legend.
    period_name : str
        Name of one period on the x axis (``"year"``, ``"month"``).
    ax : matplotlib Axes, optional
    """
    table = projection_table(model, survivors, fitted_through=fitted_through, level=level)
    ax = _axes(ax)
    ax.plot(table["period"], table["actual"], "o", color="k", label="actual")
    ax.plot(table["period"], table["expected"], color="C0", label=label)
    _band(ax, table["period"], table["low"], table["high"], level, label)
    ax.axvline(fitted_through + 0.5, color="grey", linestyle=":", label="end of fitted data")
    cohort = "cohort" if survivors.name is None else f"cohort {survivors.name!r}"
    return _finish(
        ax,
        period_name,
        "customers still active",
        f"{cohort}: fitted to {period_name} {fitted_through}, then projected",
    )


def plot_retention_rates(
    model: ShiftedBetaGeo,
    survivors: pd.Series,
    *,
    level: float = 0.94,
    label: str = "sBG",
    period_name: str = "year",
    ax: Axes | None = None,
) -> Axes:
    """Observed retention rates :math:`S(t) / S(t - 1)` against the model's :math:`r_t`.

    Parameters
    ----------
    model : ShiftedBetaGeo
        A fitted model.
    survivors : pandas.Series
        Actual survivors after periods 0, 1, ... (period 0: the cohort size); the rates
        run over periods 1 .. the last.
    level, label, period_name, ax
        As in :func:`plot_survival_projection`.
    """
    counts = survivors.to_numpy(dtype=float)
    periods = np.arange(1, counts.size)
    rates: xr.DataArray = model.retention_rate(periods=periods)
    tails = [(1 - level) / 2, (1 + level) / 2]
    low, high = rates.quantile(tails, ("chain", "draw")).to_numpy()
    ax = _axes(ax)
    ax.plot(periods, counts[1:] / counts[:-1], "o", color="k", label="observed")
    ax.plot(periods, rates.mean(("chain", "draw")).to_numpy(), color="C0", label=label)
    _band(ax, periods, low, high, level, label)
    cohort = "cohort" if survivors.name is None else f"cohort {survivors.name!r}"
    return _finish(
        ax,
        period_name,
        f"retention rate (share of last {period_name}'s customers who renew)",
        f"{cohort}: retention rates by {period_name}",
    )
