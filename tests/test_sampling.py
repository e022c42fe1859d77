"""nutpie's sampler on PyMC's density (``"nutpie-pyfunc"``): forked processes on Linux,
nutpie's threads elsewhere. Only nutpie's public API is used here."""

from __future__ import annotations

import sys
import threading
import warnings

import numpy as np
import pytest
import xarray as xr

from clvlab.datasets import load_cdnow_summary
from clvlab.models import BetaGeo, ParetoNBD, sampling
from clvlab.models.sampling import (
    chain_seeds,
    compile_density,
    compile_for_nutpie,
    default_parallelism,
    sample_chains,
)

# Short runs: the convergence diagnostics may or may not complain.
short_runs = pytest.mark.filterwarnings("ignore::clvlab.diagnostics.ConvergenceWarning")
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="chains run in forked processes on Linux only"
)


@pytest.fixture(scope="module")
def small():
    return load_cdnow_summary().head(300)


@pytest.mark.slow
def test_density_gradient_and_expansion_match_pymc(small):
    # Uniform prior: an interval transform, not only logs, must be undone by `expand`.
    model = BetaGeo(priors={"a": {"dist": "Uniform", "lower": 0.0, "upper": 5.0}})
    pymc_model = model.build_model(small)
    density = compile_density(pymc_model)
    point = {"r_log__": -1.0, "alpha_log__": 1.5, "a_interval__": 0.3, "b_log__": 0.7}
    x = np.array([point[v.name] for v in pymc_model.value_vars])
    logp, grad = density.logp_and_gradient(x)
    assert logp == pytest.approx(float(pymc_model.compile_logp()(point)), rel=1e-12)
    np.testing.assert_allclose(grad, pymc_model.compile_dlogp()(point), rtol=1e-10)
    expanded = density.expand(x)
    assert density.names == list(expanded) == ["r", "alpha", "a", "b"]
    assert density.ndim == 4 and density.shapes == [()] * 4
    np.testing.assert_allclose(
        [expanded[k] for k in ("r", "alpha", "b")], np.exp([-1.0, 1.5, 0.7]), rtol=1e-14
    )
    assert expanded["a"] == pytest.approx(5.0 / (1.0 + np.exp(-0.3)), rel=1e-14)


@pytest.mark.slow
def test_initial_points_are_jittered_and_reproducible(small):
    density = compile_density(BetaGeo().build_model(small))
    first, again, other = (density.initial_point(seed) for seed in (1, 1, 2))
    np.testing.assert_array_equal(first, again)
    assert first.shape == (4,) and not np.array_equal(first, other)


@pytest.mark.parametrize(
    ("platform", "expected"),
    [("linux", "processes"), ("darwin", "threads"), ("win32", "threads")],
)
def test_chains_run_in_processes_only_where_fork_is_safe(monkeypatch, platform, expected):
    monkeypatch.setattr(sys, "platform", platform)
    assert default_parallelism() == expected


def test_unknown_parallelism_is_refused_before_compiling(small):
    with pytest.raises(ValueError, match="'processes' or 'threads'"):
        compile_for_nutpie(BetaGeo().build_model(small), parallelism="fork")


@pytest.mark.slow
@short_runs
def test_nutpie_pyfunc_is_reproducible_and_agrees_with_pymc_sampler(small):
    kwargs = dict(draws=200, tune=200, chains=2, random_seed=5)
    first = BetaGeo().fit(small, nuts_sampler="nutpie-pyfunc", **kwargs)
    second = BetaGeo().fit(small, nuts_sampler="nutpie-pyfunc", **kwargs)
    reference = BetaGeo().fit(small, nuts_sampler="pymc", cores=1, **kwargs)
    xr.testing.assert_identical(first.posterior, second.posterior)
    assert first.posterior.sizes == {"chain": 2, "draw": 200}
    stats = first.idata["sample_stats"]
    assert {"diverging", "n_steps", "step_size"} <= set(stats.data_vars)
    # Same density, different sampler: posterior means within Monte Carlo error.
    for name in BetaGeo.param_names:
        ours, theirs = first.posterior[name], reference.posterior[name]
        assert abs(float(ours.mean() - theirs.mean())) < 0.5 * float(theirs.std()), name


@pytest.mark.slow
@short_runs
def test_default_sampler_uses_nutpies_threads_without_fork(small, monkeypatch):
    # What macOS and Windows get: nutpie's own compilation, all chains in its threads.
    reference = BetaGeo().fit(small, draws=200, tune=200, chains=2, random_seed=5)
    monkeypatch.setattr(sampling, "default_parallelism", lambda: "threads")
    monkeypatch.setattr(sampling, "_run_in_processes", _must_not_fork)
    kwargs = dict(draws=200, tune=200, chains=2, cores=2, random_seed=5)
    first, second = (BetaGeo().fit(small, **kwargs) for _ in range(2))
    xr.testing.assert_identical(first.posterior, second.posterior)
    assert first.posterior.sizes == {"chain": 2, "draw": 200}
    assert {"diverging", "n_steps", "step_size"} <= set(first.idata["sample_stats"].data_vars)
    for name in BetaGeo.param_names:
        ours, theirs = first.posterior[name], reference.posterior[name]
        assert abs(float(ours.mean() - theirs.mean())) < 0.5 * float(theirs.std()), name


