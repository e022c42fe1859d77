"""Reading and validating raw transaction logs.

A transaction log has one row per purchase: who bought (customer), when (date) and,
optionally, for how much (amount). Real logs are messy. :func:`read` reads a file with
every column as text (so customer ids keep their leading zeros), and :func:`validate`
turns a raw frame into a clean log with the columns ``customer_id`` (text, as written,
trimmed), ``date`` and (optionally) ``amount`` and returns a :class:`ValidationReport`
that reconciles every row and every customer::

    rows in      = rows kept      + sum of rows removed, by reason
    customers in = customers kept + sum of customers lost, by the reason that removed
                                    their last row

Each class of bad row has a documented policy, chosen per call with ``policy``:

==================== ============================================= ===========
reason               rows affected                                 default
==================== ============================================= ===========
``missing_customer`` customer id missing or blank                  ``"drop"``
``bad_date``         date missing or not parseable                 ``"drop"``
``bad_amount``       amount missing, not a number, not finite or   ``"drop"``
                     beyond :data:`~clvlab.parsing.MAX_AMOUNT`
``duplicate``        duplicate of an earlier row (same parsed id,  ``"keep"``
                     date and amount, other columns equal)
``negative_amount``  amount below zero (returns, refunds)          ``"drop"``
==================== ============================================= ===========

``"drop"`` removes the rows and counts them in the report; ``"raise"`` stops with a
:class:`~clvlab.errors.DataValidationError` naming the column, the first offending rows and
the fix; ``"keep"`` (allowed for duplicates only) keeps them and counts them in
``report.flagged``. Duplicates are kept by default because identical rows are often real:
in the CDNOW sample 21 rows repeat an earlier row to the letter (two copies of the same CD
on the same day), and the published summaries count both. Duplicates are found on the
parsed values, so ``2024-03-01`` and ``01.03.2024`` are the same date. Missing columns
always raise.

Returns (negative amounts) are dropped by default, which leaves revenue gross; with
``returns="net"`` each return is subtracted from the same customer's purchases on or
before its date, latest first, never below zero. The report shows gross, returned and net
revenue either way. Purchases of one customer on the same day are *not* merged here: that
is a modelling convention, applied and counted by :mod:`clvlab.rfm`.

Customers whose kept orders all have amount 0 (free samples, fully returned orders) stay
in the log and are counted in the report: they enter the purchase-count models (BG/NBD,
Pareto/NBD) like everyone else, with their frequency, recency and age, and have a
monetary value of 0 in :func:`clvlab.rfm.summarize`.
"""

from __future__ import annotations

import bz2
import csv
import difflib
import gzip
import io
import lzma
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from clvlab.errors import ClvlabError, DataValidationError
from clvlab.parsing import parse_amounts, parse_dates, where

Policy = Literal["drop", "raise", "keep"]
ReturnsPolicy = Literal["drop", "net"]

REASONS: dict[str, str] = {
    "missing_customer": "customer id missing or blank",
    "bad_date": "date missing or not parseable",
    "bad_amount": "amount missing, not a number or implausibly large",
    "duplicate": "duplicate of an earlier row (same parsed values)",
    "negative_amount": "negative amount (return or refund)",
}

FIXES: dict[str, str] = {
    "missing_customer": "fill in the customer ids or pass policy={'missing_customer': 'drop'}",
    "bad_date": "correct the dates, pass date_format=..., or policy={'bad_date': 'drop'}",
    "bad_amount": "correct the amounts or pass policy={'bad_amount': 'drop'}",
    "duplicate": "if they were recorded twice by mistake, pass policy={'duplicate': 'drop'}",
    "negative_amount": (
        "pass returns='net' to subtract returns from the purchases, or "
        "policy={'negative_amount': 'drop'}"
    ),
}

DEFAULT_POLICY: dict[str, Policy] = dict.fromkeys(REASONS, "drop") | {"duplicate": "keep"}

_MAX_SHOWN = 5
_COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


