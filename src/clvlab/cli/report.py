"""``clvlab report``: the whole lab on one transaction log, as a report to hand on.

Checks the file first (:func:`clvlab.report.load`: readable, columns found, valid rows, a
log long enough for a holdout), so that bad input stops within seconds with one line; then
runs the template notebook with papermill (:func:`clvlab.report.execute`, one progress
line per section on standard error) and writes, all or nothing, into the folder ``--out``:

* ``report.ipynb``: the executed notebook;
* ``report.html``: the same as a self-contained page (figures embedded, code hidden);
* ``customers.csv``: one row per customer with a valid purchase
  (:data:`clvlab.report.CUSTOMER_COLUMNS`);
* ``validation.csv``: the reconciling validation report.

Standard output lists the files written, one per line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from clvlab import report
from clvlab.cli import checks
from clvlab.cli._common import add_value_arguments
from clvlab.cli.fitting import TRANSACTION_MODELS, progress
from clvlab.cli.output import write_files
from clvlab.errors import ClvlabError

FILES = ("report.html", "report.ipynb", "customers.csv", "validation.csv")
"""The files ``clvlab report`` writes into ``--out``."""
DEFAULT_OUT = "clvlab-report"


def output_folder(text: str) -> Path:
    """A folder to write into: an existing writable folder, or a new one in an existing
    writable folder (created when the report is written)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a folder name is required")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"'{path}' is a file; name a folder for the report")
    folder = path if path.is_dir() else path.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"folder '{folder}' does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write into folder '{folder}' (no permission)")
    return path


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``report``."""
    parser = subparsers.add_parser(
        "report",
        help="the whole lab on a transaction log: an HTML report and customers.csv",
        description="Validate a transaction log, fit a purchase model and the Gamma-Gamma "
        "spend model, check them on a holdout period, and report each customer's value, "
        "lifecycle phase and the measures recommended for it. Writes report.html, "
        "report.ipynb, customers.csv and validation.csv into --out. Columns are detected "
        "from their names (English or German) unless given.",
    )
    parser.add_argument(
        "file",
        metavar="FILE",
        type=checks.input_file,
        help="transaction log (.csv/.txt/.tsv, also .gz/.bz2/.xz/.zip; .parquet; .xlsx)",
    )
    for option, role in (
        ("--customer-col", "customer id"),
        ("--date-col", "purchase date"),
        ("--amount-col", "purchase value (default: detected, or price x quantity)"),
    ):
        parser.add_argument(option, default=None, metavar="NAME", help=f"column with the {role}")
    parser.add_argument(
        "--calibration-end",
        type=checks.calendar_date,
        default=None,
        metavar="DATE",
        help="last day of the calibration period (default: the last quarter of the log is "
        "held out to check the model)",
    )
    parser.add_argument(
        "--model",
        choices=TRANSACTION_MODELS,
        default="bg-nbd",
        help="purchase model (default bg-nbd)",
    )
    parser.add_argument(
        "--method",
        choices=["mle", "nuts"],
        default="mle",
        help="fitting method (default mle: seconds, CLV intervals from a normal approximation; "
        "nuts: posterior intervals, minutes)",
    )
    parser.add_argument(
        "--language",
        choices=["en", "de"],
        default="en",
        help="language of phase names and recommended measures (default en)",
    )
    add_value_arguments(parser, unit="weeks")
    parser.add_argument(
        "--encoding",
        type=checks.encoding,
        default=None,
        help="text encoding of the file (default: UTF-8, else Windows-1252)",
    )
    parser.add_argument(
        "--sep",
        type=checks.separator,
        default=None,
        help="field separator of a text file (default: detected among , ; tab |)",
    )
    parser.add_argument(
        "--show-code", action="store_true", help="show the code cells in report.html"
    )
    parser.add_argument(
        "--out",
        type=output_folder,
        default=Path(DEFAULT_OUT),
        metavar="DIR",
        help=f"folder for the report, created if needed (default {DEFAULT_OUT})",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Check the input, run the template, render it and write the four files."""
    started = time.perf_counter()
    if Path(args.file).resolve() in {(args.out / name).resolve() for name in FILES}:
        raise ClvlabError(f"--out '{args.out}' would overwrite FILE; choose another folder")
    inputs = report.load(
        args.file,
        args.customer_col,
        args.date_col,
        args.amount_col,
        args.calibration_end,
        encoding=args.encoding,
        sep=args.sep,
    )
    progress(f"{inputs.columns}\n{inputs.validation}\n{inputs.describe_periods()}")
    with tempfile.TemporaryDirectory(prefix="clvlab-report-") as staging:
        folder = Path(staging)
        notebook = folder / "report.ipynb"
        parameters = {
            "data_file": str(Path(args.file).resolve()),
            "customer_col": args.customer_col,
            "date_col": args.date_col,
            "amount_col": args.amount_col,
            "calibration_end": args.calibration_end,
            "horizon": args.horizon,
            "margin": args.margin,
            "discount_rate": args.discount_rate,
            "model": args.model,
            "method": args.method,
            "language": args.language,
            "output_dir": str(folder),
        }
        progress(
            f"clvlab report: [{_elapsed(started)}] running the template ({args.model} by "
            f"{args.method})"
        )
        _execute(parameters, notebook, folder, started)
        progress(f"clvlab report: [{_elapsed(started)}] rendering report.html")
        (folder / "report.html").write_text(
            report.to_html(notebook, show_code=args.show_code), encoding="utf-8"
        )
        _write(folder, args.out)
    for name in FILES:
        print(args.out / name)
    progress(
        f"clvlab report: done in {time.perf_counter() - started:.0f} s; open {args.out}/report.html"
    )
    return 0


def _elapsed(started: float) -> str:
    return f"{time.perf_counter() - started:4.0f} s"


def _execute(parameters: dict, notebook: Path, folder: Path, started: float) -> None:
    """Run the template; a failing cell, a missing or dead kernel and a timeout become one
    line naming the error."""
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        report.execute(
            parameters,
            notebook,
            progress=lambda step: progress(f"clvlab report: [{_elapsed(started)}] {step}"),
            cwd=folder,
        )
    except PapermillExecutionError as err:
        reason = " ".join(f"{err.ename}: {err.evalue}".split())
        raise ClvlabError(
            f"the report stopped in cell {err.exec_count} with {reason}; no files were written"
        ) from None
    except NoSuchKernel:
        raise ClvlabError(
            "no Python kernel for Jupyter is installed to run the report; install one with "
            "'pip install ipykernel' (no files were written)"
        ) from None
    except (CellTimeoutError, DeadKernelError) as err:
        reason = " ".join(str(err).split())[:300]
        raise ClvlabError(
            f"the report's Python kernel stopped: {reason}; no files were written"
        ) from None


def _write(folder: Path, out: Path) -> None:
    """Move the staged files into ``out`` all or nothing (``out`` is created if needed and
    removed again when writing fails)."""
    created = not out.exists()
    if created:
        out.mkdir()
    try:
        write_files(
            {
                out / name: lambda path, name=name: shutil.copyfile(folder / name, path)
                for name in FILES
            }
        )
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
