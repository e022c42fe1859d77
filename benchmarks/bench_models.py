"""Speed of clvlab's buy-till-you-die models against the reference tools, in one run.

Targets (issue 4), each reported as a ratio measured in the same run on the same machine:

* BG/NBD NUTS on CDNOW (4 chains x 1,000 draws, 1,000 tuning steps): at least 4x faster
  than PyMC-Marketing's ``BetaGeoModel``;
* Pareto/NBD NUTS on CDNOW: at least 10x faster than PyMC-Marketing's ``ParetoNBDModel``;
* MLE on CDNOW: BG/NBD under 0.1 s, Pareto/NBD under 0.3 s after import (lifetimes'
  ``BetaGeoFitter`` and ``ParetoNBDFitter`` timed beside them);
* one million simulated customers: MLE under 10 s, and a NUTS fit that finishes (time and
  peak memory reported).

Every case runs in its own process, so that the wall time includes model compilation, as a
user would see it, and so that peak memory (``ru_maxrss`` of that process) is its own.
Run by hand in the benchmark environment (``make bench``), or one case with
``python benchmarks/bench_models.py --case NAME``. ``--quick`` skips the slowest reference
case (PyMC-Marketing's Pareto/NBD NUTS takes several minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

CASES = {
    "clvlab-bgnbd-mle": "BG/NBD MLE (clvlab)",
    "lifetimes-bgnbd-mle": "BG/NBD MLE (lifetimes)",
    "clvlab-pareto-mle": "Pareto/NBD MLE (clvlab)",
    "lifetimes-pareto-mle": "Pareto/NBD MLE (lifetimes)",
    "clvlab-bgnbd-nuts": "BG/NBD NUTS 4x1000 (clvlab)",
    "pymcm-bgnbd-nuts": "BG/NBD NUTS 4x1000 (PyMC-Marketing)",
    "clvlab-pareto-nuts": "Pareto/NBD NUTS 4x1000 (clvlab)",
    "pymcm-pareto-nuts": "Pareto/NBD NUTS 4x1000 (PyMC-Marketing)",
    "clvlab-bgnbd-mle-1m": "BG/NBD MLE, 1M customers (clvlab)",
    "clvlab-bgnbd-nuts-1m": "BG/NBD NUTS 4x1000, 1M customers (clvlab)",
}
SAMPLE = {"draws": 1000, "tune": 1000, "chains": 4}


def cdnow():
    from clvlab import datasets, rfm

    return rfm.summarize(datasets.load_cdnow(), "1997-09-30", time_unit="W")


def million():
    """A BG/NBD population of one million customers with CDNOW-like parameters.

    Ages are whole days (27 to 39 weeks) and recencies are rounded up to whole days, as in
    a summary of a real daily log (a repeat purchase lies at least a day after the first),
    so that compression meets realistic data.
    """
    import numpy as np

    from clvlab.models import BetaGeo

    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    n = 1_000_000
    ages = np.random.default_rng(0).integers(189, 273, n) / 7
    data = BetaGeo.simulate_population(params, n_customers=n, T=ages, seed=1)
    data["recency"] = np.minimum(np.ceil(data["recency"] * 7) / 7, data["T"])
    return data


def run_case(name: str) -> dict:
    """Run one case in this process; return its timings (seconds) and results."""
    warnings.simplefilter("ignore")
    import numpy as np  # noqa: F401  (imported before timing, like the libraries below)

    if name.startswith("lifetimes"):
        from lifetimes import BetaGeoFitter, ParetoNBDFitter

        data = cdnow()
        x, t_x, big_t = (data[c].to_numpy() for c in ("frequency", "recency", "T"))
        fitter = BetaGeoFitter() if "bgnbd" in name else ParetoNBDFitter()
        start = time.perf_counter()
        fitter.fit(x, t_x, big_t)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "params": dict(fitter.params_)}
    if name.startswith("pymcm"):
        from pymc_marketing import clv

        data = cdnow()[["customer_id", "frequency", "recency", "T"]]
        model_class = clv.BetaGeoModel if "bgnbd" in name else clv.ParetoNBDModel
        start = time.perf_counter()
        model = model_class()
        model.fit(data, method="mcmc", progressbar=False, random_seed=1, sample_kwargs=SAMPLE)
        seconds = time.perf_counter() - start
        means = model.idata.posterior.mean(("chain", "draw"))
        return {
            "seconds": seconds,
            "params": {k: float(v) for k, v in means.items() if v.ndim == 0},
        }

    # clvlab imports PyMC and nutpie lazily, on the first Bayesian fit: import them before
    # the timer, as PyMC-Marketing's imports (PyMC included) happen before its timer too.
    import nutpie  # noqa: F401
    import pymc  # noqa: F401

    from clvlab.models import BetaGeo, ParetoNBD

    model_class = BetaGeo if "bgnbd" in name else ParetoNBD
    data = million() if name.endswith("-1m") else cdnow()
    method = "mle" if "-mle" in name else "nuts"
    kwargs = {} if method == "mle" else dict(SAMPLE, random_seed=1)
    start = time.perf_counter()
    model = model_class().fit(data, method=method, **kwargs)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "params": model.params, "n_customers": len(data)}


def measure(name: str) -> dict:
    """Run a case in a child process; add its wall time and peak memory."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--case", name],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        return {"case": name, "error": f"exit status {status}"}
    result = json.loads(out.strip().splitlines()[-1])
    return result | {"case": name, "process_seconds": wall, "peak_gb": usage.ru_maxrss / 1e6}


def ratio(results: dict, ours: str, theirs: str, key: str) -> str:
    if "error" in results.get(ours, {"error": 1}) or "error" in results.get(theirs, {"error": 1}):
        return "n/a"
    return f"{results[theirs][key] / results[ours][key]:.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), help="run one case and print JSON")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="skip PyMC-Marketing's Pareto/NBD NUTS (several minutes)",
    )
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case), default=float))
        return

    results = {}
    for name, label in CASES.items():
        if args.quick and name == "pymcm-pareto-nuts":
            continue
        result = measure(name)
        results[name] = result
        if "error" in result:
            print(f"{label:45s} failed ({result['error']}; is the reference tool installed?)")
            continue
        print(
            f"{label:45s} fit {result['seconds']:8.3f} s   process "
            f"{result['process_seconds']:7.1f} s   peak {result['peak_gb']:.2f} GB",
            flush=True,
        )

    print("\nRatios (reference / clvlab, same run):")
    for label, ours, theirs, target in [
        ("BG/NBD NUTS, fit call", "clvlab-bgnbd-nuts", "pymcm-bgnbd-nuts", ">= 4x"),
        ("Pareto/NBD NUTS, fit call", "clvlab-pareto-nuts", "pymcm-pareto-nuts", ">= 10x"),
        ("BG/NBD MLE", "clvlab-bgnbd-mle", "lifetimes-bgnbd-mle", "< 0.1 s"),
        ("Pareto/NBD MLE", "clvlab-pareto-mle", "lifetimes-pareto-mle", "< 0.3 s"),
    ]:
        print(
            f"  {label:28s} {ratio(results, ours, theirs, 'seconds'):>7s} "
            f"(whole process {ratio(results, ours, theirs, 'process_seconds')}); "
            f"target {target}"
        )


if __name__ == "__main__":
    main()
