import copy
import math

import numpy as np
import pandas as pd
import pytest
import scipy.integrate
import xarray as xr

from clvlab import clv
from clvlab.datasets import load_cdnow_summary
from clvlab.errors import DataValidationError
from clvlab.models import BetaGeo, GammaGamma, ModifiedBetaGeo, ParetoNBD

PUBLISHED = {
    BetaGeo: {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881},
    ModifiedBetaGeo: {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
    ParetoNBD: {"r": 0.55315, "alpha": 10.57633, "s": 0.60625, "beta": 11.67150},
}
WEEKS_PER_YEAR = 365.25 / 7


@pytest.fixture(scope="module")
def customers():
    """Histories with repeat purchases, a one-time buyer and two customers sharing (x, T)
    but not t_x (the case the grouping by (x, T) must get right)."""
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "frequency": [26, 2, 0, 3, 3],
            "recency": [30.857, 30.43, 0.0, 5.0, 35.0],
            "T": [31.0, 38.86, 38.86, 36.0, 36.0],
        }
    )


def direct_dep(model, data, **options):
    """The definition: sum_k w_k (E[Y(t_k)] - E[Y(t_k-1)]) on each customer's own row."""
    boundaries, weights = clv.discount_weights(**options)
    total, previous = 0.0, 0.0
    for t, w in zip(boundaries, weights, strict=True):
        current = model.expected_purchases(data, t=float(t)).to_numpy()[0, 0]
        total, previous = total + w * (current - previous), current
    return total  # one value per customer


# ------------------------------------------------------------------ discounting
def test_period_weights_discount_each_period_at_its_end():
    boundaries, weights = clv.discount_weights(52.0, discount_rate=0.1)
    np.testing.assert_allclose(boundaries, np.arange(1, 53))
    np.testing.assert_allclose(weights, 1.1 ** (-boundaries / WEEKS_PER_YEAR))
    # a whole year is worth 1 / 1.1
    _, year = clv.discount_weights(WEEKS_PER_YEAR, discount_rate=0.1, step=WEEKS_PER_YEAR)
    assert year[0] == pytest.approx(1 / 1.1)


def test_continuous_weights_are_the_mean_discount_over_each_period():
    delta = math.log(1.1) / 365.25
    boundaries, weights = clv.discount_weights(
        10.0, discount_rate=0.1, time_unit="D", discounting="continuous", step=4.0
    )
    np.testing.assert_allclose(boundaries, [4.0, 8.0, 10.0])  # last period shorter
    for start, end, w in zip([0.0, 4.0, 8.0], boundaries, weights, strict=True):
        mean, _ = scipy.integrate.quad(lambda t: math.exp(-delta * t), start, end)
        assert w == pytest.approx(mean / (end - start), rel=1e-12)
    _, flat = clv.discount_weights(5.0, discount_rate=0.0, discounting="continuous")
    np.testing.assert_array_equal(flat, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon": -1.0, "discount_rate": 0.1}, "horizon"),
        ({"horizon": 5.0, "discount_rate": -0.1}, "discount_rate"),
        ({"horizon": 5.0, "discount_rate": 0.1, "discounting": "yearly"}, "discounting"),
        ({"horizon": 5.0, "discount_rate": 0.1, "time_unit": "M"}, "time_unit"),
        ({"horizon": 5.0, "discount_rate": 0.1, "step": 0.0}, "step"),
    ],
)
def test_discount_weights_reject_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        clv.discount_weights(**kwargs)


# ------------------------------------------------------------------ model-based CLV
@pytest.mark.parametrize("model_class", list(PUBLISHED))
@pytest.mark.parametrize("discounting", ["period", "continuous"])
def test_clv_reconciles_with_discounted_purchases_times_spend_times_margin(
    customers, model_class, discounting
):
    model = model_class.from_params(PUBLISHED[model_class])
    options = {"horizon": 52.0, "discount_rate": 0.15, "discounting": discounting, "step": 4.0}
    table = clv.customer_lifetime_value(model, 40.0, customers, margin=0.3, **options)
    dep = direct_dep(model, customers, **options)
    np.testing.assert_allclose(table["discounted_expected_purchases"], dep, rtol=1e-10)
    np.testing.assert_allclose(table["clv"], dep * 40.0 * 0.3, rtol=1e-10)
    plain = model.expected_purchases(customers, t=52.0).mean(("chain", "draw")).to_numpy()
    np.testing.assert_allclose(table["expected_purchases"], plain, rtol=1e-10)
    alive = model.probability_alive(customers).mean(("chain", "draw")).to_numpy()
    np.testing.assert_allclose(table["probability_alive"], alive, rtol=1e-12)
    assert list(table["customer_id"]) == list(customers["customer_id"])
    # one draw (a point estimate): the interval is degenerate
    assert table.attrs["n_draws"] == 1
    np.testing.assert_array_equal(table["clv_low"], table["clv"])
    np.testing.assert_array_equal(table["clv_high"], table["clv"])


