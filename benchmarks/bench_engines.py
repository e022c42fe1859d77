"""Summaries of large logs in DuckDB, Spark and pandas (issue 14).

Times, each case in its own process (so the peak memory is the case's own), on a
simulated log, a directory of Parquet files (customer ids as zero-padded text, written in
chunks of customers with :func:`clvlab.datasets.simulate_transactions`), generated here
or reused with ``--log``:

* ``duckdb``: :func:`clvlab.engines.summary.summarize` (narwhals expressions run by DuckDB)
  written to Parquet, then :func:`clvlab.engines.summary.compress` of the written summary
  (the compressed table without a second pass over the log); DuckDB runs with
  ``--threads`` threads (default: all cores), ``memory_limit`` ``--memory-limit`` (spilling
  to a temporary directory beyond it) and ``preserve_insertion_order=false``;
* ``spark``: the same narwhals summary run by PySpark in local mode (``local[N]`` with N
  the cores, ``spark.sql.shuffle.partitions`` ``--partitions``), written to Parquet, then
  compressed from the written summary; the session start is timed apart;
* ``pandas``: :func:`clvlab.rfm.summarize` on the log read whole into pandas (the
  reference; only where it fits in memory), then
  :func:`clvlab.models.compression.compress` of the summary;
* ``ibis``: the summary written as an Ibis expression, compiled to DuckDB (the alternative
  weighed for the engines; needs ``ibis-framework[duckdb]``, not a project dependency).

Each engine's compressed table is compared with the first case's (rows and counts
exactly), and each engine's summary with the first case's, customer by customer
(``frequency``, ``frequency_holdout``, ``recency`` and ``T`` exactly, monetary values to
1e-9 relative). With ``--cdnow`` the CDNOW log (6,919 rows) is timed first. Figures go to
``benchmarks/results.md``.

Run by hand, e.g. the issue's target (100 million rows of 10 million customers)::

    python benchmarks/bench_engines.py --customers 10000000 --keep /data/c10m
    python benchmarks/bench_engines.py --log /data/c10m --cases duckdb,spark
"""

from __future__ import annotations

import argparse
import glob
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

CASES = ("duckdb", "spark", "pandas", "ibis")


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


def parquet_files(path: str) -> list[str]:
    """The Parquet files of a file, directory or glob."""
    if Path(path).is_dir():
        return sorted(glob.glob(f"{path}/**/*.parquet", recursive=True))
    return sorted(glob.glob(path))


def ibis_summary(files: list[str], out: str, calibration_end: str) -> None:
    """The RFM summary (weeks) as an Ibis expression over DuckDB, written to Parquet."""
    import ibis

    cal = ibis.date(calibration_end)
    log = ibis.duckdb.connect().read_parquet(files)
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


def configure_duckdb(memory_limit: str, threads: int, spill: str) -> None:
    """Settings of DuckDB's default connection (the one that reads paths)."""
    import duckdb

    duckdb.execute(f"SET threads = {threads}")
    duckdb.execute(f"SET memory_limit = '{memory_limit}'")
    duckdb.execute(f"SET temp_directory = '{spill}'")
    duckdb.execute("SET preserve_insertion_order = false")


