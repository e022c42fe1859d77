"""Gamma-Gamma: published CDNOW results (FHL 2005, JMR), likelihood, predictions, fits."""

import mpmath
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from clvlab.datasets import load_cdnow_summary
from clvlab.errors import DataValidationError
from clvlab.models import MODELS, CLVModel, GammaGamma
from clvlab.models.gamma_gamma import check_spend_independence
from clvlab.models.mle import negative_log_likelihood, numerical_gradient

# Fader, Hardie & Lee (2005), "RFM and CLV", JMR 42(4): 946 CDNOW customers with x > 0.
PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def repeat_buyers():
    summary = load_cdnow_summary()
    return summary[summary["frequency"] > 0]


@pytest.fixture(scope="module")
def mle(repeat_buyers):
    return GammaGamma().fit(repeat_buyers, method="mle")


def test_mle_on_the_transaction_log_reproduces_fhl_2005(cdnow_rfm):
    repeat = cdnow_rfm[cdnow_rfm["frequency"] > 0]
    model = GammaGamma().fit(repeat, method="mle")
    assert len(repeat) == 946
    for name, value in PUBLISHED.items():
        assert round(model.params[name], 2) == value, name
    assert round(model.log_likelihood_, 2) == -4055.92


def test_mle_on_the_published_summary(mle):
    # zbar is rounded to cents in the summary: gamma lands at 15.448 instead of 15.444.
    for name, value in PUBLISHED.items():
        assert mle.params[name] == pytest.approx(value, abs=0.01), name
    assert mle.log_likelihood_ == pytest.approx(-4055.92, abs=0.01)
    assert set(mle.standard_errors_.index) == {"p", "q", "gamma"}


def test_likelihood_agrees_with_mpmath():
    mpmath.mp.dps = 30
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "frequency": [1, 2, 14, 60],
            "monetary_value": [3.5, 22.35, 80.0, 0.9],
        }
    )

    def log_density(p, q, gamma, x, zbar):  # FHL 2005, density of the mean repeat spend
        p, q, gamma, x, zbar = (mpmath.mpf(v) for v in (p, q, gamma, x, zbar))
        return mpmath.log(
            mpmath.gamma(p * x + q)
            / (mpmath.gamma(p * x) * mpmath.gamma(q))
            * gamma**q
            * zbar ** (p * x - 1)
            * x ** (p * x)
            / (gamma + x * zbar) ** (p * x + q)
        )

    for values in ((6.25, 3.74, 15.44), (0.4, 1.2, 300.0), (40.0, 25.0, 2.0)):
        params = dict(zip(("p", "q", "gamma"), values, strict=True))
        model = GammaGamma.from_params(params, customers)
        expected = sum(
            log_density(*values, row.frequency, row.monetary_value)
            for row in customers.itertuples()
        )
        assert model.log_likelihood() == pytest.approx(float(expected), rel=1e-12)


def test_analytic_gradient_matches_finite_differences(repeat_buyers):
    model = GammaGamma()
    compressed = model._compressed(model.validate_data(repeat_buyers))
    objective, gradient = negative_log_likelihood(model, compressed)
    for values in ([6.0, 3.5, 15.0], [0.5, 8.0, 100.0]):
        u = np.log(values)
        np.testing.assert_allclose(gradient(u), numerical_gradient(objective, u), rtol=1e-5)


def test_expected_spend_is_fhl_eq_5_and_the_population_mean_for_one_time_buyers():
    p, q, gamma = PUBLISHED.values()
    model = GammaGamma.from_params(PUBLISHED)
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "frequency": [2, 0, 10],
            "monetary_value": [22.35, 0.0, 80.0],
        }
    )
    spend = model.expected_spend(customers)
    assert spend.dims == ("chain", "draw", "customer_id")
    population = p * gamma / (q - 1)
    assert model.population_mean_spend().item() == pytest.approx(population, rel=1e-12)
    expected = [
        (q - 1) / (p * 2 + q - 1) * population + p * 2 / (p * 2 + q - 1) * 22.35,
        population,
        p * (gamma + 10 * 80.0) / (10 * p + q - 1),
    ]
    np.testing.assert_allclose(spend.to_numpy().ravel(), expected, rtol=1e-12)


def test_population_mean_is_infinite_without_a_finite_mean():
    model = GammaGamma.from_params({"p": 2.0, "q": 0.8, "gamma": 5.0})
    assert np.isinf(model.population_mean_spend().item())


def test_parameter_recovery_by_mle():
    truth = {"p": 4.0, "q": 5.0, "gamma": 20.0}
    frequency = np.random.default_rng(5).geometric(0.3, size=3000)
    data = GammaGamma.simulate_population(truth, frequency, seed=11)
    model = GammaGamma().fit(data, method="mle")
    for name, value in truth.items():
        se = model.standard_errors_[name]
        assert abs(model.params[name] - value) < 3 * se, (name, model.params[name], se)


def test_fit_requires_repeat_buyers_and_positive_spend():
    summary = load_cdnow_summary()
    with pytest.raises(DataValidationError, match=r"frequency'\] > 0"):
        GammaGamma().fit(summary, method="mle")
    bad = summary[summary["frequency"] > 0].assign(monetary_value=0.0)
    with pytest.raises(DataValidationError, match="monetary_value' must be positive"):
        GammaGamma().fit(bad, method="mle")


def test_spend_independence_check_on_cdnow_and_a_failing_case():
    summary = load_cdnow_summary()
    check = check_spend_independence(summary)
    # FHL (2005) report a correlation of 0.11 on CDNOW.
    assert round(check.correlation, 2) == 0.11
    assert check.low < check.correlation < check.high
    assert check.n_customers == 946 and check.n_excluded == 1411
    assert check.holds and "holds" in str(check)
    dependent = pd.DataFrame(
        {"frequency": np.arange(1, 201), "monetary_value": np.arange(1, 201) * 2.0}
    )
    failed = check_spend_independence(dependent)
    assert not failed.holds and "FAILS" in failed.message


def test_registered_and_save_load_round_trip(tmp_path, mle, repeat_buyers):
    assert MODELS["gamma-gamma"] is GammaGamma
    loaded = CLVModel.load(mle.save(tmp_path / "gg.nc"))
    assert type(loaded) is GammaGamma
    assert loaded.params == mle.params
    xr.testing.assert_identical(loaded.expected_spend(), mle.expected_spend())
    xr.testing.assert_identical(
        loaded.expected_spend(repeat_buyers.head()), mle.expected_spend(repeat_buyers.head())
    )


@pytest.mark.slow
def test_nuts_posterior_means_are_within_one_sd_of_the_mle(mle, repeat_buyers):
    model = GammaGamma().fit(repeat_buyers, draws=500, tune=500, chains=2, random_seed=1)
    posterior = model.posterior
    for name, value in mle.params.items():
        draws = posterior[name].to_numpy()
        assert abs(draws.mean() - value) < draws.std(), name
    spend = model.expected_spend(load_cdnow_summary())
    assert spend.shape == (2, 500, 2357)
    low, high = spend.quantile([0.03, 0.97], ("chain", "draw"))
    assert bool((low < high).all())
