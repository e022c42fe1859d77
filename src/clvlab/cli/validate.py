"""``clvlab validate``: check a transaction log, print the report, write the clean log."""

from __future__ import annotations

import argparse
import sys

from clvlab.cli import checks
from clvlab.cli._common import add_log_arguments, load_log
from clvlab.cli.output import write_files


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``validate``."""
    parser = subparsers.add_parser(
        "validate",
        help="check a transaction log; write the clean log and the validation report",
        description="Read and validate a transaction log and print the validation report "
        "(rows in = rows kept + rows removed, by reason). --out writes the clean log "
        "(customer_id, date and amount, one row per purchase), --report the report as a "
        "table; nothing is written unless the whole log could be validated.",
    )
    add_log_arguments(parser)
    parser.add_argument(
        "--out",
        type=checks.output_file,
        default=None,
        metavar="FILE.csv",
        help="CSV file for the clean log",
    )
    parser.add_argument(
        "--report",
        type=checks.output_file,
        default=None,
        metavar="FILE.csv",
        help="CSV file for the report table (rows removed and flagged per reason)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Validate; write what was asked for; the report goes to standard output."""
    checks.distinct_files([args.file], {"--out": args.out, "--report": args.report})
    log, report = load_log(args, report_to=sys.stdout)
    writers = {}
    if args.out:
        writers[args.out] = lambda path: log.to_csv(path, index=False)
    if args.report:
        writers[args.report] = lambda path: report.to_frame().to_csv(path)
    write_files(writers)
    if args.out:
        print(
            f"wrote the clean log ({len(log):,} rows, {log['customer_id'].nunique():,} "
            f"customers) to {args.out}"
        )
    if args.report:
        print(f"wrote the report table to {args.report}")
    return 0
