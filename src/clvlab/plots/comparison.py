"""Side-by-side comparisons of fitted buy-till-you-die models on the same customers.

The tables come from :mod:`clvlab.evaluate`; the plots here draw them:

* :func:`plot_conditional_expectations` - mean holdout purchases by calibration
  frequency, actual against each model (FHL 2005, Figure 4, for several models at once),
  with posterior bands from :func:`clvlab.evaluate.conditional_expectation_intervals`;
* :func:`plot_probability_alive_by_age` - :math:`P(\\text{alive})` of one purchase history
  (e.g. a one-time buyer) as the customer ages, one line (and 94% band) per model.

Models are passed as a mapping ``{label: fitted model}``, whose labels name the legend
entries, or as a sequence of fitted models, named as the literature writes them
(:func:`clvlab.models.registry.display_name`: "BG/NBD", "Pareto/NBD", ...). Tracking,
frequency-histogram and reliability plots are in :mod:`clvlab.plots.evaluation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from clvlab.evaluate import conditional_expectations
from clvlab.models.btyd import BuyTillYouDieModel
from clvlab.models.registry import display_name

__all__ = ["plot_conditional_expectations", "plot_probability_alive_by_age"]

Models = Mapping[str, BuyTillYouDieModel] | Sequence[BuyTillYouDieModel]


def _labelled(models: Models) -> dict[str, BuyTillYouDieModel]:
    """``{legend label: model}``: a mapping as given, a sequence by display names."""
    if isinstance(models, Mapping):
        return dict(models)
    labelled = {display_name(model): model for model in models}
    if len(labelled) < len(models):
        raise ValueError(
            "two models share a display name; pass a mapping {label: model} to tell them apart"
        )
    return labelled


def _axes(ax: Axes | None, figsize: tuple[float, float] = (7, 4)) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=figsize)[1]


def plot_conditional_expectations(
    predictions: pd.DataFrame,
    max_frequency: int = 7,
    ax: Axes | None = None,
    intervals: pd.DataFrame | None = None,
) -> Axes:
    """Mean holdout purchases by calibration frequency: actual against each model.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Output of :func:`clvlab.evaluate.holdout_predictions`.
    max_frequency : int
        The last group pools customers with this many repeat purchases or more.
    intervals : pandas.DataFrame, optional
        Output of :func:`clvlab.evaluate.conditional_expectation_intervals`: a band per
        model with columns there (posterior fits).
    """
    table = conditional_expectations(predictions, max_frequency)
    ax = _axes(ax)
    ax.plot(table.index, table["actual"], "o-", color="black", lw=2, label="actual")
    models = [c for c in table.columns if c not in ("customers", "actual")]
    markers = "s^vDP*"
    for i, label in enumerate(models):
        ax.plot(
            table.index,
            table[label],
            marker=markers[i % len(markers)],
            ls="--",
            color=f"C{i}",
            label=label,
        )
        if intervals is not None and f"{label}_low" in intervals:
            band = intervals.loc[table.index]
            low, high = band[f"{label}_low"], band[f"{label}_high"]
            if (high > low).any():
                ax.fill_between(table.index, low, high, color=f"C{i}", alpha=0.2, lw=0)
    labels = [str(i) for i in table.index]
    if table.index[-1] == max_frequency:
        labels[-1] = f"{max_frequency}+"
    ax.set_xticks(table.index, labels)
    ax.set(
        xlabel="repeat purchases in the calibration period",
        ylabel="mean purchases in the holdout",
        title="Conditional expectations: models vs holdout",
    )
    ax.legend()
    return ax


def plot_probability_alive_by_age(
    models: Models,
    frequency: int = 0,
    recency: float = 0.0,
    ages: np.ndarray | None = None,
    time_unit: str = "weeks",
    ax: Axes | None = None,
) -> Axes:
    """P(alive) of one purchase history as the customer ages, one line per model.

    Parameters
    ----------
    models : mapping of str to BuyTillYouDieModel, or sequence of BuyTillYouDieModel
        Fitted models, keyed by their legend label (a sequence is labelled by the models'
        display names).
    frequency, recency : int, float
        The history: repeat purchases and time of the last one (default: a one-time
        buyer, ``0, 0``).
    ages : array-like, optional
        Customer ages ``T`` (default: 60 values from ``recency`` to ``recency + 52``).
    time_unit : str
        Label of the time axis.

    Notes
    -----
    Lines show posterior means; where a model has several draws, a band shows the 3%-97%
    posterior quantiles.
    """
    if ages is None:
        ages = np.linspace(recency, recency + 52.0, 60)
    ages = np.asarray(ages, dtype=float)
    grid = pd.DataFrame(
        {
            "customer_id": np.arange(len(ages)),
            "frequency": frequency,
            "recency": recency,
            "T": ages,
        }
    )
    ax = _axes(ax)
    for i, (label, model) in enumerate(_labelled(models).items()):
        alive = model.probability_alive(grid).stack(sample=("chain", "draw"))
        ax.plot(ages, alive.mean("sample").to_numpy(), color=f"C{i}", label=label)
        if alive.sizes["sample"] > 1:
            low, high = np.quantile(alive.to_numpy(), [0.03, 0.97], axis=-1)
            ax.fill_between(ages, low, high, color=f"C{i}", alpha=0.2, lw=0)
    ax.set(
        xlabel=f"customer age T ({time_unit})",
        ylabel="P(alive)",
        ylim=(0, 1.02),
        title=f"P(alive) for x = {frequency}, recency = {recency:g}",
    )
    ax.legend()
    return ax
