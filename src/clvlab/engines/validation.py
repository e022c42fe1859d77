"""Validating a transaction log inside DuckDB or Spark with aggregate queries.

The same reasons, policies and report as :func:`clvlab.transactions.validate`, for logs
whose columns already have types (Parquet files, warehouse tables, Spark DataFrames, CSV
files whose dates DuckDB recognises): the customer id is text (trimmed; integers become
their digits), the date a date or timestamp and the amount a number. The pandas path reads
every written form of dates and amounts; for a text column of mixed forms use it
(``engine="pandas"``) or convert the column first.

Each row gets the first reason that removes it, in the order of
:data:`~clvlab.transactions.REASONS` (``missing_customer``, ``bad_date``, ``bad_amount``,
``duplicate``, ``negative_amount``), and a customer is lost to the reason of their row
that survived longest, so one grouped count gives the report::

    rows in      = rows kept      + rows removed, by reason
    customers in = customers kept + customers lost, by reason

Duplicates are rows equal on every column after trimming the id; under ``"drop"`` one
copy of each stays. Returns (negative amounts) are dropped: netting them against earlier
purchases needs each customer's purchases in order (``returns="net"``: use the pandas
path). Examples in the report are customer ids, not row numbers (an engine's rows have
no order).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import narwhals as nw

from clvlab.engines.sources import lazy
from clvlab.errors import DataValidationError
from clvlab.parsing import MAX_AMOUNT
from clvlab.transactions import (
    FIXES,
    REASONS,
    Policy,
    ValidationReport,
    _check_policy,
    _require_column,
)

#: Step at which each reason removes a row (duplicates are counted apart); kept rows: 9.
_STEPS = {"missing_customer": 1, "bad_date": 2, "bad_amount": 3, "negative_amount": 5}
_KEPT = 9
_SHOWN = 5


def _step(amount: str | None) -> nw.Expr:
    """The first reason (as a step number) that removes each row; :data:`_KEPT` if none."""
    step = nw.when(nw.col("customer_id").is_null()).then(_STEPS["missing_customer"])
    step = step.when(nw.col("date").is_null()).then(_STEPS["bad_date"])
    if amount:
        value = nw.col("amount")
        bad = value.is_null() | (value.fill_null(0.0).abs() > MAX_AMOUNT)
        bad = bad | value.fill_null(0.0).is_nan()
        step = step.when(bad).then(_STEPS["bad_amount"])
        step = step.when(value < 0).then(_STEPS["negative_amount"])
    return step.otherwise(_KEPT).cast(nw.Int64)


def _typed(frame: nw.LazyFrame, customer: str, date: str, amount: str | None) -> nw.LazyFrame:
    """``customer_id`` (trimmed text, blank as missing), ``date``, ``amount`` and the other
    columns, after checking the types."""
    schema = frame.collect_schema()
    if not isinstance(schema[date], nw.Date | nw.Datetime):
        raise DataValidationError(
            f"column '{date}' holds {schema[date]}, not dates: the DuckDB and Spark paths read "
            "typed dates only (Parquet, or CSV dates DuckDB recognises); convert the column, "
            "or validate with engine='pandas', which reads every written form"
        )
    if amount and not schema[amount].is_numeric():
        raise DataValidationError(
            f"column '{amount}' holds {schema[amount]}, not numbers: the DuckDB and Spark paths "
            "read numeric amounts only; convert the column, or validate with engine='pandas', "
            "which reads '19,90 €'-style amounts"
        )
    ids = nw.col(customer).cast(nw.String).str.strip_chars()
    columns = {
        "customer_id": nw.when(ids != "").then(ids),
        "date": nw.col(date),
    }
    if amount:
        columns["amount"] = nw.col(amount).cast(nw.Float64)
    others = [nw.col(c) for c in schema if c not in (customer, date, amount)]
    return frame.select(*others, **columns)


def _count(frame: nw.LazyFrame) -> int:
    return int(frame.select(n=nw.len()).collect(backend="pandas").to_native()["n"].iloc[0])


def validate(
    log: Any,
    customer: str = "customer_id",
    date: str = "date",
    amount: str | None = None,
    *,
    policy: Mapping[str, Policy] | None = None,
    returns: str = "drop",
) -> tuple[Any, ValidationReport]:
    """Validate a log in its engine; return the clean log (in that engine) and the report.

    Parameters
    ----------
    log : DuckDB relation, PySpark DataFrame, pandas DataFrame or path
        The raw log with typed columns (see the module documentation); a path is read by
        DuckDB (:func:`clvlab.engines.sources.read_duckdb`, the id column as text).
    customer, date, amount, policy
        As in :func:`clvlab.transactions.validate`.
    returns : {"drop"}
        Returns are dropped (``policy["negative_amount"]`` applies).

    Returns
    -------
    log : DuckDB relation or PySpark DataFrame
        Columns ``customer_id`` (text), ``date`` and, with an amount column, ``amount``;
        lazy (a pandas input comes back as a DuckDB relation).
    report : ValidationReport
        Rows and customers in, kept, removed and flagged by reason (``reconciles`` is
        True); examples are customer ids.

    Raises
    ------
    DataValidationError
        A missing or untyped column, ``returns="net"``, an empty log, no row left, or rows
        of a class whose policy is ``"raise"``.
    """
    policy = _check_policy(policy, returns)
    if returns != "drop":
        raise DataValidationError(
            "returns='net' subtracts each return from the same customer's earlier purchases, "
            "which needs them in order: validate with engine='pandas', or drop the returns"
        )
    frame, _ = lazy(log, text_columns=(customer,))
    names = frame.collect_schema().names()
    roles = {"customer": customer, "date": date} | ({"amount": amount} if amount else {})
    for role, column in roles.items():
        _require_column(_Columns(names), column, role)
    rows = _typed(frame, customer, date, amount).with_columns(step=_step(amount))

    by_step = _pandas(rows.group_by("step").agg(n=nw.len())).set_index("step")["n"]
    rows_in = int(by_step.sum())
    if not rows_in:
        raise DataValidationError("the transaction log has no rows: nothing to validate")
    report = ValidationReport(
        rows_in=rows_in,
        rows_kept=0,
        columns={"customer_id": customer, "date": date} | ({"amount": amount} if amount else {}),
        returns="drop",
        row_label="customer ids",
        notes=["examples are customer ids: rows in an engine have no line numbers"],
    )
    survivors = rows.filter(nw.col("step") > _STEPS["bad_amount"])
    distinct = survivors.unique()
    duplicates = _count(survivors) - _count(distinct)
    if policy["duplicate"] == "drop":
        survivors = distinct
        negative = _count(survivors.filter(nw.col("step") == _STEPS["negative_amount"]))
    else:
        negative = int(by_step.get(_STEPS["negative_amount"], 0))
    counts = {reason: int(by_step.get(step, 0)) for reason, step in _STEPS.items()}
    counts["negative_amount"] = negative
    counts["duplicate"] = duplicates

    for reason in REASONS:
        count = counts[reason]
        action = policy[reason]
        (report.flagged if action == "keep" else report.removed)[reason] = count
        if count:
            report.examples[reason] = _examples(rows, reason, policy)
        if count and action == "raise":
            column = {"missing_customer": customer, "bad_date": date, "duplicate": "all columns"}
            shown = ", ".join(report.examples[reason])
            raise DataValidationError(
                f"column '{column.get(reason, amount)}': {count:,} row(s) with "
                f"{REASONS[reason]} (e.g. customer ids {shown}); fix: {FIXES[reason]}"
            )

    customers = _pandas(
        rows.filter(~nw.col("customer_id").is_null())
        .group_by("customer_id")
        .agg(best=nw.col("step").max())
        .group_by("best")
        .agg(n=nw.len())
    ).set_index("best")["n"]
    report.customers_in = int(customers.sum())
    report.customers_kept = int(customers.get(_KEPT, 0))
    for reason in REASONS:
        report.customers_lost[reason] = int(customers.get(_STEPS.get(reason, 0), 0))
    clean = survivors.filter(nw.col("step") == _KEPT).select(
        *["customer_id", "date"], *(["amount"] if amount else [])
    )
    report.rows_kept = _count(clean)
    if not report.rows_kept:
        raise DataValidationError(
            f"no valid rows left: all {report.rows_in:,} rows were removed ({report.removed}); "
            "check the column names and types"
        )
    if amount:
        _revenue(report, survivors, clean)
    return clean.to_native(), report


def _revenue(report: ValidationReport, survivors: nw.LazyFrame, clean: nw.LazyFrame) -> None:
    """Gross and returned revenue, and the customers whose kept orders are all 0."""
    totals = _pandas(
        survivors.select(
            gross=nw.when(nw.col("step") == _KEPT).then(nw.col("amount")).otherwise(0.0).sum(),
            returned=nw.when(nw.col("step") == _STEPS["negative_amount"])
            .then(-nw.col("amount"))
            .otherwise(0.0)
            .sum(),
        )
    ).iloc[0]
    report.gross_revenue, report.returned = float(totals["gross"]), float(totals["returned"])
    report.unmatched_returns = 0.0
    report.net_revenue = report.gross_revenue - report.returned
    if report.returned:
        report.notes.append(
            "net revenue assumes every return has an earlier purchase of its customer to net "
            "against (the engines do not match returns to purchases)"
        )
    zero = (
        clean.group_by("customer_id")
        .agg(most=nw.col("amount").max())
        .filter(nw.col("most") == 0)
        .select("customer_id")
        .sort("customer_id")
    )
    report.zero_amount_customers = _count(zero)
    report.zero_amount_examples = _pandas(zero.head(_SHOWN))["customer_id"].tolist()


def _examples(rows: nw.LazyFrame, reason: str, policy: Mapping[str, Policy]) -> list[str]:
    """The first customer ids (sorted) with rows removed or flagged for ``reason``."""
    if reason == "missing_customer":
        return ["<missing>"]
    if reason == "duplicate":
        keys = [c for c in rows.collect_schema().names() if c != "step"]
        picked = (
            rows.filter(nw.col("step") > _STEPS["bad_amount"])
            .group_by(*keys, drop_null_keys=False)
            .agg(n=nw.len())
            .filter(nw.col("n") > 1)
        )
    else:
        picked = rows.filter(nw.col("step") == _STEPS[reason])
    ids = picked.select("customer_id").unique().sort("customer_id").head(_SHOWN)
    return _pandas(ids)["customer_id"].astype(str).tolist()


def _pandas(frame: nw.LazyFrame):
    return frame.collect(backend="pandas").to_native()


class _Columns:
    """The column names of a lazy frame, for :func:`clvlab.transactions._require_column`."""

    def __init__(self, names: list[str]) -> None:
        self.columns = names
