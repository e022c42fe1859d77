"""Arguments and input handling shared by the sub-commands that read a transaction log."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import pandas as pd

from clvlab import columns, transactions
from clvlab.cli import checks
from clvlab.transactions import ValidationReport


def add_log_arguments(parser: argparse.ArgumentParser, *, folders: bool = False) -> None:
    """Add the input file, its column names and how to read and clean it to a parser;
    ``folders``: the input may also be a folder or glob of Parquet files (``--engine``)."""
    parser.add_argument(
        "file",
        metavar="FILE",
        type=checks.log_source if folders else checks.input_file,
        help="transaction log (.csv/.txt/.tsv, also .gz/.bz2/.xz/.zip; .parquet; .xlsx)"
        + ("; or a folder or glob of Parquet files" if folders else ""),
    )
    detected = "(default: detected from the column names, English or German)"
    parser.add_argument("--customer-col", help=f"column with the customer id {detected}")
    parser.add_argument("--date-col", help=f"column with the purchase date {detected}")
    parser.add_argument("--amount-col", default=None, help="column with the purchase value")
    parser.add_argument(
        "--date-format",
        type=checks.date_format,
        default=None,
        help="strptime format of every date, e.g. %%d/%%m/%%Y (default: each row by its own "
        "form: ISO, dd.mm.yyyy, yyyymmdd, Excel serial; day/month order from the column)",
    )
    parser.add_argument(
        "--decimal",
        choices=[".", ","],
        default=None,
        help="decimal separator of the amounts (default: decided from the column)",
    )
    parser.add_argument(
        "--sep",
        type=checks.separator,
        default=None,
        help="field separator of a text file, one character or tab (default: detected "
        "among , ; tab |)",
    )
    parser.add_argument(
        "--encoding",
        type=checks.encoding,
        default=None,
        help="text encoding of the file, e.g. cp1252 (default: UTF-8, else Windows-1252)",
    )
    parser.add_argument(
        "--returns",
        choices=["drop", "net"],
        default="drop",
        help="negative amounts: drop them (revenue stays gross) or net them against the "
        "same customer's earlier purchases (default drop)",
    )
    parser.add_argument(
        "--duplicates",
        choices=["keep", "drop", "raise"],
        default="keep",
        help="rows equal to an earlier row after parsing: keep and flag, drop, or stop "
        "(default keep)",
    )


def load_log(
    args: argparse.Namespace, report_to: TextIO | None = None
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read and validate the log named by the parsed arguments; print the report.

    Customer and date columns not named on the command line are detected from the column
    names (:func:`clvlab.columns.detect`; the choice and why are printed with the report);
    the amount column is used only when named.

    The report goes to ``report_to``; by default to standard error (looked up at call
    time), so that standard output stays machine-readable for ``--json``.
    """
    raw = transactions.read(args.file, encoding=args.encoding, sep=args.sep)
    if args.customer_col is None or args.date_col is None:
        chosen = columns.detect(
            raw.columns, args.customer_col, args.date_col, args.amount_col, find_amount=False
        )
        args.customer_col, args.date_col = chosen.customer, chosen.date
        print(chosen, file=report_to or sys.stderr)
    log, report = transactions.validate(
        raw,
        customer=args.customer_col,
        date=args.date_col,
        amount=args.amount_col,
        date_format=args.date_format,
        decimal=args.decimal,
        returns=args.returns,
        policy={"duplicate": args.duplicates},
    )
    print(report, file=report_to or sys.stderr)
    return log, report


def add_period_arguments(parser: argparse.ArgumentParser, *, holdout: bool) -> None:
    """Add the calibration (and optionally observation) end and the time unit."""
    parser.add_argument(
        "--calibration-end",
        required=True,
        type=checks.calendar_date,
        metavar="DATE",
        help="last day of the calibration period (YYYY-MM-DD or DD.MM.YYYY)",
    )
    if holdout:
        parser.add_argument(
            "--observation-end",
            default=None,
            type=checks.calendar_date,
            metavar="DATE",
            help="last day of the holdout period (YYYY-MM-DD or DD.MM.YYYY)",
        )
    parser.add_argument(
        "--time-unit",
        choices=["D", "W"],
        default="W",
        help="unit of recency and T: D days, W weeks (default W)",
    )


def add_value_arguments(parser: argparse.ArgumentParser, *, unit: str = "time units") -> None:
    """``--horizon`` (in ``unit``), ``--discount-rate`` (annual) and ``--margin`` of a CLV."""
    parser.add_argument(
        "--horizon",
        type=checks.positive_float,
        default=52.0,
        metavar="T",
        help=f"CLV horizon in {unit} (default 52)",
    )
    parser.add_argument(
        "--discount-rate",
        type=checks.non_negative_float,
        default=0.1,
        metavar="RATE",
        help="annual discount rate (default 0.1 = 10%% a year)",
    )
    parser.add_argument(
        "--margin",
        type=checks.non_negative_float,
        default=1.0,
        metavar="SHARE",
        help="profit share of revenue (default 1.0)",
    )
