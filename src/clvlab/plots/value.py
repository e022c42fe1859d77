"""Plots of customer value: the Gamma-Gamma independence check, Lorenz curves, CLV by phase.

* :func:`plot_spend_vs_frequency` - mean repeat spend against repeat purchases, one dot per
  repeat buyer, with the correlation of :func:`clvlab.models.gamma_gamma.check_spend_independence`
  (the key assumption of the Gamma-Gamma model: spend independent of frequency);
* :func:`plot_lorenz_curve` - Lorenz curves of customer value (:func:`clvlab.clv.lorenz_curve`),
  with the Gini coefficient and the top-10% share (:func:`clvlab.clv.top_share`) in the legend;
* :func:`plot_clv_by_phase` - share of customers against share of value per lifecycle phase
  (:func:`clvlab.clv.clv_by_phase`).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator, PercentFormatter
from numpy.typing import ArrayLike

from clvlab.clv import lorenz_curve, top_share
from clvlab.models.gamma_gamma import check_spend_independence

__all__ = ["PHASE_LABELS", "plot_clv_by_phase", "plot_lorenz_curve", "plot_spend_vs_frequency"]

PHASE_LABELS: dict[str, str] = {
    "new": "new",
    "growing": "growing",
    "retained": "retained",
    "at_risk": "at risk",
    "lapsed": "lapsed",
}
"""Readable names of the phases of :data:`clvlab.phases.PHASES`, for axis labels."""


def _axes(ax: Axes | None, figsize: tuple[float, float] = (7, 4)) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=figsize)[1]


def plot_spend_vs_frequency(
    data: pd.DataFrame, *, level: float = 0.95, min_customers: int = 10, ax: Axes | None = None
) -> Axes:
    """Mean spend per repeat purchase against the number of repeat purchases.

    One dot per customer with repeat purchases (``frequency > 0``; the others have no
    repeat spend and are left out, as in the fit), the median spend per frequency as a line
    (where at least ``min_customers`` customers share the frequency),
    a logarithmic spend axis and, in the title, the Pearson correlation with its interval
    (:func:`clvlab.models.gamma_gamma.check_spend_independence`). Under the Gamma-Gamma
    assumption the cloud has no trend; it only narrows with frequency, as a mean of more
    purchases varies less.

    Parameters
    ----------
    data : pandas.DataFrame
        ``frequency`` and ``monetary_value`` per customer (e.g. :func:`clvlab.rfm.summarize`).
    level : float
        Probability of the correlation's interval.
    min_customers : int
        Fewest customers with a frequency for its median to be drawn.
    ax : matplotlib Axes, optional
    """
    check = check_spend_independence(data, level=level)
    repeat = data[data["frequency"] > 0]
    ax = _axes(ax)
    ax.scatter(
        repeat["frequency"], repeat["monetary_value"], s=10, alpha=0.35, label="repeat buyer"
    )
    grouped = repeat.groupby("frequency")["monetary_value"]
    median = grouped.median()[grouped.size() >= min_customers]
    ax.plot(
        median.index,
        median.to_numpy(),
        "o-",
        color="black",
        ms=3,
        label=f"median (frequencies with {min_customers}+ buyers)",
    )
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(
        xlabel="repeat purchases (frequency)",
        ylabel="mean spend per repeat purchase",
        title=(
            f"Gamma-Gamma assumption: correlation {check.correlation:.2f} "
            f"({level:.0%} interval {check.low:.2f} to {check.high:.2f})"
        ),
    )
    ax.legend(loc="lower right")
    return ax


def plot_lorenz_curve(
    values: Mapping[str, ArrayLike], *, top: float = 0.1, ax: Axes | None = None
) -> Axes:
    """Lorenz curves of customer value, one per entry of ``values``.

    Customers run from the least to the most valuable on the horizontal axis; the curve is
    the share of the total value held by the customers to its left. The diagonal is equal
    value for all; the legend gives each curve's Gini coefficient and the share held by the
    most valuable ``top`` of customers, marked by the dotted line.

    Parameters
    ----------
    values : mapping of str to array-like
        Per-customer values (>= 0), keyed by their legend label (e.g. ``{"historical":
        ..., "BG/NBD + Gamma-Gamma": ...}``).
    top : float
        Share of most valuable customers whose value share the legend reports.
    ax : matplotlib Axes, optional
    """
    ax = _axes(ax, (5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, label="equal value")
    for label, customer_values in values.items():
        curve = lorenz_curve(customer_values)
        share = top_share(customer_values, top=top)
        gini = max(curve.attrs["gini"], 0.0)  # equal values: -1e-16 from rounding, not "-0.00"
        ax.plot(
            curve["customer_share"],
            curve["value_share"],
            label=f"{label}\nGini {gini:.2f}, top {top:.0%} hold {share:.0%}",
        )
    ax.axvline(1 - top, color="grey", ls=":", lw=1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="share of customers, least to most valuable",
        ylabel="share of total value",
        title="Value concentration (Lorenz curve)",
    )
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_clv_by_phase(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Share of customers and share of value per lifecycle phase, side by side.

    A phase whose value bar is taller than its customer bar holds more than its head count
    would suggest; the mean value per customer is written above each pair.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`clvlab.clv.clv_by_phase` (index ``phase``, columns ``customers``,
        ``mean_value`` and ``value_share``).
    ax : matplotlib Axes, optional
    """
    ax = _axes(ax, (7, 4))
    phases = [str(p) for p in table.index]
    position = np.arange(len(phases))
    customers = table["customers"].to_numpy(dtype=float)
    customer_share = customers / customers.sum() if customers.sum() > 0 else customers
    value_share = table["value_share"].to_numpy(dtype=float)
    width = 0.38
    ax.bar(position - width / 2, customer_share, width, color="#bdbdbd", label="customers")
    ax.bar(position + width / 2, value_share, width, color="C0", label="value")
    for x, high, mean in zip(
        position, np.maximum(customer_share, value_share), table["mean_value"], strict=True
    ):
        if np.isfinite(mean):
            ax.annotate(
                f"mean {mean:,.0f}",
                (x, high),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                fontsize="small",
            )
    ax.set_xticks(position, [PHASE_LABELS.get(p, p.replace("_", " ")) for p in phases])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(
        xlabel="lifecycle phase",
        ylabel="share of all customers / of total value",
        title="Customer value by lifecycle phase",
    )
    ax.set_ylim(0, max(customer_share.max(), value_share.max()) * 1.15)
    ax.legend(loc="upper left")
    return ax
