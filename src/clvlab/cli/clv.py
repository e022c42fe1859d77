"""``clvlab clv``: customer lifetime value in money from a transaction log.

Reads and validates the log, summarises the calibration period
(:func:`clvlab.rfm.summarize`), fits a transaction model and the Gamma-Gamma spend model
(on the repeat buyers) by the same method, and writes one row per customer
(:func:`clvlab.clv.customer_lifetime_value`): ``customer_id``, ``expected_purchases``,
``expected_spend``, ``clv``, ``clv_low``, ``clv_high`` (94% interval) and
``probability_alive``. The summary (total value, the top 10%'s share) and progress go to
standard error.

With ``--method mle`` there are no posterior draws: the interval is degenerate
(``clv_low = clv = clv_high``) and says so on standard error; ``--method nuts`` gives
posterior intervals.
"""

from __future__ import annotations

import argparse
import sys
import time

from clvlab import clv, rfm
from clvlab.cli._common import add_log_arguments, add_period_arguments, load_log
from clvlab.errors import DataValidationError
from clvlab.models import MODELS

#: Transaction models the command offers.
TRANSACTION_MODELS = ("bg-nbd", "mbg-nbd", "pareto-nbd")
COLUMNS = [
    "customer_id",
    "expected_purchases",
    "expected_spend",
    "clv",
    "clv_low",
    "clv_high",
    "probability_alive",
]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``clv``."""
    parser = subparsers.add_parser(
        "clv",
        help="customer lifetime value in money, with intervals",
        description="Fit a transaction model and the Gamma-Gamma spend model to the "
        "calibration period of a transaction log and write each customer's discounted "
        "value over a horizon, with a 94%% interval.",
    )
    add_log_arguments(parser)
    add_period_arguments(parser, holdout=False)
    parser.add_argument(
        "--model",
        choices=TRANSACTION_MODELS,
        default="bg-nbd",
        help="transaction model (default bg-nbd)",
    )
    parser.add_argument(
        "--method",
        choices=["mle", "nuts"],
        default="mle",
        help="mle (default; point estimates, no interval) or nuts (posterior intervals)",
    )
    parser.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain")
    parser.add_argument("--tune", type=int, default=1000, help="NUTS tuning steps per chain")
    parser.add_argument("--chains", type=int, default=4, help="NUTS chains (default 4)")
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    parser.add_argument(
        "--horizon", type=float, default=52.0, help="horizon in time units (default 52)"
    )
    parser.add_argument(
        "--discount-rate",
        type=float,
        default=0.1,
        help="annual discount rate (default 0.1 = 10%% a year)",
    )
    parser.add_argument(
        "--margin", type=float, default=1.0, help="profit share of revenue (default 1.0)"
    )
    parser.add_argument("--out", required=True, help="CSV file for the per-customer values")
    parser.set_defaults(func=run)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Fit both models, compute CLV per customer, write the CSV and print the summary."""
    if args.amount_col is None:
        raise DataValidationError("clvlab clv needs the purchase values: pass --amount-col.")
    checks = (
        ("--horizon", args.horizon, args.horizon > 0, "> 0 time units"),
        ("--discount-rate", args.discount_rate, args.discount_rate >= 0, ">= 0 (annual)"),
        ("--margin", args.margin, args.margin >= 0, ">= 0 (share of revenue)"),
        ("--draws", args.draws, args.draws >= 1, ">= 1"),
        ("--tune", args.tune, args.tune >= 0, ">= 0"),
        ("--chains", args.chains, args.chains >= 1, ">= 1"),
    )
    for name, value, ok, rule in checks:
        if not ok:  # NaN fails every comparison too
            raise DataValidationError(f"{name} must be {rule}, got {value}.")
    log, _ = load_log(args)
    summary = rfm.summarize(log, calibration_end=args.calibration_end, time_unit=args.time_unit)
    repeat = summary[summary["frequency"] > 0]
    if len(repeat) < 2:
        raise DataValidationError(
            f"only {len(repeat)} customers bought again by {args.calibration_end}; the spend "
            "model needs repeat buyers: choose a later --calibration-end."
        )
    options = {"method": args.method, "random_seed": args.seed}
    if args.method == "nuts":
        options.update(draws=args.draws, tune=args.tune, chains=args.chains)
    _progress(
        f"fitting {args.model} and gamma-gamma by {args.method} to {len(summary):,} customers"
    )
    started = time.perf_counter()
    transaction_model = MODELS[args.model]().fit(summary, **options)
    spend_model = MODELS["gamma-gamma"]().fit(repeat, **options)
    _progress(f"fitted in {time.perf_counter() - started:.1f} s")

    table = clv.customer_lifetime_value(
        transaction_model,
        spend_model,
        summary,
        horizon=args.horizon,
        discount_rate=args.discount_rate,
        margin=args.margin,
        time_unit=args.time_unit,
    )
    table[COLUMNS].to_csv(args.out, index=False)
    total = float(table["clv"].sum())
    _progress(
        f"wrote CLV of {len(table):,} customers to {args.out} (horizon {args.horizon:g} "
        f"{args.time_unit}, discount rate {args.discount_rate:g} a year, margin "
        f"{args.margin:g})\n"
        f"total value {total:,.2f}; the top 10% of customers hold "
        f"{clv.top_share(table['clv'], top=0.1):.1%} of it"
    )
    if table.attrs["n_draws"] == 1:
        _progress(
            "note: --method mle gives point estimates: clv_low = clv = clv_high (no "
            "parameter uncertainty); use --method nuts for 94% intervals"
        )
    return 0
