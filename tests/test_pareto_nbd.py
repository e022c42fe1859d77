"""Pareto/NBD: published CDNOW results (SMC 1987 as in FHL 2005), formulas, recovery."""

import mpmath
import numpy as np
import pandas as pd
import pytest

from clvlab.datasets import load_cdnow_summary
from clvlab.models import ParetoNBD

FULL = {"r": 0.55315, "alpha": 10.57633, "s": 0.60625, "beta": 11.67150}


@pytest.fixture(scope="module")
def published():
    return ParetoNBD.from_params(FULL)


def mp_params():
    mpmath.mp.dps = 30
    return [mpmath.mpf(v) for v in FULL.values()]


def test_mle_on_the_published_summary_reproduces_the_table():
    model = ParetoNBD().fit(load_cdnow_summary(), method="mle")
    params = model.params
    assert round(params["r"], 3) == 0.553
    assert round(params["alpha"], 3) == 10.578
    assert round(params["s"], 3) == 0.606
    assert params["beta"] == pytest.approx(11.669, abs=0.01)  # weakly identified
    assert model.log_likelihood_ == pytest.approx(-9594.98, abs=0.01)
    assert model.standard_errors_["beta"] == pytest.approx(6.2, abs=0.1)


def test_mle_on_the_transaction_log_matches_the_full_precision_values(cdnow_rfm):
    model = ParetoNBD().fit(cdnow_rfm, method="mle")
    for name, value in FULL.items():
        assert model.params[name] == pytest.approx(value, rel=5e-4), name
    # At least as likely as the CLVTools estimates.
    assert model.log_likelihood_ >= model.log_likelihood(cdnow_rfm, FULL) - 1e-9


def test_spot_checks_at_the_published_estimates(published, spot_customers):
    assert float(published.expected_purchases(spot_customers, t=52)[0, 0, 0]) == pytest.approx(
        25.45647, rel=1e-4
    )
    assert float(published.probability_alive(spot_customers)[0, 0, 0]) == pytest.approx(
        0.997874, rel=1e-5
    )
    assert float(published.expected_purchases_new_customer(t=52).squeeze()) == pytest.approx(
        1.473434, rel=1e-4
    )


def test_conditional_expectation_agrees_with_mpmath(published, spot_customers):
    r, alpha, s, beta = mp_params()

    def expected(x, t_x, T, t):
        x, t_x, T = mpmath.mpf(x), mpmath.mpf(t_x), mpmath.mpf(T)
        alive = 1 / ((alpha + T) ** (r + x) * (beta + T) ** s)
        dropped = s * mpmath.quad(
            lambda tau: (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1), [t_x, T]
        )
        p_alive = alive / (alive + dropped)
        mean_alive = (
            (r + x)
            * (beta + T)
            / ((alpha + T) * (s - 1))
            * (1 - ((beta + T) / (beta + T + t)) ** (s - 1))
        )
        return p_alive * mean_alive

    values = published.expected_purchases(spot_customers, t=26).to_numpy().ravel()
    for value, row in zip(values, spot_customers.itertuples(), strict=True):
        assert value == pytest.approx(
            float(expected(row.frequency, row.recency, row.T, 26)), rel=1e-7
        )


def test_count_distribution_of_a_new_customer_agrees_with_mpmath(published):
    r, alpha, s, beta = mp_params()
    t = mpmath.mpf(30)

    def nb(n, w):
        return (
            mpmath.gamma(r + n)
            / (mpmath.gamma(r) * mpmath.factorial(n))
            * (alpha / (alpha + w)) ** r
            * (w / (alpha + w)) ** n
        )

    def probability(n):
        survive = (beta / (beta + t)) ** s * nb(n, t)
        density = lambda tau: s * beta**s * (beta + tau) ** -(s + 1)  # noqa: E731
        return survive + mpmath.quad(lambda tau: density(tau) * nb(n, tau), [0, 1, t])

    newcomer = pd.DataFrame({"customer_id": [0], "frequency": [0], "recency": [0.0], "T": [0.0]})
    for n in (0, 1, 4):
        value = float(published.probability_of_purchases(newcomer, n=n, t=30).squeeze())
        assert value == pytest.approx(float(probability(n)), rel=1e-8), n


def test_parameter_recovery_with_mle_intervals():
    """94% Wald intervals from the Hessian cover the truth. (A NUTS run costs minutes with
    the quadrature likelihood; the pytensor path is checked in test_base.)"""
    truth = {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 10.0}
    ages = np.repeat(np.arange(20, 53), 60).astype(float)
    data = ParetoNBD.simulate_population(truth, len(ages), T=ages, seed=7)
    model = ParetoNBD().fit(data, method="mle")
    for name, value in truth.items():
        estimate, se = model.params[name], model.standard_errors_[name]
        assert abs(estimate - value) < 1.88 * se, (name, estimate, se)


# ----------------------------------------------------------------------------------------
# PyMC's gradient (built after PyMC's pre-gradient rewrites)
# ----------------------------------------------------------------------------------------

MLE_LOG = np.log([0.553, 10.578, 0.606, 11.669])
# reported point: NaN gradient in an earlier version, whose autodiff ran through the
# quadrature's node placement once PyMC's pre-gradient rewrites had removed a stop-gradient
REPORTED = np.log([0.4554, 6.1428, 0.4223, 26.04])


@pytest.fixture(scope="module")
def pymc_density(cdnow_rfm):
    """PyMC's compiled logp and dlogp of the model, as functions of log(r, alpha, s, beta)."""
    pm_model = ParetoNBD().build_model(cdnow_rfm)
    names = [v.name for v in pm_model.value_vars]
    assert names == [f"{name}_log__" for name in ParetoNBD.param_names]
    logp, dlogp = pm_model.compile_logp(), pm_model.compile_dlogp()

    def point(log_params):
        return dict(zip(names, log_params, strict=True))

    return (lambda v: logp(point(v))), (lambda v: dlogp(point(v)))


@pytest.mark.slow
def test_pymc_gradient_is_finite_around_the_posterior(pymc_density):
    _, dlogp = pymc_density
    rng = np.random.default_rng(2005)
    points = np.vstack([REPORTED, MLE_LOG + rng.uniform(-1.5, 1.5, size=(200, 4))])
    bad = [p for p in points if not np.all(np.isfinite(dlogp(p)))]
    assert not bad, f"{len(bad)} of {len(points)} non-finite, e.g. at {np.exp(bad[0])}"


@pytest.mark.slow
def test_pymc_gradient_matches_finite_differences(pymc_density):
    logp, dlogp = pymc_density
    rng = np.random.default_rng(1987)
    points = np.vstack([REPORTED, MLE_LOG, MLE_LOG + rng.uniform(-1.5, 1.5, size=(3, 4))])
    h = 1e-5
    for point in points:
        fd = [(logp(point + e) - logp(point - e)) / (2 * h) for e in h * np.eye(4)]
        np.testing.assert_allclose(dlogp(point), fd, rtol=1e-6, atol=1e-4, err_msg=str(point))