def test_without_discounting_dep_is_the_expected_purchases_over_the_horizon(customers):
    model = BetaGeo.from_params(PUBLISHED[BetaGeo])
    table = clv.customer_lifetime_value(model, 1.0, customers, horizon=39.0, discount_rate=0.0)
    expected = model.expected_purchases(customers, t=39.0).mean(("chain", "draw")).to_numpy()
    np.testing.assert_allclose(table["discounted_expected_purchases"], expected, rtol=1e-12)
    np.testing.assert_allclose(table["clv"], expected, rtol=1e-12)
    # published BG/NBD spot check: customer x = 2 expects 1.226 purchases in 39 weeks
    assert table.loc[1, "expected_purchases"] == pytest.approx(1.226, abs=5e-4)


@pytest.fixture(scope="module")
def many_ages():
    """Customers of every age in days from 27 to 39 weeks, with 0, 1 or 4 repeat purchases:
    more ages per x than ``clv._INTERPOLATE_ABOVE``, so the period sums are interpolated."""
    ages = np.arange(189, 273) / 7
    x = np.repeat([0, 1, 4], len(ages))
    T = np.tile(ages, 3)
    recency = np.where(x > 0, T * np.tile(np.linspace(0.2, 1.0, len(ages)), 3), 0.0)
    return pd.DataFrame(
        {"customer_id": np.arange(len(x)), "frequency": x, "recency": recency, "T": T}
    )


@pytest.mark.parametrize("model_class", [BetaGeo, ParetoNBD])
def test_period_sums_interpolated_in_age_and_time_match_the_exact_sums(
    many_ages, model_class, monkeypatch
):
    model = model_class.from_params(PUBLISHED[model_class])
    evaluated = []
    future_alive = clv._future_alive

    def spy(model, keys, points, settings):
        evaluated.append(len(points))
        return future_alive(model, keys, points, settings)

    monkeypatch.setattr(clv, "_future_alive", spy)
    options = {"horizon": 52.0, "discount_rate": 0.1, "step": 1.0}  # 52 periods
    interpolated = clv.customer_lifetime_value(model, 1.0, many_ages, **options)
    # 3 x (11 Chebyshev points + 4 checks) ages instead of 3 x 84
    assert evaluated == [3 * (clv._CHEBYSHEV_NODES + 4)]
    # Interpolants that fail their checks (none passes a tolerance of 0) are replaced by
    # the exact sums over every boundary at every age.
    monkeypatch.setattr(clv, "_INTERPOLATION_RTOL", 0.0)
    exact = clv.customer_lifetime_value(model, 1.0, many_ages, **options)
    assert evaluated[1:] == [3 * (clv._CHEBYSHEV_NODES + 4), 3 * 84]
    columns = ["discounted_expected_purchases", "expected_purchases", "clv"]
    pd.testing.assert_frame_equal(interpolated[columns], exact[columns], rtol=1e-10)
    np.testing.assert_allclose(
        exact["discounted_expected_purchases"].iloc[::40],
        direct_dep(model, many_ages.iloc[::40], **options),
        rtol=1e-10,
    )


def test_small_memory_budget_gives_the_same_answer_in_chunks(cdnow_rfm):
    model = ParetoNBD.from_params(PUBLISHED[ParetoNBD])
    data = cdnow_rfm.iloc[:300]
    whole = clv.customer_lifetime_value(model, 30.0, data, step=13.0)
    chunked = clv.customer_lifetime_value(model, 30.0, data, step=13.0, memory_budget=64 * 20)
    pd.testing.assert_frame_equal(whole, chunked)


def test_all_draws_over_the_budget_raise_memory_error(customers):
    model = BetaGeo.from_params(PUBLISHED[BetaGeo])
    with pytest.raises(MemoryError, match="memory_budget"):
        clv.discounted_expected_purchases(model, customers, memory_budget=16)
    dep = clv.discounted_expected_purchases(model, customers, step=4.0)
    assert dep.dims == ("chain", "draw", "customer_id")
    assert list(dep["customer_id"].to_numpy()) == list(customers["customer_id"])


