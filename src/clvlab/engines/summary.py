"""RFM summaries computed inside the engine that holds the log (pandas, DuckDB, Spark).

One set of narwhals expressions implements the conventions of :mod:`clvlab.rfm` (FHL 2005)
for every engine, in two passes over the log:

1. A profile: rows, missing ids and dates, first and last purchase day (for the default
   calibration end, the warnings and the errors of the pandas path).
2. Purchase days: rows of one customer on one calendar day (the engine's own date cast)
   merged (amounts added, rows counted), then one aggregate per customer, with
   :math:`d_0` the first purchase day, :math:`c` the calibration end and :math:`D` the
   customer's purchase days up to :math:`c`:

   .. math::

       x = |D| - 1, \\quad
       t_x = \\max D - d_0, \\quad
       T = c - d_0, \\quad
       \\bar z = \\Big(\\sum_{d \\in D} z_d - z_{d_0}\\Big) / x,

   times divided by the days of the time unit. The first day's total :math:`z_{d_0}` is
   an aggregate of its own (:func:`first_day_amount`), so no window function or join is
   needed; :func:`compress` turns a written summary into the compressed table without
   reading the log again.

Day numbers come from the calendar fields (year, day of year) with the Gregorian leap-day
count (:func:`civil_day`), which every engine evaluates exactly alike, so :math:`t_x` and
:math:`T` agree to the last bit with the pandas summary; they are computed once per
customer, not per row. A DuckDB log larger than its memory limit is summarised in slices
of customers (:func:`clvlab.engines.sources.customer_slices`).
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from clvlab.engines.sources import customer_slices, lazy
from clvlab.errors import DataValidationError
from clvlab.rfm import _days_per_unit, period_ends

#: Column of the compressed table with the number of customers per (x, t_x, T) row.
COUNT_COLUMN = "customers"

_VALIDATORS = {
    "pandas": "clvlab.transactions.validate",
    "duckdb": "clvlab.engines.validation.validate",
    "spark": "clvlab.engines.validation.validate",
}


def civil_day(date: nw.Expr) -> nw.Expr:
    r"""Whole days since 1970-01-01 of a date or timestamp expression (time of day dropped).

    From the calendar fields alone, which every engine computes exactly alike: with
    :math:`L(n) = \lfloor n/4 \rfloor - \lfloor n/100 \rfloor + \lfloor n/400 \rfloor`
    the leap days of the years 1 to :math:`n` (Gregorian calendar), the day of year
    :math:`o` (1 on 1 January) and the year :math:`y`,

    .. math::

        \text{day} = 365\,(y - 1970) + L(y - 1) - L(1969) + o - 1.
    """
    before = date.dt.year().cast(nw.Int64) - 1
    leap_days = before // 4 - before // 100 + before // 400
    return (
        365 * (before - 1969)
        + leap_days
        - (1969 // 4 - 1969 // 100 + 1969 // 400)
        + date.dt.ordinal_day().cast(nw.Int64)
        - 1
    ).cast(nw.Int64)


@dataclass(frozen=True)
class Periods:
    """The calibration end, observation end and last purchase, as day numbers; the unit."""

    calibration_end: int
    observation_end: int | None
    unit_days: int
    time_unit: str

    def attrs(self) -> dict[str, Any]:
        """The ``attrs`` entries that :func:`clvlab.rfm.summarize` sets for the periods."""
        return {
            "calibration_end": str(np.datetime64(self.calibration_end, "D")),
            "observation_end": None
            if self.observation_end is None
            else str(np.datetime64(self.observation_end, "D")),
            "time_unit": self.time_unit,
        }


def _log(
    log: Any, customer: str, date: str, amount: str | None
) -> tuple[nw.LazyFrame, str, str | None]:
    """The log as a narwhals frame, its engine and the amount column (``None`` without
    one), after checking the columns."""
    frame, engine = lazy(log, text_columns=(customer,))
    schema = frame.collect_schema()
    amount = amount if amount and amount in schema else None
    validator = _VALIDATORS[engine]
    for column in (customer, date) + ((amount,) if amount else ()):
        if column not in schema:
            raise DataValidationError(
                f"column '{column}' not found in the log (columns: {list(schema)}); "
                f"run {validator} first or pass the column names"
            )
    if not isinstance(schema[date], nw.Date | nw.Datetime):
        raise DataValidationError(
            f"column '{date}' holds {schema[date]}, not dates; run {validator} on the log first"
        )
    return frame, engine, amount


def _purchases(frame: nw.LazyFrame, customer: str, date: str, amount: str | None) -> nw.LazyFrame:
    """The log as ``customer_id`` (text), ``day`` (the calendar day, a date) and
    ``amount``."""
    columns = {"customer_id": nw.col(customer).cast(nw.String), "day": nw.col(date).cast(nw.Date)}
    if amount:
        columns["amount"] = nw.col(amount).cast(nw.Float64)
    return frame.select(**columns)


def _profile(purchases: nw.LazyFrame) -> dict[str, Any]:
    """Rows, missing ids and dates, first and last day, in one aggregate query."""
    row = (
        purchases.select(
            rows=nw.len(),
            missing_ids=nw.col("customer_id").is_null().cast(nw.Int64).sum(),
            missing_dates=nw.col("day").is_null().cast(nw.Int64).sum(),
            first_day=civil_day(nw.col("day").min()),
            last_day=civil_day(nw.col("day").max()),
        )
        .collect(backend="pandas")
        .to_native()
    )
    return {k: None if pd.isna(v) else int(v) for k, v in row.iloc[0].items()}


def _user_stacklevel() -> int:
    """The ``stacklevel`` of :func:`clvlab.rfm.period_ends` called from :func:`_periods`
    that points a warning at the first caller outside clvlab (the user's
    ``rfm.summarize`` or ``engines.summary.summarize``, whichever they called)."""
    level, frame = 4, sys._getframe(2)  # the caller of _periods, 4 levels above the warning
    while frame is not None and frame.f_globals.get("__name__", "").startswith("clvlab"):
        level, frame = level + 1, frame.f_back
    return level


def _periods(
    engine: str,
    profile: dict[str, Any],
    calibration_end: Any,
    observation_end: Any,
    time_unit: str,
) -> Periods:
    """Check the profile and the period ends as :func:`clvlab.rfm.summarize` does."""
    unit_days = _days_per_unit(time_unit)
    for key, column in (("missing_ids", "customer_id"), ("missing_dates", "date")):
        if profile[key]:
            raise DataValidationError(
                f"column '{column}' is missing in {profile[key]:,} rows; run "
                f"{_VALIDATORS[engine]} first"
            )
    if not profile["rows"]:
        raise DataValidationError("the transaction log has no rows: nothing to summarise")
    last_day = profile["last_day"]
    cal_end, obs_end = period_ends(
        calibration_end, observation_end, last_day, stacklevel=_user_stacklevel()
    )
    if profile["first_day"] > cal_end:
        raise DataValidationError(
            f"no customer bought on or before calibration_end {calibration_end}; the first "
            f"purchase in the log is {np.datetime64(profile['first_day'], 'D')}"
        )
    return Periods(cal_end, obs_end, unit_days, time_unit)


def _date(day: int) -> nw.Expr:
    """The day number ``day`` as a date literal."""
    return nw.lit(np.datetime64(day, "D").astype(datetime.date), nw.Date)


def first_day_amount(engine: str) -> nw.Expr:
    """The aggregate :math:`z_{d_0}` over a customer's purchase days (one row per day):
    the amount of the first day.

    DuckDB takes the amount ordered first by day (narwhals' ``first(order_by=...)``); on
    the 100-million-row benchmark log it costs 1.4 s less per slice of customers than
    the struct minimum. narwhals has no ordered ``first`` for PySpark, so Spark takes the
    amount of the smallest (day, amount) pair. Days are distinct within a customer, so
    both pick the same row.
    """
    if engine == "spark":
        return nw.struct("day", "amount").min().struct.field("amount")
    return nw.col("amount").first(order_by="day")


def _customers(
    purchases: nw.LazyFrame, periods: Periods, has_amount: bool, engine: str
) -> nw.LazyFrame:
    """One row per customer (those acquired after the calibration end included), from the
    purchase days: first day, last day and number of days up to the calibration end (day
    numbers), the amount up to it less the first day's, holdout days and amounts, purchase
    days and rows."""
    amount = {"amount": nw.col("amount").sum()} if has_amount else {}
    days = purchases.group_by("customer_id", "day").agg(rows=nw.len(), **amount)
    calibration = nw.col("day") <= _date(periods.calibration_end)
    sums = {
        "calibration_days": calibration.cast(nw.Int64).sum().cast(nw.Int64),
        "last_day": nw.when(calibration).then(nw.col("day")).max(),
    }
    if has_amount:
        first = first_day_amount(engine)
        sums["total"] = nw.when(calibration).then(nw.col("amount")).otherwise(0.0).sum() - first
    if periods.observation_end is not None:
        holdout = ~calibration & (nw.col("day") <= _date(periods.observation_end))
        sums["frequency_holdout"] = holdout.cast(nw.Int64).sum().cast(nw.Int64)
        if has_amount:
            sums["total_holdout"] = nw.when(holdout).then(nw.col("amount")).otherwise(0.0).sum()
    customers = days.group_by("customer_id").agg(
        first_day=nw.col("day").min(),
        first_purchase=nw.col("day").min().cast(nw.Datetime("us")),
        purchase_days=nw.len(),
        rows=nw.col("rows").sum().cast(nw.Int64),
        **sums,
    )
    # Day numbers once per customer, not per row.
    return customers.with_columns(
        first_day=civil_day(nw.col("first_day")), last_day=civil_day(nw.col("last_day"))
    )


def _mean(total: str, count: str) -> nw.Expr:
    return nw.when(nw.col(count) > 0).then(nw.col(total) / nw.col(count)).otherwise(0.0)


def _prepare(
    log: Any,
    calibration_end: Any,
    observation_end: Any,
    time_unit: str,
    customer: str,
    date: str,
    amount: str | None,
) -> tuple[nw.LazyFrame, Periods, str, bool]:
    """The per-customer frame, the checked periods, the engine, whether there are amounts
    (the profile query runs here). A DuckDB log too large for memory is summarised in
    slices of customers (:func:`clvlab.engines.sources.customer_slices`)."""
    frame, engine, amount = _log(log, customer, date, amount)
    profile = _profile(_purchases(frame, customer, date, amount))
    periods = _periods(engine, profile, calibration_end, observation_end, time_unit)
    has_amount = amount is not None
    slices = customer_slices(frame, customer, profile["rows"])
    customers = [
        _customers(_purchases(s, customer, date, amount), periods, has_amount, engine)
        for s in slices
    ]
    return nw.concat(customers), periods, engine, has_amount


def summarize(
    log: Any,
    calibration_end: str | pd.Timestamp | None = None,
    observation_end: str | pd.Timestamp | None = None,
    time_unit: str = "W",
    customer: str = "customer_id",
    date: str = "date",
    amount: str | None = "amount",
    sort: bool = True,
) -> Any:
    """The RFM summary of :func:`clvlab.rfm.summarize`, computed in the log's engine.

    Parameters
    ----------
    log : DataFrame, DuckDB relation, PySpark DataFrame or path
        A clean log (ids, dates or timestamps, numeric amounts); a path to Parquet/CSV
        files is read by DuckDB (:func:`clvlab.engines.sources.read_duckdb`).
    calibration_end, observation_end, time_unit, customer, date, amount
        As in :func:`clvlab.rfm.summarize`.
    sort : bool
        Sort the customers by ``customer_id``, as pandas does. ``False`` leaves them in the
        engine's order: a summary written to be compressed or scored needs none, and the
        global sort is the most expensive step after the grouping (5 s of about 55 s for
        10 million customers in DuckDB on two cores; in Spark a full shuffle).

    Returns
    -------
    DuckDB relation or PySpark DataFrame
        The summary in the log's engine (lazy: nothing is computed until it is read), with
        the columns of :func:`clvlab.rfm.summarize` (``customer_id`` as text), sorted by
        ``customer_id`` unless ``sort=False``. Two aggregate queries run now: the profile of
        the log and its checks. The counts that pandas puts in ``attrs`` come with
        :func:`compressed`; :func:`compress` gives the compressed table of the written
        summary.
    """
    customers, periods, _, has_amount = _prepare(
        log, calibration_end, observation_end, time_unit, customer, date, amount
    )
    unit = periods.unit_days
    columns: dict[str, nw.Expr] = {
        "customer_id": nw.col("customer_id"),
        "frequency": nw.col("frequency"),
        "recency": (nw.col("last_day") - nw.col("first_day")) / unit,
        "T": (periods.calibration_end - nw.col("first_day")) / unit,
    }
    if has_amount:
        columns["monetary_value"] = _mean("total", "frequency")
    columns["first_purchase"] = nw.col("first_purchase")
    if periods.observation_end is not None:
        columns["frequency_holdout"] = nw.col("frequency_holdout")
        if has_amount:
            columns["monetary_value_holdout"] = _mean("total_holdout", "frequency_holdout")
        columns["duration_holdout"] = nw.lit(
            (periods.observation_end - periods.calibration_end) / unit, nw.Float64
        )
    acquired = customers.filter(nw.col("first_day") <= periods.calibration_end).with_columns(
        frequency=nw.col("calibration_days") - 1
    )
    summary = acquired.select(**columns)
    return (summary.sort("customer_id") if sort else summary).to_native()


def compressed(
    log: Any,
    calibration_end: str | pd.Timestamp | None = None,
    time_unit: str = "W",
    customer: str = "customer_id",
    date: str = "date",
) -> pd.DataFrame:
    """The distinct :math:`(x, t_x, T)` rows of the summary with their customer counts,
    computed in the log's engine; every BTYD model fits it directly.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (the smallest id with the row's pattern, so that a model's
        error messages name a real customer), ``frequency``, ``recency``, ``T`` and
        ``customers`` (the count), sorted by ``frequency``, ``recency`` and ``T``. ``attrs``
        as in :func:`clvlab.rfm.summarize` (``merged_same_day``,
        ``customers_after_calibration``, the periods) plus ``customers`` (the total).

    Examples
    --------
    >>> from clvlab import datasets
    >>> from clvlab.models import BetaGeo
    >>> table = compressed(datasets.load_cdnow(), "1997-09-30")
    >>> len(table), int(table["customers"].sum())
    (1016, 2357)
    >>> model = BetaGeo(weights="customers").fit(table, method="mle")
    >>> round(model.params["r"], 3)
    0.243
    """
    customers, periods, _, _ = _prepare(log, calibration_end, None, time_unit, customer, date, None)
    acquired = nw.col("first_day") <= periods.calibration_end
    # Customers acquired after the calibration end form one group (null pattern), so that
    # the same query counts them and the merged rows.
    groups = distinct_rows(
        customers,
        {
            "frequency": nw.when(acquired).then(nw.col("calibration_days") - 1),
            "recency": nw.when(acquired).then(nw.col("last_day") - nw.col("first_day")),
            "T": nw.when(acquired).then(periods.calibration_end - nw.col("first_day")),
        },
        purchase_days=nw.col("purchase_days").sum(),
        rows=nw.col("rows").sum(),
    )
    late = groups["T"].isna()
    table = _table(groups.loc[~late], periods.unit_days)
    table.attrs = {
        "merged_same_day": int(groups["rows"].sum() - groups["purchase_days"].sum()),
        "customers_after_calibration": int(groups.loc[late, COUNT_COLUMN].sum()),
        "customers": int(table[COUNT_COLUMN].sum()),
        **periods.attrs(),
    }
    return table


def compress(summary: Any) -> pd.DataFrame:
    """The distinct :math:`(x, t_x, T)` rows of a summary that :func:`summarize` computed,
    with their customer counts, computed in the summary's engine.

    For a large log, write the summary once (``relation.write_parquet(path)``, or
    ``frame.write.parquet(path)`` in Spark) and compress that: one pass over the log gives
    both tables, where :func:`compressed` reads the log again.

    Parameters
    ----------
    summary : DataFrame, DuckDB relation, PySpark DataFrame or path
        Columns ``customer_id``, ``frequency``, ``recency`` and ``T``, as
        :func:`summarize` writes them; a path to Parquet files is read by DuckDB.

    Returns
    -------
    pandas.DataFrame
        As :func:`compressed`, in the summary's time unit; ``attrs`` holds ``customers``
        only (the summary no longer knows the merged rows or the customers acquired
        after the calibration end: :func:`compressed` counts them).
    """
    frame, _ = lazy(summary, text_columns=("customer_id",))
    missing = [c for c in ("customer_id", "frequency", "recency", "T") if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"column(s) {missing} not found in the summary (columns: {frame.columns}); pass "
            "a summary written by clvlab.engines.summary.summarize, or compress the log with "
            "clvlab.engines.summary.compressed"
        )
    groups = distinct_rows(frame, {k: nw.col(k) for k in ("frequency", "recency", "T")})
    table = _table(groups, unit_days=1)
    table.attrs = {"customers": int(table[COUNT_COLUMN].sum())}
    return table


def distinct_rows(
    frame: nw.LazyFrame, keys: Mapping[str, nw.Expr], **aggregates: nw.Expr
) -> pd.DataFrame:
    """The distinct values of the ``keys`` expressions in ``frame``, each with the smallest
    ``customer_id`` (so that a model's error messages name a real customer), its number of
    customers (:data:`COUNT_COLUMN`) and the other ``aggregates``, computed in the frame's
    engine and read into pandas (nulls form a group), in no particular order."""
    return (
        frame.with_columns(**keys)
        .group_by(*keys, drop_null_keys=False)
        .agg(nw.col("customer_id").min(), **aggregates, **{COUNT_COLUMN: nw.len()})
        .collect(backend="pandas")
        .to_native()
    )


def _table(groups: pd.DataFrame, unit_days: int) -> pd.DataFrame:
    """The compressed table from the distinct rows, times divided by ``unit_days``, sorted
    by ``frequency``, ``recency`` and ``T``."""
    groups = groups.sort_values(["frequency", "recency", "T"]).reset_index(drop=True)
    return pd.DataFrame(
        {
            "customer_id": groups["customer_id"].astype("string"),
            "frequency": groups["frequency"].astype(np.int64),
            "recency": groups["recency"].astype(np.float64) / unit_days,
            "T": groups["T"].astype(np.float64) / unit_days,
            COUNT_COLUMN: groups[COUNT_COLUMN].astype(np.int64),
        }
    )
