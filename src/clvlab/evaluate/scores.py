"""Error measures of holdout forecasts, on arrays: point metrics and a paired bootstrap.

With actual holdout purchases :math:`y_i` and forecasts :math:`\\hat y_i` of
:math:`n` customers:

* ``mae`` :math:`= \\frac1n \\sum_i |\\hat y_i - y_i|`;
* ``rmse`` :math:`= \\sqrt{\\frac1n \\sum_i (\\hat y_i - y_i)^2}`;
* ``bias`` :math:`= \\frac1n \\sum_i (\\hat y_i - y_i)` (positive: the forecast is too
  high);
* ``correlation``: Pearson's :math:`r` of :math:`\\hat y` and :math:`y` (NaN where either
  is constant);
* ``predicted_total`` :math:`= \\sum_i \\hat y_i`, ``actual_total`` :math:`= \\sum_i y_i`
  and ``total_error`` :math:`= \\sum_i \\hat y_i / \\sum_i y_i - 1`, the aggregate error
  that tracking plots show.

Forecasts may come as one row per posterior draw: every metric is then computed per draw.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["METRICS", "paired_bootstrap", "point_metrics"]


def _correlation(predicted: np.ndarray, actual: np.ndarray) -> np.ndarray:
    predicted = predicted - predicted[..., :1]  # a constant forecast becomes exactly 0
    centred_p = predicted - predicted.mean(axis=-1, keepdims=True)
    centred_a = actual - actual.mean()
    scale = np.sqrt((centred_p**2).sum(axis=-1) * (centred_a**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, (centred_p * centred_a).sum(axis=-1) / scale, np.nan)


#: Per-customer metrics as functions of the forecasts (last axis: customers) and actuals.
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "mae": lambda p, a: np.abs(p - a).mean(axis=-1),
    "rmse": lambda p, a: np.sqrt(((p - a) ** 2).mean(axis=-1)),
    "bias": lambda p, a: (p - a).mean(axis=-1),
    "correlation": _correlation,
}


def point_metrics(actual: ArrayLike, predicted: ArrayLike) -> dict[str, np.ndarray | float]:
    """The metrics of the module documentation for one forecast or one per draw.

    Parameters
    ----------
    actual : array-like, shape (n,)
        Holdout purchases per customer.
    predicted : array-like, shape (n,) or (draws, n)
        Forecasts per customer (per draw).

    Returns
    -------
    dict
        ``mae``, ``rmse``, ``bias``, ``correlation``, ``predicted_total``,
        ``actual_total``, ``total_error``: floats for one forecast, arrays (one value per
        draw) for several; ``actual_total`` is always a float.

    Examples
    --------
    >>> m = point_metrics([0, 1, 2, 5], [1, 1, 0, 5])
    >>> m["mae"], m["bias"], m["total_error"]
    (0.75, -0.25, -0.125)
    """
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if predicted.shape[-1] != actual.shape[0]:
        raise ValueError(
            f"{predicted.shape[-1]} forecasts for {actual.shape[0]} customers; pass one per "
            "customer."
        )
    actual_total = float(actual.sum())
    predicted_total = predicted.sum(axis=-1)
    values = {name: f(predicted, actual) for name, f in METRICS.items()}
    values["predicted_total"] = predicted_total
    with np.errstate(divide="ignore", invalid="ignore"):
        values["total_error"] = predicted_total / actual_total - 1.0
    out: dict[str, np.ndarray | float] = {
        k: float(v) if np.ndim(v) == 0 else v for k, v in values.items()
    }
    out["actual_total"] = actual_total
    return out


def paired_bootstrap(
    actual: ArrayLike,
    first: ArrayLike,
    second: ArrayLike,
    *,
    metric: str = "mae",
    n_resamples: int = 2000,
    interval: float = 0.94,
    seed: int | None = 0,
) -> dict[str, float]:
    """Difference of a metric between two forecasts of the same customers, with a paired
    bootstrap interval.

    Customers are resampled with replacement, the same customers for both forecasts (the
    pairing removes the variation that both share), and ``metric(first) -
    metric(second)`` is recomputed on each resample.

    Parameters
    ----------
    actual, first, second : array-like, shape (n,)
        Holdout purchases and two point forecasts of them.
    metric : {"mae", "rmse", "bias", "correlation"}
        The metric compared.
    n_resamples : int
        Number of bootstrap resamples.
    interval : float
        Probability of the central percentile interval.
    seed : int, optional
        Seed of the resampling.

    Returns
    -------
    dict
        ``difference`` (on the data), ``low``, ``high`` (percentile interval) and ``share``
        (fraction of resamples in which ``first`` has the larger metric).
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, got {metric!r}.")
    actual = np.asarray(actual, dtype=float)
    both = np.stack([np.asarray(first, dtype=float), np.asarray(second, dtype=float)])
    f = METRICS[metric]
    observed = f(both, actual)
    rng = np.random.default_rng(seed)
    differences = np.empty(n_resamples)
    for k in range(n_resamples):
        rows = rng.integers(0, actual.size, actual.size)
        values = f(both[:, rows], actual[rows])
        differences[k] = values[0] - values[1]
    tail = (1.0 - interval) / 2.0
    low, high = np.quantile(differences, [tail, 1.0 - tail])
    return {
        "difference": float(observed[0] - observed[1]),
        "low": float(low),
        "high": float(high),
        "share": float(np.mean(differences > 0)),
    }