def test_bad_options_and_spend_are_rejected(customers):
    model = BetaGeo.from_params(PUBLISHED[BetaGeo])
    with pytest.raises(ValueError, match="margin"):
        clv.customer_lifetime_value(model, 1.0, customers, margin=-0.1)
    with pytest.raises(ValueError, match="interval"):
        clv.customer_lifetime_value(model, 1.0, customers, interval=1.5)
    with pytest.raises(TypeError, match="spend model"):
        clv.customer_lifetime_value(model, "50", customers)
    with pytest.raises(ValueError, match="spend"):
        clv.customer_lifetime_value(model, -5.0, customers)


@pytest.mark.parametrize("n_draws", [1, 2, 7, 1000])
def test_equal_tailed_interval_matches_numpy_quantile(n_draws):
    draws = np.random.default_rng(n_draws).gamma(0.5, size=(n_draws, 50))
    expected = np.quantile(draws, [0.03, 0.97], axis=0)
    np.testing.assert_allclose(clv.equal_tailed_interval(draws, 0.94), expected, rtol=1e-12)


def test_draws_of_two_posteriors_pair_or_broadcast():
    a, b = np.ones((4, 3)), np.ones((1, 3))
    assert clv._pair(a, b, ("x", "y"))[0].shape == (4, 3)
    with pytest.raises(ValueError, match="same chains and draws"):
        clv._pair(a, np.ones((2, 3)), ("transaction model", "spend model"))


# ------------------------------------------------------------------ maximum likelihood
@pytest.fixture(scope="module")
def mle_fits():
    summary = load_cdnow_summary()
    purchases = BetaGeo().fit(summary, method="mle")
    spend = GammaGamma().fit(summary[summary["frequency"] > 0], method="mle")
    return purchases, spend


@pytest.fixture(scope="module")
def spenders(customers):
    return customers.assign(monetary_value=[35.0, 22.35, 0.0, 12.0, 80.0])


def test_mle_fits_get_intervals_from_the_normal_approximation(mle_fits, spenders):
    # Regression: the MLE discarded its covariance, so clv_low == clv == clv_high.
    purchases, spend = mle_fits
    table = clv.customer_lifetime_value(purchases, spend, spenders, step=4.0)
    assert table.attrs["interval_source"] == "normal approximation"
    assert table.attrs["n_draws"] == 1000
    assert (table["clv_low"] < table["clv"]).all() and (table["clv"] < table["clv_high"]).all()
    # the values themselves are the plug-in values at the estimates
    at_estimates = clv.customer_lifetime_value(
        BetaGeo.from_params(purchases.params),
        GammaGamma.from_params(spend.params),
        spenders,
        step=4.0,
    )
    assert at_estimates.attrs["interval_source"] == "none"
    columns = ["probability_alive", "expected_purchases", "expected_spend", "clv"]
    pd.testing.assert_frame_equal(table[columns], at_estimates[columns])
    # seeded: the same seed gives the same interval, another seed another one
    again = clv.customer_lifetime_value(purchases, spend, spenders, step=4.0)
    pd.testing.assert_frame_equal(table, again)
    other = clv.customer_lifetime_value(purchases, spend, spenders, step=4.0, random_seed=1)
    assert not np.allclose(other["clv_high"], table["clv_high"])


def test_normal_approximation_interval_agrees_with_the_delta_method(mle_fits, spenders):
    # The 94% interval of the draws ~ clv +- 1.88 sd, sd^2 = g' Sigma g with g the gradient
    # of the CLV in the log-parameters (delta method, gradient by central differences).
    purchases, _ = mle_fits
    one = spenders.iloc[[1]]
    options = {"horizon": 52.0, "discount_rate": 0.1, "step": 13.0}

    def value(u):
        model = BetaGeo.from_params(dict(zip(purchases.param_names, np.exp(u), strict=True)))
        return float(clv.customer_lifetime_value(model, 40.0, one, **options)["clv"].iloc[0])

    u = np.log(list(purchases.params.values()))
    h = 1e-4
    gradient = np.array([(value(u + h * e) - value(u - h * e)) / (2 * h) for e in np.eye(4)])
    sd = math.sqrt(gradient @ purchases.covariance_.to_numpy() @ gradient)
    table = clv.customer_lifetime_value(purchases, 40.0, one, approximation_draws=4000, **options)
    width = float(table["clv_high"].iloc[0] - table["clv_low"].iloc[0])
    assert width / (2 * 1.8808 * sd) == pytest.approx(1.0, abs=0.08)


