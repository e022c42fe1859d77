"""Reading and validating raw transaction logs.

A transaction log has one row per purchase: who bought (customer), when (date) and,
optionally, for how much (amount). Real logs are messy. :func:`validate` turns a raw frame
into a clean log with the columns ``customer_id``, ``date`` and (optionally) ``amount`` and
returns a :class:`ValidationReport` that reconciles every row::

    rows in = rows kept + sum of rows removed, by reason

Each class of bad row has a documented policy, chosen per call with ``policy``:

==================== ============================================= ===========
reason               rows affected                                 default
==================== ============================================= ===========
``missing_customer`` customer id missing or blank                  ``"drop"``
``bad_date``         date missing or not parseable                 ``"drop"``
``bad_amount``       amount missing or not a number                ``"drop"``
``negative_amount``  amount below zero (returns, refunds)          ``"drop"``
``duplicate``        exact duplicate of an earlier row (every      ``"keep"``
                     column of the raw log equal)
==================== ============================================= ===========

``"drop"`` removes the rows and counts them in the report; ``"raise"`` stops with a
:class:`~clvlab.errors.DataValidationError` naming the column, the first offending rows and
the fix; ``"keep"`` (allowed for duplicates only) keeps them and counts them in
``report.flagged``. Duplicates are kept by default because identical rows are often real:
in the CDNOW sample 21 rows repeat an earlier row to the letter (two copies of the same CD
on the same day), and the published summaries count both. Missing columns always raise.
Purchases of one customer on the same day are *not* merged here: that is a modelling
convention, applied and counted by :mod:`clvlab.rfm`.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from clvlab.errors import ClvlabError, DataValidationError
from clvlab.parsing import parse_amounts, parse_dates

Policy = Literal["drop", "raise", "keep"]

REASONS: dict[str, str] = {
    "missing_customer": "customer id missing or blank",
    "bad_date": "date missing or not parseable",
    "bad_amount": "amount missing or not a number",
    "negative_amount": "negative amount (return or refund)",
    "duplicate": "exact duplicate of an earlier row",
}

FIXES: dict[str, str] = {
    "missing_customer": "fill in the customer ids or pass policy={'missing_customer': 'drop'}",
    "bad_date": "correct the dates, pass date_format=..., or policy={'bad_date': 'drop'}",
    "bad_amount": "correct the amounts or pass policy={'bad_amount': 'drop'}",
    "negative_amount": (
        "net returns against their purchases beforehand or pass policy={'negative_amount': 'drop'}"
    ),
    "duplicate": "if they were recorded twice by mistake, pass policy={'duplicate': 'drop'}",
}

DEFAULT_POLICY: dict[str, Policy] = dict.fromkeys(REASONS, "drop") | {"duplicate": "keep"}

_MAX_ROWS_SHOWN = 5


@dataclass
class ValidationReport:
    """What :func:`validate` did to a transaction log.

    Attributes
    ----------
    rows_in : int
        Rows of the raw log.
    rows_kept : int
        Rows of the clean log.
    removed : dict[str, int]
        Rows removed per reason (keys of :data:`REASONS`).
    flagged : dict[str, int]
        Rows kept but worth a look, per reason (duplicates under the ``"keep"`` policy).
    examples : dict[str, list]
        Index labels of the first removed or flagged rows per reason, to find them in the
        raw data.
    columns : dict[str, str]
        Which raw column became ``customer_id``, ``date`` and ``amount``.
    """

    rows_in: int
    rows_kept: int
    removed: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def rows_removed(self) -> int:
        """Total number of rows removed, all reasons together."""
        return sum(self.removed.values())

    @property
    def reconciles(self) -> bool:
        """True when rows in = rows kept + rows removed."""
        return self.rows_in == self.rows_kept + self.rows_removed

    def to_frame(self) -> pd.DataFrame:
        """The report as a table: rows removed and flagged per reason, then kept and total.

        The ``rows`` column reconciles: the removed rows plus the kept rows give the total.
        """
        rows = [
            {
                "reason": reason,
                "description": REASONS[reason],
                "removed": self.removed.get(reason, 0),
                "flagged": self.flagged.get(reason, 0),
            }
            for reason in REASONS
        ]
        rows.append(
            {"reason": "kept", "description": "rows in the clean log", "removed": 0, "flagged": 0}
        )
        table = pd.DataFrame(rows).set_index("reason")
        table["rows"] = table["removed"]
        table.loc["kept", "rows"] = self.rows_kept
        table.loc["total"] = [
            "rows in the raw log",
            self.rows_removed,
            sum(self.flagged.values()),
            self.rows_in,
        ]
        return table

    def __str__(self) -> str:
        lines = [
            f"Validation report: {self.rows_in:,} rows in, {self.rows_kept:,} kept, "
            f"{self.rows_removed:,} removed"
        ]
        for reason, count in self.removed.items():
            if count:
                shown = ", ".join(map(str, self.examples.get(reason, [])))
                lines.append(f"  - {count:,} removed: {REASONS[reason]} (e.g. rows {shown})")
        for reason, count in self.flagged.items():
            if count:
                shown = ", ".join(map(str, self.examples.get(reason, [])))
                lines.append(
                    f"  - {count:,} kept but flagged: {REASONS[reason]} "
                    f"(e.g. rows {shown}; {FIXES[reason]})"
                )
        return "\n".join(lines)


def read(path: str | Path, **kwargs) -> pd.DataFrame:
    """Read a transaction log from CSV (also ``.txt``, ``.tsv``, gzipped), Parquet or Excel.

    The reader is chosen by the file's suffix. For delimited text the separator is detected
    from the first lines unless ``sep`` is given. Every column is read as text or its natural
    type; :func:`validate` does the parsing and checking.

    Parameters
    ----------
    path : str or Path
        The file.
    **kwargs
        Passed on to :func:`pandas.read_csv`, :func:`pandas.read_parquet` or
        :func:`pandas.read_excel`.

    Raises
    ------
    ClvlabError
        When the file is missing, of an unknown type or cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise ClvlabError(f"cannot read '{path}': no such file")
    suffixes = [s.lower() for s in path.suffixes]
    kind = (
        suffixes[-2]
        if suffixes and suffixes[-1] in {".gz", ".bz2", ".zip", ".xz"} and len(suffixes) > 1
        else (suffixes[-1] if suffixes else "")
    )
    try:
        if kind in {".parquet", ".pq"}:
            return pd.read_parquet(path, **kwargs)
        if kind in {".xlsx", ".xlsm", ".xls"}:
            return pd.read_excel(path, **kwargs)
        if kind in {".csv", ".txt", ".tsv", ".dat", ""}:
            if "sep" not in kwargs and "delimiter" not in kwargs:
                kwargs["sep"] = _sniff_separator(path, default="\t" if kind == ".tsv" else ",")
            return pd.read_csv(path, **kwargs)
    except (OSError, ValueError, ImportError, pd.errors.ParserError) as err:
        raise ClvlabError(f"cannot read '{path}': {err}".splitlines()[0]) from err
    raise ClvlabError(
        f"cannot read '{path}': unknown file type '{kind}'; use .csv, .parquet or .xlsx"
    )


