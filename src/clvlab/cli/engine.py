"""``--engine``: where ``clvlab summarize``, ``fit`` and ``clv`` do the row-level work.

``pandas`` reads the whole file into memory with :func:`clvlab.transactions.read` (every
written form of dates and amounts); ``duckdb`` validates and summarises the file out of
core with :mod:`clvlab.engines` (Parquet files, directories and globs, or CSV with typed
dates and numeric amounts); ``spark`` does the same in a Spark session (local, or the
cluster that ``spark-submit`` configures) for Parquet; ``auto`` takes DuckDB for a
directory, a glob or a file above 200 MiB and says so.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from clvlab.cli._common import load_log
from clvlab.engines import sources, validation
from clvlab.errors import ClvlabError

#: Options of the pandas reader that the engines do not use.
_PANDAS_ONLY = {
    "date_format": "--date-format",
    "decimal": "--decimal",
    "sep": "--sep",
    "encoding": "--encoding",
}


def add_engine_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--engine`` to a parser that reads a log (see the module documentation)."""
    parser.add_argument(
        "--engine",
        choices=sources.ENGINES,
        default="auto",
        help="where to validate and summarise the log: pandas (in memory), duckdb (out of "
        "core: Parquet files, directories, globs, typed CSV), spark (Parquet) or auto "
        "(duckdb for directories, globs and files above 200 MiB; default)",
    )


def load(args: argparse.Namespace, report_to: TextIO | None = None) -> tuple[Any, str]:
    """The validated log in the chosen engine (a pandas DataFrame, a DuckDB relation or a
    Spark DataFrame) and the engine's name; the choice and the report are printed to
    ``report_to`` (default: standard error)."""
    stream = report_to or sys.stderr
    engine, reason = sources.choose_engine(args.file, args.engine)
    print(reason, file=stream)
    if engine == "pandas":
        return load_log(args, report_to=stream)[0], engine
    given = [flag for key, flag in _PANDAS_ONLY.items() if getattr(args, key, None)]
    if given:
        raise ClvlabError(
            f"{', '.join(given)} applies to the pandas reader only; with engine {engine} the "
            "file's columns must already have types (drop the option or use --engine pandas)"
        )
    raw = args.file if engine == "duckdb" else _spark_read(args.file)
    log, report = validation.validate(
        raw,
        customer=args.customer_col,
        date=args.date_col,
        amount=args.amount_col,
        policy={"duplicate": args.duplicates},
        returns=args.returns,
    )
    print(report, file=stream)
    return log, engine


def _spark_read(path: str) -> Any:
    """A Parquet file or directory read by the active Spark session (local if none)."""
    from pyspark.sql import SparkSession

    if not str(path).endswith(".parquet") and not Path(path).is_dir():
        raise ClvlabError(f"--engine spark reads Parquet files and directories, not '{path}'")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this Python
    spark = SparkSession.builder.getOrCreate()
    return spark.read.parquet(str(path))


def write_csv(table: Any, path: Path) -> None:
    """Write a summary or score table of any engine to one CSV file."""
    engine = sources.engine_of(table)
    if engine == "pandas":
        table.to_csv(path, index=False)
    elif engine == "duckdb":
        table.write_csv(str(path))
    else:  # Spark writes folders of parts; one file needs the rows on the driver
        table.toPandas().to_csv(path, index=False)
