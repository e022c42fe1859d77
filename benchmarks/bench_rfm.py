"""Speed and memory of ``clvlab.rfm.summarize`` on 10 million simulated transactions.

Target (issue 2): 1 million customers, about 10 million transactions, under 15 s and under
4 GB on a 2-core machine. For a ratio against a reference tool measured in the same run,
lifetimes' ``summary_data_from_transaction_data`` and PyMC-Marketing's ``rfm_summary`` (if
installed, as in the benchmark environment, see ``benchmarks/README.md``) summarise a subset
of the same log: both in days (lifetimes' weekly
mode counts purchase weeks, not days), timed per million transactions.

Run by hand: ``python benchmarks/bench_rfm.py [--customers N]``.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

from clvlab import datasets, rfm


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--reference-rows",
        type=int,
        default=200_000,
        help="transactions given to the reference tool (it is slow)",
    )
    args = parser.parse_args()

    log = datasets.simulate_transactions(args.customers, r=1.0, alpha=4.0, a=1.0, b=10.0, seed=2024)
    print(
        f"log: {len(log):,} transactions of {args.customers:,} customers; "
        f"process peak after simulating {peak_rss_gb():.2f} GB"
    )

    tracemalloc.start()
    start = time.perf_counter()
    summary = rfm.summarize(log, calibration_end="2024-12-31", time_unit="W")
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_million = seconds / len(log) * 1e6
    print(
        f"clvlab.rfm.summarize: {seconds:.2f} s ({per_million:.3f} s per million rows), "
        f"{len(summary):,} customers; extra memory at peak {traced_peak / 1e9:.2f} GB; "
        f"process peak {peak_rss_gb():.2f} GB"
    )
    print(
        f"target: < 15 s and < 4 GB -> {'met' if seconds < 15 and peak_rss_gb() < 4 else 'NOT met'}"
    )

    subset = log.iloc[: args.reference_rows]
    start = time.perf_counter()
    rfm.summarize(subset, calibration_end="2024-12-31", time_unit="D")
    ours = (time.perf_counter() - start) / len(subset) * 1e6
    for name, reference in reference_tools().items():
        start = time.perf_counter()
        reference(subset)
        theirs = (time.perf_counter() - start) / len(subset) * 1e6
        print(
            f"on {len(subset):,} rows: {name} {theirs:.3f} s per million rows, clvlab "
            f"{ours:.3f} s per million rows: clvlab {theirs / ours:.1f}x faster"
        )


def reference_tools() -> dict:
    """The reference summarisers that are installed, each in days like clvlab's run."""
    tools = {}
    try:
        from lifetimes.utils import summary_data_from_transaction_data
    except ImportError:
        print("lifetimes not installed: no ratio against it (see benchmarks/README.md)")
    else:
        tools["lifetimes 0.11"] = lambda log: summary_data_from_transaction_data(
            log, "customer_id", "date", "amount", observation_period_end="2024-12-31", freq="D"
        )
    try:
        from pymc_marketing.clv import rfm_summary
    except ImportError:
        print("pymc-marketing not installed: no ratio against it (see benchmarks/README.md)")
    else:
        tools["pymc-marketing"] = lambda log: rfm_summary(
            log, "customer_id", "date", "amount", observation_period_end="2024-12-31", time_unit="D"
        )
    return tools


if __name__ == "__main__":
    main()
