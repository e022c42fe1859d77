"""BG/BB: published donations results (Fader, Hardie & Shang 2010), formulas, fits."""

import mpmath
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from clvlab.datasets import load_donations
from clvlab.errors import DataValidationError
from clvlab.models import MODELS, BetaGeoBetaBinom, CLVModel

# Fader, Hardie & Shang (2010), Marketing Science 29(6): 11,104 donors, 6 opportunities.
PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["none", "early", "regular", "long gap", "short"],
        "frequency": [0, 1, 6, 3, 1],
        "recency": [0, 1, 6, 4, 2],
        "periods": [6, 6, 6, 12, 2],
    }
)


@pytest.fixture(scope="module")
def donations():
    return load_donations().rename_axis("customer_id").reset_index()


@pytest.fixture(scope="module")
def mle(donations):
    return BetaGeoBetaBinom(weights="weights").fit(donations, method="mle")


@pytest.fixture(scope="module")
def published():
    return BetaGeoBetaBinom.from_params(PUBLISHED)


def mp_params(values):
    return [mpmath.mpf(v) for v in values]


def mp_likelihood(params, x, t_x, n):  # FHS 2010 eq. 5
    a, b, g, d = mp_params(params)
    beta = mpmath.beta
    value = beta(a + x, b + n - x) / beta(a, b) * beta(g, d + n) / beta(g, d)
    for i in range(n - t_x):
        value += beta(a + x, b + t_x - x + i) / beta(a, b) * beta(g + 1, d + t_x + i) / beta(g, d)
    return value


def test_mle_reproduces_fader_hardie_shang_2010(mle, donations):
    assert donations["weights"].sum() == 11_104
    for name, value in PUBLISHED.items():
        assert round(mle.params[name], 3) == value, name
    assert round(mle.log_likelihood_, 2) == -33225.58


def test_likelihood_agrees_with_mpmath():
    mpmath.mp.dps = 30
    for params in (PUBLISHED.values(), (0.3, 4.0, 5.0, 0.4), (20.0, 0.5, 0.1, 30.0)):
        params = dict(zip(PUBLISHED, params, strict=True))
        model = BetaGeoBetaBinom.from_params(params)
        expected = sum(
            mpmath.log(mp_likelihood(params.values(), r.frequency, r.recency, r.periods))
            for r in CUSTOMERS.itertuples()
        )
        assert model.log_likelihood(CUSTOMERS) == pytest.approx(float(expected), rel=1e-12)


def test_predictions_agree_with_fhs_2010_closed_forms(published):
    mpmath.mp.dps = 30
    a, b, g, d = mp_params(PUBLISHED.values())
    beta, gamma = mpmath.beta, mpmath.gamma
    alive = published.probability_alive(CUSTOMERS).to_numpy().ravel()
    expected = published.expected_purchases(CUSTOMERS, t=5).to_numpy().ravel()
    dert = published.discounted_expected_residual_transactions(CUSTOMERS, discount_rate=0.1)
    for row, p_alive, e5, dert_value in zip(
        CUSTOMERS.itertuples(), alive, expected, dert.to_numpy().ravel(), strict=True
    ):
        x, t_x, n = row.frequency, row.recency, row.periods
        lik = mp_likelihood(PUBLISHED.values(), x, t_x, n)
        # eq. 11: P(alive in n + 1) = our P(alive through n) * (delta + n)/(gamma + delta + n)
        eq11 = beta(a + x, b + n - x) / beta(a, b) * beta(g, d + n + 1) / beta(g, d) / lik
        assert p_alive * (PUBLISHED["delta"] + n) / sum(
            [PUBLISHED["gamma"], PUBLISHED["delta"], n]
        ) == pytest.approx(float(eq11), rel=1e-10)
        # eq. 13: expected transactions in the next 5 opportunities
        eq13 = (
            beta(a + x + 1, b + n - x) / beta(a, b) * d / (g - 1) * gamma(g + d) / gamma(1 + d)
            * (gamma(1 + d + n) / gamma(g + d + n) - gamma(1 + d + n + 5) / gamma(g + d + n + 5))
            / lik
        )  # fmt: skip
        assert e5 == pytest.approx(float(eq13), rel=1e-10)
        # eq. 14: DERT at a discount rate of 10% per opportunity
        eq14 = (
            beta(a + x + 1, b + n - x) / beta(a, b) * beta(g, d + n + 1) / (beta(g, d) * 1.1)
            * mpmath.hyp2f1(1, d + n + 1, g + d + n + 1, 1 / mpmath.mpf("1.1")) / lik
        )  # fmt: skip
        assert dert_value == pytest.approx(float(eq14), rel=1e-10)