def test_a_mle_beside_a_posterior_gets_as_many_draws(mle_fits, spenders):
    purchases, spend = mle_fits
    # a stand-in posterior of the spend model: 2 chains x 3 draws near the estimates
    draws = xr.concat([spend.posterior * f for f in (0.98, 1.0, 1.02)], "draw")
    posterior = xr.concat([draws, draws], "chain").assign_coords(chain=[0, 1], draw=[0, 1, 2])
    sampled = copy.copy(spend)
    sampled.idata = xr.DataTree.from_dict({"posterior": posterior})
    table = clv.customer_lifetime_value(purchases, sampled, spenders, step=13.0)
    assert table.attrs["interval_source"] == "posterior and normal approximation"
    assert table.attrs["n_draws"] == 6


# ------------------------------------------------------------------ Pareto/NBD DERT
@pytest.mark.slow
def test_pareto_nbd_dert_closed_form_matches_the_numerical_sum(customers):
    model = ParetoNBD.from_params(PUBLISHED[ParetoNBD])
    # A high rate keeps the sum short: exp(-delta H) < 1e-7 at H = 1,300 weeks.
    dert = clv.pareto_nbd_dert(model, customers, discount_rate=1.0).to_numpy()

    def numerical(step):
        return clv.discounted_expected_purchases(
            model,
            customers,
            horizon=1300.0,
            discount_rate=1.0,
            discounting="continuous",
            step=step,
        ).to_numpy()

    coarse, fine = numerical(8.0), numerical(4.0)
    # The sum converges to the integral as step^2: halving the step quarters the error,
    # and Richardson's extrapolation removes it.
    np.testing.assert_allclose(fine, dert, rtol=2e-4)
    np.testing.assert_allclose((coarse - dert) / (fine - dert), 4.0, rtol=0.02)
    np.testing.assert_allclose((4 * fine - coarse) / 3, dert, rtol=1e-6)


def test_pareto_nbd_dert_lifetime_term_is_the_discounted_survival_integral():
    # (beta+T)^s delta^(s-1) U(s, s; delta (beta+T)) = int_0^inf e^(-delta t) S(t) dt
    model = ParetoNBD.from_params(PUBLISHED[ParetoNBD])
    one = pd.DataFrame({"customer_id": [1], "frequency": [0], "recency": [0.0], "T": [0.0]})
    dert = float(clv.pareto_nbd_dert(model, one, discount_rate=0.15).squeeze())
    r, alpha, s, beta = PUBLISHED[ParetoNBD].values()
    delta = math.log(1.15) / WEEKS_PER_YEAR
    assert delta == pytest.approx(0.0027, abs=5e-5)  # FHL (2005): 15% a year
    integral, _ = scipy.integrate.quad(
        lambda t: math.exp(-delta * t) * (beta / (beta + t)) ** s, 0, np.inf, limit=200
    )
    assert dert == pytest.approx(r / alpha * integral, rel=1e-8)


def test_pareto_nbd_dert_needs_pareto_nbd_and_a_positive_rate(customers):
    with pytest.raises(TypeError, match="ParetoNBD"):
        clv.pareto_nbd_dert(BetaGeo.from_params(PUBLISHED[BetaGeo]), customers, discount_rate=0.1)
    with pytest.raises(ValueError, match="discount_rate"):
        clv.pareto_nbd_dert(
            ParetoNBD.from_params(PUBLISHED[ParetoNBD]), customers, discount_rate=0.0
        )


# ------------------------------------------------------------------ new customer
def test_new_customer_value_counts_the_first_purchase_and_discounted_repeats():
    model = BetaGeo.from_params(PUBLISHED[BetaGeo])
    plain = clv.new_customer_value(model, 50.0, horizon=78.0, discount_rate=0.0, margin=0.5)
    # published: a new BG/NBD customer makes 1.8576 repeat purchases in 78 weeks
    assert float(plain.squeeze()) / (0.5 * 50.0) - 1 == pytest.approx(1.8576, abs=5e-4)
    repeats = clv.new_customer_value(model, 50.0, include_first_purchase=False)
    discounted = clv.new_customer_value(model, 50.0, horizon=52.0, discount_rate=0.1)
    undiscounted = clv.new_customer_value(model, 50.0, horizon=52.0, discount_rate=0.0)
    assert float(discounted.squeeze()) == pytest.approx(50.0 + float(repeats.squeeze()))
    assert float(discounted.squeeze()) < float(undiscounted.squeeze())


