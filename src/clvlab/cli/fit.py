"""``clvlab fit``: fit a buy-till-you-die model to a transaction log.

Reads and validates the log, summarises the calibration period
(:func:`clvlab.rfm.summarize`), fits the chosen model and prints the estimates (a table,
or one JSON object with ``--json``, where missing numbers are ``null``). ``--out`` writes
per-customer predictions, ``--save`` the fitted model. The validation report, progress
(the sampler's progress bar included) and warnings go to standard error, so standard
output holds only the result.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import pandas as pd

from clvlab import rfm
from clvlab.cli import checks, engine
from clvlab.cli._common import add_log_arguments, add_period_arguments
from clvlab.cli.fitting import add_model_arguments, fit_quietly, progress
from clvlab.cli.output import write_files
from clvlab.engines import scoring
from clvlab.models import MODELS
from clvlab.models.fitting import METHODS


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``fit``."""
    parser = subparsers.add_parser(
        "fit",
        help="fit BG/NBD, MBG/NBD or Pareto/NBD to a transaction log",
        description="Summarise the calibration period of a transaction log and fit a "
        "buy-till-you-die model by maximum likelihood, MAP, NUTS or ADVI; print the "
        "estimates. The validation report, progress and warnings go to standard error.",
    )
    add_log_arguments(parser, folders=True)
    add_period_arguments(parser, holdout=False)
    add_model_arguments(parser, METHODS)
    engine.add_engine_argument(parser)
    parser.add_argument(
        "--horizon",
        type=checks.positive_float,
        metavar="T",
        default=None,
        help="prediction horizon for --out, in time units (default: the "
        "length of the calibration period)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a table"
    )
    parser.add_argument(
        "--out",
        type=checks.output_file,
        default=None,
        metavar="FILE.csv",
        help="CSV file for per-customer predictions (customer_id, "
        "expected_purchases, probability_alive)",
    )
    parser.add_argument(
        "--save",
        type=checks.output_file,
        default=None,
        metavar="FILE.nc",
        help="NetCDF file for the fitted model (clvlab.models.CLVModel.load reads it)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Fit the model; write the predictions and the model; print the estimates."""
    checks.distinct_files([args.file], {"--out": args.out, "--save": args.save})
    log, where = engine.load(args)
    periods = {"calibration_end": args.calibration_end, "time_unit": args.time_unit}
    if where == "pandas":
        summary = rfm.summarize(log, amount="amount" if args.amount_col else None, **periods)
        model = MODELS[args.model]()
    else:  # the engine's compressed table: one row per distinct (x, t_x, T), weighted
        summary = rfm.summarize(log, compressed=True, **periods)
        model = MODELS[args.model](weights="customers")
    customers = summary.attrs.get("customers", len(summary))
    progress(
        f"fitting {args.model} by {args.method} to {customers:,} customers"
        + (f" ({args.chains} chains x {args.draws} draws)" if args.method == "nuts" else "")
    )
    started = time.perf_counter()
    fit_quietly(model, summary, args)
    progress(f"fitted in {time.perf_counter() - started:.1f} s")

    horizon = args.horizon if args.horizon is not None else float(summary["T"].max())
    writers = {}
    if args.out and where != "pandas":
        scores = scoring.score(model, rfm.summarize(log, **periods), horizon)
        writers[args.out] = lambda path: engine.write_csv(scores, path)
    elif args.out:
        predictions = pd.DataFrame(
            {
                "customer_id": summary["customer_id"],
                "expected_purchases": model.expected_purchases(t=horizon)
                .mean(("chain", "draw"))
                .to_numpy(),
                "probability_alive": model.probability_alive().mean(("chain", "draw")).to_numpy(),
            }
        )
        writers[args.out] = lambda path: predictions.to_csv(path, index=False)
    if args.save:
        writers[args.save] = model.save
    write_files(writers)
    if args.out:
        progress(
            f"wrote predictions for {customers:,} customers to {args.out} "
            f"(expected purchases over {horizon:g} {args.time_unit})"
        )
    if args.save:
        progress(f"saved the model to {args.save}")

    result = _result(model, args, summary)
    if args.json:
        print(json.dumps(_finite_or_none(result), allow_nan=False))
    else:
        _print_table(model, result)
    return 0


def _result(model, args: argparse.Namespace, summary: pd.DataFrame) -> dict:
    result: dict = {
        "model": args.model,
        "method": args.method,
        "n_customers": summary.attrs.get("customers", len(summary)),
        "time_unit": args.time_unit,
        "calibration_end": summary.attrs["calibration_end"],
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


def _finite_or_none(value):
    """``value`` with every NaN or infinite number (in dicts and lists) replaced by None,
    which JSON writes as ``null``."""
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
