"""Arguments and input handling shared by the sub-commands that read a transaction log."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import pandas as pd

from clvlab import transactions
from clvlab.cli import checks
from clvlab.transactions import ValidationReport


def add_log_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the input file and its column names to a sub-command's parser."""
    parser.add_argument("file", metavar="FILE", help="transaction log (.csv, .parquet, .xlsx)")
    parser.add_argument("--customer-col", required=True, help="column with the customer id")
    parser.add_argument("--date-col", required=True, help="column with the purchase date")
    parser.add_argument("--amount-col", default=None, help="column with the purchase value")
    parser.add_argument(
        "--date-format",
        default=None,
        help="strptime format of the dates, e.g. %%d.%%m.%%Y (default: inferred)",
    )


def load_log(
    args: argparse.Namespace, report_to: TextIO | None = None
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read and validate the log named by the parsed arguments; print the report.

    The report goes to ``report_to``; by default to standard error (looked up at call
    time), so that standard output stays machine-readable for ``--json``.
    """
    raw = transactions.read(args.file)
    log, report = transactions.validate(
        raw,
        customer=args.customer_col,
        date=args.date_col,
        amount=args.amount_col,
        date_format=args.date_format,
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
