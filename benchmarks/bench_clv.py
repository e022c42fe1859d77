"""CLV in money for one million customers, with 94% intervals from 1,000 posterior draws.

Target (issue 10): under 60 s and 4 GB on the 2-core development machine.

Setup (not timed): BG/NBD and Gamma-Gamma are fitted by NUTS on CDNOW (4 chains x 250
draws = 1,000 draws each), and one million customers are simulated with CDNOW-like
parameters (:func:`bench_models.million`: ages in whole days, recencies rounded down to
days) with Gamma-Gamma mean spends for the repeat buyers. Timed: one call of
:func:`clvlab.clv.customer_lifetime_value` over 52 weeks at 10% a year, with weekly
periods (the default) and with monthly ones, which computes over customer chunks within
its memory budget (512 MiB by default), using all 1,000 draws.

The machine is shared while it runs, so the report gives the CPU time of the call beside
its wall time, and the load average. Each timed case runs in its own process, so that its
peak memory is its own: the report gives ``tracemalloc``'s peak of the Python and numpy
allocations made during the call and ``ru_maxrss``, the peak resident memory of the
whole process (imports, data and models included). Run ``python
benchmarks/bench_clv.py`` (``--models DIR`` reuses fits saved as ``bg.nc`` and ``gg.nc``).
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
import tracemalloc
import warnings
from pathlib import Path

SAMPLE = {"draws": 250, "tune": 500, "chains": 4, "random_seed": 1}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def fit_models(folder: Path) -> None:
    """Fit BG/NBD and Gamma-Gamma by NUTS on CDNOW; save both to ``folder``."""
    from clvlab import datasets, rfm
    from clvlab.models import BetaGeo, GammaGamma

    summary = rfm.summarize(datasets.load_cdnow(), "1997-09-30", time_unit="W")
    BetaGeo().fit(summary, **SAMPLE).save(folder / "bg.nc")
    GammaGamma().fit(summary[summary["frequency"] > 0], **SAMPLE).save(folder / "gg.nc")


def population():
    """One million BG/NBD customers (:func:`bench_models.million`) with Gamma-Gamma mean
    spends (rounded to cents) for the repeat buyers."""
    import numpy as np
    from bench_models import million

    from clvlab.models import GammaGamma

    data = million()
    repeat = data["frequency"].to_numpy() > 0
    # A repeat purchase is at least a day after the first: million() rounds recencies down
    # to days, which gives 0 for repeat purchases on the first day (rejected by the models).
    data["recency"] = np.where(repeat, np.maximum(data["recency"], 1 / 7), 0.0)
    spend = GammaGamma.simulate_population(GAMMA_GAMMA, data.loc[repeat, "frequency"], seed=2)
    data["monetary_value"] = 0.0
    data.loc[repeat, "monetary_value"] = np.round(spend["monetary_value"].to_numpy(), 2)
    return data


#: Period lengths timed, in weeks: weekly (the default) and monthly periods.
STEPS = {"weekly": 1.0, "monthly": 365.25 / 12 / 7}


def run_case(folder: Path, periods: str) -> dict:
    """Load the models, simulate the customers, time the CLV call."""
    warnings.simplefilter("ignore")
    from clvlab import clv
    from clvlab.models import CLVModel

    purchases = CLVModel.load(folder / "bg.nc")
    spend = CLVModel.load(folder / "gg.nc")
    data = population()
    tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    table = clv.customer_lifetime_value(
        purchases, spend, data, horizon=52.0, discount_rate=0.1, step=STEPS[periods]
    )
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    inside = (table["clv_low"] <= table["clv"]) & (table["clv"] <= table["clv_high"])
    return {
        "periods": periods,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "tracemalloc_peak_gb": peak / 1e9,
        "ru_maxrss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "n_customers": len(table),
        "n_draws": table.attrs["n_draws"],
        "all_within_interval": bool(inside.all()),
        "total_value": float(table["clv"].sum()),
        "top_10_percent_share": clv.top_share(table["clv"], top=0.1),
        "load_average_1min": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", type=Path, help="run the timed case with models in this folder")
    parser.add_argument("--periods", choices=sorted(STEPS), default="weekly")
    parser.add_argument("--models", type=Path, help="folder with bg.nc and gg.nc (skips the fits)")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.periods)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.models or Path(tmp)
        if args.models is None:
            start = time.perf_counter()
            fit_models(folder)
            print(f"setup: NUTS fits on CDNOW in {time.perf_counter() - start:.0f} s", flush=True)
        for periods in STEPS:
            out = subprocess.run(
                [sys.executable, __file__, "--case", str(folder), "--periods", periods],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            report(json.loads(out.strip().splitlines()[-1]))


def report(result: dict) -> None:
    print(
        f"CLV of {result['n_customers']:,} customers x {result['n_draws']:,} draws, "
        f"{result['periods']} periods: {result['seconds']:.1f} s wall "
        f"({result['cpu_seconds']:.1f} s CPU), tracemalloc peak "
        f"{result['tracemalloc_peak_gb']:.2f} GB, process peak RSS "
        f"{result['ru_maxrss_gb']:.2f} GB (target < 60 s, < 4 GB); load average "
        f"{result['load_average_1min']:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"  every clv within its interval: {result['all_within_interval']}; total value "
        f"{result['total_value']:,.0f}; top 10% share {result['top_10_percent_share']:.1%}",
        flush=True,
    )


if __name__ == "__main__":
    main()