@dataclass
class ValidationReport:
    """What :func:`validate` did to a transaction log, row by row and customer by customer.

    Attributes
    ----------
    rows_in, rows_kept : int
        Rows of the raw log and of the clean log.
    removed : dict[str, int]
        Rows removed per reason (keys of :data:`REASONS`).
    flagged : dict[str, int]
        Rows kept but worth a look, per reason (duplicates under the ``"keep"`` policy).
    examples : dict[str, list]
        Index labels of the first removed or flagged rows per reason (line numbers of the
        file for logs from :func:`read`).
    columns : dict[str, str]
        Which raw column became ``customer_id``, ``date`` and ``amount``.
    customers_in, customers_kept : int
        Distinct customer ids in the raw log (blank ids are no customer) and in the clean log.
    customers_lost : dict[str, int]
        Customers whose every row was removed, by the reason that removed their last row.
    lost_examples : list[str]
        The first ids of customers lost entirely.
    zero_amount_customers : int
        Kept customers whose every kept order has amount 0 (see the module docstring for
        how they enter the models).
    zero_amount_examples : list[str]
        The first of their ids.
    date_formats, amount_formats : dict[str, int]
        Rows read per date form and per amount convention.
    returns : {"drop", "net"}
        What was done with returns.
    gross_revenue, returned, net_revenue, unmatched_returns : float or None
        Revenue of the kept purchases before returns, value of the returns (positive),
        revenue after netting (``gross_revenue - returned + unmatched_returns``; the clean
        log's total under ``returns="net"``, what it would be under ``"drop"``), and the
        part of the returns with no purchase of the customer on or before it to net against.
        None without an amount column.
    fully_returned : int
        Purchases set to amount 0 by netting.
    row_label : str
        How the example rows are counted: ``"lines"`` of the file (from :func:`read`) or
        ``"rows"`` (index labels of a frame).
    source : dict[str, str]
        How the file was read (file, encoding, separator, compression), from :func:`read`.
    notes : list[str]
        Decisions taken for whole columns (time zones, id types, encoding fallback).
    """

    rows_in: int
    rows_kept: int
    removed: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    customers_in: int = 0
    customers_kept: int = 0
    customers_lost: dict[str, int] = field(default_factory=dict)
    lost_examples: list[str] = field(default_factory=list)
    zero_amount_customers: int = 0
    zero_amount_examples: list[str] = field(default_factory=list)
    date_formats: dict[str, int] = field(default_factory=dict)
    amount_formats: dict[str, int] = field(default_factory=dict)
    returns: ReturnsPolicy = "drop"
    gross_revenue: float | None = None
    returned: float | None = None
    net_revenue: float | None = None
    unmatched_returns: float | None = None
    fully_returned: int = 0
    row_label: str = "rows"
    source: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_removed(self) -> int:
        """Total number of rows removed, all reasons together."""
        return sum(self.removed.values())

    @property
    def customers_removed(self) -> int:
        """Customers lost entirely, all reasons together."""
        return sum(self.customers_lost.values())

    @property
    def reconciles(self) -> bool:
        """True when rows in = kept + removed and customers in = kept + lost."""
        return (
            self.rows_in == self.rows_kept + self.rows_removed
            and self.customers_in == self.customers_kept + self.customers_removed
        )

    def to_frame(self) -> pd.DataFrame:
        """The report as a table indexed by (section, item).

        Sections: ``rows`` and ``customers`` (one item per reason, then ``kept`` and
        ``total``; the ``count`` of the reasons and ``kept`` adds up to ``total``; kept
        customers whose orders all have amount 0 are the ``flagged`` count of
        ``zero_amount``), ``dates`` and ``amounts`` (rows per form or convention),
        ``revenue`` (``gross``, ``returned``, ``net``, ``unmatched_returns`` in ``amount``)
        and ``source`` (how the file was read, in ``description``).
        """
        records = []

        def add(section, item, description, count=None, flagged=None, amount=None):
            records.append((section, item, description, count, flagged, amount))

        for reason, text in REASONS.items():
            add("rows", reason, text, self.removed.get(reason, 0), self.flagged.get(reason, 0))
        add("rows", "kept", "rows in the clean log", self.rows_kept)
        add("rows", "total", "rows in the raw log", self.rows_in)
        for reason, text in REASONS.items():
            lost = self.customers_lost.get(reason, 0)
            add("customers", reason, f"lost entirely: {text}", lost)
        add("customers", "kept", "customers in the clean log", self.customers_kept)
        add("customers", "total", "customer ids in the raw log", self.customers_in)
        if self.gross_revenue is not None:
            add(
                "customers",
                "zero_amount",
                "kept customers whose orders all have amount 0 (monetary value 0)",
                flagged=self.zero_amount_customers,
            )
        for form, count in self.date_formats.items():
            add("dates", form, "rows with dates in this form", count)
        for convention, count in self.amount_formats.items():
            add("amounts", convention, "rows with amounts written this way", count)
        if self.gross_revenue is not None:
            add("revenue", "gross", "kept purchases before returns", amount=self.gross_revenue)
            add("revenue", "returned", f"returns ({self.returns})", amount=self.returned)
            add("revenue", "net", "purchases less returns", amount=self.net_revenue)
            add(
                "revenue",
                "unmatched_returns",
                "returns without an earlier purchase to net against",
                amount=self.unmatched_returns,
            )
        for key, value in self.source.items():
            add("source", key, value)
        table = pd.DataFrame.from_records(
            records, columns=["section", "item", "description", "count", "flagged", "amount"]
        )
        table = table.astype({"count": "Int64", "flagged": "Int64", "amount": "Float64"})
        return table.set_index(["section", "item"])

    def __str__(self) -> str:
        lines = [
            f"Validation report: {self.rows_in:,} rows in, {self.rows_kept:,} kept, "
            f"{self.rows_removed:,} removed",
            f"  customers: {self.customers_in:,} ids in the file, {self.customers_kept:,} kept, "
            f"{self.customers_removed:,} lost entirely"
            + (f" (e.g. {', '.join(map(repr, self.lost_examples))})" if self.lost_examples else ""),
        ]
        for reason, count in self.removed.items():
            if count:
                shown = ", ".join(map(str, self.examples.get(reason, [])))
                lost = self.customers_lost.get(reason, 0)
                what = (
                    "netted against the same customer's purchases"
                    if reason == "negative_amount" and self.returns == "net"
                    else "removed"
                )
                lines.append(
                    f"  - {count:,} {what}: {REASONS[reason]} (e.g. {self.row_label} {shown})"
                    + (f"; {lost:,} customers lost entirely" if lost else "")
                )
        for reason, count in self.flagged.items():
            if count:
                shown = ", ".join(map(str, self.examples.get(reason, [])))
                lines.append(
                    f"  - {count:,} kept but flagged: {REASONS[reason]} "
                    f"(e.g. {self.row_label} {shown}; {FIXES[reason]})"
                )
        if self.zero_amount_customers:
            lines.append(
                f"  - {self.zero_amount_customers:,} customers kept whose orders all have amount "
                f"0 (e.g. {', '.join(map(repr, self.zero_amount_examples))}): they count as "
                "customers in the purchase models, with monetary value 0"
            )
        if self.date_formats:
            lines.append("  dates: " + _counts(self.date_formats))
        if self.amount_formats:
            lines.append("  amounts: " + _counts(self.amount_formats))
        if self.gross_revenue is not None:
            revenue = f"  revenue: gross {self.gross_revenue:,.2f}, returns {self.returned:,.2f}"
            if self.unmatched_returns:
                revenue += f" ({self.unmatched_returns:,.2f} without an earlier purchase to net)"
            revenue += f", net {self.net_revenue:,.2f}; "
            if self.returns == "net":
                revenue += (
                    f"the clean log holds the net revenue ({self.fully_returned:,} purchases "
                    "fully returned, now amount 0)"
                )
            else:
                revenue += "returns were dropped: the clean log holds the gross revenue"
                if self.returned:
                    revenue += " (pass returns='net' to subtract them)"
            lines.append(revenue)
        if self.source:
            lines.append("  read: " + ", ".join(f"{k} {v}" for k, v in self.source.items()))
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def _counts(counts: Mapping[str, int]) -> str:
    return "; ".join(f"{count:,} rows {name}" for name, count in counts.items())