def _sniff_separator(path: Path, default: str) -> str:
    """Guess the field separator of a delimited text file from its first lines."""
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            sample = "".join(handle.readline() for _ in range(20))
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except (csv.Error, OSError):
        return default


def validate(
    df: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: str | None = None,
    *,
    policy: Mapping[str, Policy] | None = None,
    date_format: str | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Check a raw transaction log and return a clean log with a reconciling report.

    Parameters
    ----------
    df : DataFrame
        The raw log, one row per purchase.
    customer, date : str
        Names of the customer-id and date columns in ``df``.
    amount : str, optional
        Name of the monetary-value column; without it the clean log has no ``amount``.
    policy : mapping, optional
        Reason -> ``"drop"`` or ``"raise"``, overriding :data:`DEFAULT_POLICY` (see the
        module docstring for the reasons).
    date_format : str, optional
        A :func:`~datetime.datetime.strptime` format for the dates. By default one format
        is chosen for the whole column from :data:`clvlab.parsing.DATE_FORMATS` (ISO,
        ``dd.mm.yyyy``, ``yyyymmdd``, ...); ambiguous columns raise and ask for it.

    Returns
    -------
    log : DataFrame
        Columns ``customer_id``, ``date`` (``datetime64``, time zone removed) and, with an
        amount column, ``amount`` (float), sorted by customer and date, fresh index.
    report : ValidationReport
        Rows in, kept and removed by reason; ``report.reconciles`` is always True.

    Raises
    ------
    DataValidationError
        A named column is missing (the message lists the columns there are), the log has no
        rows, or rows of a class whose policy is ``"raise"`` are present.
    """
    policy = {**DEFAULT_POLICY, **(policy or {})}
    unknown = set(policy) - set(REASONS)
    if unknown:
        raise DataValidationError(
            f"unknown policy reason(s) {sorted(unknown)}; valid reasons are {list(REASONS)}"
        )
    for reason, action in policy.items():
        allowed = ("drop", "raise", "keep") if reason == "duplicate" else ("drop", "raise")
        if action not in allowed:
            raise DataValidationError(f"policy {action!r} for {reason!r} is not one of {allowed}")
    roles = {"customer": customer, "date": date} | ({"amount": amount} if amount else {})
    for role, column in roles.items():
        _require_column(df, column, role)
    if len(df) == 0:
        raise DataValidationError("the transaction log has no rows: nothing to validate")

    report = ValidationReport(
        rows_in=len(df),
        rows_kept=0,
        columns={"customer_id": customer, "date": date} | ({"amount": amount} if amount else {}),
    )
    keep = np.ones(len(df), dtype=bool)

    customers = df[customer]
    blank = customers.isna()
    if customers.dtype == object or pd.api.types.is_string_dtype(customers):
        stripped = customers.astype("string").str.strip()
        blank |= stripped.isna() | (stripped == "")
        customers = stripped.where(~blank, other=pd.NA)
    elif pd.api.types.is_float_dtype(customers):
        # Integer ids read as floats because some are missing: 17.0 -> 17.
        whole = customers.dropna()
        if (whole == np.round(whole)).all():
            customers = customers.astype("Int64")
    _apply(report, keep, "missing_customer", blank.to_numpy(), df.index, customer, policy)

    dates = parse_dates(df[date], date_format)
    _apply(report, keep, "bad_date", dates.isna().to_numpy(), df.index, date, policy)

    columns = {"customer_id": customers, "date": dates}
    if amount:
        values = parse_amounts(df[amount])
        _apply(
            report, keep, "bad_amount", values.isna().to_numpy() & keep, df.index, amount, policy
        )
        _apply(
            report,
            keep,
            "negative_amount",
            (values < 0).to_numpy() & keep,
            df.index,
            amount,
            policy,
        )
        columns["amount"] = values

    clean = pd.DataFrame(columns, index=df.index)
    duplicated = df.duplicated(keep="first").to_numpy()
    _apply(report, keep, "duplicate", duplicated, df.index, "all columns", policy)

    clean = clean.loc[keep]
    if len(clean) == 0:
        raise DataValidationError(
            f"no valid rows left: all {report.rows_in:,} rows were removed ({report.removed}); "
            "check the column names and formats"
        )
    clean = clean.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    report.rows_kept = len(clean)
    return clean, report


def _require_column(df: pd.DataFrame, column: str, role: str) -> None:
    """Raise a helpful error when ``column`` is not in ``df``."""
    if column in df.columns:
        return
    available = [str(c) for c in df.columns]
    close = difflib.get_close_matches(str(column), available, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise DataValidationError(
        f"column '{column}' (the {role} column) not found; available columns: "
        f"{', '.join(repr(c) for c in available)}.{hint} Pass {role}='<column name>'."
    )


def _apply(
    report: ValidationReport,
    keep: np.ndarray,
    reason: str,
    bad: np.ndarray,
    index: pd.Index,
    column: str,
    policy: Mapping[str, Policy],
) -> None:
    """Drop (and count), keep (and flag) or raise on the rows marked ``bad`` for ``reason``."""
    bad = bad & keep
    count = int(bad.sum())
    target = report.flagged if policy[reason] == "keep" else report.removed
    target[reason] = count
    if not count:
        return
    rows = list(index[bad][:_MAX_ROWS_SHOWN])
    report.examples[reason] = rows
    if policy[reason] == "keep":
        return
    if policy[reason] == "raise":
        more = f" and {count - len(rows)} more" if count > len(rows) else ""
        raise DataValidationError(
            f"column '{column}': {count} row(s) with {REASONS[reason]} "
            f"(rows {', '.join(map(str, rows))}{more}); fix: {FIXES[reason]}"
        )
    keep &= ~bad
