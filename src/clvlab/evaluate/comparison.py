"""Tidy comparison tables: every model (and the naive baselines) on the same holdout.

:func:`compare_models` gives one row per model with the metrics of
:mod:`clvlab.evaluate.scores` (point values from the posterior-mean forecast, and for
posterior fits ``*_low``/``*_high``: the central interval of each metric over the
posterior draws, i.e. the parameter uncertainty of the metric, not the sampling
variation of the customers; use :func:`clvlab.evaluate.scores.paired_bootstrap` for the
latter) and the holdout log score (sum of :func:`clvlab.evaluate.holdout.holdout_log_scores`
with its standard error :math:`\\sqrt{n}\\,\\mathrm{sd}_i(\\log p(y_i))`, as for
:math:`\\mathrm{elpd}`). :func:`comparison_table` stacks such tables across data sets.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from clvlab.evaluate.baselines import naive_baselines
from clvlab.evaluate.holdout import (
    Models,
    expected_holdout_purchases,
    holdout_log_scores,
    require_holdout,
)
from clvlab.evaluate.scores import METRICS, point_metrics

__all__ = [
    "INTERVAL_METRICS",
    "LITERATURE_NAMES",
    "compare_models",
    "comparison_table",
    "with_baselines",
]

#: Registry names of the transaction models -> their names in the literature.
LITERATURE_NAMES = {"bg-nbd": "BG/NBD", "mbg-nbd": "MBG/NBD", "pareto-nbd": "Pareto/NBD"}

#: Metrics that get an interval over the posterior draws.
INTERVAL_METRICS = (*METRICS, "predicted_total")


def with_baselines(models: Models, data: pd.DataFrame) -> dict:
    """``models`` followed by the naive baselines fitted on ``data``."""
    return {**models, **naive_baselines(data)}


def compare_models(
    models: Models,
    data: pd.DataFrame,
    *,
    baselines: bool = True,
    interval: float = 0.94,
    log_score: bool = True,
) -> pd.DataFrame:
    """Metrics of every model on the holdout period of ``data``, one row per model.

    Parameters
    ----------
    models : mapping of str to fitted model
        Fitted buy-till-you-die models keyed by their label (e.g. ``"BG/NBD"``).
    data : pandas.DataFrame
        Calibration summary with holdout columns (:func:`clvlab.rfm.summarize` with an
        observation end).
    baselines : bool
        Add the naive baselines (:mod:`clvlab.evaluate.baselines`), so that every model
        has something to beat.
    interval : float
        Probability of the central interval over posterior draws.
    log_score : bool
        Compute the holdout log score (costs one evaluation of the predicted
        distribution per distinct holdout count).

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``method``, ``customers``, ``mae``, ``rmse``, ``bias``,
        ``correlation``, ``predicted_total``, ``actual_total``, ``total_error``,
        ``log_score``, ``log_score_se``, and ``<metric>_low``/``<metric>_high`` for the
        metrics in :data:`INTERVAL_METRICS` (equal to the point value for point fits).
    """
    if not models:
        raise ValueError("pass at least one fitted model, e.g. {'BG/NBD': model}.")
    require_holdout(data)
    if baselines:
        models = with_baselines(models, data)
    actual = data["frequency_holdout"].to_numpy(dtype=float)
    tail = (1.0 - interval) / 2.0
    rows = []
    for label, model in models.items():
        draws = expected_holdout_purchases(model, data)
        row: dict[str, object] = {
            "model": label,
            "method": model.method,
            "customers": len(data),
            **point_metrics(actual, draws.mean(axis=0)),
        }
        per_draw = point_metrics(actual, draws)
        for name in INTERVAL_METRICS:
            values = np.atleast_1d(per_draw[name])
            values = values[np.isfinite(values)]  # a constant forecast has no correlation
            low, high = np.quantile(values, [tail, 1.0 - tail]) if values.size else (np.nan,) * 2
            row[f"{name}_low"], row[f"{name}_high"] = float(low), float(high)
        if log_score:
            scores = holdout_log_scores(model, data)
            row["log_score"] = float(scores.sum())
            with np.errstate(invalid="ignore"):
                row["log_score_se"] = float(np.sqrt(len(scores)) * np.std(scores))
        rows.append(row)
    order = ["model", "method", "customers"]
    order += [*METRICS, "predicted_total", "actual_total", "total_error"]
    order += ["log_score", "log_score_se"] if log_score else []
    order += [f"{name}_{end}" for name in INTERVAL_METRICS for end in ("low", "high")]
    return pd.DataFrame(rows)[order]


def comparison_table(
    cases: Mapping[str, tuple[Models, pd.DataFrame]], **options: object
) -> pd.DataFrame:
    """:func:`compare_models` for several data sets, stacked into one tidy table.

    Parameters
    ----------
    cases : mapping of str to (models, data)
        Per data-set label, the fitted models and the holdout table they are judged on
        (models fitted by several methods appear under several labels, their method in
        the column ``method``).
    **options
        Passed to :func:`compare_models`.

    Returns
    -------
    pandas.DataFrame
        The rows of every :func:`compare_models`, with a first column ``dataset``.
    """
    tables = [
        compare_models(models, data, **options).assign(dataset=name)
        for name, (models, data) in cases.items()
    ]
    table = pd.concat(tables, ignore_index=True)
    return table[["dataset", *[c for c in table.columns if c != "dataset"]]]
