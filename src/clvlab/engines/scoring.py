"""Scoring customers with a fitted BTYD model inside the engine that holds their summary.

A fitted model is small: its parameters (a point estimate, or posterior draws). The
summary can be huge. So the model goes to the data: :func:`portable` makes a light copy
(no fitting data, optionally a thinned set of draws), and :func:`score` evaluates it

* on a pandas DataFrame directly,
* on a DuckDB relation in chunks of rows read as Arrow batches (memory bounded by the
  chunk, whatever the number of customers), written to Parquet or kept as Arrow,
* on a PySpark DataFrame through ``mapInPandas``: Spark ships the light model to its
  workers with the task and each worker scores its partitions batch by batch.

Each customer gets the posterior means (over the draws kept) of

* ``probability_alive``: :math:`P(\\text{alive} \\mid x, t_x, T)`,
* ``expected_purchases``: :math:`E[Y(t) \\mid x, t_x, T]` over the horizon ``t``

(see :meth:`clvlab.models.btyd.BTYDModel.probability_alive` and
:meth:`~clvlab.models.btyd.BTYDModel.expected_purchases`). CLV with an interval follows
once :mod:`clvlab.clv` scores in chunks as well.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from clvlab.engines.sources import engine_of

#: Columns of a score table, after the id column.
SCORES: tuple[str, ...] = ("probability_alive", "expected_purchases")

#: Draw-customer pairs evaluated per chunk (bounds the memory of one chunk, ~80 MB each
#: for the few arrays the predictions hold).
PAIRS_PER_CHUNK = 10_000_000


def portable(model: Any, draws: int | None = None) -> Any:
    """A light copy of a fitted model for scoring elsewhere: no fitting data and, with
    ``draws``, about that many posterior draws, evenly spaced in each chain.

    Raises
    ------
    ValueError
        If the model is not fitted or ``draws`` is below 1.
    """
    posterior = model.posterior  # raises when not fitted
    light = copy.copy(model)
    light._data = None
    if draws is not None:
        if draws < 1:
            raise ValueError(f"draws must be at least 1, got {draws}")
        per_chain = max(1, math.ceil(draws / posterior.sizes["chain"]))
        total = posterior.sizes["draw"]
        keep = np.unique(np.linspace(0, total - 1, min(per_chain, total)).round().astype(int))
        posterior = posterior.isel(draw=keep)
    light.idata = xr.DataTree.from_dict({"posterior": posterior})
    return light


def score_frame(model: Any, frame: pd.DataFrame, t: float) -> pd.DataFrame:
    """Scores of the customers in ``frame`` (a pandas summary), one row each."""
    mean = ("chain", "draw")
    return pd.DataFrame(
        {
            model.id_column: frame[model.id_column].to_numpy(),
            "probability_alive": model.probability_alive(frame).mean(mean).to_numpy(),
            "expected_purchases": model.expected_purchases(frame, t=t).mean(mean).to_numpy(),
        }
    )


def chunk_rows(model: Any) -> int:
    """Customers per chunk: :data:`PAIRS_PER_CHUNK` over the model's number of draws."""
    posterior = model.posterior
    return max(1_000, PAIRS_PER_CHUNK // (posterior.sizes["chain"] * posterior.sizes["draw"]))


def score(
    model: Any,
    summary: Any,
    t: float,
    *,
    draws: int | None = None,
    out: str | Path | None = None,
) -> Any:
    """Score every customer of ``summary`` with a fitted model, inside its engine.

    Parameters
    ----------
    model : BTYD model
        Fitted (or built with ``from_params``).
    summary : pandas DataFrame, DuckDB relation or PySpark DataFrame
        One row per customer with the model's columns (``customer_id``, ``frequency``,
        ``recency``, ``T``), e.g. from :func:`clvlab.rfm.summarize`.
    t : float
        Horizon of ``expected_purchases``, in the summary's time unit.
    draws : int, optional
        Posterior draws to average over (thinned evenly); default: all of them. A few
        hundred give the posterior mean to well under 1% and cost that many times the
        point estimate.
    out : path, optional
        For DuckDB: write the scores to this Parquet file chunk by chunk (nothing is
        collected in memory) and return a relation over it.

    Returns
    -------
    Same kind as ``summary``
        ``customer_id``, ``probability_alive``, ``expected_purchases``: a pandas
        DataFrame, a DuckDB relation (over ``out`` or over the Arrow table of the scores)
        or a lazy PySpark DataFrame.
    """
    light = portable(model, draws)
    columns = [c for c in light.data_spec.all_columns if c != light.weights]
    engine = engine_of(summary)
    if engine == "pandas":
        return score_frame(light, summary, t)
    if engine == "spark":
        return _score_spark(light, summary.select(*columns), t)
    return _score_duckdb(light, summary.select(*columns), t, out)


def _score_duckdb(model: Any, relation: Any, t: float, out: str | Path | None) -> Any:
    """Score a DuckDB relation in chunks of :func:`chunk_rows` customers."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    reader = relation.to_arrow_reader(chunk_rows(model))
    writer, parts = None, []
    for batch in reader:
        scores = pa.Table.from_pandas(
            score_frame(model, batch.to_pandas(), t), preserve_index=False
        )
        if out is None:
            parts.append(scores)
            continue
        writer = writer or pq.ParquetWriter(str(out), scores.schema)
        writer.write_table(scores)
    if out is None:
        return duckdb.from_arrow(pa.concat_tables(parts))
    if writer is not None:
        writer.close()
    return duckdb.read_parquet(str(out))


def _score_spark(model: Any, frame: Any, t: float) -> Any:
    """Score a PySpark DataFrame with ``mapInPandas`` (the model travels with the task)."""
    id_column = model.id_column
    schema = f"{id_column} string, probability_alive double, expected_purchases double"

    def score_batches(batches):
        for batch in batches:
            scores = score_frame(model, batch, t)
            scores[id_column] = scores[id_column].astype(str)
            yield scores

    return frame.mapInPandas(score_batches, schema)
