"""``clvlab summarize``: a transaction log to a per-customer RFM table."""

from __future__ import annotations

import argparse
import sys

from clvlab import rfm
from clvlab.cli import checks, engine
from clvlab.cli._common import add_log_arguments, add_period_arguments
from clvlab.cli.output import write_files


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``summarize``."""
    parser = subparsers.add_parser(
        "summarize",
        help="summarise a transaction log into RFM per customer",
        description="Validate a transaction log, print the validation report and write one "
        "RFM row per customer (FHL 2005 conventions).",
    )
    add_log_arguments(parser, folders=True)
    add_period_arguments(parser, holdout=True)
    engine.add_engine_argument(parser)
    parser.add_argument(
        "--out",
        required=True,
        type=checks.output_file,
        metavar="FILE.csv",
        help="CSV file for the RFM table",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Summarise and write the table; the report goes to standard output."""
    checks.distinct_files([args.file], {"--out": args.out})
    log, where = engine.load(args, report_to=sys.stdout)
    options = {"calibration_end": args.calibration_end, "time_unit": args.time_unit}
    summary = rfm.summarize(
        log,
        observation_end=args.observation_end,
        amount="amount" if args.amount_col else None,
        **options,
    )
    # The engines count customers and merged rows with the compressed table's query.
    attrs = (
        summary.attrs if where == "pandas" else rfm.summarize(log, compressed=True, **options).attrs
    )
    write_files({args.out: lambda path: engine.write_csv(summary, path)})
    customers = len(summary) if where == "pandas" else attrs["customers"]
    print(
        f"{attrs['merged_same_day']:,} same-day purchases merged; "
        f"{attrs['customers_after_calibration']:,} customers first bought after "
        f"{attrs['calibration_end']} and are not in the table"
    )
    print(f"wrote {customers:,} customers to {args.out}")
    return 0
