"""``clvlab fit``: fit a buy-till-you-die model to a transaction log.

Reads and validates the log, summarises the calibration period
(:func:`clvlab.rfm.summarize`), fits the chosen model and prints the estimates (a table,
or one JSON object with ``--json``). ``--out`` writes per-customer predictions. The
validation report and progress go to standard error, so standard output stays
machine-readable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import pandas as pd

from clvlab import rfm
from clvlab.cli._common import add_log_arguments, add_period_arguments, load_log
from clvlab.models import MODELS
from clvlab.models.fitting import METHODS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``fit``."""
    parser = subparsers.add_parser(
        "fit",
        help="fit BG/NBD, MBG/NBD or Pareto/NBD to a transaction log",
        description="Summarise the calibration period of a transaction log and fit a "
        "buy-till-you-die model by maximum likelihood, MAP, NUTS or ADVI.",
    )
    add_log_arguments(parser)
    add_period_arguments(parser, holdout=False)
    parser.add_argument(
        "--model", choices=list(MODELS), default="bg-nbd", help="model to fit (default bg-nbd)"
    )
    parser.add_argument(
        "--method",
        choices=list(METHODS),
        default="mle",
        help="mle (default, fastest), map, nuts (full posterior) or advi",
    )
    parser.add_argument(
        "--draws", type=int, default=1000, help="NUTS draws per chain, or ADVI draws (default 1000)"
    )
    parser.add_argument(
        "--tune", type=int, default=1000, help="NUTS tuning steps per chain (default 1000)"
    )
    parser.add_argument("--chains", type=int, default=4, help="NUTS chains (default 4)")
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    parser.add_argument(
        "--horizon",
        type=float,
        default=None,
        help="prediction horizon for --out, in time units (default: the "
        "length of the calibration period)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a table"
    )
    parser.add_argument(
        "--out",
        default=None,
        help="CSV file for per-customer predictions (customer_id, "
        "expected_purchases, probability_alive)",
    )
    parser.add_argument("--save", default=None, help="NetCDF file to save the fitted model")
    parser.set_defaults(func=run)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Fit the model; print the estimates; optionally write predictions and the model."""
    log, _ = load_log(args)
    summary = rfm.summarize(
        log,
        calibration_end=args.calibration_end,
        time_unit=args.time_unit,
        amount="amount" if args.amount_col else None,
    )
    model = MODELS[args.model]()
    _progress(
        f"fitting {args.model} by {args.method} to {len(summary):,} customers"
        + (f" ({args.chains} chains x {args.draws} draws)" if args.method == "nuts" else "")
    )
    started = time.perf_counter()
    model.fit(
        summary,
        method=args.method,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        random_seed=args.seed,
        progressbar=args.method in ("nuts", "advi") and sys.stderr.isatty(),
    )
    _progress(f"fitted in {time.perf_counter() - started:.1f} s")

    result = _result(model, args, len(summary))
    if args.json:
        print(json.dumps(result))
    else:
        _print_table(model, result)
    if args.out:
        horizon = args.horizon if args.horizon is not None else float(summary["T"].max())
        predictions = pd.DataFrame(
            {
                "customer_id": summary["customer_id"],
                "expected_purchases": model.expected_purchases(t=horizon)
                .mean(("chain", "draw"))
                .to_numpy(),
                "probability_alive": model.probability_alive().mean(("chain", "draw")).to_numpy(),
            }
        )
        predictions.to_csv(args.out, index=False)
        _progress(
            f"wrote predictions for {len(predictions):,} customers to {args.out} "
            f"(expected purchases over {horizon:g} {args.time_unit})"
        )
    if args.save:
        model.save(args.save)
        _progress(f"saved the model to {args.save}")
    return 0


def _result(model, args: argparse.Namespace, n_customers: int) -> dict:
    result: dict = {
        "model": args.model,
        "method": args.method,
        "n_customers": n_customers,
        "time_unit": args.time_unit,
        "calibration_end": args.calibration_end,
        "params": model.params,
    }
    if args.method in ("nuts", "advi"):
        posterior = model.posterior
        result["params_sd"] = {k: float(posterior[k].std()) for k in model.param_names}
    if model.standard_errors_ is not None:
        result["params_se"] = {k: float(v) for k, v in model.standard_errors_.items()}
    if model.log_likelihood_ is not None:
        result["loglik"] = model.log_likelihood_
    return result


def _print_table(model, result: dict) -> None:
    print(
        f"{result['model']} fitted by {result['method']} to "
        f"{result['n_customers']:,} customers (time unit {result['time_unit']})"
    )
    print(model.summary().to_string())
    if "loglik" in result:
        print(f"log-likelihood {result['loglik']:.2f}")
