"""``clvlab clv``: customer lifetime value in money from a transaction log.

Reads and validates the log, summarises the calibration period
(:func:`clvlab.rfm.summarize`), fits a transaction model and the Gamma-Gamma spend model
(on the repeat buyers) by the same method, and writes one row per customer
(:func:`clvlab.clv.customer_lifetime_value`): ``customer_id``, ``expected_purchases``,
``expected_spend``, ``clv``, ``clv_low``, ``clv_high`` (94% interval) and
``probability_alive``. The summary (total value, the top 10%'s share) and progress go to
standard error.

With ``--method mle`` the values are the plug-in values at the estimates, and the
interval comes from 1,000 parameter sets drawn from the normal (Laplace) approximation of
both fits (asymptotic covariance of the estimates on the log scale; seeded by ``--seed``,
default 0); standard error says so. ``--method nuts`` gives posterior means and intervals.
"""

from __future__ import annotations

import argparse
import time

from clvlab import clv, rfm
from clvlab.cli import checks
from clvlab.cli._common import (
    add_log_arguments,
    add_period_arguments,
    add_value_arguments,
    load_log,
)
from clvlab.cli.fitting import add_model_arguments, fit_quietly, progress
from clvlab.cli.output import write_files
from clvlab.errors import DataValidationError
from clvlab.models import MODELS

COLUMNS = [
    "customer_id",
    "expected_purchases",
    "expected_spend",
    "clv",
    "clv_low",
    "clv_high",
    "probability_alive",
]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``clv``."""
    parser = subparsers.add_parser(
        "clv",
        help="customer lifetime value in money, with intervals",
        description="Fit a transaction model and the Gamma-Gamma spend model to the "
        "calibration period of a transaction log and write each customer's discounted "
        "value over a horizon, with a 94%% interval (posterior with --method nuts; normal "
        "approximation of the estimates with mle).",
    )
    add_log_arguments(parser)
    add_period_arguments(parser, holdout=False)
    add_model_arguments(parser, ("mle", "nuts"))
    add_value_arguments(parser)
    parser.add_argument(
        "--out",
        type=checks.output_file,
        required=True,
        metavar="FILE.csv",
        help="CSV file for the per-customer values",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Fit both models, compute CLV per customer, write the CSV and print the summary."""
    if args.amount_col is None:
        raise DataValidationError("clvlab clv needs the purchase values: pass --amount-col.")
    checks.distinct_files([args.file], {"--out": args.out})
    log, _ = load_log(args)
    summary = rfm.summarize(log, calibration_end=args.calibration_end, time_unit=args.time_unit)
    repeat = summary[summary["frequency"] > 0]
    if len(repeat) < 2:
        raise DataValidationError(
            f"only {len(repeat)} customers bought again by {args.calibration_end}; the spend "
            "model needs repeat buyers: choose a later --calibration-end."
        )
    progress(f"fitting {args.model} and gamma-gamma by {args.method} to {len(summary):,} customers")
    started = time.perf_counter()
    transaction_model = fit_quietly(MODELS[args.model](), summary, args)
    spend_model = fit_quietly(MODELS["gamma-gamma"](), repeat, args)
    progress(f"fitted in {time.perf_counter() - started:.1f} s")

    table = clv.customer_lifetime_value(
        transaction_model,
        spend_model,
        summary,
        horizon=args.horizon,
        discount_rate=args.discount_rate,
        margin=args.margin,
        time_unit=args.time_unit,
        random_seed=0 if args.seed is None else args.seed,
    )
    write_files({args.out: lambda path: table[COLUMNS].to_csv(path, index=False)})
    total = float(table["clv"].sum())
    progress(
        f"wrote CLV of {len(table):,} customers to {args.out} (horizon {args.horizon:g} "
        f"{args.time_unit}, discount rate {args.discount_rate:g} a year, margin "
        f"{args.margin:g})\n"
        f"total value {total:,.2f}; the top 10% of customers hold "
        f"{clv.top_share(table['clv'], top=0.1):.1%} of it"
    )
    if table.attrs["interval_source"] == "normal approximation":
        progress(
            f"note: --method mle: clv at the estimates; the 94% interval from "
            f"{table.attrs['n_draws']:,} parameter sets of the normal approximation of the "
            "estimates (use --method nuts for posterior intervals)"
        )
    return 0
