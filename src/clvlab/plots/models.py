"""Plots of fitted buy-till-you-die models (:mod:`clvlab.models`).

* :func:`plot_frequency_recency_matrix` - expected purchases or P(alive) over a grid of
  histories (FHL 2005, Figure 5-style heatmaps);
* :func:`plot_calibration_vs_holdout` - conditional expectations against the holdout
  purchases, by calibration frequency (FHL 2005, Figure 4);
* :func:`plot_period_transactions` - observed repeat-purchase counts against posterior
  predictive replications;
* :func:`plot_posterior_vs_mle` - posterior draws of each parameter with the maximum
  likelihood estimate and its 95% interval.

Each function plots posterior means where the model has several draws and returns the
matplotlib Axes (or an array of Axes).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from clvlab.evaluate import holdout_predictions
from clvlab.models.btyd import BuyTillYouDieModel
from clvlab.models.registry import display_name
from clvlab.plots.comparison import plot_conditional_expectations

__all__ = [
    "plot_calibration_vs_holdout",
    "plot_frequency_recency_matrix",
    "plot_period_transactions",
    "plot_posterior_vs_mle",
]


def _axes(ax: Axes | None, figsize: tuple[float, float] = (7, 4)) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=figsize)[1]


def plot_frequency_recency_matrix(
    model: BuyTillYouDieModel,
    quantity: str = "expected_purchases",
    t: float = 1.0,
    T: float | None = None,
    max_frequency: int | None = None,
    n_recency: int = 20,
    time_unit: str = "weeks",
    ax: Axes | None = None,
) -> Axes:
    """Heatmap of a per-customer prediction over frequency and recency.

    Parameters
    ----------
    model : BuyTillYouDieModel
        A fitted model.
    quantity : {"expected_purchases", "probability_alive"}
        What to show: expected purchases in the next ``t`` time units, or P(alive).
    t : float
        Horizon for ``expected_purchases``.
    T : float, optional
        Customer age for every cell (default: the largest ``T`` in the fitted data).
    max_frequency : int, optional
        Largest frequency shown (default: the 99th percentile of the fitted data, >= 5).
    n_recency : int
        Number of recency values (cell centres) between 0 and ``T``.
    time_unit : str
        The unit of ``t``, ``T`` and recency, for the axis and colour-bar labels.
    ax : matplotlib Axes, optional
    """
    if quantity not in ("expected_purchases", "probability_alive"):
        raise ValueError(
            f"quantity must be 'expected_purchases' or 'probability_alive', got {quantity!r}."
        )
    fitted = model._data
    if T is None:
        T = float(fitted["T"].max()) if fitted is not None else 52.0
    if max_frequency is None:
        max_frequency = (
            max(5, int(np.quantile(fitted["frequency"], 0.99))) if fitted is not None else 20
        )
    # Recency at the centres of the image's cells on [0, T]: a repeat purchase comes after
    # the first, so recency 0 with repeat purchases is not a possible history.
    centres = (np.arange(n_recency) + 0.5) * T / n_recency
    frequency, recency = np.meshgrid(np.arange(max_frequency + 1), centres, indexing="ij")
    recency = np.where(frequency == 0, 0.0, recency)  # no repeat purchase: recency 0
    grid = pd.DataFrame(
        {"frequency": frequency.ravel(), "recency": recency.ravel(), "T": T}
    ).assign(customer_id=lambda d: np.arange(len(d)))
    if quantity == "expected_purchases":
        values = model.expected_purchases(grid, t=t)
        label = f"expected purchases in the next {t:g} {time_unit}"
        bar_label = f"expected number of purchases in the next {t:g} {time_unit}"
    else:
        values = model.probability_alive(grid)
        label = "P(alive)"
        bar_label = "P(alive): probability that the customer is still active"
    matrix = values.mean(("chain", "draw")).to_numpy().reshape(frequency.shape)
    ax = _axes(ax)
    image = ax.imshow(
        matrix,
        origin="lower",
        aspect="auto",
        cmap="viridis",
        extent=(0.0, T, -0.5, max_frequency + 0.5),
    )
    plt.colorbar(image, ax=ax, label=bar_label)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(
        xlabel=f"recency: time of the last repeat purchase ({time_unit})",
        ylabel="frequency (repeat purchases)",
        title=f"{display_name(model)}: {label} (T = {T:g} {time_unit})",
    )
    return ax


def plot_calibration_vs_holdout(
    model: BuyTillYouDieModel,
    data: pd.DataFrame,
    max_frequency: int = 7,
    ax: Axes | None = None,
) -> Axes:
    """Mean holdout purchases against the model's conditional expectation, by
    calibration frequency (the last group pools ``max_frequency`` and above).

    The one-model case of :func:`clvlab.plots.comparison.plot_conditional_expectations`.

    Parameters
    ----------
    model : BuyTillYouDieModel
        A fitted model.
    data : pandas.DataFrame
        Per-customer table with ``frequency_holdout`` and ``duration_holdout``, e.g.
        :func:`clvlab.rfm.summarize` with an observation end.
    """
    predictions = holdout_predictions({display_name(model): model}, data)
    return plot_conditional_expectations(predictions, max_frequency, ax=ax)


def plot_period_transactions(
    model: BuyTillYouDieModel,
    data: pd.DataFrame | None = None,
    max_frequency: int = 7,
    random_seed: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Customers by number of repeat purchases: observed vs posterior predictive.

    Bars show the observed counts; points and whiskers the mean and 94% interval of the
    counts in replicated data sets (:meth:`sample_posterior_predictive`).
    """
    frame = model._data_or_fit_data(data)
    replicated = model.sample_posterior_predictive(data, random_seed=random_seed)["frequency"]
    values = np.minimum(replicated.to_numpy(), max_frequency).reshape(-1, len(frame))
    counts = np.stack([np.bincount(row, minlength=max_frequency + 1) for row in values.astype(int)])
    observed = np.bincount(
        np.minimum(frame["frequency"].to_numpy().astype(int), max_frequency),
        minlength=max_frequency + 1,
    )
    positions = np.arange(max_frequency + 1)
    ax = _axes(ax)
    ax.bar(positions, observed, color="C0", alpha=0.6, label="observed")
    low, high = np.percentile(counts, [3, 97], axis=0)
    mean = counts.mean(axis=0)
    ax.errorbar(
        positions,
        mean,
        yerr=[mean - low, high - mean],
        fmt="o",
        color="C1",
        label=f"{display_name(model)} (94% interval)",
    )
    labels = [str(p) for p in positions]
    labels[-1] = f"{max_frequency}+"
    ax.set_xticks(positions, labels)
    ax.set(
        xlabel="repeat purchases in the calibration period",
        ylabel="customers",
        title="Repeat purchases: observed vs replicated",
    )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return ax


