"""From a transaction log to per-customer recency, frequency and monetary (RFM) summaries.

The summary follows the conventions of Fader, Hardie & Lee (2005), "Counting your
customers the easy way", Marketing Science 24(2), used by every buy-till-you-die model:

* Purchases of one customer on the same calendar day are merged into one purchase (their
  amounts added). The number of rows merged is reported, never dropped silently.
* Time runs from each customer's **first purchase** (time 0). The first purchase only marks
  the start: it is not counted as a repeat purchase and its value is left out of the
  monetary value, which is why models of repeat buying use it this way.
* ``frequency`` :math:`x` is the number of repeat purchases (purchase days after the
  first) up to and including the calibration end.
* ``recency`` :math:`t_x` is the time of the last of those purchases after the first
  (0 when :math:`x = 0`).
* ``T`` is the customer's age at the calibration end: calibration end minus first purchase.
* ``monetary_value`` :math:`\\bar z` is the mean value of the :math:`x` repeat purchases
  (0 when :math:`x = 0`).
* With an observation end, the holdout period runs from the day after the calibration end
  to the observation end: ``frequency_holdout`` counts purchase days in it,
  ``monetary_value_holdout`` is their mean value and ``duration_holdout`` its length.

Times are expressed in ``time_unit``: days (``"D"``) or weeks (``"W"``, days / 7), as in
FHL (2005), where a CDNOW customer who first bought on 1997-01-01 has
:math:`T = 272 / 7 = 38.86` weeks at the calibration end 1997-09-30.

Customers whose first purchase falls after the calibration end are not customers yet at
that time: they are left out of the summary and counted in ``summary.attrs``. A
calibration or observation end after the last purchase in the log gives a
``UserWarning``: the days past the log's end would count as days without purchases.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError

TIME_UNITS: dict[str, int] = {"D": 1, "W": 7}
"""Supported time units and their length in days."""


def _days_per_unit(time_unit: str) -> int:
    try:
        return TIME_UNITS[time_unit]
    except KeyError:
        raise DataValidationError(
            f"time_unit {time_unit!r} is not supported; use one of {sorted(TIME_UNITS)} "
            "(D = days, W = weeks)"
        ) from None


def _merged_days(
    log: pd.DataFrame, customer: str, date: str, amount: str | None
) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray | None, int]:
    """Merge same-day purchases with array operations (fast on millions of rows).

    Returns the sorted customer ids, then per purchase day (sorted by customer and day) the
    customer's position in those ids, the day (days since 1970-01-01), the summed amount
    (or None), and the number of rows merged away.
    """
    for column in (customer, date) + ((amount,) if amount else ()):
        if column not in log.columns:
            raise DataValidationError(
                f"column '{column}' not found in the log (columns: {list(log.columns)}); "
                "run clvlab.transactions.validate first or pass the column names"
            )
    if not pd.api.types.is_datetime64_any_dtype(log[date]):
        raise DataValidationError(
            f"column '{date}' holds {log[date].dtype}, not dates; run "
            "clvlab.transactions.validate on the log first"
        )
    codes, customers = pd.factorize(log[customer], sort=True)
    if (codes < 0).any():
        raise DataValidationError(
            f"column '{customer}' has missing ids in rows "
            f"{list(log.index[codes < 0][:5])}; run clvlab.transactions.validate first"
        )
    days = log[date].to_numpy(dtype="datetime64[D]").astype(np.int64)
    if amount:
        values = log[amount].to_numpy(dtype=np.float64)
    # One int64 key orders by customer, then day.
    span = int(days.max() - days.min()) + 1
    key = codes.astype(np.int64) * span + (days - days.min())
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    codes, days = codes[order][starts], days[order][starts]
    summed = np.add.reduceat(values[order], starts) if amount else None
    return customers, codes, days, summed, len(log) - len(starts)


def purchase_periods(
    log: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: str | None = "amount",
) -> pd.DataFrame:
    """One row per customer and purchase day, same-day purchases merged.

    Parameters
    ----------
    log : DataFrame
        A clean transaction log (see :func:`clvlab.transactions.validate`).
    customer, date, amount : str
        Column names; ``amount=None`` (or a log without it) gives no amount column.

    Returns
    -------
    DataFrame
        Columns ``customer_id``, ``date`` and ``amount`` (the day's total), sorted; the
        number of merged rows is in ``attrs["merged_same_day"]``.
    """
    amount = amount if amount in log.columns else None
    customers, codes, days, summed, merged = _merged_days(log, customer, date, amount)
    frame = pd.DataFrame(
        {"customer_id": customers.take(codes), "date": days.astype("datetime64[D]")}
    )
    frame["date"] = frame["date"].astype("datetime64[ns]")
    if summed is not None:
        frame["amount"] = summed
    frame.attrs["merged_same_day"] = merged
    return frame


def summarize(
    log: pd.DataFrame,
    calibration_end: str | pd.Timestamp | None = None,
    observation_end: str | pd.Timestamp | None = None,
    time_unit: str = "W",
    customer: str = "customer_id",
    date: str = "date",
    amount: str | None = "amount",
    *,
    compressed: bool = False,
) -> pd.DataFrame:
    """Summarise a transaction log into one RFM row per customer (FHL 2005 conventions).

    Parameters
    ----------
    log : DataFrame, DuckDB relation, PySpark DataFrame or path
        A clean transaction log, one row per purchase (see
        :func:`clvlab.transactions.validate`). A DuckDB relation, a PySpark DataFrame or
        the path of a Parquet file, directory or glob (or a CSV file) is summarised inside
        DuckDB or Spark and never loaded into pandas whole; the result then stays in that
        engine (see :func:`clvlab.engines.summary.summarize`).
    calibration_end : date-like, optional
        Last day of the calibration period (inclusive). Defaults to the last purchase date.
    observation_end : date-like, optional
        Last day of the holdout period; adds the holdout columns.
    time_unit : {"W", "D"}
        Unit of ``recency``, ``T`` and ``duration_holdout``: weeks (days / 7) or days.
    customer, date, amount : str
        Column names in ``log``. Without an amount column, the monetary columns are left
        out.
    compressed : bool
        Return instead the distinct :math:`(x, t_x, T)` rows of the calibration period with
        their customer counts (column ``customers``), computed in DuckDB or Spark, which
        every BTYD model fits directly: ``BetaGeo(weights="customers").fit(table)`` (see
        :func:`clvlab.engines.summary.compressed`; ``observation_end`` and ``amount`` are
        not used).

    Returns
    -------
    DataFrame
        One row per customer who bought on or before ``calibration_end``, sorted by
        ``customer_id``, with columns ``customer_id``, ``frequency`` (:math:`x`),
        ``recency`` (:math:`t_x`), ``T``, ``monetary_value`` (:math:`\\bar z`),
        ``first_purchase`` and, with an observation end, ``frequency_holdout``,
        ``monetary_value_holdout``, ``duration_holdout``. ``attrs`` holds
        ``merged_same_day`` (rows merged), ``customers_after_calibration`` (customers left
        out), ``calibration_end``, ``observation_end`` and ``time_unit``.

    Raises
    ------
    DataValidationError
        Unknown time unit, an observation end before the calibration end, a missing column
        or no customer bought by the calibration end.

    Examples
    --------
    >>> from clvlab import datasets, rfm
    >>> summary = rfm.summarize(datasets.load_cdnow(), "1997-09-30", "1998-06-30")
    >>> int(summary["frequency"].sum()), int(summary["frequency_holdout"].sum())
    (2457, 1882)
    >>> table = rfm.summarize(datasets.load_cdnow(), "1997-09-30", compressed=True)
    >>> len(table), int(table["customers"].sum())
    (1016, 2357)
    """
    if compressed or not isinstance(log, pd.DataFrame):
        from clvlab.engines import summary as engine

        if compressed:
            return engine.compressed(log, calibration_end, time_unit, customer, date)
        return engine.summarize(
            log, calibration_end, observation_end, time_unit, customer, date, amount
        )
    unit_days = _days_per_unit(time_unit)
    amount = amount if amount and amount in log.columns else None
    customers, codes, days, summed, merged = _merged_days(log, customer, date, amount)

    last_day = int(days.max())
    cal_end, obs_end = period_ends(calibration_end, observation_end, last_day)

    n = len(customers)
    # Days are sorted within each customer, so the first row of a customer is its first day.
    is_first = np.r_[True, codes[1:] != codes[:-1]]
    first = days[is_first]
    since_first = days - first[codes]
    repeat = ~is_first & (days <= cal_end)

    frequency = np.bincount(codes, weights=repeat, minlength=n)
    last = np.zeros(n, dtype=np.int64)
    np.maximum.at(last, codes[repeat], since_first[repeat])
    columns: dict[str, np.ndarray | pd.Index] = {
        "customer_id": customers,
        "frequency": frequency.astype(np.int64),
        "recency": last / unit_days,
        "T": (cal_end - first) / unit_days,
    }
    if summed is not None:
        columns["monetary_value"] = _mean(codes, summed, repeat, frequency, n)
    columns["first_purchase"] = first.astype("datetime64[D]").astype("datetime64[ns]")
    if obs_end is not None:
        holdout = (days > cal_end) & (days <= obs_end)
        frequency_holdout = np.bincount(codes, weights=holdout, minlength=n)
        columns["frequency_holdout"] = frequency_holdout.astype(np.int64)
        if summed is not None:
            columns["monetary_value_holdout"] = _mean(codes, summed, holdout, frequency_holdout, n)
        columns["duration_holdout"] = np.full(n, (obs_end - cal_end) / unit_days)

    summary = pd.DataFrame(columns)
    acquired = first <= cal_end
    if not acquired.any():
        raise DataValidationError(
            f"no customer bought on or before calibration_end {calibration_end}; the first "
            f"purchase in the log is {first.min().astype('datetime64[D]')}"
        )
    summary = summary.loc[acquired].reset_index(drop=True)
    summary.attrs = {
        "merged_same_day": merged,
        "customers_after_calibration": int((~acquired).sum()),
        "calibration_end": str(np.datetime64(cal_end, "D")),
        "observation_end": None if obs_end is None else str(np.datetime64(obs_end, "D")),
        "time_unit": time_unit,
    }
    return summary


def day_number(value: str | pd.Timestamp) -> int:
    """A date-like value as whole days since 1970-01-01 (the time of day is dropped)."""
    try:
        timestamp = pd.Timestamp(value)
    except (ValueError, TypeError) as err:
        raise DataValidationError(f"cannot read {value!r} as a date: {err}") from None
    if pd.isna(timestamp):
        raise DataValidationError(f"cannot read {value!r} as a date: it is empty")
    return int(np.datetime64(timestamp.date(), "D").astype(np.int64))


def period_ends(
    calibration_end: str | pd.Timestamp | None,
    observation_end: str | pd.Timestamp | None,
    last_day: int,
    *,
    stacklevel: int = 4,
) -> tuple[int, int | None]:
    """The calibration and observation ends as day numbers (the calibration end defaults to
    ``last_day``, the log's last purchase day), checked for order; warns when either lies
    after ``last_day`` (days without purchases that the log may simply not cover)."""
    cal_end = day_number(calibration_end) if calibration_end is not None else last_day
    obs_end = day_number(observation_end) if observation_end is not None else None
    if obs_end is not None and obs_end < cal_end:
        raise DataValidationError(
            f"observation_end {observation_end} is before calibration_end {calibration_end}; "
            "the holdout period must follow the calibration period"
        )
    warn_after_last_purchase(
        "calibration_end",
        cal_end,
        last_day,
        "T counts those days as time without purchases, which makes customers look "
        "inactive; if the log ends earlier, set calibration_end to its end",
        stacklevel=stacklevel,
    )
    if obs_end is not None:
        warn_after_last_purchase(
            "observation_end",
            obs_end,
            last_day,
            "the holdout period counts those days as time without purchases; if the log "
            "ends earlier, set observation_end to its end",
            stacklevel=stacklevel,
        )
    return cal_end, obs_end


def warn_after_last_purchase(
    name: str, day: int, last_day: int, consequence: str, stacklevel: int = 3
) -> None:
    """Warn (``UserWarning``) when the date ``name`` (day ``day``) lies after the last
    purchase in the log (day ``last_day``): the log may have ended before it.

    ``consequence`` says what the gap does to the result and how to avoid it;
    ``stacklevel`` as in :func:`warnings.warn`, counted from this function.
    """
    if day <= last_day:
        return
    warnings.warn(
        f"{name} {np.datetime64(day, 'D')} is {day - last_day:,} days after the last purchase "
        f"in the log ({np.datetime64(last_day, 'D')}): {consequence}",
        UserWarning,
        stacklevel=stacklevel,
    )


def _mean(
    codes: np.ndarray, values: np.ndarray, mask: np.ndarray, counts: np.ndarray, n: int
) -> np.ndarray:
    """Per-customer mean of ``values`` over the rows in ``mask`` (0 where there are none)."""
    totals = np.bincount(codes, weights=np.where(mask, values, 0.0), minlength=n)
    return np.divide(totals, counts, out=np.zeros(n), where=counts > 0)


def summarize_discrete(
    log: pd.DataFrame,
    calibration_end: str | pd.Timestamp | None = None,
    time_unit: str = "W",
    customer: str = "customer_id",
    date: str = "date",
) -> pd.DataFrame:
    """Summarise a log for a discrete-time model (BG/BB): each ``time_unit`` after a
    customer's first purchase is one transaction opportunity.

    Opportunity :math:`j` of a customer holds the days ``first + j * u`` to
    ``first + (j + 1) * u - 1`` (:math:`u` days per unit; opportunity 0 holds the first
    purchase). Up to the calibration end, ``frequency`` :math:`x` counts the
    opportunities 1, 2, ... with a purchase, ``recency`` :math:`t_x` is the last of them
    (0 when :math:`x = 0`) and ``periods`` :math:`n` is the opportunity that holds the
    calibration end (observed up to that day). At most one transaction counts per
    opportunity: purchase days beyond the first in an opportunity are merged and counted
    in ``attrs["merged_same_opportunity"]``. With ``time_unit="D"`` this is the daily
    summary of :func:`summarize` with ``periods = T``.

    Returns
    -------
    DataFrame
        One row per customer who bought on or before ``calibration_end``, sorted by
        ``customer_id``: ``customer_id``, ``frequency``, ``recency``, ``periods`` (whole
        numbers) and ``first_purchase``; ``attrs`` holds ``merged_same_opportunity``,
        ``customers_after_calibration``, ``calibration_end`` and ``time_unit``.
    """
    unit_days = _days_per_unit(time_unit)
    customers, codes, days, _, _ = _merged_days(log, customer, date, None)
    cal_end = day_number(calibration_end) if calibration_end is not None else int(days.max())
    n = len(customers)
    is_first = np.r_[True, codes[1:] != codes[:-1]]
    first = days[is_first]
    opportunity = (days - first[codes]) // unit_days
    repeat = (opportunity > 0) & (days <= cal_end)
    # Days are sorted within a customer: a new opportunity starts where the index changes.
    new = repeat & np.r_[True, (codes[1:] != codes[:-1]) | (opportunity[1:] != opportunity[:-1])]
    recency = np.zeros(n, dtype=np.int64)
    np.maximum.at(recency, codes[new], opportunity[new])
    acquired = first <= cal_end
    if not acquired.any():
        raise DataValidationError(
            f"no customer bought on or before calibration_end {calibration_end}; the first "
            f"purchase in the log is {first.min().astype('datetime64[D]')}"
        )
    summary = pd.DataFrame(
        {
            "customer_id": customers,
            "frequency": np.bincount(codes, weights=new, minlength=n).astype(np.int64),
            "recency": recency,
            "periods": (cal_end - first) // unit_days,
            "first_purchase": first.astype("datetime64[D]").astype("datetime64[ns]"),
        }
    )
    summary = summary.loc[acquired].reset_index(drop=True)
    summary.attrs = {
        "merged_same_opportunity": int(repeat.sum() - new.sum()),
        "customers_after_calibration": int((~acquired).sum()),
        "calibration_end": str(np.datetime64(cal_end, "D")),
        "time_unit": time_unit,
    }
    return summary
