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

The CDNOW log is timed first. Figures go to ``benchmarks/results.md``.

Run by hand: ``python benchmarks/bench_engines.py [--customers N] [--spark] [--no-pandas]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Calibration and observation ends of the simulated log (which starts 2024-01-01 and
#: runs 546 days) and of CDNOW (FHL 2005).
PERIODS = {"simulated": ("2024-09-30", "2025-06-29"), "cdnow": ("1997-09-30", "1998-06-30")}


def peak_rss_gb() -> float:
    """Peak resident memory of this process (VmHWM: unlike ``ru_maxrss``, not inherited
    from the parent that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6
    return float("nan")


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


def ibis_summary(path: str, out: str, calibration_end: str) -> None:
    """The RFM summary (weeks) as an Ibis expression over DuckDB, written to Parquet."""
    import ibis

    cal = ibis.date(calibration_end)
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


def run_case(case: str, path: str, data: str) -> dict:
    """Run one case in this process; return its time, rows out and peak memory."""
    import pandas as pd

    from clvlab import rfm
    from clvlab.engines import summary as engine

    calibration_end, observation_end = PERIODS[data]
    out = tempfile.mktemp(suffix=".parquet")
    started = time.perf_counter()  # after the imports
    result: dict = {}
    if case == "pandas":
        summary = rfm.summarize(pd.read_parquet(path), calibration_end, observation_end)
        n = len(summary)
    elif case in ("duckdb", "spark"):
        log = path
        if case == "spark":
            from pyspark.sql import SparkSession

            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            spark = SparkSession.builder.master("local[2]").getOrCreate()
            result["spark_start_s"] = round(time.perf_counter() - started, 2)
            log = spark.read.parquet(path)
        summary = engine.summarize(log, calibration_end, observation_end)
        if case == "duckdb":
            summary.write_parquet(out)
        else:
            summary.write.mode("overwrite").parquet(out)
        result["summary_s"] = round(time.perf_counter() - started, 2)
        table = engine.compressed(log, calibration_end)
        n = int(table["customers"].sum())
        result["compressed_rows"] = len(table)
    else:
        import ibis  # noqa: F401 - imported before the timer like the others

        started = time.perf_counter()
        glob = path if path.endswith(".parquet") else f"{path}/*.parquet"
        ibis_summary(glob, out, calibration_end)
        n = None
    seconds = time.perf_counter() - started
    return {
        "case": case,
        "seconds": round(seconds, 2),
        "customers": n,
        "peak_gb": round(peak_rss_gb(), 2),
    } | result


def run(case: str, path: str, data: str) -> None:
    """Run one case in a fresh process and print its result."""
    done = subprocess.run(
        [sys.executable, __file__, "--case", case, "--path", path, "--data", data],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    if done.returncode:
        print(f"{case}: failed\n{done.stderr[-2000:]}")
        return
    print(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--spark", action="store_true", help="time PySpark (local mode) too")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas reference")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--data", default="simulated", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.path, args.data)))
        return
    cases = ["duckdb", "ibis"] + ([] if args.no_pandas else ["pandas"])
    cases += ["spark"] if args.spark else []

    from clvlab import datasets, transactions

    with tempfile.TemporaryDirectory() as tmp:
        cdnow = Path(tmp) / "cdnow.parquet"
        log, _ = transactions.validate(datasets.load_cdnow(), "customer_id", "date", "amount")
        log.assign(date=log["date"].astype("datetime64[us]")).to_parquet(cdnow, index=False)
        print(f"CDNOW: {len(log):,} rows")
        for case in cases:
            run(case, str(cdnow), "cdnow")

        directory = Path(tmp) / "lake"
        directory.mkdir()
        started = time.perf_counter()
        rows = generate(directory, args.customers)
        files = list(directory.iterdir())
        print(
            f"simulated: {rows:,} rows of {args.customers:,} customers in {len(files)} Parquet "
            f"files ({sum(f.stat().st_size for f in files) / 2**20:,.0f} MiB), written in "
            f"{time.perf_counter() - started:.1f} s"
        )
        for case in cases:
            run(case, str(directory), "simulated")


if __name__ == "__main__":
    main()
