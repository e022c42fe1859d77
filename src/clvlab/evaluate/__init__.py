"""Judging fitted CLV models fairly: the same customers, the same holdout, proper scores.

One module per job:

* :mod:`~clvlab.evaluate.holdout` - per-customer holdout forecasts, errors, log scores
  and conditional expectations by calibration frequency;
* :mod:`~clvlab.evaluate.scores` - the error metrics on arrays and a paired bootstrap;
* :mod:`~clvlab.evaluate.baselines` - naive forecasts every model has to beat;
* :mod:`~clvlab.evaluate.comparison` - tidy tables of every model (and the baselines)
  on one or several data sets;
* :mod:`~clvlab.evaluate.fit_checks` - frequency histogram of the calibration period
  and reliability of the predicted holdout activity;
* :mod:`~clvlab.evaluate.rolling` - the comparison repeated at several calibration
  cut-offs;
* :mod:`~clvlab.evaluate.loo` - PSIS-LOO of posterior fits through ArviZ, with Pareto-k
  warnings;
* :mod:`~clvlab.evaluate.tracking` - cohort repeat purchases per period, actual against
  predicted (FHL 2005's tracking plots).

Models are passed as a mapping ``{label: fitted model}``, labelled as in the literature
(``"BG/NBD"``); :mod:`clvlab.plots.comparison` and :mod:`clvlab.plots.evaluation` draw
the tables.
"""

from clvlab.evaluate.baselines import AverageRate, NaiveBaseline, OwnRate, naive_baselines
from clvlab.evaluate.comparison import compare_models, comparison_table, with_baselines
from clvlab.evaluate.fit_checks import activity_reliability, frequency_histogram
from clvlab.evaluate.holdout import (
    conditional_expectations,
    expected_holdout_purchases,
    holdout_errors,
    holdout_log_scores,
    holdout_predictions,
)
from clvlab.evaluate.loo import loo, loo_table
from clvlab.evaluate.rolling import rolling_origin
from clvlab.evaluate.scores import paired_bootstrap, point_metrics
from clvlab.evaluate.tracking import tracking

__all__ = [
    "AverageRate",
    "NaiveBaseline",
    "OwnRate",
    "activity_reliability",
    "compare_models",
    "comparison_table",
    "conditional_expectations",
    "expected_holdout_purchases",
    "frequency_histogram",
    "holdout_errors",
    "holdout_log_scores",
    "holdout_predictions",
    "loo",
    "loo_table",
    "naive_baselines",
    "paired_bootstrap",
    "point_metrics",
    "rolling_origin",
    "tracking",
    "with_baselines",
]