def start_spark(threads: int, partitions: int, memory: str):
    """A local Spark session with ``threads`` cores and ``partitions`` shuffle partitions."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(f"local[{threads}]")
        .config("spark.driver.memory", memory)
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run_case(case: str, path: str, data: str, out: str, options: dict) -> dict:
    """Run one case in this process (after its imports); write its summary to
    ``out/<case>.parquet`` and compressed table to ``out/<case>-compressed.parquet``;
    return its times, customers and peak memory."""
    import pandas as pd

    from clvlab import rfm
    from clvlab.engines import summary as engine
    from clvlab.models.compression import compress

    calibration_end, observation_end = PERIODS[data]
    written = f"{out}/{case}.parquet"
    result: dict = {"case": case}
    started = time.perf_counter()
    if case == "pandas":
        frame = pd.concat([pd.read_parquet(f) for f in parquet_files(path)], ignore_index=True)
        result["read_s"] = round(time.perf_counter() - started, 2)
        summary = rfm.summarize(frame, calibration_end, observation_end)
        result["summary_s"] = round(time.perf_counter() - started, 2)
        summary.to_parquet(written, index=False)
        packed = compress({k: summary[k] for k in ("frequency", "recency", "T")})
        table = pd.DataFrame({**packed.values, "customers": packed.weights})
    elif case == "ibis":
        import ibis  # noqa: F401 - imported before the timer like the others

        started = time.perf_counter()
        ibis_summary(parquet_files(path), written, calibration_end)
        table = None
    else:
        if case == "duckdb":
            configure_duckdb(options["memory_limit"], options["threads"], f"{out}/spill")
            log = path
        else:
            spark = start_spark(options["threads"], options["partitions"], options["spark_memory"])
            result["start_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            log = spark.read.parquet(*parquet_files(path))
        summary = engine.summarize(log, calibration_end, observation_end, sort=options["sort"])
        result["sorted"] = options["sort"]
        if case == "duckdb":
            summary.write_parquet(written)
        else:
            summary.write.mode("overwrite").parquet(written)
        result["summary_s"] = round(time.perf_counter() - started, 2)
        table = engine.compress(written)
    result["seconds"] = round(time.perf_counter() - started, 2)
    if table is not None:
        table = table.reset_index(drop=True)[["frequency", "recency", "T", "customers"]]
        table.to_parquet(f"{out}/{case}-compressed.parquet", index=False)
        result |= {"customers": int(table["customers"].sum()), "compressed_rows": len(table)}
    return result | {"peak_gb": round(peak_rss_gb(), 2)}


def run(case: str, path: str, data: str, out: str, options: dict) -> dict | None:
    """Run one case in a fresh process; print and return its result."""
    done = subprocess.run(
        [sys.executable, __file__, "--case", case, "--path", path, "--data", data,
         "--out", out, "--options", json.dumps(options)],
        capture_output=True,
        text=True,
        env=os.environ,
    )  # fmt: skip
    if done.returncode:
        print(f"{case}: failed\n{done.stderr[-2000:]}", flush=True)
        return None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(result), flush=True)
    return result


def compare(out: str, first: str, other: str) -> str:
    """How ``other``'s summary and compressed table compare with ``first``'s (in DuckDB)."""
    import duckdb

    def scan(name: str) -> str:
        return f"read_parquet({parquet_files(f'{out}/{name}.parquet')})"

    a, b = scan(f"{first}-compressed"), scan(f"{other}-compressed")
    differ = duckdb.sql(
        f"SELECT count(*) FROM ((FROM {a} EXCEPT ALL FROM {b}) UNION ALL "
        f"(FROM {b} EXCEPT ALL FROM {a}))"
    ).fetchall()[0][0]
    a, b = scan(first), scan(other)
    close = "abs(a.{0} - b.{0}) <= 1e-9 * greatest(1, abs(a.{0}))"
    same = " AND ".join(
        [f"a.{c} = b.{c}" for c in ("frequency", "frequency_holdout", "recency", "T")]
        + [close.format(c) for c in ("monetary_value", "monetary_value_holdout")]
    )
    rows, equal = duckdb.sql(
        f"SELECT (SELECT count(*) FROM {b}), count(*) FROM {a} AS a "
        f"JOIN {b} AS b ON CAST(a.customer_id AS VARCHAR) = CAST(b.customer_id AS VARCHAR) "
        f"WHERE {same}"
    ).fetchall()[0]
    return (
        f"{other} against {first}: compressed tables {'identical' if not differ else 'DIFFER'}"
        f"; {equal:,} of {rows:,} customers equal"
    )


def time_log(path: str, data: str, cases: list[str], out: str, options: dict) -> None:
    """Time every case on one log and compare the results with the first case's."""
    done = [c for c in cases if run(c, path, data, out, options) and c != "ibis"]
    for other in done[1:]:
        print(compare(out, done[0], other), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", help="reuse this log (a Parquet directory or glob)")
    parser.add_argument("--customers", type=int, default=300_000, help="customers to simulate")
    parser.add_argument("--keep", help="write the simulated log into this (new) directory")
    parser.add_argument("--cases", default="duckdb,pandas", help=f"among {','.join(CASES)}")
    parser.add_argument("--cdnow", action="store_true", help="time the CDNOW log first")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB's memory_limit")
    parser.add_argument(
        "--sort",
        action="store_true",
        help="sort the DuckDB/Spark summary by customer id (a global sort; not needed to "
        "compress or score it)",
    )
    parser.add_argument("--partitions", type=int, default=8, help="Spark shuffle partitions")
    parser.add_argument("--spark-memory", default="4g", help="Spark's driver memory")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--data", default="simulated", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--options", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        options = json.loads(args.options)
        print(json.dumps(run_case(args.case, args.path, args.data, args.out, options)))
        return
    cases = args.cases.split(",")
    unknown = set(cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; choose among {', '.join(CASES)}")
    options = {
        "threads": args.threads,
        "memory_limit": args.memory_limit,
        "partitions": args.partitions,
        "spark_memory": args.spark_memory,
        "sort": args.sort,
    }
    with tempfile.TemporaryDirectory() as tmp:
        if args.cdnow:
            from clvlab import datasets, transactions

            cdnow = Path(tmp) / "cdnow.parquet"
            log, _ = transactions.validate(datasets.load_cdnow(), "customer_id", "date", "amount")
            log.assign(date=log["date"].astype("datetime64[us]")).to_parquet(cdnow, index=False)
            print(f"CDNOW: {len(log):,} rows", flush=True)
            Path(tmp, "cdnow").mkdir()
            time_log(str(cdnow), "cdnow", cases, f"{tmp}/cdnow", options)
        path = args.log
        if path is None:
            directory = Path(args.keep or Path(tmp) / "lake")
            directory.mkdir()
            started = time.perf_counter()
            rows = generate(directory, args.customers)
            print(f"simulated {rows:,} rows in {time.perf_counter() - started:.1f} s")
            path = str(directory)
        files = parquet_files(path)
        print(
            f"log {path}: {len(files)} Parquet files, "
            f"{sum(os.path.getsize(f) for f in files) / 2**20:,.0f} MiB",
            flush=True,
        )
        Path(tmp, "simulated").mkdir()
        time_log(path, "simulated", cases, f"{tmp}/simulated", options)


if __name__ == "__main__":
    main()
