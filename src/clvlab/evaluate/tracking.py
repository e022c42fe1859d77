"""Tracking: repeat purchases per period of a whole cohort, actual against predicted.

Fader, Hardie & Lee (2005, Figure 2-3) judge a model by the total repeat purchases of
all customers week by week, over the calibration period and the holdout period. The
forecast needs no customer's history, only when each customer made the first purchase:
a customer who first bought on day :math:`f_i` is expected to have made
:math:`E[X(t)]` repeat purchases by age :math:`t` (``expected_purchases_new_customer``),
so the expected cumulative repeat purchases of the cohort by the end of day :math:`D` are

.. math::

    \\hat C(D) = \\sum_{f} n_f \\, E[X((D - f)^+ / u)],

summed over the days :math:`f` on which :math:`n_f` customers made their first purchase
(the acquisition cohorts), with :math:`u` the length of a time unit in days. Incremental
purchases per period are the differences of :math:`\\hat C` at the period ends. With a
posterior fit every draw gives one curve: the table carries their mean and a central
interval.

Only customers who first bought by the calibration end are tracked (the customers that
the models were fitted to), and, as in :func:`clvlab.rfm.summarize`, purchases on the
same day count once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from clvlab.models.btyd import BuyTillYouDieModel
from clvlab.rfm import _days_per_unit, day_number, purchase_periods

__all__ = ["tracking"]


def tracking(
    log: pd.DataFrame,
    models: Mapping[str, BuyTillYouDieModel],
    *,
    calibration_end: str | pd.Timestamp,
    observation_end: str | pd.Timestamp,
    time_unit: str = "W",
    customer: str = "customer_id",
    date: str = "date",
    interval: float = 0.94,
) -> pd.DataFrame:
    """Actual and expected repeat purchases per period, over calibration and holdout.

    Parameters
    ----------
    log : pandas.DataFrame
        Clean transaction log (:func:`clvlab.transactions.validate`).
    models : mapping of str to BuyTillYouDieModel
        Models fitted to the calibration summary of ``log``, keyed by label.
    calibration_end, observation_end : date-like
        Last days of the calibration and holdout periods.
    time_unit : {"W", "D"}
        Period length (a week or a day) and unit of the models' time.
    customer, date : str
        Column names of ``log``.
    interval : float
        Probability of the central interval over posterior draws.

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per period and series (``"actual"`` or a model label) with
        ``period`` (1, 2, ...), ``period_end`` (its last day), ``phase``
        (``"calibration"`` or ``"holdout"``), ``series``, ``purchases`` (repeat
        purchases in the period), ``cumulative`` and, for models,
        ``purchases_low``/``purchases_high`` and ``cumulative_low``/``cumulative_high``
        (NaN for the actual series). ``attrs["calibration_end"]`` holds the end of
        calibration in time units since the first acquisition, for plots.

    Raises
    ------
    ValueError
        If the observation end is before the calibration end, or no customer bought by
        the calibration end.
    """
    unit = _days_per_unit(time_unit)
    cal_end, obs_end = day_number(calibration_end), day_number(observation_end)
    if obs_end < cal_end:
        raise ValueError(
            f"observation_end {observation_end} is before calibration_end {calibration_end}."
        )
    days_log = purchase_periods(log, customer, date, amount=None)
    days = days_log["date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    first = days_log.groupby("customer_id")["date"].transform("min")
    first = first.to_numpy(dtype="datetime64[D]").astype(np.int64)
    tracked = first <= cal_end
    if not tracked.any():
        raise ValueError(f"no customer bought on or before calibration_end {calibration_end}.")
    start = int(first[tracked].min())
    n_periods = -(-(obs_end - start + 1) // unit)
    ends = np.minimum(start - 1 + unit * np.arange(1, n_periods + 1), obs_end)

    repeat = tracked & (days > first) & (days <= obs_end)
    actual = np.bincount((days[repeat] - start) // unit, minlength=n_periods).astype(float)
    cohort_days, cohort_sizes = np.unique(first[(days == first) & tracked], return_counts=True)

    frame = pd.DataFrame(
        {
            "period": np.arange(1, n_periods + 1),
            "period_end": ends.astype("datetime64[D]").astype("datetime64[ns]"),
            "phase": np.where(ends <= cal_end, "calibration", "holdout"),
        }
    )
    tables = [frame.assign(series="actual", purchases=actual, cumulative=actual.cumsum())]
    tail = (1.0 - interval) / 2.0
    for label, model in models.items():
        cumulative = _expected_cumulative(model, cohort_days, cohort_sizes, ends, unit)
        incremental = np.diff(cumulative, axis=1, prepend=0.0)
        columns = {"series": label}
        for name, values in (("purchases", incremental), ("cumulative", cumulative)):
            low, high = np.quantile(values, [tail, 1.0 - tail], axis=0)
            columns.update({name: values.mean(axis=0), f"{name}_low": low, f"{name}_high": high})
        tables.append(frame.assign(**columns))
    table = pd.concat(tables, ignore_index=True)
    table.attrs = {
        "calibration_end": (cal_end - start + 1) / unit,
        "time_unit": time_unit,
        "start": str(np.datetime64(start, "D")),
    }
    return table


def _expected_cumulative(
    model: BuyTillYouDieModel,
    cohort_days: np.ndarray,
    cohort_sizes: np.ndarray,
    ends: np.ndarray,
    unit: int,
) -> np.ndarray:
    """:math:`\\hat C` at each period end, per draw: shape ``(draws, periods)``."""
    ages = np.clip(ends[None, :] - cohort_days[:, None], 0, None) / unit  # (cohorts, periods)
    distinct, position = np.unique(ages, return_inverse=True)
    position = position.reshape(ages.shape)
    # weights[j, k]: customers whose age at the end of period k is distinct[j]
    weights = np.zeros((distinct.size, ends.size))
    np.add.at(weights, (position, np.arange(ends.size)[None, :]), cohort_sizes[:, None])
    expected = model.expected_purchases_new_customer(t=distinct)
    per_draw = expected.stack(sample=("chain", "draw")).transpose("sample", "t").to_numpy()
    return per_draw @ weights