def _must_not_fork(*args, **kwargs):
    raise AssertionError("forked worker processes")


@pytest.mark.slow
def test_pareto_nbd_default_priors_keep_the_posterior_mode_at_the_mle():
    # A Pareto/NBD NUTS run takes minutes; the mode shows that the default prior on s,
    # which closes the ridge towards large s and beta, leaves the data in charge.
    data = load_cdnow_summary()
    mle = ParetoNBD().fit(data, method="mle")
    mode = ParetoNBD().fit(data, method="map")
    for name in ParetoNBD.param_names:
        assert abs(mode.params[name] - mle.params[name]) < 0.5 * mle.standard_errors_[name]


@pytest.fixture(scope="module")
def compiled_bg(small):
    return compile_for_nutpie(BetaGeo().build_model(small), parallelism="processes")


def test_chain_seeds_depend_on_the_chain_not_on_the_number_of_chains():
    seeds = chain_seeds(5, 4)
    assert chain_seeds(5, 2) == seeds[:2]
    assert len(set(seeds)) == 4 and chain_seeds(6, 1)[0] != seeds[0]


SHORT = dict(draws=30, tune=30, chains=3, seed=11, progressbar=False)


@pytest.fixture(scope="module")
def in_process(compiled_bg):
    """Three short chains, one after another in this process."""
    return sample_chains(compiled_bg, cores=1, **SHORT)


@pytest.mark.slow
@linux_only
def test_draws_do_not_depend_on_the_number_of_processes(compiled_bg, in_process):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no other thread: no warning
        forked = sample_chains(compiled_bg, cores=2, **SHORT)
    for ours, theirs in zip(in_process, forked, strict=True):
        xr.testing.assert_equal(ours, theirs)
    posterior, stats = forked
    assert posterior.sizes == {"chain": 3, "draw": 30}
    assert list(posterior["chain"].values) == [0, 1, 2]
    assert not np.array_equal(posterior["r"][0], posterior["r"][1])
    assert {"diverging", "n_steps", "step_size"} <= set(stats.data_vars)
    assert stats["n_steps"].dims == ("chain", "draw")


@pytest.mark.slow
def test_without_fork_the_same_chains_run_in_this_process(compiled_bg, in_process, monkeypatch):
    monkeypatch.setattr(sampling, "default_parallelism", lambda: "threads")
    monkeypatch.setattr(sampling, "_run_in_processes", _must_not_fork)
    for ours, theirs in zip(in_process, sample_chains(compiled_bg, cores=2, **SHORT), strict=True):
        xr.testing.assert_equal(ours, theirs)


@pytest.mark.slow
@linux_only
def test_forking_a_process_that_runs_threads_says_so(compiled_bg, in_process):
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="kernel-heartbeat", daemon=True)
    thread.start()
    try:
        with pytest.warns(
            RuntimeWarning, match=r"other threads \(kernel-heartbeat\).*cores=1"
        ) as w:
            forked = sample_chains(compiled_bg, cores=2, **SHORT)
    finally:
        stop.set()
        thread.join()
    assert [record.filename for record in w] == [__file__]  # points at the caller
    for ours, theirs in zip(in_process, forked, strict=True):
        xr.testing.assert_equal(ours, theirs)


@pytest.mark.slow
@linux_only
def test_the_progress_bar_starts_no_thread_before_the_fork(compiled_bg):
    kwargs = dict(draws=5, tune=5, chains=2, seed=1, cores=2, progressbar=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        posterior, _ = sample_chains(compiled_bg, **kwargs)
    assert posterior.sizes == {"chain": 2, "draw": 5}


@pytest.mark.slow
@linux_only
def test_worker_errors_and_warnings_reach_the_caller(compiled_bg):
    kwargs = dict(draws=5, tune=5, chains=2, seed=1, cores=2, progressbar=False)
    with pytest.raises(RuntimeError, match=r"chain \d failed(.|\n)*Unknown adaptation"):
        sample_chains(compiled_bg, adaptation="nope", **kwargs)
    # A deprecated nutpie option warns inside each worker.
    with pytest.warns(FutureWarning, match="deprecated") as record:
        sample_chains(compiled_bg, low_rank_modified_mass_matrix=True, **kwargs)
    assert [str(w.message)[-9:] for w in record] == ["(chain 0)", "(chain 1)"]