def plot_posterior_vs_mle(
    model: BuyTillYouDieModel,
    mle: BuyTillYouDieModel | None = None,
    axes: np.ndarray | None = None,
) -> np.ndarray:
    """Posterior of each parameter against the maximum likelihood estimate.

    Parameters
    ----------
    model : BuyTillYouDieModel
        A model fitted by ``"nuts"`` or ``"advi"``.
    mle : BuyTillYouDieModel, optional
        The same model fitted by ``"mle"``; fitted on ``model``'s data if not given.
    axes : array of matplotlib Axes, optional
        One per parameter.

    Returns
    -------
    numpy.ndarray of Axes
    """
    if mle is None:
        mle = type(model)().fit(model._data_or_fit_data(None), method="mle")
    names = model.param_names
    if axes is None:
        _, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3))
    axes = np.atleast_1d(axes)
    posterior = model.posterior
    for ax, name in zip(axes, names, strict=True):
        sns.histplot(posterior[name].to_numpy().ravel(), stat="density", color="C0", ax=ax)
        estimate = mle.params[name]
        ax.axvline(estimate, color="C3", label="MLE")
        if mle.standard_errors_ is not None:
            se = mle.standard_errors_[name]
            ax.axvspan(estimate - 1.96 * se, estimate + 1.96 * se, color="C3", alpha=0.15)
        ax.set(title=name, xlabel=name, ylabel="")
    axes[0].legend()
    axes[0].set_ylabel("posterior density")
    return axes
