"""Data specs: which columns a model reads, and the checks every input table passes.

A model declares ``data_columns`` (the paper's symbols mapped to column names, e.g.
``{"x": "frequency", "t_x": "recency", "T": "T"}``); a model instance may add covariate
columns (:mod:`clvlab.models.params`) and a weights column (an aggregated table, one row
per group of identical customers with their count). :func:`validate_table` applies the
checks every model needs; model-specific ones follow in the model's ``_validate`` hook.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError

__all__ = ["DataSpec", "describe_rows", "require_whole_numbers", "validate_table"]


@dataclass(frozen=True)
class DataSpec:
    """The columns of an input table a model instance reads.

    Attributes
    ----------
    id_column : str
        Identifies a row (``customer_id``).
    columns : tuple of str
        The likelihood's data columns: numbers, finite, non-negative.
    covariates : tuple of str
        Covariate columns: finite numbers (any sign).
    weights : str or None
        Column of positive row weights (customers per row of an aggregated table). Without
        it every row is one customer and ids must be unique.
    """

    id_column: str
    columns: tuple[str, ...]
    covariates: tuple[str, ...] = ()
    weights: str | None = None

    @property
    def all_columns(self) -> list[str]:
        """Every column read, id first, each once."""
        extra = [self.weights] if self.weights else []
        return list(dict.fromkeys([self.id_column, *self.columns, *self.covariates, *extra]))


def describe_rows(ids: pd.Index | np.ndarray | pd.Series, limit: int = 5) -> str:
    """Return ``"3, 17, 20 and 4 more (7 rows)"``-style text naming offending rows."""
    ids = list(ids)
    shown = ", ".join(str(i) for i in ids[:limit])
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"{shown}{more} ({len(ids)} row{'s' if len(ids) != 1 else ''})"


def validate_table(data: pd.DataFrame, spec: DataSpec, model_name: str) -> pd.DataFrame:
    """Check an input table against ``spec``; return the columns read, as floats.

    Raises
    ------
    DataValidationError
        If the input is not a DataFrame, a column is missing, the table is empty, ids
        repeat where rows are customers, or a value is missing, non-numeric, infinite,
        negative (data columns) or not positive (weights); the message names the column,
        the offending rows and the fix.
    """
    needed = spec.all_columns
    if not isinstance(data, pd.DataFrame):
        raise DataValidationError(
            f"{model_name} expects a pandas DataFrame with columns {needed}, "
            f"got {type(data).__name__}."
        )
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise DataValidationError(
            f"column(s) {missing} missing from the input table (it has "
            f"{list(data.columns)}); pass a per-customer summary such as the output of "
            "clvlab.rfm.summarize, or rename your columns."
        )
    if len(data) == 0:
        raise DataValidationError("the input table has no rows; nothing to fit.")
    frame = data[needed].reset_index(drop=True)
    ids = frame[spec.id_column]
    if spec.weights is None:
        duplicated = ids[ids.duplicated()]
        if len(duplicated):
            raise DataValidationError(
                f"column {spec.id_column!r} repeats {spec.id_column} "
                f"{describe_rows(duplicated)}; the model needs one summary row per customer "
                "(summarise the transaction log with clvlab.rfm.summarize)."
            )
    for column in [*spec.columns, *spec.covariates, *([spec.weights] if spec.weights else [])]:
        frame[column] = _numeric(frame[column], ids, column)
    for column in spec.columns:
        _reject(frame[column] < 0, ids, column, "is negative", "counts and durations must be >= 0")
    if spec.weights:
        _reject(frame[spec.weights] <= 0, ids, spec.weights, "is not positive", "drop these rows")
    return frame


def require_whole_numbers(
    frame: pd.DataFrame, columns: tuple[str, ...] | list[str], id_column: str, fix: str
) -> None:
    """Raise DataValidationError naming the rows where one of ``columns`` is fractional
    (counts such as repeat purchases or opportunities); ``fix`` says what to do."""
    for column in columns:
        values = frame[column]
        _reject(
            values != np.round(values),
            frame[id_column],
            column,
            "must hold whole numbers (counts) but is fractional",
            fix,
        )


def _numeric(values: pd.Series, ids: pd.Series, column: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    _reject(
        numbers.isna(),
        ids,
        column,
        "has missing or non-numeric values",
        "drop or fill these rows",
    )
    _reject(
        np.isinf(numbers),
        ids,
        column,
        "is infinite",
        "check how the column was computed (e.g. a missing end date)",
    )
    return numbers


def _reject(bad: pd.Series, ids: pd.Series, column: str, problem: str, fix: str) -> None:
    if bad.any():
        raise DataValidationError(
            f"column {column!r} {problem} for {ids.name} {describe_rows(ids[bad])}; {fix}."
        )
