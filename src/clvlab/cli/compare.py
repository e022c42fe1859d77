"""``clvlab compare``: several transaction models and naive baselines on one holdout period.

Reads and validates the log, summarises the calibration period with its holdout
(:func:`clvlab.rfm.summarize`), fits every model chosen by the same method and prints per
model (baselines included) the predicted total of holdout repeat purchases (the sum of
the customers' conditional expectations) next to the actual total, with the metrics of
:func:`clvlab.evaluate.compare_models`: MAE, RMSE, bias, correlation and the holdout log
score. ``--json`` prints a list with one object per model (non-finite numbers as
``null``), ``--out`` writes the whole tidy table as CSV, ``--plots DIR`` the tracking and
conditional-expectation plots as PNG. Validation report, progress and warnings go to
standard error.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from clvlab import evaluate, rfm
from clvlab.cli import checks
from clvlab.cli._common import add_log_arguments, add_period_arguments, load_log
from clvlab.cli.fit import _finite_or_none
from clvlab.cli.fitting import TRANSACTION_MODELS, add_method_arguments, fit_quietly, progress
from clvlab.cli.output import write_files
from clvlab.errors import DataValidationError
from clvlab.evaluate.comparison import LITERATURE_NAMES
from clvlab.models import MODELS

#: Columns printed (and written by --json), in this order.
COLUMNS = [
    "model",
    "method",
    "predicted_total",
    "actual_total",
    "total_error",
    "mae",
    "rmse",
    "bias",
    "correlation",
    "log_score",
]
PLOTS = ("tracking.png", "tracking_cumulative.png", "conditional_expectations.png")


def model_list(text: str) -> list[str]:
    """Comma-separated registry names of transaction models, each once."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in TRANSACTION_MODELS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {unknown or [text]}; choose from {', '.join(TRANSACTION_MODELS)} "
            "separated by commas"
        )
    if len(set(names)) < len(names):
        raise argparse.ArgumentTypeError(f"a model is named twice in {text!r}")
    return names


def plots_folder(text: str) -> Path:
    """An existing, writable folder for the plots."""
    checks.output_file(str(Path(text) / PLOTS[0]))
    return Path(text)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``compare``."""
    parser = subparsers.add_parser(
        "compare",
        help="compare BG/NBD, MBG/NBD, Pareto/NBD and naive baselines on a holdout period",
        description="Fit several transaction models to the calibration period of a "
        "transaction log and judge them, next to two naive baselines, on the holdout period: "
        "predicted against actual total repeat purchases, per-customer errors and the "
        "holdout log score.",
    )
    add_log_arguments(parser)
    add_period_arguments(parser, holdout=False)
    parser.add_argument(
        "--observation-end",
        "--holdout-end",
        dest="observation_end",
        default=None,
        type=checks.calendar_date,
        metavar="DATE",
        help="last day of the holdout period (default: the last purchase in the log)",
    )
    parser.add_argument(
        "--models",
        type=model_list,
        default=list(TRANSACTION_MODELS),
        metavar="M1,M2",
        help=f"models to compare (default {','.join(TRANSACTION_MODELS)})",
    )
    add_method_arguments(parser, ("mle", "nuts"))
    parser.add_argument(
        "--json", action="store_true", help="print a JSON list, one object per model"
    )
    parser.add_argument(
        "--out",
        type=checks.output_file,
        default=None,
        metavar="FILE.csv",
        help="CSV file for the whole comparison table (with intervals and standard errors)",
    )
    parser.add_argument(
        "--plots",
        type=plots_folder,
        default=None,
        metavar="DIR",
        help=f"folder for the plots {', '.join(PLOTS)}",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Fit every model, compare them on the holdout and print (and write) the table."""
    plots = {} if args.plots is None else {args.plots / name: name for name in PLOTS}
    checks.distinct_files(
        [args.file], {"--out": args.out, **{f"--plots ({n})": p for p, n in plots.items()}}
    )
    if args.observation_end is not None:
        _check_holdout(args.calibration_end, args.observation_end)
    log, _ = load_log(args)
    observation_end = args.observation_end or str(log["date"].max().date())
    _check_holdout(args.calibration_end, observation_end)
    summary = rfm.summarize(
        log,
        calibration_end=args.calibration_end,
        observation_end=observation_end,
        time_unit=args.time_unit,
        amount=None,
    )
    models = {}
    for name in args.models:
        progress(f"fitting {name} by {args.method} to {len(summary):,} customers")
        started = time.perf_counter()
        models[LITERATURE_NAMES[name]] = fit_quietly(MODELS[name](), summary, args)
        progress(f"fitted in {time.perf_counter() - started:.1f} s")
    table = evaluate.compare_models(models, summary)

    writers = {}
    if args.out:
        writers[args.out] = lambda path: table.to_csv(path, index=False)
    if plots:
        writers.update(_plot_writers(plots, log, models, summary, args, observation_end))
    write_files(writers)
    if args.out:
        progress(f"wrote the comparison of {len(table)} models to {args.out}")
    if plots:
        progress(f"wrote {', '.join(PLOTS)} to {args.plots}")

    if args.json:
        records = table[COLUMNS].to_dict(orient="records")
        print(json.dumps(_finite_or_none(records), allow_nan=False))
    else:
        _print_table(table, summary, args, observation_end)
    return 0


def _check_holdout(calibration_end: str, observation_end: str) -> None:
    """Refuse a holdout period without days (the log's end is the default end)."""
    if rfm.day_number(observation_end) <= rfm.day_number(calibration_end):
        raise DataValidationError(
            f"the holdout period is empty: observation_end {observation_end} is not after "
            f"calibration_end {calibration_end}; pass a later observation_end."
        )


def _print_table(
    table: pd.DataFrame, summary: pd.DataFrame, args: argparse.Namespace, observation_end: str
) -> None:
    duration = summary["duration_holdout"].iloc[0]
    print(
        f"calibration to {args.calibration_end}, holdout to {observation_end} "
        f"({duration:g} {args.time_unit}), {len(summary):,} customers; models fitted by "
        f"{args.method}"
    )
    shown = table[COLUMNS].set_index("model")
    print(shown.to_string(float_format=lambda v: f"{v:,.3f}"))
    print(
        "predicted_total: sum of the customers' expected holdout purchases; log_score: sum of "
        "log P(actual holdout purchases), higher is better (-inf: a forecast of 0 for a buyer)"
    )


def _plot_writers(
    plots: dict[Path, str],
    log: pd.DataFrame,
    models: dict,
    summary: pd.DataFrame,
    args: argparse.Namespace,
    observation_end: str,
) -> dict:
    """One writer per plot file, the figures drawn before anything is written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from clvlab.plots.comparison import plot_conditional_expectations
    from clvlab.plots.evaluation import plot_tracking

    tracked = evaluate.tracking(
        log,
        models,
        calibration_end=args.calibration_end,
        observation_end=observation_end,
        time_unit=args.time_unit,
    )
    predictions = evaluate.holdout_predictions(evaluate.with_baselines(models, summary), summary)
    figures = {}
    for path, name in plots.items():
        fig, ax = plt.subplots(figsize=(9, 4.5))
        if name == "conditional_expectations.png":
            plot_conditional_expectations(predictions, ax=ax)
        else:
            plot_tracking(tracked, cumulative=name == "tracking_cumulative.png", ax=ax)
        fig.tight_layout()
        figures[path] = fig

    def writer(fig):
        def write(path: Path) -> None:
            fig.savefig(path, format="png", dpi=100)
            plt.close(fig)

        return write

    return {path: writer(fig) for path, fig in figures.items()}
