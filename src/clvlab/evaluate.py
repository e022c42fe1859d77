"""Evaluation tables: fitted buy-till-you-die models judged on the same holdout period.

A fair comparison gives every model the same calibration data and judges them on the same
holdout period:

* :func:`holdout_predictions` - per customer, the actual holdout purchases and each
  model's expected purchases over the same holdout duration (posterior means);
* :func:`holdout_errors` - per model, the mean absolute error and root mean squared error
  of those per-customer predictions, and the aggregate (total) purchases against the actual;
* :func:`conditional_expectations` - mean actual and expected holdout purchases by
  calibration frequency (FHL 2005, Figure 4).

Models are passed as a mapping ``{label: fitted model}``; the labels name the columns.
:mod:`clvlab.plots.comparison` draws these tables.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from clvlab.models.btyd import BuyTillYouDieModel

__all__ = ["conditional_expectations", "holdout_errors", "holdout_predictions"]

Models = Mapping[str, BuyTillYouDieModel]


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