def read(
    path: str | Path, *, encoding: str | None = None, sep: str | None = None, **kwargs
) -> pd.DataFrame:
    """Read a transaction log from delimited text, Parquet or Excel, every column as text.

    Delimited text (``.csv``, ``.txt``, ``.tsv``, ``.dat``) may be compressed (``.gz``,
    ``.bz2``, ``.xz``, ``.zip``); its separator (``,``, ``;``, tab, ``|``) is detected from
    the first lines after decompression, and its encoding is UTF-8 (with or without BOM)
    or, when the bytes are not valid UTF-8, Windows-1252 (German Excel exports). Delimited
    text is read as text, so ``00123`` stays ``00123``: :func:`validate` parses dates and
    amounts. Excel cells keep their own type (text cells stay text, number cells numbers)
    and Parquet its column types.

    The index holds the line numbers of the file (header = line 1, named ``"line"``) for
    text and Excel, or row numbers from 1 (``"row"``) for Parquet, so that messages point
    at what a person sees (a quoted field spanning lines shifts the numbers after it). Blank
    lines are skipped and counted. ``attrs["source"]`` says
    how the file was read; :func:`validate` copies it into the report.

    Parameters
    ----------
    path : str or Path
        The file.
    encoding : str, optional
        The text encoding; by default detected as above.
    sep : str, optional
        The field separator; by default detected.
    **kwargs
        Passed on to :func:`pandas.read_csv`, :func:`pandas.read_parquet` or
        :func:`pandas.read_excel`.

    Raises
    ------
    ClvlabError
        The file is missing, of an unknown type, not in the given encoding, or its first
        data line has more fields than the header (which pandas would silently turn into
        the index), or it cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise ClvlabError(f"cannot read '{path}': no such file")
    suffixes = [s.lower() for s in path.suffixes]
    compression = suffixes[-1] if suffixes and suffixes[-1] in {*_COMPRESSIONS, ".zip"} else ""
    kind = suffixes[-2] if compression and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    if compression == ".zip" and kind == ".zip":
        kind = ""
    try:
        if kind in {".parquet", ".pq"}:
            frame = pd.read_parquet(path, **kwargs)
            frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
            source = {"file": str(path), "format": "Parquet"}
        elif kind in {".xlsx", ".xlsm", ".xls"}:
            frame = pd.read_excel(path, **{"dtype": object} | kwargs)
            frame.index = pd.RangeIndex(2, len(frame) + 2, name="line")
            source = {"file": str(path), "format": "Excel"}
        elif kind in {".csv", ".txt", ".tsv", ".dat", ""}:
            frame, source = _read_text(path, compression, kind, encoding, sep, kwargs)
        else:
            raise ClvlabError(
                f"cannot read '{path}': unknown file type '{kind}'; use .csv, .parquet or .xlsx"
            )
    except (OSError, ValueError, ImportError, zipfile.BadZipFile, pd.errors.ParserError) as err:
        if isinstance(err, ClvlabError):
            raise
        raise ClvlabError(f"cannot read '{path}': {err}".splitlines()[0]) from err
    frame.attrs["source"] = source
    return frame


def _read_text(
    path: Path, compression: str, kind: str, encoding: str | None, sep: str | None, kwargs: dict
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Decompress, decode, sniff and parse a delimited text file (see :func:`read`)."""
    if compression == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise ClvlabError(
                    f"cannot read '{path}': the zip archive holds {len(members)} files, not one"
                )
            data = archive.read(members[0])
    else:
        with _COMPRESSIONS.get(compression, open)(path, "rb") as handle:
            data = handle.read()
    text, encoding, evidence = _decode(path, data, encoding)
    head = text[:65536].splitlines()[:50]
    if sep is None and "delimiter" not in kwargs:
        try:
            sep = csv.Sniffer().sniff("\n".join(head), delimiters=",;\t|").delimiter
        except csv.Error:
            sep = "\t" if kind == ".tsv" else ","
    _check_first_line(path, head, sep or kwargs.get("delimiter", ","))
    frame = _parse_text(text, sep, kwargs)
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="line")
    blank = frame.isna().all(axis=1)
    frame = frame.loc[~blank]
    source = {"file": str(path), "encoding": encoding + evidence, "separator": repr(sep)}
    if compression:
        source["compression"] = compression.lstrip(".")
    if blank.any():
        source["blank lines skipped"] = f"{int(blank.sum()):,} ({where(blank.index, blank)})"
    return frame, source


