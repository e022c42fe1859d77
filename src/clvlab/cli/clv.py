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

``--engine duckdb`` or ``spark`` (``auto`` for folders, globs and large files) keeps the log
in the engine (:mod:`clvlab.cli.engine`): the transaction model is fitted to the compressed
table of distinct (x, t_x, T) rows, Gamma-Gamma to the repeat buyers' distinct (x, mean
spend) rows (:func:`clvlab.engines.scoring.spend_table`), both with customer counts, and
the values are computed in the engine, chunk by chunk
(:func:`clvlab.engines.scoring.score`).
"""

from __future__ import annotations

import argparse
import time

import duckdb

from clvlab import clv, rfm
from clvlab.cli import checks, engine
from clvlab.cli._common import (
    add_log_arguments,
    add_period_arguments,
    add_value_arguments,
)
from clvlab.cli.fitting import add_model_arguments, fit_quietly, progress
from clvlab.cli.output import write_files
from clvlab.engines import scoring
from clvlab.errors import DataValidationError
from clvlab.models import MODELS

#: Parameter sets of the normal approximation behind a maximum likelihood fit's interval.
APPROXIMATION_DRAWS = 1000

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
    add_log_arguments(parser, folders=True)
    add_period_arguments(parser, holdout=False)
    add_model_arguments(parser, ("mle", "nuts"))
    add_value_arguments(parser)
    engine.add_engine_argument(parser)
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
    log, where = engine.load(args)
    periods = {"calibration_end": args.calibration_end, "time_unit": args.time_unit}
    summary = rfm.summarize(log, **periods)
    if where == "pandas":
        data, repeat, weights = summary, summary[summary["frequency"] > 0], None
        customers = len(summary)
    else:  # the engine's small tables, one row per distinct input, with customer counts
        data, repeat = rfm.summarize(log, compressed=True, **periods), scoring.spend_table(summary)
        weights, customers = "customers", data.attrs["customers"]
    if int(repeat["customers"].sum() if weights else len(repeat)) < 2:
        raise DataValidationError(
            f"fewer than 2 customers bought again by {args.calibration_end}; the spend "
            "model needs repeat buyers: choose a later --calibration-end."
        )
    progress(f"fitting {args.model} and gamma-gamma by {args.method} to {customers:,} customers")
    started = time.perf_counter()
    transaction_model = fit_quietly(MODELS[args.model](weights=weights), data, args)
    spend_model = fit_quietly(MODELS["gamma-gamma"](weights=weights), repeat, args)
    progress(f"fitted in {time.perf_counter() - started:.1f} s")

    options = {
        "discount_rate": args.discount_rate,
        "margin": args.margin,
        "time_unit": args.time_unit,
        "random_seed": 0 if args.seed is None else args.seed,
        "approximation_draws": APPROXIMATION_DRAWS,
    }
    table = scoring.score(transaction_model, summary, args.horizon, spend=spend_model, **options)
    table = table[COLUMNS] if where == "pandas" else table.select(*COLUMNS)
    write_files({args.out: lambda path: engine.write_csv(table, path)})
    total, top = _total_and_top_share(args.out)
    progress(
        f"wrote CLV of {customers:,} customers to {args.out} (horizon {args.horizon:g} "
        f"{args.time_unit}, discount rate {args.discount_rate:g} a year, margin "
        f"{args.margin:g})\n"
        f"total value {total:,.2f}; the top 10% of customers hold {top:.1%} of it"
    )
    if transaction_model.method == "mle":
        progress(
            f"note: --method mle: clv at the estimates; the 94% interval from "
            f"{APPROXIMATION_DRAWS:,} parameter sets of the normal approximation of the "
            "estimates (use --method nuts for posterior intervals)"
        )
    return 0


def _total_and_top_share(path: str) -> tuple[float, float]:
    """Total CLV in the written table and the share of its top 10% of customers (the CLV
    column only is read, by DuckDB)."""
    values = duckdb.read_csv(str(path)).select("clv").df()["clv"]
    return float(values.sum()), clv.top_share(values, top=0.1)
