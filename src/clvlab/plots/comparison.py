"""Side-by-side comparisons of fitted buy-till-you-die models on the same customers.

A fair comparison gives every model the same calibration data and judges them on the same
holdout period. The helpers here build the tables and the plots draw them:

* :func:`holdout_predictions` - per customer, the actual holdout purchases and each
  model's expected purchases over the same holdout duration (posterior means);
* :func:`holdout_errors` - per model, the mean absolute error and root mean squared error
  of those per-customer predictions, and the aggregate (total) purchases against the actual;
* :func:`conditional_expectations` - mean actual and expected holdout purchases by
  calibration frequency;
* :func:`plot_conditional_expectations` - the same as a plot, actual against each model
  (FHL 2005, Figure 4, for several models at once);
* :func:`plot_probability_alive_by_age` - :math:`P(\\text{alive})` of one purchase history
  (e.g. a one-time buyer) as the customer ages, one line (and 94% band) per model.

Models are passed as a mapping ``{label: fitted model}``; the labels name the columns and
the legend entries.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from clvlab.models.btyd import BuyTillYouDieModel

__all__ = [
    "conditional_expectations",
    "holdout_errors",
    "holdout_predictions",
    "plot_conditional_expectations",
    "plot_probability_alive_by_age",
]

Models = Mapping[str, BuyTillYouDieModel]


def _axes(ax: Axes | None, figsize: tuple[float, float] = (7, 4)) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=figsize)[1]


def holdout_predictions(models: Models, data: pd.DataFrame) -> pd.DataFrame:
    """Actual and expected holdout purchases per customer, one column per model.

    Parameters
    ----------
    models : mapping of str to BuyTillYouDieModel
        Fitted models, keyed by the label used for their column.
    data : pandas.DataFrame
        Per-customer table with ``customer_id``, ``frequency``, ``recency``, ``T``,
        ``frequency_holdout`` and ``duration_holdout``, e.g. :func:`clvlab.rfm.summarize`
        with an observation end.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``frequency`` (calibration), ``actual`` (holdout purchases) and
        one column per model: the posterior mean of the expected purchases over the
        customer's holdout duration.
    """
    if not models:
        raise ValueError("pass at least one fitted model, e.g. {'BG/NBD': model}.")
    missing = [c for c in ("frequency_holdout", "duration_holdout") if c not in data.columns]
    if missing:
        raise ValueError(
            f"data lacks {missing}; summarise with an observation end "
            "(clvlab.rfm.summarize(log, calibration_end, observation_end))."
        )
    table = pd.DataFrame(
        {
            "customer_id": data["customer_id"].to_numpy(),
            "frequency": data["frequency"].to_numpy(),
            "actual": data["frequency_holdout"].to_numpy(dtype=float),
        }
    )
    durations = data["duration_holdout"].to_numpy(dtype=float)
    for label, model in models.items():
        expected = np.zeros(len(data))
        for duration in np.unique(durations):  # usually one holdout length for everyone
            rows = durations == duration
            prediction = model.expected_purchases(data.loc[rows], t=float(duration))
            expected[rows] = prediction.mean(("chain", "draw")).to_numpy()
        table[label] = expected
    return table


def holdout_errors(predictions: pd.DataFrame) -> pd.DataFrame:
    """Per-customer and aggregate errors of each model's holdout predictions.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Output of :func:`holdout_predictions`.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``MAE`` and ``RMSE`` of the per-customer predictions, the
        ``predicted_total`` and ``actual_total`` purchases and the relative error of the
        total (``total_error``, predicted / actual - 1).
    """
    models = [c for c in predictions.columns if c not in ("customer_id", "frequency", "actual")]
    actual = predictions["actual"].to_numpy(dtype=float)
    rows = {}
    for label in models:
        error = predictions[label].to_numpy(dtype=float) - actual
        total = float(predictions[label].sum())
        rows[label] = {
            "MAE": float(np.mean(np.abs(error))),
            "RMSE": float(np.sqrt(np.mean(error**2))),
            "predicted_total": total,
            "actual_total": float(actual.sum()),
            "total_error": total / float(actual.sum()) - 1.0,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


def conditional_expectations(predictions: pd.DataFrame, max_frequency: int = 7) -> pd.DataFrame:
    """Mean actual and expected holdout purchases by calibration frequency.

    The last group pools customers with ``max_frequency`` or more repeat purchases; the
    column ``customers`` counts each group.
    """
    group = np.minimum(predictions["frequency"].to_numpy(), max_frequency).astype(int)
    columns = [c for c in predictions.columns if c not in ("customer_id", "frequency")]
    table = predictions[columns].groupby(group).mean()
    table.insert(0, "customers", np.bincount(group)[table.index])
    table.index.name = "frequency"
    return table


def plot_conditional_expectations(
    predictions: pd.DataFrame, max_frequency: int = 7, ax: Axes | None = None
) -> Axes:
    """Mean holdout purchases by calibration frequency: actual against each model.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Output of :func:`holdout_predictions`.
    max_frequency : int
        The last group pools customers with this many repeat purchases or more.
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
    models : mapping of str to BuyTillYouDieModel
        Fitted models, keyed by their legend label.
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
    for i, (label, model) in enumerate(models.items()):
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
