"""Model choice, sampler options and the fit itself, shared by ``clvlab fit`` and ``clvlab clv``.

A fit prints nothing on standard output: the sampler's progress bars go to standard error,
and where standard error is not a terminal (a log file), a "still fitting (N s)" line every
:data:`HEARTBEAT_SECONDS` says that the command is alive.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from collections.abc import Iterator, Sequence

import pandas as pd

from clvlab.cli import checks
from clvlab.models import MODELS
from clvlab.models.base import CLVModel
from clvlab.models.btyd import BuyTillYouDieModel, DiscreteBuyTillYouDieModel

#: Models fitted to the per-customer summary of a log in continuous time (frequency,
#: recency, T): the spend (Gamma-Gamma), retention (sBG) and discrete-time (BG/BB) models
#: of the registry need other tables.
TRANSACTION_MODELS: tuple[str, ...] = tuple(
    name
    for name, cls in MODELS.items()
    if issubclass(cls, BuyTillYouDieModel) and not issubclass(cls, DiscreteBuyTillYouDieModel)
)
#: Discrete-time models (BG/BB), fitted to a log's opportunities (``--time-unit``).
DISCRETE_MODELS: tuple[str, ...] = tuple(
    name for name, cls in MODELS.items() if issubclass(cls, DiscreteBuyTillYouDieModel)
)
#: The spend model, fitted to the repeat buyers' mean spend.
SPEND_MODEL = "gamma-gamma"
#: Every model ``clvlab fit`` can fit to a log (sBG needs cohort counts, not a log).
LOG_MODELS: tuple[str, ...] = (*TRANSACTION_MODELS, *DISCRETE_MODELS, SPEND_MODEL)

HEARTBEAT_SECONDS = 30.0
"""How often a fit says it is still running when standard error is not a terminal (a log
file), where progress bars show only their final state."""


def add_model_arguments(
    parser: argparse.ArgumentParser,
    methods: Sequence[str],
    default_method: str = "mle",
    models: Sequence[str] = TRANSACTION_MODELS,
    help_text: str = "transaction model (default bg-nbd)",
) -> None:
    """``--model`` (one of ``models``), ``--method`` and the sampler options ``--draws
    --tune --chains --seed``."""
    parser.add_argument("--model", choices=list(models), default="bg-nbd", help=help_text)
    add_method_arguments(parser, methods, default_method)


def add_method_arguments(
    parser: argparse.ArgumentParser, methods: Sequence[str], default_method: str = "mle"
) -> None:
    """``--method`` and the sampler options ``--draws --tune --chains --seed``."""
    parser.add_argument(
        "--method",
        choices=list(methods),
        default=default_method,
        help=f"fitting method (default {default_method}); mle is fastest, nuts gives the "
        "full posterior",
    )
    parser.add_argument(
        "--draws",
        metavar="N",
        type=checks.positive_int,
        default=1000,
        help="NUTS draws per chain, or ADVI draws (default 1000)",
    )
    parser.add_argument(
        "--tune",
        metavar="N",
        type=checks.non_negative_int,
        default=1000,
        help="NUTS tuning steps per chain (default 1000)",
    )
    parser.add_argument(
        "--chains", type=checks.positive_int, default=4, metavar="N", help="NUTS chains (default 4)"
    )
    parser.add_argument(
        "--seed", type=checks.seed, default=None, metavar="N", help="random seed (0 to 4294967295)"
    )


def progress(message: str) -> None:
    """One line of progress on standard error."""
    print(message, file=sys.stderr, flush=True)


def fit_quietly(model: CLVModel, data: pd.DataFrame, args: argparse.Namespace) -> CLVModel:
    """``model.fit(data)`` with the command's method and sampler options; whatever the
    samplers print goes to standard error, with a heartbeat where that is no terminal."""
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr), _heartbeat(started):
        model.fit(
            data,
            method=args.method,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            random_seed=args.seed,
            progressbar=args.method in ("nuts", "advi"),
        )
    return model


@contextlib.contextmanager
def _heartbeat(started: float) -> Iterator[None]:
    """Print "still fitting" with the time taken every :data:`HEARTBEAT_SECONDS` while the
    block runs, unless standard error is a terminal (where the progress bar is live)."""
    if sys.stderr.isatty():
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            progress(f"still fitting ({time.perf_counter() - started:.0f} s)")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
