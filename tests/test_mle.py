"""Maximum likelihood (clvlab.models.mle): the optimum, and fits that report their failure."""

import warnings

import numpy as np
import pandas as pd
import pytest

from clvlab.datasets import load_cdnow_summary
from clvlab.errors import ConvergenceWarning
from clvlab.models import BetaGeo, CLVModel, ParetoNBD
from clvlab.models.mle import hessian_from_gradient, normal_approximation_draws, numerical_hessian
from clvlab.models.results import normal_approximation


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


def test_hessian_helpers_agree_on_a_quadratic():
    matrix = np.array([[2.0, 0.5], [0.5, 1.0]])

    def f(x):
        return 0.5 * x @ matrix @ x

    x = np.array([0.3, -0.2])
    np.testing.assert_allclose(numerical_hessian(f, x), matrix, rtol=1e-6)
    np.testing.assert_allclose(hessian_from_gradient(lambda v: matrix @ v, x), matrix)


def test_a_converged_fit_is_silent(cdnow):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = BetaGeo().fit(cdnow, method="mle")
    assert model.mle_result_.success


def test_an_optimiser_stopped_early_warns_with_what_to_do(cdnow):
    # Regression: maxiter=2 returned log-likelihood -9595.61 (optimum -9594.97) silently.
    with pytest.warns(ConvergenceWarning, match=r"did not converge.*maxiter"):
        model = ParetoNBD().fit(cdnow, method="mle", maxiter=2)
    assert model.log_likelihood_ < -9595.0


def test_estimates_running_to_the_boundary_are_named():
    # Identical customers: no heterogeneity, so gamma/beta shapes and rates run off together.
    same = pd.DataFrame({"customer_id": range(100), "frequency": 2, "recency": 20.0, "T": 30.0})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        BetaGeo().fit(same, method="mle")
    messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    assert any("alpha = " in m and "edge of the parameter range" in m for m in messages)
    assert any("standard errors of" in m and "not finite" in m for m in messages)


def test_a_misspelt_keyword_is_rejected(cdnow):
    # Regression: random_sed=3 was passed to scipy as an option and silently ignored.
    with pytest.raises(TypeError, match=r"random_sed.*maxiter"):
        BetaGeo().fit(cdnow, method="mle", random_sed=3)


# ------------------------------------------------------------------ covariance
def test_the_covariance_of_the_unconstrained_estimates_is_kept_and_saved(cdnow, tmp_path):
    model = BetaGeo().fit(cdnow, method="mle")
    covariance = model.covariance_
    assert list(covariance.index) == list(covariance.columns) == ["r", "alpha", "a", "b"]
    np.testing.assert_allclose(covariance, covariance.T)
    assert np.all(np.linalg.eigvalsh(covariance) > 0)
    # delta method: se(theta) = theta * sd(log theta) for a positive parameter
    theta = pd.Series(model.params)
    np.testing.assert_allclose(model.standard_errors_, theta * np.sqrt(np.diag(covariance)))
    model.save(tmp_path / "bg.nc")
    loaded = CLVModel.load(tmp_path / "bg.nc")
    pd.testing.assert_frame_equal(loaded.covariance_, covariance)
    assert BetaGeo().fit(cdnow, method="map").covariance_ is None


def test_normal_approximation_draws_on_the_log_scale(cdnow):
    model = BetaGeo().fit(cdnow, method="mle")
    draws = normal_approximation_draws(model.layout, model.params, model.covariance_, 20_000, 1)
    assert all(np.all(v > 0) for v in draws.values())  # inside the support
    u = np.log(np.column_stack([draws[name] for name in model.param_names]))
    np.testing.assert_allclose(u.mean(axis=0), np.log(list(model.params.values())), atol=0.01)
    sample, sigma = np.cov(u.T), model.covariance_.to_numpy()
    np.testing.assert_allclose(np.diag(sample), np.diag(sigma), rtol=0.05)
    sd, sample_sd = np.sqrt(np.diag(sigma)), np.sqrt(np.diag(sample))
    correlation = sigma / np.outer(sd, sd)
    np.testing.assert_allclose(sample / np.outer(sample_sd, sample_sd), correlation, atol=0.03)
    again = normal_approximation_draws(model.layout, model.params, model.covariance_, 5, 1)
    np.testing.assert_array_equal(again["r"], draws["r"][:5])  # seeded


def test_normal_approximation_model_and_its_refusals(cdnow):
    model = BetaGeo().fit(cdnow, method="mle")
    approximation = normal_approximation(model, 50, random_seed=3)
    assert approximation.posterior.sizes == {"chain": 1, "draw": 50}
    assert model.posterior.sizes["draw"] == 1  # the fit itself is unchanged
    spread = approximation.expected_purchases(cdnow.head(3), t=10.0).std(("chain", "draw"))
    assert np.all(spread > 0)
    with pytest.raises(ValueError, match="method='mle'"):
        normal_approximation(BetaGeo.from_params(model.params), 10)
    singular = model.covariance_ * np.nan
    with pytest.raises(ValueError, match="not finite"):
        normal_approximation_draws(model.layout, model.params, singular, 10)
