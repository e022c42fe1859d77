"""nutpie's sampler on PyMC's density compiled by PyTensor's C backend (``"nutpie-c"``)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from clvlab.datasets import load_cdnow_summary
from clvlab.models import BetaGeo, ParetoNBD
from clvlab.models.sampling import compile_for_nutpie


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


def test_nutpie_c_is_reproducible_and_agrees_with_pymc_sampler(small):
    kwargs = dict(draws=200, tune=200, chains=2, random_seed=5)
    with pytest.warns(UserWarning):  # short runs: the diagnostics may complain
        first = BetaGeo().fit(small, nuts_sampler="nutpie-c", **kwargs)
        second = BetaGeo().fit(small, nuts_sampler="nutpie-c", **kwargs)
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
        assert abs(mode.params[name] - mle.params[name]) < 0.5 * mle.standard_errors[name]
