"""Summaries of large logs in DuckDB and Spark (issue 14), and narwhals against Ibis.

Generates a simulated log as a directory of Parquet files (customer ids as zero-padded
text, written in chunks of customers with :func:`clvlab.datasets.simulate_transactions`),
then times, each case in its own process (so the peak memory is the case's own):

* ``pandas``: :func:`clvlab.rfm.summarize` on the log read whole into pandas (the
  reference; only where it fits in memory),
* ``duckdb``: :func:`clvlab.engines.summary.summarize` (narwhals expressions run by DuckDB,
  the summary written to Parquet) and :func:`clvlab.engines.summary.compressed`,
* ``ibis``: the same summary written as an Ibis expression, compiled to DuckDB (the
  alternative weighed for the engines; needs ``ibis-framework[duckdb]``),
* ``spark`` (with ``--spark``): the narwhals summary run by PySpark in local mode.

The CDNOW log is timed too (``--cdnow``). Figures go to ``benchmarks/results.md``.

Run by hand: ``python benchmarks/bench_engines.py [--customers N] [--spark] [--cdnow]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CALIBRATION_END = "2024-09-30"
OBSERVATION_END = "2025-06-29"


def peak_rss_gb() -> float:
    """Peak resident memory of this process (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def generate(directory: Path, customers: int, chunk: int = 500_000) -> int:
    """Write the simulated log in Parquet files of ``chunk`` customers; return its rows."""
    import numpy as np

    from clvlab import datasets

    rows = 0
    for part, start in enumerate(range(0, customers, chunk)):
        n = min(chunk, customers - start)
        log = datasets.simulate_transactions(
            n, r=1.0, alpha=4.0, a=1.0, b=10.0, seed=part, observation_days=546
        )
        ids = (log["customer_id"].to_numpy() + start).astype(np.int64)
        log["customer_id"] = np.char.zfill(ids.astype(str), 9)
        log["date"] = log["date"].astype("datetime64[us]")  # Spark reads no nanoseconds
        log.attrs = {}
        log.to_parquet(directory / f"part-{part:04d}.parquet", index=False)
        rows += len(log)
    return rows


def ibis_summary(path: str, out: str) -> None:
    """The RFM summary (days) as an Ibis expression over DuckDB, written to Parquet."""
    import ibis

    cal = ibis.date(CALIBRATION_END)
    log = ibis.duckdb.connect().read_parquet(path)
    days = log.group_by(customer_id=log.customer_id, day=log.date.cast("date")).aggregate(
        amount=log.amount.sum(), rows=log.count()
    )
    days = days.mutate(first=days.day.min().over(group_by=days.customer_id))
    repeat = (days.day > days.first) & (days.day <= cal)
    since = days.day.delta(days.first, unit="day")
    summary = days.group_by("customer_id").aggregate(
        first=days.day.min(),
        frequency=repeat.cast("int64").sum(),
        recency=repeat.ifelse(since, 0).max(),
        total=repeat.ifelse(days.amount, 0.0).sum(),
    )
    summary = summary.filter(summary.first <= cal).mutate(
        T=cal.delta(summary.first, unit="day") / 7,
        recency=summary.recency / 7,
        monetary_value=(summary.frequency > 0).ifelse(summary.total / summary.frequency, 0.0),
    )
    summary.order_by("customer_id").to_parquet(out)


def run_case(case: str, path: str) -> dict:
    """Run one case in this process; return its time, rows out and peak memory."""
    out = tempfile.mktemp(suffix=".parquet")
    started = time.perf_counter()
    if case == "pandas":
        import pandas as pd

        from clvlab import rfm

        log = pd.read_parquet(path) if not path.endswith(".csv") else pd.read_csv(path)
        summary = rfm.summarize(log, CALIBRATION_END, OBSERVATION_END)
        n = len(summary)
    elif case in ("duckdb", "spark"):
        from clvlab.engines import summary as engine

        log = path
        if case == "spark":
            from pyspark.sql import SparkSession

            spark = (
                SparkSession.builder.master("local[2]")
                .config("spark.pyspark.python", sys.executable)
                .getOrCreate()
            )
            log = spark.read.parquet(path)
        summary = engine.summarize(log, CALIBRATION_END, OBSERVATION_END)
        if case == "duckdb":
            summary.write_parquet(out)
        else:
            summary.write.mode("overwrite").parquet(out)
        summary_s = time.perf_counter() - started
        table = engine.compressed(log, CALIBRATION_END)
        n = int(table["customers"].sum())
        result = {"summary_s": round(summary_s, 2), "compressed_rows": len(table)}
    elif case == "ibis":
        ibis_summary(path if path.endswith(".parquet") else f"{path}/*.parquet", out)
        n = None
    seconds = time.perf_counter() - started
    return {
        "case": case,
        "seconds": round(seconds, 2),
        "customers": n,
        "peak_gb": round(peak_rss_gb(), 2),
    } | (result if case in ("duckdb", "spark") else {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--spark", action="store_true", help="time PySpark (local mode) too")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas reference")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.path)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        rows = generate(directory, args.customers)
        print(
            f"log: {rows:,} rows of {args.customers:,} customers in "
            f"{len(list(directory.iterdir()))} Parquet files "
            f"({sum(f.stat().st_size for f in directory.iterdir()) / 2**20:,.0f} MiB), "
            f"written in {time.perf_counter() - started:.1f} s"
        )
        cases = ["duckdb", "ibis"] + ([] if args.no_pandas else ["pandas"])
        cases += ["spark"] if args.spark else []
        for case in cases:
            path = str(directory) if case in ("duckdb", "spark") else f"{directory}/*.parquet"
            if case == "pandas":
                path = str(directory)
            done = subprocess.run(
                [sys.executable, __file__, "--case", case, "--path", path],
                capture_output=True,
                text=True,
                env=os.environ,
            )
            if done.returncode:
                print(f"{case}: failed\n{done.stderr[-2000:]}")
                continue
            print(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
