"""``clvlab fit``: fit a model to a transaction log.

Reads and validates the log, summarises the calibration period, fits the chosen model and
prints the estimates (a table, or one JSON object with ``--json``, where missing numbers
are ``null``). ``--out`` writes per-customer predictions, ``--save`` the fitted model. The
validation report, progress (the sampler's progress bar included) and warnings go to
standard error, so standard output holds only the result.

What is fitted, by ``--model``:

* ``bg-nbd``, ``mbg-nbd``, ``pareto-nbd``: every customer's frequency, recency and T
  (:func:`clvlab.rfm.summarize`, in ``--time-unit``); ``--out``: expected purchases over
  ``--horizon`` and P(alive).
* ``bg-bb``: discrete opportunities, one per ``--time-unit`` after the first purchase
  (:func:`clvlab.rfm.summarize_discrete`: frequency, recency and periods in whole
  units; purchases in an opportunity that already has one are merged and counted);
  ``--out`` as above, with a whole number of opportunities as horizon.
* ``gamma-gamma``: the repeat buyers' number of repeat purchases and mean repeat spend
  (needs ``--amount-col``; customers without repeat purchases are left out and counted);
  ``--out``: every customer's expected spend per purchase (the population mean for those
  without repeat purchases).
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
from clvlab.cli.fitting import (
    DISCRETE_MODELS,
    LOG_MODELS,
    SPEND_MODEL,
    TRANSACTION_MODELS,
    add_model_arguments,
    fit_quietly,
    progress,
)
from clvlab.cli.output import write_files
from clvlab.engines import scoring
from clvlab.errors import DataValidationError
from clvlab.models import MODELS
from clvlab.models.fitting import METHODS


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``fit``."""
    parser = subparsers.add_parser(
        "fit",
        help="fit BG/NBD, MBG/NBD, Pareto/NBD, BG/BB or Gamma-Gamma to a transaction log",
        description="Summarise the calibration period of a transaction log and fit a "
        "buy-till-you-die model (BG/BB: one transaction opportunity per --time-unit) or the "
        "Gamma-Gamma spend model (the repeat buyers' mean spend; needs --amount-col) by "
        "maximum likelihood, MAP, NUTS or ADVI; print the estimates. The validation report, "
        "progress and warnings go to standard error.",
    )
    add_log_arguments(parser, folders=True)
    add_period_arguments(parser, holdout=False)
    add_model_arguments(
        parser,
        METHODS,
        models=LOG_MODELS,
        help_text="model (default bg-nbd); bg-bb counts one opportunity per --time-unit, "
        "gamma-gamma fits the repeat buyers' spend",
    )
    engine.add_engine_argument(parser)
    parser.add_argument(
        "--horizon",
        type=checks.positive_float,
        metavar="T",
        default=None,
        help="prediction horizon for --out, in time units (default: the "
        "length of the calibration period; bg-bb: whole opportunities; not used by "
        "gamma-gamma)",
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
        "expected_purchases, probability_alive; gamma-gamma: customer_id, expected_spend)",
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
    if args.model == SPEND_MODEL and args.amount_col is None:
        raise DataValidationError(
            f"--model {SPEND_MODEL} fits the purchase values: pass --amount-col."
        )
    whole = args.horizon is None or args.horizon == round(args.horizon)
    if args.model in DISCRETE_MODELS and not whole:
        raise DataValidationError(
            f"--horizon {args.horizon:g} is not a whole number of opportunities, which "
            f"{args.model} needs."
        )
    if args.engine not in ("auto", "pandas"):
        _engine_supports(args.model, args.engine)
    log, where = engine.load(args)
    periods = {"calibration_end": args.calibration_end, "time_unit": args.time_unit}
    if where == "pandas":
        data, summary = _tables(args, log)
        model = MODELS[args.model]()
    else:  # the engine's compressed table: one row per distinct (x, t_x, T), weighted
        _engine_supports(args.model, where)
        data = summary = rfm.summarize(log, compressed=True, **periods)
        model = MODELS[args.model](weights="customers")
    progress(
        f"fitting {args.model} by {args.method} to {_count(data):,} customers"
        + (f" ({args.chains} chains x {args.draws} draws)" if args.method == "nuts" else "")
    )
    started = time.perf_counter()
    fit_quietly(model, data, args)
    progress(f"fitted in {time.perf_counter() - started:.1f} s")

    writers = {}
    if args.out and where != "pandas":
        horizon = args.horizon if args.horizon is not None else float(summary["T"].max())
        scores = scoring.score(model, rfm.summarize(log, **periods), horizon)
        writers[args.out] = lambda path: engine.write_csv(scores, path)
        what = f"predictions (expected purchases over {horizon:g} {args.time_unit})"
    elif args.out:
        predictions, what = _predictions(model, args, summary)
        writers[args.out] = lambda path: predictions.to_csv(path, index=False)
    if args.save:
        writers[args.save] = model.save
    write_files(writers)
    if args.out:
        progress(f"wrote {what} for {_count(summary):,} customers to {args.out}")
    if args.save:
        progress(f"saved the model to {args.save}")

    result = _result(model, args, data, summary)
    if args.json:
        print(json.dumps(_finite_or_none(result), allow_nan=False))
    else:
        _print_table(model, result)
    return 0


def _engine_supports(model: str, where: str) -> None:
    """The DuckDB and Spark engines summarise for the transaction models only."""
    if model not in TRANSACTION_MODELS:
        raise DataValidationError(
            f"--model {model} is fitted from the pandas engine's summary only, not in {where}: "
            "pass --engine pandas."
        )


def _count(table: pd.DataFrame) -> int:
    """Customers in a per-customer table or in an engine's compressed (weighted) table."""
    return int(table.attrs.get("customers", len(table)))


def _tables(args: argparse.Namespace, log: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table the model is fitted to, and the per-customer table of its predictions."""
    if args.model in DISCRETE_MODELS:
        summary = rfm.summarize_discrete(log, args.calibration_end, args.time_unit)
        merged = summary.attrs["merged_same_opportunity"]
        if merged:
            progress(
                f"{merged:,} repeat purchase days fell in an opportunity ({args.time_unit}) "
                f"that already had one and were merged: {args.model} counts at most one "
                "transaction per opportunity"
            )
        return summary, summary
    summary = rfm.summarize(
        log,
        calibration_end=args.calibration_end,
        time_unit=args.time_unit,
        amount="amount" if args.amount_col else None,
    )
    if args.model != SPEND_MODEL:
        return summary, summary
    repeat = summary[summary["frequency"] > 0]
    if len(repeat) < 2:
        raise DataValidationError(
            f"only {len(repeat)} of {len(summary):,} customers bought again by "
            f"{summary.attrs['calibration_end']}; {SPEND_MODEL} is fitted on the repeat "
            "buyers' mean spend: choose a later --calibration-end."
        )
    progress(
        f"{len(summary) - len(repeat):,} customers without repeat purchases are left out of "
        f"the {SPEND_MODEL} fit (their expected spend is the population mean)"
    )
    return repeat, summary


def _predictions(
    model, args: argparse.Namespace, summary: pd.DataFrame
) -> tuple[pd.DataFrame, str]:
    """The ``--out`` table (posterior means per customer) and what it holds, in words."""
    ids = {"customer_id": summary["customer_id"]}
    if args.model == SPEND_MODEL:
        spend = model.expected_spend(summary).mean(("chain", "draw")).to_numpy()
        return pd.DataFrame({**ids, "expected_spend": spend}), "expected spend per purchase"
    length = "periods" if args.model in DISCRETE_MODELS else "T"
    horizon = args.horizon if args.horizon is not None else float(summary[length].max())
    purchases = model.expected_purchases(summary, t=horizon).mean(("chain", "draw"))
    alive = model.probability_alive(summary).mean(("chain", "draw"))
    table = pd.DataFrame(
        {**ids, "expected_purchases": purchases.to_numpy(), "probability_alive": alive.to_numpy()}
    )
    return table, f"predictions (expected purchases over {horizon:g} {args.time_unit})"


def _result(model, args: argparse.Namespace, data: pd.DataFrame, summary: pd.DataFrame) -> dict:
    result: dict = {
        "model": args.model,
        "method": args.method,
        "n_customers": _count(data),
        "time_unit": args.time_unit,
        "calibration_end": summary.attrs["calibration_end"],
        "params": model.params,
    }
    if args.model == SPEND_MODEL:
        result["n_without_repeat_purchases"] = len(summary) - len(data)
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
