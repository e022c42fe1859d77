"""Where a transaction log lives: a frame in memory, a DuckDB relation, a Spark DataFrame
or files that DuckDB reads lazily.

A path is never loaded into pandas: a Parquet file, a directory of Parquet files (searched
recursively) or a glob becomes a DuckDB relation over the files, and a CSV file a relation
that reads every column as text (so customer ids keep their leading zeros).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Literal

import narwhals as nw
import pandas as pd

from clvlab.errors import DataValidationError

Engine = Literal["pandas", "duckdb", "spark"]
ENGINES: tuple[str, ...] = ("auto", "pandas", "duckdb", "spark")
"""Choices of ``--engine``: ``auto`` picks by the input (see :func:`choose_engine`)."""

AUTO_DUCKDB_BYTES = 200 * 2**20
"""Files larger than this (200 MiB) are summarised by DuckDB under ``engine="auto"``."""

_TEXT = (".csv", ".txt", ".tsv")

BYTES_PER_ROW = 100
"""DuckDB memory per log row that the summary's grouped aggregates hold (measured: about
95 bytes per purchase day, one purchase day per row in the worst case)."""

_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}


def engine_of(log: Any) -> Engine:
    """The engine that holds ``log``: ``"pandas"``, ``"duckdb"`` or ``"spark"``.

    Raises
    ------
    DataValidationError
        For any other object (the message lists what is accepted).
    """
    if isinstance(log, pd.DataFrame):
        return "pandas"
    module = type(log).__module__
    if module.startswith("duckdb"):
        return "duckdb"
    if module.startswith("pyspark"):
        return "spark"
    raise DataValidationError(
        f"cannot summarise a {type(log).__name__}: pass a pandas DataFrame, a DuckDB "
        "relation, a PySpark DataFrame, or the path of a Parquet/CSV file, directory or glob"
    )


def is_path(log: Any) -> bool:
    """True for a file name, directory or glob (``str`` or :class:`~pathlib.Path`)."""
    return isinstance(log, str | os.PathLike)


def choose_engine(path: str | os.PathLike, engine: str = "auto") -> tuple[Engine, str]:
    """The engine for a log file and the reason, for ``--engine`` (``auto`` included).

    ``auto`` takes DuckDB for a directory, a glob and any file above
    :data:`AUTO_DUCKDB_BYTES`, pandas otherwise (its reader and validator know more
    date and amount forms).
    """
    if engine != "auto":
        return engine, f"engine {engine} (chosen)"  # type: ignore[return-value]
    path = Path(path)
    if path.is_dir() or any(c in str(path) for c in "*?["):
        return "duckdb", f"engine duckdb (auto: {path} is a directory or glob of files)"
    size = path.stat().st_size
    if size > AUTO_DUCKDB_BYTES:
        return "duckdb", (
            f"engine duckdb (auto: {path} has {size / 2**20:,.0f} MiB, above "
            f"{AUTO_DUCKDB_BYTES / 2**20:,.0f} MiB)"
        )
    return "pandas", f"engine pandas (auto: {path} has {size / 2**20:,.1f} MiB)"


def read_duckdb(path: str | os.PathLike, text_columns: tuple[str, ...] = ()) -> Any:
    """A DuckDB relation over a Parquet or CSV file, a directory of Parquet files or a glob.

    ``text_columns`` of a CSV file are read as text (customer ids: ``007`` stays ``007``);
    a CSV file's other columns are typed by DuckDB's detection.

    Raises
    ------
    DataValidationError
        When nothing matches the path or the file type is not Parquet or CSV.
    """
    import duckdb

    path = Path(path)
    name = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
    suffixes = "".join(Path(name).suffixes).lower()
    try:
        if suffixes.endswith(".parquet"):
            return duckdb.read_parquet(name, union_by_name=True)
        if any(suffixes.endswith(s) or suffixes.endswith(s + ".gz") for s in _TEXT):
            return duckdb.read_csv(name, dtype=dict.fromkeys(text_columns, "VARCHAR"))
    except duckdb.IOException as err:
        raise DataValidationError(f"cannot read '{path}' with DuckDB: {err}") from None
    raise DataValidationError(
        f"DuckDB reads Parquet (.parquet, a directory of them or a glob) and CSV files, not "
        f"'{path}'; use engine='pandas' for other formats"
    )


def lazy(log: Any, text_columns: tuple[str, ...] = ()) -> tuple[nw.LazyFrame, Engine]:
    """``log`` as a narwhals LazyFrame and its engine.

    Paths are read by DuckDB (see :func:`read_duckdb` for ``text_columns``), and so are
    pandas frames: narwhals runs grouped conditional sums on pandas row group by row group,
    a hundred times slower than DuckDB scanning the frame in place.
    """
    if is_path(log):
        log = read_duckdb(log, text_columns)
    engine = engine_of(log)
    if engine == "pandas":
        import duckdb

        log = duckdb.from_df(log)
    return nw.from_native(log), engine


def duckdb_memory_limit(relation: Any) -> int:
    """The ``memory_limit`` of the DuckDB connection that holds ``relation``, in bytes (as
    DuckDB writes it, e.g. ``2.7 GiB``; no limit is about 16,384 PiB)."""
    (text,) = relation.query("r", "SELECT current_setting('memory_limit')").fetchall()[0]
    number, unit = re.fullmatch(r"([\d.]+)\s*(\w+)", text).groups()
    return int(float(number) * _UNITS[unit])


def customer_slices(frame: nw.LazyFrame, customer: str, rows: int) -> list[nw.LazyFrame]:
    """``frame`` split by the hash of the ``customer`` column into slices whose grouped
    aggregates fit in half of DuckDB's ``memory_limit`` (:data:`BYTES_PER_ROW` per row),
    so that a log of any size is summarised slice after slice, in memory, rather than
    spilled to disk (four times slower); every customer lies in one slice.

    Only DuckDB is split (Spark partitions by itself); one slice where everything fits.
    """
    native = frame.to_native()
    if engine_of(native) != "duckdb":
        return [frame]
    n = math.ceil(rows * BYTES_PER_ROW / (duckdb_memory_limit(native) / 2))
    if n <= 1:
        return [frame]
    column = customer.replace('"', '""')
    return [nw.from_native(native.filter(f'hash("{column}") % {n} = {k}')) for k in range(n)]