def test_new_customer_value_uses_the_population_mean_spend():
    purchases = BetaGeo.from_params(PUBLISHED[BetaGeo])
    spend = GammaGamma.from_params({"p": 6.25, "q": 3.74, "gamma": 15.44})
    value = clv.new_customer_value(
        purchases, spend, horizon=78.0, discount_rate=0.0, include_first_purchase=False
    )
    mean_spend = 6.25 * 15.44 / (3.74 - 1)  # p gamma / (q - 1)
    assert float(value.squeeze()) / mean_spend == pytest.approx(1.8576, abs=5e-4)


def test_clv_with_gamma_gamma_gives_one_time_buyers_the_population_mean(cdnow_rfm):
    purchases = BetaGeo.from_params(PUBLISHED[BetaGeo])
    spend = GammaGamma.from_params({"p": 6.25, "q": 3.74, "gamma": 15.44})
    table = clv.customer_lifetime_value(purchases, spend, cdnow_rfm, step=4.0, margin=0.2)
    once = cdnow_rfm["frequency"].to_numpy() == 0
    np.testing.assert_allclose(table.loc[once, "expected_spend"], 6.25 * 15.44 / 2.74)
    expected = spend.expected_spend(cdnow_rfm).to_numpy()[0, 0]
    np.testing.assert_allclose(table["expected_spend"], expected, rtol=1e-12)
    product = 0.2 * table["discounted_expected_purchases"] * table["expected_spend"]
    np.testing.assert_allclose(table["clv"], product, rtol=1e-12)


def test_bad_spend_data_are_reported_with_the_customers_own_ids(customers):
    purchases = BetaGeo.from_params(PUBLISHED[BetaGeo])
    spend = GammaGamma.from_params({"p": 6.25, "q": 3.74, "gamma": 15.44})
    data = customers.assign(monetary_value=[20.0, 0.0, 0.0, 15.0, 30.0])
    with pytest.raises(DataValidationError, match="customer_id b "):
        clv.customer_lifetime_value(purchases, spend, data)
    with pytest.raises(DataValidationError, match="monetary_value"):
        clv.customer_lifetime_value(purchases, spend, customers)


# ------------------------------------------------------------------ baselines
@pytest.fixture(scope="module")
def tiny_log():
    """Customer 1 buys twice on day 0 (one purchase day) and on day 364; customer 2 once."""
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2],
            "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-12-30", "2024-06-01"]),
            "amount": [10.0, 20.0, 30.0, 40.0],
        }
    )


def _two_customer_log():
    # customer a: two orders on 2024-01-01 (merged into one) and one on 2024-01-11;
    # customer b: one order on 2024-01-06. Window ends 2024-01-11 (inclusive).
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-11", "2024-01-06"]),
            "amount": [10.0, 20.0, 30.0, 40.0],
        }
    )


def test_simple_clv_factors_follow_one_definition():
    result = clv.simple_clv(_two_customer_log(), lifespan=2)
    years = (11 + 6) / clv.DAYS_PER_YEAR  # a observed 11 days, b 6 days
    assert result["orders"] == 3  # same-day purchases are one order
    assert result["average_order_value"] == pytest.approx(100 / 3)
    assert result["purchase_frequency"] == pytest.approx(3 / years)
    assert result["revenue_per_customer_year"] == pytest.approx(
        result["average_order_value"] * result["purchase_frequency"]
    )
    assert result["clv"] == pytest.approx(2 * 100 / years)
    assert clv.simple_clv(_two_customer_log(), lifespan=2, margin=0.25)["clv"] == pytest.approx(
        0.25 * result["clv"]
    )


def test_simple_clv_end_cuts_the_window():
    result = clv.simple_clv(_two_customer_log(), lifespan=1, end="2024-01-06")
    assert result["orders"] == 2 and result["revenue"] == 70.0
    assert result["customer_years"] == pytest.approx((6 + 1) / clv.DAYS_PER_YEAR)


