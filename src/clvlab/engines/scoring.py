"""Scoring customers with a fitted BTYD model inside the engine that holds their summary.

A fitted model is small: its parameters (a point estimate, or posterior draws). The
summary can be huge. So the model goes to the data: :func:`portable` makes a light copy
(no fitting data, optionally a thinned set of draws), and :func:`score` evaluates it

* on a pandas DataFrame directly,
* on a DuckDB relation in chunks of rows read as Arrow batches (memory bounded by the
  chunk, whatever the number of customers), written to Parquet or kept as Arrow,
* on a PySpark DataFrame through ``mapInPandas``: Spark ships the light model to its
  workers with the task and each worker scores its partitions chunk by chunk.

Each customer gets the posterior means (over the draws kept) of

* ``probability_alive``: :math:`P(\\text{alive} \\mid x, t_x, T)`,
* ``expected_purchases``: :math:`E[Y(t) \\mid x, t_x, T]` over the horizon ``t``

(see :meth:`clvlab.models.btyd.BTYDModel.probability_alive` and
:meth:`~clvlab.models.btyd.BTYDModel.expected_purchases`), and, given a spend model (or a
constant spend per purchase), the customer lifetime value over the same horizon with its
interval: ``discounted_expected_purchases``, ``expected_spend``, ``clv``, ``clv_low``,
``clv_high``. These come from :func:`clvlab.clv.customer_lifetime_value` run on each
chunk (one implementation for pandas and the engines): a CLV depends on the customer's
own inputs only, so chunk by chunk gives the whole table's values. For a maximum
likelihood fit the interval comes from the normal approximation of the estimates, drawn
with ``random_seed`` (default 0) in every chunk: the same parameter sets for all
customers, hence the numbers of the pandas path. :func:`spend_table` counts the small
table a Gamma-Gamma spend model is fitted to in the engine.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import xarray as xr

from clvlab import clv
from clvlab.engines.sources import engine_of, lazy
from clvlab.engines.summary import COUNT_COLUMN, distinct_rows

#: Columns of a score table, after the id column.
SCORES: tuple[str, ...] = ("probability_alive", "expected_purchases")
#: Columns added by a CLV (:func:`clvlab.clv.customer_lifetime_value`), after
#: :data:`SCORES`.
VALUE_SCORES: tuple[str, ...] = (
    "discounted_expected_purchases",
    "expected_spend",
    "clv",
    "clv_low",
    "clv_high",
)

#: Scores of one pandas chunk of a summary (:func:`score_frame` with its options bound).
Scorer = Callable[[pd.DataFrame], pd.DataFrame]

#: Draw-customer pairs evaluated per chunk (bounds the memory of one chunk, ~80 MB each
#: for the few arrays the predictions hold).
PAIRS_PER_CHUNK = 10_000_000
#: Customers per chunk with a CLV: :func:`clvlab.clv.customer_lifetime_value` bounds its
#: draw arrays itself (``memory_budget``), and its sums over the horizon, taken once per
#: distinct (x, T) of a chunk, are shared by more customers in larger chunks.
VALUE_CHUNK_ROWS = 1_000_000

#: Options of :func:`clvlab.clv.customer_lifetime_value` that :func:`score` passes on
#: (the horizon is ``t``).
VALUE_OPTIONS: tuple[str, ...] = tuple(
    name
    for name, p in inspect.signature(clv.customer_lifetime_value).parameters.items()
    if p.kind is p.KEYWORD_ONLY and name != "horizon"
)


def portable(model: Any, draws: int | None = None) -> Any:
    """A light copy of a fitted model for scoring elsewhere: no fitting data, no weights
    column (it scores one customer per row, whatever it was fitted to) and, with
    ``draws``, about that many posterior draws, evenly spaced in each chain.

    Raises
    ------
    ValueError
        If the model is not fitted or ``draws`` is below 1.
    """
    posterior = model.posterior  # raises when not fitted
    light = copy.copy(model)
    light._data = None
    light.weights = None
    light.data_spec = dataclasses.replace(model.data_spec, weights=None)
    if draws is not None:
        if draws < 1:
            raise ValueError(f"draws must be at least 1, got {draws}")
        per_chain = max(1, math.ceil(draws / posterior.sizes["chain"]))
        total = posterior.sizes["draw"]
        keep = np.unique(np.linspace(0, total - 1, min(per_chain, total)).round().astype(int))
        posterior = posterior.isel(draw=keep)
    light.idata = xr.DataTree.from_dict({"posterior": posterior})
    return light


def spend_table(summary: Any) -> pd.DataFrame:
    """The repeat buyers' distinct (``frequency``, ``monetary_value``) rows with their
    customer counts (column ``customers``), computed in the summary's engine: the table a
    Gamma-Gamma spend model fits with ``GammaGamma(weights="customers")``.

    The Gamma-Gamma likelihood of a customer depends on the number of repeat purchases and
    their mean spend only (Fader, Hardie & Lee 2005, JMR), so customers with equal pairs
    share one row; ``customer_id`` is the smallest id of the row's customers.

    Parameters
    ----------
    summary : pandas DataFrame, DuckDB relation, PySpark DataFrame or path
        Per-customer summary with ``customer_id``, ``frequency`` and ``monetary_value``
        (:func:`clvlab.rfm.summarize` with an amount column).
    """
    frame, _ = lazy(summary)
    keys = ("frequency", "monetary_value")
    groups = distinct_rows(frame.filter(nw.col("frequency") > 0), {k: nw.col(k) for k in keys})
    return groups.sort_values(list(keys), ignore_index=True)[["customer_id", *keys, COUNT_COLUMN]]


def score_frame(
    model: Any,
    frame: pd.DataFrame,
    t: float,
    spend: clv.Spend | None = None,
    **value: Any,
) -> pd.DataFrame:
    """Scores of the customers in ``frame`` (a pandas summary), one row each: the
    :data:`SCORES`, and with ``spend`` the :data:`VALUE_SCORES` of
    :func:`clvlab.clv.customer_lifetime_value` (horizon ``t``, options ``value``)."""
    if spend is not None:
        table = clv.customer_lifetime_value(model, spend, frame, horizon=t, **value)
        table.attrs = {}
        return table[[model.id_column, *SCORES, *VALUE_SCORES]]
    mean = ("chain", "draw")
    return pd.DataFrame(
        {
            model.id_column: frame[model.id_column].to_numpy(),
            "probability_alive": model.probability_alive(frame).mean(mean).to_numpy(),
            "expected_purchases": model.expected_purchases(frame, t=t).mean(mean).to_numpy(),
        }
    )


def chunk_rows(model: Any, value: bool = False) -> int:
    """Customers per chunk: :data:`PAIRS_PER_CHUNK` over the model's number of draws, or
    with a CLV (``value``) :data:`VALUE_CHUNK_ROWS`."""
    if value:
        return VALUE_CHUNK_ROWS
    posterior = model.posterior
    return max(1_000, PAIRS_PER_CHUNK // (posterior.sizes["chain"] * posterior.sizes["draw"]))


def score(
    model: Any,
    summary: Any,
    t: float,
    *,
    spend: clv.Spend | None = None,
    draws: int | None = None,
    out: str | Path | None = None,
    **value: Any,
) -> Any:
    """Score every customer of ``summary`` with a fitted model, inside its engine.

    Parameters
    ----------
    model : BTYD model
        Fitted (or built with ``from_params``), to a per-customer or a weighted table.
    summary : pandas DataFrame, DuckDB relation or PySpark DataFrame
        One row per customer with the model's columns (``customer_id``, ``frequency``,
        ``recency``, ``T``) and, with a spend model, its column (``monetary_value``),
        e.g. from :func:`clvlab.rfm.summarize`.
    t : float
        Horizon of ``expected_purchases`` and of the CLV, in the summary's time unit.
    spend : GammaGamma or float, optional
        A fitted spend model, or a constant spend per purchase: adds the CLV columns
        :data:`VALUE_SCORES` (:func:`clvlab.clv.customer_lifetime_value`).
    draws : int, optional
        Posterior draws to average over (thinned evenly, the spend model's alike);
        default: all of them. A few hundred give the posterior mean to well under 1% and
        cost that many times the point estimate.
    out : path, optional
        For DuckDB: write the scores to this Parquet file chunk by chunk (nothing is
        collected in memory) and return a relation over it.
    **value
        Options of the CLV (with ``spend`` only), see :data:`VALUE_OPTIONS`:
        ``discount_rate``, ``margin``, ``time_unit``, ``interval``, ``random_seed``, ...

    Returns
    -------
    Same kind as ``summary``
        ``customer_id``, :data:`SCORES` (and :data:`VALUE_SCORES`): a pandas DataFrame, a
        DuckDB relation (over ``out`` or over the Arrow table of the scores) or a lazy
        PySpark DataFrame.

    Raises
    ------
    TypeError
        For an option that is not one of :data:`VALUE_OPTIONS`.
    ValueError
        For CLV options without ``spend``.
    """
    unknown = sorted(set(value) - set(VALUE_OPTIONS))
    if unknown:
        raise TypeError(f"unknown CLV option(s) {unknown}; the options are {list(VALUE_OPTIONS)}")
    if value and spend is None:
        raise ValueError(f"CLV options {sorted(value)} need a spend model: pass spend=...")
    light = portable(model, draws)
    columns = light.data_spec.all_columns
    if spend is not None and not isinstance(spend, int | float | np.number):
        spend = portable(spend, draws)
        columns = list(dict.fromkeys([*columns, *spend.data_spec.all_columns]))
    engine = engine_of(summary)
    if engine == "pandas":
        return score_frame(light, summary, t, spend, **value)
    scorer = functools.partial(score_frame, light, t=t, spend=spend, **value)
    rows = chunk_rows(light, value=spend is not None)
    if engine == "spark":
        names = [*SCORES, *(VALUE_SCORES if spend is not None else ())]
        return _score_spark(light.id_column, summary.select(*columns), names, scorer, rows)
    return _score_duckdb(summary.select(*columns), scorer, rows, out)


def _score_duckdb(relation: Any, scorer: Scorer, rows: int, out: str | Path | None) -> Any:
    """Score a DuckDB relation in chunks of ``rows`` customers."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer, parts = None, []
    for batch in relation.to_arrow_reader(rows):
        scores = pa.Table.from_pandas(scorer(batch.to_pandas()), preserve_index=False)
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


def _score_spark(id_column: str, frame: Any, names: list[str], scorer: Scorer, rows: int) -> Any:
    """Score a PySpark DataFrame with ``mapInPandas`` (the model travels with the task),
    in chunks of up to ``rows`` customers of a partition (Spark's Arrow batches, 10,000
    rows by default, joined)."""
    schema = ", ".join([f"{id_column} string", *(f"{name} double" for name in names)])

    def score_batches(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for chunk in _joined(batches, rows):
            scores = scorer(chunk)
            scores[id_column] = scores[id_column].astype(str)
            yield scores

    return frame.mapInPandas(score_batches, schema)


def _joined(batches: Iterable[pd.DataFrame], rows: int) -> Iterator[pd.DataFrame]:
    """The frames of ``batches`` joined into frames of at least ``rows`` rows (the last
    one may be shorter)."""
    held: list[pd.DataFrame] = []
    count = 0
    for batch in batches:
        held.append(batch)
        count += len(batch)
        if count >= rows:
            yield pd.concat(held, ignore_index=True)
            held, count = [], 0
    if held:
        yield pd.concat(held, ignore_index=True)