def _parse_text(text: str, sep: str | None, kwargs: dict) -> pd.DataFrame:
    """Parse delimited text, every column as text, one row per line after the header.

    pyarrow's parser is about seven times faster but skips blank lines, which would shift
    the line numbers, and names no line in its errors; pandas' own parser does the rest.
    """
    if not kwargs and "\n\n" not in text and "\n\r\n" not in text:
        try:
            return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, engine="pyarrow")
        except (ValueError, pd.errors.ParserError):
            pass  # read again below for a message with the line number
    options = {"dtype": str, "skip_blank_lines": False, "index_col": False} | kwargs
    return pd.read_csv(io.StringIO(text), sep=sep, **options)


def _decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str, str]:
    """The file's text, the encoding used and, for a fallback, the evidence for it."""
    if encoding:
        try:
            return data.decode(encoding), encoding, " (given)"
        except LookupError:
            raise ClvlabError(f"cannot read '{path}': unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as err:
            raise ClvlabError(
                f"cannot read '{path}' as {encoding}: {_where_bytes(data, err)} is not valid "
                "in it; leave the encoding out to detect it"
            ) from None
    try:
        return data.decode("utf-8-sig"), "utf-8", ""
    except UnicodeDecodeError as err:
        evidence = f" (not UTF-8: {_where_bytes(data, err)}; pass encoding=... if wrong)"
    for fallback in ("cp1252", "latin-1"):
        try:
            return data.decode(fallback), fallback, evidence
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _where_bytes(data: bytes, err: Exception) -> str:
    """Where a decoding error happened, as a line number."""
    start = getattr(err, "start", 0)
    line = data.count(b"\n", 0, start) + 1
    return f"byte {data[start : start + 1]!r} on line {line}"


def _check_first_line(path: Path, head: list[str], sep: str) -> None:
    """Refuse a first data line with more fields than the header (pandas makes it the index)."""
    rows = list(csv.reader(head[:2], delimiter=sep))
    if len(rows) == 2 and len(rows[1]) > len(rows[0]):
        raise ClvlabError(
            f"cannot read '{path}': line 2 has {len(rows[1])} fields but the header (line 1) "
            f"has {len(rows[0])}; fix the line or the separator (sep=..., --sep)"
        )


def validate(
    df: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: str | None = None,
    *,
    policy: Mapping[str, Policy] | None = None,
    date_format: str | None = None,
    decimal: str | None = None,
    returns: ReturnsPolicy = "drop",
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
        Reason -> ``"drop"``, ``"raise"`` or (duplicates) ``"keep"``, overriding
        :data:`DEFAULT_POLICY` (see the module docstring for the reasons).
    date_format : str, optional
        A :func:`~datetime.datetime.strptime` format for every date. By default each row is
        read by its own form (ISO, ``dd.mm.yyyy``, ``yyyymmdd``, Excel serials) and the
        day/month order of ``03/04/2024``-style dates is decided for the whole column (see
        :func:`clvlab.parsing.parse_dates`); ambiguous columns raise and ask for it.
    decimal : {".", ","}, optional
        The decimal separator of the amounts; by default decided from the column (see
        :func:`clvlab.parsing.parse_amounts`), which raises when rows contradict each other.
    returns : {"drop", "net"}
        Negative amounts are dropped (``policy["negative_amount"]`` applies) or subtracted
        from the same customer's purchases on or before them, latest first, never below 0.

    Returns
    -------
    log : DataFrame
        Columns ``customer_id`` (text), ``date`` (``datetime64``, time zone removed) and,
        with an amount column, ``amount`` (float), sorted by customer and date, fresh index.
    report : ValidationReport
        Rows and customers in, kept and removed by reason; ``report.reconciles`` is always
        True.

    Raises
    ------
    DataValidationError
        A named column is missing (the message lists the columns there are), the log has no
        rows, a date or amount column contradicts itself, or rows of a class whose policy
        is ``"raise"`` are present.
    """
    policy = _check_policy(policy, returns)
    roles = {"customer": customer, "date": date} | ({"amount": amount} if amount else {})
    for role, column in roles.items():
        _require_column(df, column, role)
    if len(df) == 0:
        raise DataValidationError("the transaction log has no rows: nothing to validate")

    report = ValidationReport(
        rows_in=len(df),
        rows_kept=0,
        columns={"customer_id": customer, "date": date} | ({"amount": amount} if amount else {}),
        returns=returns,
        row_label="lines" if df.index.name == "line" else "rows",
        source=dict(df.attrs.get("source", {})),
    )
    ids, note = customer_ids(df[customer])
    report.notes.extend([note] if note else [])
    codes, uniques = pd.factorize(ids)
    report.customers_in = len(uniques)
    step = _Steps(report, policy, df.index, codes, uniques)

    step.apply("missing_customer", ids.isna().to_numpy(), customer)
    dates = parse_dates(df[date], date_format, column=date)
    report.date_formats = dates.formats
    report.notes.extend(dates.notes)
    step.apply("bad_date", dates.values.isna().to_numpy(), date)
    columns = {"customer_id": ids.array, "date": dates.values.array}
    if amount:
        values = parse_amounts(df[amount], column=amount, decimal=decimal)
        report.amount_formats = values.formats
        report.notes.extend(values.notes)
        step.apply("bad_amount", values.values.isna().to_numpy(), amount)
        columns["amount"] = values.values.array
    clean = pd.DataFrame(columns, index=df.index)

    others = df.drop(columns=list(roles.values())).reset_index(drop=True)
    parsed = clean.drop(columns="customer_id").reset_index(drop=True).assign(code=codes)
    compared = pd.concat([parsed, others], axis=1, ignore_index=True)  # names may repeat
    duplicated = np.zeros(len(df), dtype=bool)
    duplicated[step.keep] = compared.loc[step.keep].duplicated(keep="first").to_numpy()
    step.apply("duplicate", duplicated, "all columns")

    if amount:
        negative = (clean["amount"] < 0).to_numpy() & step.keep
        kept = step.keep & ~negative
        report.gross_revenue = float(clean["amount"][kept].sum())
        report.returned = abs(float(clean["amount"][negative].sum()))
        netted, report.unmatched_returns = _net_returns(
            codes, clean["date"].to_numpy(), clean["amount"].to_numpy(), negative, kept
        )
        if returns == "net":
            report.fully_returned = int((kept & (netted == 0) & (clean["amount"] > 0)).sum())
            clean["amount"] = netted
            step.apply("negative_amount", negative, amount, action="drop")
        else:
            step.apply("negative_amount", negative, amount)
        report.net_revenue = report.gross_revenue - report.returned + report.unmatched_returns

    if not step.keep.any():
        raise DataValidationError(
            f"no valid rows left: all {report.rows_in:,} rows were removed ({report.removed}); "
            "check the column names and formats"
        )
    # Sort by customer id (as text) and date; the codes stand in for the ids.
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[uniques.argsort()] = np.arange(len(uniques))
    kept_rows = np.flatnonzero(step.keep)
    keys = rank[codes[kept_rows]]
    order = kept_rows[np.lexsort((clean["date"].to_numpy()[kept_rows], keys))]
    if amount:
        most = np.zeros(len(uniques))
        np.maximum.at(most, codes[kept_rows], clean["amount"].to_numpy()[kept_rows])
        zero = uniques[np.flatnonzero(step.alive & (most == 0))].sort_values()
        report.zero_amount_customers = len(zero)
        report.zero_amount_examples = list(zero[:_MAX_SHOWN])
    clean = clean.iloc[order].reset_index(drop=True)
    report.rows_kept = len(clean)
    report.customers_kept = int(step.alive.sum())
    return clean, report


def customer_ids(values: pd.Series) -> tuple[pd.Series, str | None]:
    """Customer ids as trimmed text, blanks missing, and a note when they arrived as floats.

    Text stays as written, so ``00123``, ``123`` and ``123.0`` are three customers. Integers
    become their digits. Floats (a numeric column with blanks, read by pandas) become their
    digits when whole, with a note: above 2**53 distinct ids may already have merged.
    """
    note = None
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if (whole == np.round(whole)).all():
            values = values.astype("Int64")
        note = (
            "customer ids arrived as floating-point numbers; ids above 2**53 cannot be told "
            "apart in that form; read the file with clvlab.transactions.read, which keeps "
            "them as text"
        )
    ids = values.astype("string").str.strip()
    return ids.mask(ids == ""), note


class _Steps:
    """Applies the policy of each reason in turn and tracks rows and customers kept."""

    def __init__(
        self,
        report: ValidationReport,
        policy: Mapping[str, Policy],
        index: pd.Index,
        codes: np.ndarray,
        uniques: pd.Index,
    ) -> None:
        self.report, self.policy, self.index = report, policy, index
        self.codes, self.uniques = codes, uniques
        self.keep = np.ones(len(index), dtype=bool)
        self.alive = self._alive()

    def _alive(self) -> np.ndarray:
        codes = self.codes[self.keep & (self.codes >= 0)]
        return np.bincount(codes, minlength=len(self.uniques)) > 0

    def apply(
        self, reason: str, bad: np.ndarray, column: str, action: Policy | None = None
    ) -> None:
        """Drop (and count), keep (and flag) or raise on the rows marked ``bad``."""
        action = action or self.policy[reason]
        bad = bad & self.keep
        count = int(bad.sum())
        report = self.report
        (report.flagged if action == "keep" else report.removed)[reason] = count
        report.customers_lost[reason] = 0
        if not count:
            return
        report.examples[reason] = list(self.index[bad][:_MAX_SHOWN])
        if action == "keep":
            return
        if action == "raise":
            raise DataValidationError(
                f"column '{column}': {count} row(s) with {REASONS[reason]} "
                f"({where(self.index, bad)}); fix: {FIXES[reason]}"
            )
        self.keep &= ~bad
        alive = self._alive()
        lost = self.alive & ~alive
        report.customers_lost[reason] = int(lost.sum())
        room = _MAX_SHOWN - len(report.lost_examples)
        report.lost_examples.extend(self.uniques[lost][:room])
        self.alive = alive


def _net_returns(
    codes: np.ndarray,
    dates: np.ndarray,
    amounts: np.ndarray,
    is_return: np.ndarray,
    is_purchase: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Subtract each return from the same customer's purchases on or before it.

    Purchases are reduced latest first and never below 0; returns are taken in date order.
    Returns the new amounts (returns themselves unchanged) and the total of returns with no
    purchase left to net against.
    """
    netted = amounts.astype(np.float64).copy()
    unmatched = 0.0
    with_returns = np.isin(codes, codes[is_return])
    rows = np.flatnonzero((is_return | is_purchase) & with_returns)
    # Per customer by date; on the same day purchases come before returns.
    rows = rows[np.lexsort((is_return[rows], dates[rows], codes[rows]))]
    stack: list[int] = []
    current = -1
    for row in rows:
        code = codes[row]
        if code != current:
            current, stack = code, []
        if not is_return[row]:
            stack.append(row)
            continue
        left = -netted[row]
        while left > 0 and stack:
            top = stack[-1]
            taken = min(left, netted[top])
            netted[top] -= taken
            left -= taken
            if netted[top] == 0:
                stack.pop()
        unmatched += left
    return netted, unmatched


def _check_policy(policy: Mapping[str, Policy] | None, returns: str) -> dict[str, Policy]:
    """The default policy updated by ``policy``, after checking reasons and actions."""
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
    if returns not in ("drop", "net"):
        raise DataValidationError(f"returns must be 'drop' or 'net', not {returns!r}")
    return policy


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
