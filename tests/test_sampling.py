"""nutpie's sampler on PyMC's density compiled by PyTensor (``"nutpie-pyfunc"``)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from clvlab.datasets import load_cdnow_summary
from clvlab.models import BetaGeo, ParetoNBD
from clvlab.models.sampling import chain_seeds, compile_for_nutpie, sample_chains


@pytest.fixture(scope="module")
def small():
    return load_cdnow_summary().head(300)


def test_density_gradient_and_expansion_match_pymc(small):
    # Uniform prior: an interval transform, not only logs, must be undone by `expand`.
    model = BetaGeo(priors={"a": {"dist": "Uniform", "lower": 0.0, "upper": 5.0}})
    pymc_model = model.build_model(small)
    compiled = compile_for_nutpie(pymc_model)
    point = {"r_log__": -1.0, "alpha_log__": 1.5, "a_interval__": 0.3, "b_log__": 0.7}
    x = np.array([point[v.name] for v in pymc_model.value_vars])
    logp, grad = compiled._make_logp_func()(x)
    assert logp == pytest.approx(float(pymc_model.compile_logp()(point)), rel=1e-12)
    np.testing.assert_allclose(grad, pymc_model.compile_dlogp()(point), rtol=1e-10)
    expanded = compiled._make_expand_func(0, 0, 0)(x)
    assert list(expanded) == ["r", "alpha", "a", "b"]
    np.testing.assert_allclose(
        [expanded[k] for k in ("r", "alpha", "b")], np.exp([-1.0, 1.5, 0.7]), rtol=1e-14
    )
    assert expanded["a"] == pytest.approx(5.0 / (1.0 + np.exp(-0.3)), rel=1e-14)


def test_initial_points_are_jittered_and_reproducible(small):
    compiled = compile_for_nutpie(BetaGeo().build_model(small))
    first, again, other = (compiled._make_initial_points(seed) for seed in (1, 1, 2))
    np.testing.assert_array_equal(first, again)
    assert first.shape == (4,) and not np.array_equal(first, other)


def test_nutpie_pyfunc_is_reproducible_and_agrees_with_pymc_sampler(small):
    kwargs = dict(draws=200, tune=200, chains=2, random_seed=5)
    with pytest.warns(UserWarning):  # short runs: the diagnostics may complain
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
    return compile_for_nutpie(BetaGeo().build_model(small))


def test_chain_seeds_depend_on_the_chain_not_on_the_number_of_chains():
    seeds = chain_seeds(5, 4)
    assert chain_seeds(5, 2) == seeds[:2]
    assert len(set(seeds)) == 4 and chain_seeds(6, 1)[0] != seeds[0]


def test_draws_do_not_depend_on_the_number_of_processes(compiled_bg):
    kwargs = dict(draws=30, tune=30, chains=3, seed=11, progressbar=False)
    in_process = sample_chains(compiled_bg, cores=1, **kwargs)
    forked = sample_chains(compiled_bg, cores=2, **kwargs)
    for ours, theirs in zip(in_process, forked, strict=True):
        xr.testing.assert_equal(ours, theirs)
    posterior, stats = forked
    assert posterior.sizes == {"chain": 3, "draw": 30}
    assert list(posterior["chain"].values) == [0, 1, 2]
    assert not np.array_equal(posterior["r"][0], posterior["r"][1])
    assert {"diverging", "n_steps", "step_size"} <= set(stats.data_vars)
    assert stats["n_steps"].dims == ("chain", "draw")


def test_worker_errors_and_warnings_reach_the_caller(compiled_bg):
    kwargs = dict(draws=5, tune=5, chains=2, seed=1, cores=2, progressbar=False)
    with pytest.raises(RuntimeError, match=r"chain \d failed(.|\n)*Unknown adaptation"):
        sample_chains(compiled_bg, adaptation="nope", **kwargs)
    # A deprecated nutpie option warns inside each worker.
    with pytest.warns(FutureWarning, match="deprecated") as record:
        sample_chains(compiled_bg, low_rank_modified_mass_matrix=True, **kwargs)
    assert [str(w.message)[-9:] for w in record] == ["(chain 0)", "(chain 1)"]
