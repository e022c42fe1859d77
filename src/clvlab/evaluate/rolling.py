"""Rolling-origin evaluation: the same comparison at several calibration cut-offs.

One holdout period is one draw of history. Moving the calibration end through the log
(each time refitting every model on the data up to it and judging it on the following
holdout window of fixed length) shows whether a ranking of models is stable or an
accident of one cut-off (Tashman 2000).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from clvlab import rfm
from clvlab.evaluate.comparison import compare_models

__all__ = ["rolling_origin"]


def rolling_origin(
    log: pd.DataFrame,
    models: Mapping[str, Callable[[], Any]],
    cutoffs: Sequence[str | pd.Timestamp],
    *,
    holdout: str | pd.Timedelta,
    method: str = "mle",
    time_unit: str = "W",
    customer: str = "customer_id",
    date: str = "date",
    fit_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Fit and compare every model at each calibration cut-off; one tidy table.

    Parameters
    ----------
    log : pandas.DataFrame
        Clean transaction log (:func:`clvlab.transactions.validate`).
    models : mapping of str to callable
        Label -> a callable returning an unfitted model, e.g. ``{"BG/NBD": BetaGeo}``.
    cutoffs : sequence of date-like
        Calibration ends.
    holdout : str or pandas.Timedelta
        Length of each holdout window, e.g. ``"13W"`` or ``"91D"``; it must end by the
        last purchase in the log.
    method : str
        Fitting method of every model.
    time_unit : {"W", "D"}
        Time unit of the summaries.
    customer, date : str
        Column names of ``log``.
    fit_options : mapping, optional
        Passed to each ``fit`` (e.g. ``draws``, ``random_seed``).
    **options
        Passed to :func:`clvlab.evaluate.compare_models` (e.g. ``baselines=False``).

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`clvlab.evaluate.compare_models` for each cut-off, with first
        columns ``calibration_end`` and ``observation_end``.

    Raises
    ------
    ValueError
        If a holdout window ends after the last purchase of the log (its days would
        count as days without purchases).
    """
    length = pd.Timedelta(holdout)
    last = pd.Timestamp(log[date].max()).normalize()
    tables = []
    for cutoff in cutoffs:
        calibration_end = pd.Timestamp(cutoff).normalize()
        observation_end = calibration_end + length
        if observation_end > last:
            raise ValueError(
                f"the holdout after cut-off {calibration_end.date()} ends "
                f"{observation_end.date()}, after the log's last purchase ({last.date()}); "
                "choose earlier cut-offs or a shorter holdout."
            )
        summary = rfm.summarize(
            log, calibration_end, observation_end, time_unit, customer, date, amount=None
        )
        fitted = {
            label: make().fit(summary, method=method, **dict(fit_options or {}))
            for label, make in models.items()
        }
        table = compare_models(fitted, summary, **options)
        table.insert(0, "observation_end", observation_end)
        table.insert(0, "calibration_end", calibration_end)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)
