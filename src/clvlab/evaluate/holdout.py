"""Holdout tables: fitted models judged on the same customers and the same holdout period.

A fair comparison gives every model the same calibration data and judges them on the same
holdout period:

* :func:`expected_holdout_purchases` - one model's expected purchases of each customer
  over the customer's holdout duration, at every posterior draw;
* :func:`holdout_predictions` - per customer, the actual holdout purchases and each
  model's expected purchases over the same holdout duration (posterior means);
* :func:`holdout_errors` - per model, the mean absolute error and root mean squared error
  of those per-customer predictions, and the aggregate (total) purchases against the actual;
* :func:`holdout_log_scores` - the log predictive probability of each customer's actual
  holdout purchases (a proper score);
* :func:`conditional_expectations` - mean actual and expected holdout purchases by
  calibration frequency (FHL 2005, Figure 4).

Models are passed as a mapping ``{label: fitted model}``; the labels name the columns.
:mod:`clvlab.plots.comparison` draws these tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np
import pandas as pd
import xarray as xr

from clvlab.evaluate.scores import point_metrics

__all__ = [
    "HoldoutForecaster",
    "Models",
    "conditional_expectations",
    "expected_holdout_purchases",
    "holdout_errors",
    "holdout_log_scores",
    "holdout_predictions",
    "require_holdout",
]


class HoldoutForecaster(Protocol):
    """What the evaluation needs of a model: a fitted buy-till-you-die model or a
    :mod:`~clvlab.evaluate.baselines` baseline."""

    method: str | None

    def expected_purchases(self, data: pd.DataFrame, *, t: float) -> xr.DataArray: ...

    def probability_of_purchases(self, data: pd.DataFrame, *, n: int, t: float) -> xr.DataArray: ...


Models = Mapping[str, HoldoutForecaster]


def require_holdout(data: pd.DataFrame) -> None:
    """Raise ValueError unless ``data`` carries the holdout columns."""
    missing = [c for c in ("frequency_holdout", "duration_holdout") if c not in data.columns]
    if missing:
        raise ValueError(
            f"data lacks {missing}; summarise with an observation end "
            "(clvlab.rfm.summarize(log, calibration_end, observation_end))."
        )


def expected_holdout_purchases(model: HoldoutForecaster, data: pd.DataFrame) -> np.ndarray:
    """Expected purchases of each customer over their holdout duration, per draw.

    Returns
    -------
    numpy.ndarray
        Shape ``(draws, customers)``: chains and draws flattened, customers in the order of
        ``data``; one draw for point fits and baselines.
    """
    require_holdout(data)
    durations = data["duration_holdout"].to_numpy(dtype=float)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for duration in np.unique(durations):  # usually one holdout length for everyone
        rows = np.flatnonzero(durations == duration)
        prediction = model.expected_purchases(data.iloc[rows], t=float(duration))
        parts.append((rows, prediction.stack(sample=("chain", "draw")).transpose().to_numpy()))
    expected = np.empty((parts[0][1].shape[0], len(data)))
    for rows, values in parts:
        expected[:, rows] = values
    return expected


def holdout_predictions(models: Models, data: pd.DataFrame) -> pd.DataFrame:
    """Actual and expected holdout purchases per customer, one column per model.

    Parameters
    ----------
    models : mapping of str to fitted model
        Fitted models (or baselines), keyed by the label used for their column.
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
    require_holdout(data)
    table = pd.DataFrame(
        {
            "customer_id": data["customer_id"].to_numpy(),
            "frequency": data["frequency"].to_numpy(),
            "actual": data["frequency_holdout"].to_numpy(dtype=float),
        }
    )
    for label, model in models.items():
        table[label] = expected_holdout_purchases(model, data).mean(axis=0)
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
        total (``total_error``, predicted / actual - 1); see
        :func:`clvlab.evaluate.scores.point_metrics`, and
        :func:`clvlab.evaluate.compare_models` for every metric with intervals.
    """
    models = [c for c in predictions.columns if c not in ("customer_id", "frequency", "actual")]
    actual = predictions["actual"].to_numpy(dtype=float)
    rows = {}
    for label in models:
        metrics = point_metrics(actual, predictions[label].to_numpy(dtype=float))
        rows[label] = {
            "MAE": metrics["mae"],
            "RMSE": metrics["rmse"],
            "predicted_total": metrics["predicted_total"],
            "actual_total": metrics["actual_total"],
            "total_error": metrics["total_error"],
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


def holdout_log_scores(model: HoldoutForecaster, data: pd.DataFrame) -> np.ndarray:
    """Log predictive probability of each customer's actual holdout purchases.

    .. math::

        \\log p(y_i) = \\log \\frac1S \\sum_{s=1}^{S} P(Y_i(t_i) = y_i \\mid x_i, t_{x,i},
        T_i, \\theta_s),

    the model's distribution of holdout purchases (``probability_of_purchases``)
    averaged over the posterior draws :math:`\\theta_s` (one draw for a point fit) and
    evaluated at the actual count :math:`y_i` over the customer's holdout duration
    :math:`t_i`. Its sum is the holdout log score, a proper scoring rule: it rewards the
    whole predicted distribution, not only its mean. Higher is better; ``-inf`` where a
    forecast gave the actual count probability 0.

    Returns
    -------
    numpy.ndarray
        One value per customer, in the order of ``data``.
    """
    require_holdout(data)
    counts = data["frequency_holdout"].to_numpy()
    durations = data["duration_holdout"].to_numpy(dtype=float)
    scores = np.empty(len(data))
    groups = pd.DataFrame({"n": counts, "t": durations}).groupby(["n", "t"]).indices
    for (n, t), rows in groups.items():
        probability = model.probability_of_purchases(data.iloc[rows], n=int(n), t=float(t))
        with np.errstate(divide="ignore"):
            scores[rows] = np.log(probability.mean(("chain", "draw")).to_numpy())
    return scores


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
