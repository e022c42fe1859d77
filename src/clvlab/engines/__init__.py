"""Transaction logs beyond memory: summaries, validation and scores computed in DuckDB or
Spark.

The models never need the raw log. They need one summary row per customer, and the fit
needs only the distinct :math:`(x, t_x, T)` rows with their customer counts (about a
thousand rows for CDNOW, a few thousand for millions of customers). So the heavy,
row-level work runs where the data live and the model sees small sufficient statistics:

* :mod:`~clvlab.engines.sources` reads a log: a pandas DataFrame, a DuckDB relation, a
  PySpark DataFrame, or a Parquet/CSV file, directory or glob (read lazily by DuckDB).
* :mod:`~clvlab.engines.summary` computes the RFM summary and its compressed table with
  one set of `narwhals <https://narwhals-dev.github.io/narwhals/>`_ expressions, which run
  inside pandas, DuckDB or Spark alike (the benchmark in ``benchmarks/bench_engines.py``
  compares them with Ibis). The pandas summary of :func:`clvlab.rfm.summarize` stays the
  reference the engines are tested against.
* :mod:`~clvlab.engines.validation` validates a log with aggregate queries and the same
  reasons and policies as :func:`clvlab.transactions.validate`.
* :mod:`~clvlab.engines.scoring` scores customers with a fitted model in the engine:
  DuckDB in chunks, Spark through ``mapInPandas``.
"""