def test_count_distribution_sums_to_one_with_the_expected_mean(published):
    t = 7
    probs = np.stack(
        [
            published.probability_of_purchases(CUSTOMERS, n=k, t=t).to_numpy().ravel()
            for k in range(t + 2)
        ]
    )
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, rtol=1e-12)
    assert np.all(probs[-1] == 0)  # more transactions than opportunities
    mean = (np.arange(t + 2)[:, None] * probs).sum(axis=0)
    expected = published.expected_purchases(CUSTOMERS, t=t).to_numpy().ravel()
    np.testing.assert_allclose(mean, expected, rtol=1e-10)


def test_expectation_is_continuous_at_gamma_one():
    at_one = BetaGeoBetaBinom.from_params({**PUBLISHED, "gamma": 1.0})
    near = BetaGeoBetaBinom.from_params({**PUBLISHED, "gamma": 1.0 + 1e-5})
    value = at_one.expected_purchases_new_customer(t=[1, 10]).to_numpy().ravel()
    assert np.all(np.isfinite(value))
    np.testing.assert_allclose(
        value, near.expected_purchases_new_customer(t=[1, 10]).to_numpy().ravel(), rtol=1e-4
    )


def test_parameter_recovery_by_mle():
    truth = {"alpha": 2.0, "beta": 1.5, "gamma": 0.8, "delta": 4.0}
    data = BetaGeoBetaBinom.simulate_population(truth, 6000, T=8, seed=7)
    assert set(data.columns) == {"customer_id", "frequency", "recency", "periods"}
    model = BetaGeoBetaBinom().fit(data, method="mle")
    for name, value in truth.items():
        se = model.standard_errors_[name]
        assert abs(model.params[name] - value) < 3 * se, (name, model.params[name], se)


def test_per_donor_table_gives_the_weighted_fit(mle, donations):
    donors = donations.loc[donations.index.repeat(donations["weights"])].drop(columns="weights")
    donors["customer_id"] = np.arange(len(donors))
    assert BetaGeoBetaBinom.from_params(mle.params).log_likelihood(donors) == pytest.approx(
        mle.log_likelihood_, rel=1e-12
    )


def test_a_model_fitted_to_the_weighted_table_predicts_for_customers(mle):
    # The per-customer table needs no weights column (rows are customers, ids unique).
    alive = mle.probability_alive(CUSTOMERS)
    assert alive.sizes["customer_id"] == len(CUSTOMERS)
    fixed = BetaGeoBetaBinom.from_params(mle.params)
    xr.testing.assert_allclose(alive, fixed.probability_alive(CUSTOMERS))
    with pytest.raises(DataValidationError, match="repeats customer_id"):
        mle.probability_alive(pd.concat([CUSTOMERS, CUSTOMERS]))


def test_discrete_inputs_are_checked(published):
    too_many = CUSTOMERS.assign(frequency=[0, 2, 6, 3, 1])
    with pytest.raises(DataValidationError, match="'frequency' exceeds column 'recency'"):
        published.probability_alive(too_many)
    late = CUSTOMERS.assign(recency=[0, 1, 7, 4, 2])
    with pytest.raises(DataValidationError, match="exceeds column 'periods'"):
        published.probability_alive(late)
    with pytest.raises(DataValidationError, match="whole numbers"):
        published.probability_alive(CUSTOMERS.assign(periods=6.5))
    with pytest.raises(ValueError, match="whole number of opportunities"):
        published.expected_purchases(CUSTOMERS, t=2.5)


def test_registered_and_save_load_round_trip(tmp_path, mle):
    assert MODELS["bg-bb"] is BetaGeoBetaBinom
    loaded = CLVModel.load(mle.save(tmp_path / "bgbb.nc"))
    assert type(loaded) is BetaGeoBetaBinom and loaded.weights == "weights"
    assert loaded.params == mle.params
    pd.testing.assert_series_equal(loaded.standard_errors_, mle.standard_errors_)
    xr.testing.assert_identical(loaded.expected_purchases(t=5), mle.expected_purchases(t=5))


@pytest.mark.slow
def test_nuts_posterior_means_are_within_one_sd_of_the_mle(mle, donations):
    model = BetaGeoBetaBinom(weights="weights").fit(
        donations, draws=500, tune=500, chains=2, random_seed=1
    )
    posterior = model.posterior
    for name, value in mle.params.items():
        draws = posterior[name].to_numpy()
        assert abs(draws.mean() - value) < draws.std(), name
    alive = model.probability_alive(CUSTOMERS)
    assert alive.shape == (2, 500, 5)