def test_simple_clv_bad_input_is_named():
    with pytest.raises(ValueError, match="lifespan"):
        clv.simple_clv(_two_customer_log(), lifespan=0)
    with pytest.raises(ValueError, match="no purchases on or before 2023-12-31"):
        clv.simple_clv(_two_customer_log(), lifespan=1, end="2023-12-31")


def test_historical_clv_sums_each_customers_revenue_up_to_as_of(tiny_log):
    table = clv.historical_clv(tiny_log, margin=0.5)
    assert list(table["revenue"]) == [60.0, 40.0]
    assert list(table["historical_clv"]) == [30.0, 20.0]
    assert list(table["n_purchases"]) == [2, 1]
    early = clv.historical_clv(tiny_log, as_of="2024-03-01")
    assert list(early["customer_id"]) == [1] and list(early["revenue"]) == [30.0]


# ------------------------------------------------------------------ concentration
def test_lorenz_curve_top_share_and_gini_by_hand():
    curve = clv.lorenz_curve([3.0, 1.0, 4.0, 2.0])
    np.testing.assert_allclose(curve["customer_share"], [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(curve["value_share"], [0, 0.1, 0.3, 0.6, 1])
    assert curve.attrs["gini"] == pytest.approx(0.25)  # sum |xi - xj| / (2 n^2 mean)
    assert clv.top_share([3.0, 1.0, 4.0, 2.0], top=0.25) == pytest.approx(0.4)
    assert clv.top_share([3.0, 1.0, 4.0, 2.0], top=0.3) == pytest.approx(0.7)  # ceil(1.2)
    with pytest.raises(DataValidationError, match="positions 1"):
        clv.top_share([1.0, np.nan])


def test_rank_customers_orders_by_value():
    table = pd.DataFrame({"customer_id": ["a", "b", "c"], "clv": [1.0, 3.0, 1.0]})
    ranked = clv.rank_customers(table)
    assert list(ranked["customer_id"]) == ["b", "a", "c"]
    assert list(ranked["value_rank"]) == [1, 2, 3]
    np.testing.assert_allclose(ranked["cumulative_value_share"], [0.6, 0.8, 1.0])


def test_clv_by_phase_with_the_phases_at_the_calibration_end(cdnow_log, cdnow_rfm):
    from clvlab import phases

    values = clv.customer_lifetime_value(
        BetaGeo.from_params(PUBLISHED[BetaGeo]), 30.0, cdnow_rfm, step=13.0
    )
    by_phase = clv.clv_by_phase(values, phases.assign_phases(cdnow_log, "1997-09-30"))
    assert by_phase["customers"].sum() == 2357
    assert by_phase["total_value"].sum() == pytest.approx(values["clv"].sum())
    assert by_phase.attrs["customers_without_value"] == 0


def test_clv_by_phase_totals_and_shares():
    values = pd.DataFrame({"customer_id": [1, 2, 3], "clv": [10.0, 30.0, 60.0]})
    phases = pd.DataFrame(
        {"customer_id": [1, 2, 3, 4], "phase": ["new", "lapsed", "new", "retained"]}
    )
    table = clv.clv_by_phase(values, phases)
    assert table.loc["new", "customers"] == 2
    assert table.loc["new", "total_value"] == 70.0
    assert table.loc["new", "mean_value"] == 35.0
    assert table.loc["lapsed", "value_share"] == pytest.approx(0.3)
    assert table.loc["growing", "customers"] == 0
    assert table.attrs["customers_without_value"] == 1
    with pytest.raises(DataValidationError, match="no phase"):
        clv.clv_by_phase(values, phases.iloc[1:])


def test_a_model_fitted_to_a_compressed_table_scores_customers(cdnow_rfm, customers):
    # Regression: the customers' table was checked for the fit's weights column.
    columns = ["frequency", "recency", "T"]
    table = cdnow_rfm.groupby(columns, as_index=False).size().rename(columns={"size": "n"})
    table.insert(0, "customer_id", np.arange(len(table)))
    weighted = BetaGeo(weights="n").fit(table, method="mle")
    value = clv.customer_lifetime_value(weighted, 20.0, customers, step=4.0)
    plain = clv.customer_lifetime_value(
        BetaGeo.from_params(weighted.params), 20.0, customers, step=4.0
    )
    assert list(value["customer_id"]) == list(customers["customer_id"])
    np.testing.assert_allclose(value["clv"], plain["clv"], rtol=1e-12)
    assert (value["clv_low"] < value["clv"]).all()
