"""MBG/NBD: published CDNOW results (Batislam et al. 2007), formulas, recovery."""

import mpmath
import numpy as np
import pytest

from clvlab.datasets import load_cdnow_summary
from clvlab.models import BetaGeo, ModifiedBetaGeo
from clvlab.models.mle import negative_log_likelihood, numerical_gradient

PUBLISHED = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}


@pytest.mark.parametrize("source", ["published summary", "transaction log"])
def test_mle_reproduces_batislam_2007(source, cdnow_rfm):
    data = load_cdnow_summary() if source == "published summary" else cdnow_rfm
    model = ModifiedBetaGeo().fit(data, method="mle")
    assert {k: round(v, 3) for k, v in model.params.items()} == PUBLISHED
    assert model.log_likelihood_ == pytest.approx(-9582.13, abs=0.01)


def test_likelihood_is_batislam_eq_2(spot_customers):
    mpmath.mp.dps = 30
    r, alpha, a, b = (mpmath.mpf(v) for v in PUBLISHED.values())

    def likelihood(x, t_x, T):
        common = mpmath.gamma(r + x) * alpha**r / mpmath.gamma(r)
        return mpmath.beta(a, b + x + 1) / mpmath.beta(a, b) * common / (alpha + T) ** (
            r + x
        ) + mpmath.beta(a + 1, b + x) / mpmath.beta(a, b) * common / (alpha + t_x) ** (r + x)

    model = ModifiedBetaGeo()
    values = model._log_likelihood(model._columns(spot_customers), PUBLISHED, np)
    for value, row in zip(values, spot_customers.itertuples(), strict=True):
        expected = mpmath.log(likelihood(row.frequency, row.recency, row.T))
        assert value == pytest.approx(float(expected), rel=1e-11)


def test_customers_without_repeat_purchase_may_be_inactive(spot_customers):
    model = ModifiedBetaGeo.from_params(PUBLISHED)
    alive = model.probability_alive(spot_customers).to_numpy().ravel()
    r, alpha, a, b = PUBLISHED.values()
    assert alive[2] == pytest.approx(1 / (1 + a / b * ((alpha + 38.86) / alpha) ** r))
    assert alive[2] < 1
    assert float(BetaGeo.from_params(PUBLISHED).probability_alive(spot_customers)[0, 0, 2]) == 1


def test_new_customer_expectation_is_batislam_closed_form():
    mpmath.mp.dps = 30
    r, alpha, a, b = (mpmath.mpf(v) for v in PUBLISHED.values())
    model = ModifiedBetaGeo.from_params(PUBLISHED)
    for t in (1, 39, 78):
        # b / (a - 1) [1 - (alpha / (alpha + t))^r 2F1(r, b + 1; a + b; t / (alpha + t))]
        expected = (
            b
            / (a - 1)
            * (1 - (alpha / (alpha + t)) ** r * mpmath.hyp2f1(r, b + 1, a + b, t / (alpha + t)))
        )
        value = float(model.expected_purchases_new_customer(t=t).squeeze())
        assert value == pytest.approx(float(expected), rel=1e-9)


def test_analytic_gradient_matches_finite_differences():
    model = ModifiedBetaGeo()
    compressed = model._compressed(model.validate_data(load_cdnow_summary()))
    objective, gradient = negative_log_likelihood(model, compressed)
    x = np.log([0.4, 7.0, 1.2, 0.6])
    np.testing.assert_allclose(gradient(x), numerical_gradient(objective, x), rtol=1e-5)


@pytest.mark.slow
def test_parameter_recovery_with_nuts():
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.7, "b": 2.5}
    ages = np.repeat(np.arange(20, 53), 40).astype(float)
    data = ModifiedBetaGeo.simulate_population(truth, len(ages), T=ages, seed=2024)
    model = ModifiedBetaGeo().fit(data, draws=500, tune=500, chains=2, random_seed=3)
    for name, value in truth.items():
        low, high = np.quantile(model.posterior[name], [0.03, 0.97])
        assert low < value < high, (name, low, high)
