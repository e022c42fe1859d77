"""Fit and score millions of customers from a Parquet log through DuckDB (issue 14).

The log is a directory of Parquet files written by ``bench_engines.generate`` (the 10-million-
customer, 100-million-row log of the issue: ``generate(directory, 10_000_000)``). Each stage
runs in its own process, so that its peak memory (``VmHWM``) is its own; the tables and models
it makes go to a work folder for the next stages:

1. ``compressed``: the distinct (x, t_x, T) rows with their counts, computed by DuckDB from
   the log (:func:`clvlab.rfm.summarize` with ``compressed=True``);
2. ``summary``: the per-customer summary (with ``monetary_value``, unsorted) written by
   DuckDB to one Parquet file, from which the scores are computed (the log is not read again);
3. ``mle``: BG/NBD by maximum likelihood on the compressed table, and Gamma-Gamma by maximum
   likelihood on the repeat buyers' distinct (x, mean spend) rows, counted in DuckDB
   (:func:`clvlab.engines.scoring.spend_table`);
4. ``nuts``: BG/NBD by NUTS on the compressed table (chains, draws, the smallest bulk and
   tail ESS and the largest R-hat over the parameters);
5. ``score``: P(alive) and expected purchases over 52 weeks for every customer, at the
   maximum likelihood estimates, in chunks through DuckDB to Parquet
   (:func:`clvlab.engines.scoring.score`);
6. ``score-nuts``: the same with ``--score-draws`` posterior draws of the NUTS fit;
7. ``clv``: the same plus CLV over 52 weeks at 10% a year with its 94% interval from
   ``--clv-draws`` parameter sets of the normal approximation of both fits.

DuckDB runs with ``--memory-limit`` (default 3 GB; it spills to the work folder beyond it).
Each stage reports its wall time (after the imports), CPU time, peak resident memory and the
load average (1 minute) at its start and end: the machine is shared. Run by hand, e.g.
``nice -n 5 python benchmarks/bench_scale.py /data/c10m --work /tmp/scale``; figures go to
``benchmarks/results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from bench_engines import PERIODS, peak_rss_gb

CALIBRATION_END = PERIODS["simulated"][0]
#: Horizon of the scores and the CLV, in weeks.
HORIZON = 52.0
STAGES = ("compressed", "summary", "mle", "nuts", "score", "score-nuts", "clv")


def stage_compressed(work: Path, args: argparse.Namespace) -> dict:
    from clvlab import rfm

    table = rfm.summarize(args.log, CALIBRATION_END, compressed=True)
    table.to_parquet(work / "compressed.parquet")
    return {"customers": table.attrs["customers"], "rows": len(table)}


def stage_summary(work: Path, args: argparse.Namespace) -> dict:
    import duckdb

    from clvlab.engines import summary

    # Scoring needs no order: the global sort by customer id is skipped.
    summary.summarize(args.log, CALIBRATION_END, sort=False).write_parquet(
        str(work / "summary.parquet")
    )
    path = str(work / "summary.parquet")
    return {"customers": duckdb.sql(f"select count(*) from '{path}'").fetchall()[0][0]}


def stage_mle(work: Path, args: argparse.Namespace) -> dict:
    import duckdb
    import pandas as pd

    from clvlab.engines import scoring
    from clvlab.models import BetaGeo, GammaGamma

    table = pd.read_parquet(work / "compressed.parquet")
    started = time.perf_counter()
    BetaGeo(weights="customers").fit(table, method="mle").save(work / "bg_mle.nc")
    bg_seconds = time.perf_counter() - started
    started = time.perf_counter()
    spend = scoring.spend_table(duckdb.read_parquet(str(work / "summary.parquet")))
    counting = time.perf_counter() - started
    GammaGamma(weights="customers").fit(spend, method="mle").save(work / "gg_mle.nc")
    return {
        "bg_nbd_s": round(bg_seconds, 2),
        "gamma_gamma_rows": len(spend),
        "gamma_gamma_customers": int(spend["customers"].sum()),
        "gamma_gamma_count_s": round(counting, 2),
        "gamma_gamma_fit_s": round(time.perf_counter() - started - counting, 2),
    }


def stage_nuts(work: Path, args: argparse.Namespace) -> dict:
    import pandas as pd

    from clvlab.diagnostics import convergence_table
    from clvlab.models import BetaGeo

    table = pd.read_parquet(work / "compressed.parquet")
    model = BetaGeo(weights="customers").fit(
        table, chains=args.chains, draws=args.draws, tune=args.tune, random_seed=1
    )
    model.save(work / "bg_nuts.nc")
    diagnostics = convergence_table(model.idata)
    return {
        "chains": args.chains,
        "draws": args.draws,
        "tune": args.tune,
        "min_ess_bulk": round(float(diagnostics["ess_bulk"].min())),
        "min_ess_tail": round(float(diagnostics["ess_tail"].min())),
        "max_r_hat": round(float(diagnostics["r_hat"].max()), 4),
        "params": {k: round(float(v), 4) for k, v in model.params.items()},
    }


def _score(work: Path, name: str, model: str, **options) -> dict:
    import duckdb

    from clvlab.engines import scoring
    from clvlab.models import CLVModel

    summary = duckdb.read_parquet(str(work / "summary.parquet"))
    out = work / f"{name}.parquet"
    scoring.score(CLVModel.load(work / model), summary, HORIZON, out=out, **options)
    columns = "count(*), sum(probability_alive), sum(expected_purchases)"
    if "spend" in options:
        columns += ", sum(clv), avg((clv_low <= clv and clv <= clv_high)::int)"
    totals = duckdb.sql(f"select {columns} from '{out}'").fetchall()[0]
    names = ["customers", "sum_probability_alive", "sum_expected_purchases", "total_clv"]
    result = {key: round(float(value), 2) for key, value in zip(names, totals, strict=False)}
    if "spend" in options:
        result["share_within_interval"] = float(totals[-1])
    return result


def stage_score(work: Path, args: argparse.Namespace) -> dict:
    return _score(work, "scores_mle", "bg_mle.nc")


def stage_score_nuts(work: Path, args: argparse.Namespace) -> dict:
    return {"draws": args.score_draws} | _score(
        work, "scores_nuts", "bg_nuts.nc", draws=args.score_draws
    )


def stage_clv(work: Path, args: argparse.Namespace) -> dict:
    from clvlab.models import CLVModel

    spend = CLVModel.load(work / "gg_mle.nc")
    options = {"spend": spend, "discount_rate": 0.1, "approximation_draws": args.clv_draws}
    return {"draws": args.clv_draws} | _score(work, "scores_clv", "bg_mle.nc", **options)


def run_stage(stage: str, work: Path, args: argparse.Namespace) -> dict:
    """Run one stage in this process: its result with wall and CPU time, peak memory and
    the load average."""
    warnings.simplefilter("ignore")
    import duckdb

    import clvlab.engines.scoring
    import clvlab.models  # noqa: F401 - the imports before the timer

    # DuckDB's default connection, which clvlab uses for paths: bounded memory, spilling to
    # the work folder (its default limit is 80% of the machine's memory).
    duckdb.execute(f"SET memory_limit = '{args.memory_limit}'")
    duckdb.execute(f"SET temp_directory = '{work / 'spill'}'")
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    result = globals()[f"stage_{stage.replace('-', '_')}"](work, args)
    return {
        "stage": stage,
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "peak_gb": round(peak_rss_gb(), 2),
        "load": f"{load:.1f} / {os.getloadavg()[0]:.1f}",
    } | result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", help="Parquet file, directory or glob of the log")
    parser.add_argument("--work", type=Path, help="folder for the tables and models (kept)")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--score-draws", type=int, default=100)
    parser.add_argument("--clv-draws", type=int, default=1000)
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB's memory_limit")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(run_stage(args.stage, args.work, args)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        passed = ("chains", "draws", "tune", "score_draws", "clv_draws", "memory_limit")
        options = [f"--{k.replace('_', '-')}={getattr(args, k)}" for k in passed]
        for stage in args.stages:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    args.log,
                    "--work",
                    str(work),
                    "--stage",
                    stage,
                    *options,
                ],
                capture_output=True,
                text=True,
            )
            if done.returncode:
                print(f"{stage}: failed\n{done.stderr[-3000:]}", flush=True)
                return
            print(done.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
