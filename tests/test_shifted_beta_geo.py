"""sBG: published retention results (Fader & Hardie 2007), likelihood, predictions, fits."""

import mpmath
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from clvlab.datasets import load_sbg_retention
from clvlab.errors import DataValidationError
from clvlab.models import MODELS, CLVModel, ShiftedBetaGeo
from clvlab.models.shifted_beta_geo import cohort_table, projection_table

# Fader & Hardie (2007), "How to project customer retention": fit on years 0-7.
PUBLISHED = {
    "regular": ({"alpha": 0.704, "beta": 1.182}, -1680.27),
    "high_end": ({"alpha": 0.668, "beta": 3.806}, -1611.16),
}


@pytest.fixture(scope="module")
def survivors():
    return load_sbg_retention().set_index("year")


@pytest.fixture(scope="module")
def regular(survivors):
    return ShiftedBetaGeo().fit(cohort_table(survivors.loc[:7, "regular"]), method="mle")


@pytest.mark.parametrize("cohort", PUBLISHED)
def test_mle_reproduces_fader_hardie_2007(survivors, cohort):
    params, loglik = PUBLISHED[cohort]
    model = ShiftedBetaGeo().fit(cohort_table(survivors.loc[:7, cohort]), method="mle")
    for name, value in params.items():
        assert round(model.params[name], 3) == value, name
    assert round(model.log_likelihood_, 2) == loglik


def test_likelihood_agrees_with_mpmath(survivors):
    mpmath.mp.dps = 30
    counts = survivors.loc[:7, "high_end"].to_numpy()
    for alpha, beta in ((0.668, 3.806), (0.05, 40.0), (25.0, 0.3)):
        a, b = mpmath.mpf(alpha), mpmath.mpf(beta)
        # FH 2007: sum_t n_lost(t) log P(T = t) + n_active log S(7), with P(T = t) and S(t)
        # built from the geometric recursion (eqs. 3-4) rather than the beta functions.
        p_lost = [a / (a + b)]
        for t in range(2, 8):
            p_lost.append(p_lost[-1] * (b + t - 2) / (a + b + t - 1))
        survival = 1 - sum(p_lost)
        expected = sum(
            int(counts[t - 1] - counts[t]) * mpmath.log(p_lost[t - 1]) for t in range(1, 8)
        ) + int(counts[7]) * mpmath.log(survival)
        model = ShiftedBetaGeo.from_params({"alpha": alpha, "beta": beta})
        table = cohort_table(survivors.loc[:7, "high_end"])
        assert model.log_likelihood(table) == pytest.approx(float(expected), rel=1e-12)


def test_projection_of_years_8_to_12(survivors, regular):
    table = projection_table(regular, survivors["regular"], fitted_through=7)
    assert list(table.columns) == [
        "period",
        "actual",
        "expected",
        "low",
        "high",
        "error",
        "projected",
    ]
    assert table["projected"].sum() == 5 and table["period"].iloc[-1] == 12
    # FH 2007, Figure 4: the sBG projection stays within about 2% of the actual survivors.
    projected = table[table["projected"]]
    assert projected["error"].abs().max() < 0.02
    assert projected["expected"].iloc[-1] == pytest.approx(170.04, abs=0.01)


def test_retention_rates_rise_and_match_the_survival_curve(regular):
    survival = regular.survival(periods=np.arange(0, 13)).to_numpy().ravel()
    rates = regular.retention_rate(periods=np.arange(1, 13)).to_numpy().ravel()
    np.testing.assert_allclose(rates, survival[1:] / survival[:-1], rtol=1e-12)
    assert np.all(np.diff(rates) > 0)  # the retention-curve paradox
    renewal = regular.renewal_probability(tenure=np.arange(0, 12)).to_numpy().ravel()
    np.testing.assert_allclose(renewal, rates, rtol=1e-12)


def test_derl_is_the_discounted_sum_of_survival_fader_hardie_2010(regular):
    mpmath.mp.dps = 30
    alpha, beta = (mpmath.mpf(v) for v in regular.params.values())
    d = mpmath.mpf("0.1")

    derl = regular.discounted_expected_residual_lifetime(discount_rate=0.1, tenure=[0, 1, 4])
    assert derl.dims == ("chain", "draw", "tenure")
    for n, value in zip((0, 1, 4), derl.to_numpy().ravel(), strict=True):
        # sum over t > n of S(t)/S(n) (1 + d)^-(t - n - 1), S(t)/S(t - 1) = r_t (FH 2007 eq. 8);
        # 600 terms leave less than 1.1^-600 = 1e-25 out.
        total, ratio = mpmath.mpf(0), mpmath.mpf(1)
        for t in range(n + 1, n + 601):
            ratio *= (beta + t - 1) / (alpha + beta + t - 1)
            total += ratio / (1 + d) ** (t - n - 1)
        assert value == pytest.approx(float(total), rel=1e-10), n
    with pytest.raises(ValueError, match="discount_rate"):
        regular.discounted_expected_residual_lifetime(discount_rate=0.0)


def test_several_cohorts_of_different_ages_fit_together():
    truth = {"alpha": 1.5, "beta": 4.0}
    cohorts = pd.DataFrame(
        {
            f"year {k}": ShiftedBetaGeo.simulate_cohort(truth, 3000, 10, seed=k).where(
                lambda s, k=k: s.index <= 10 - 2 * k
            )
            for k in range(4)
        }
    )
    table = cohort_table(cohorts)
    assert set(table["cohort"]) == set(cohorts.columns)
    assert table["customers"].sum() == 4 * 3000
    model = ShiftedBetaGeo().fit(table, method="mle")
    for name, value in truth.items():
        se = model.standard_errors_[name]
        assert abs(model.params[name] - value) < 3 * se, (name, model.params[name], se)


def test_cohort_table_rejects_rising_counts_and_bad_periods():
    with pytest.raises(DataValidationError, match=r"rises .* period\(s\) \[2\]"):
        cohort_table(pd.Series([100, 80, 90]))
    with pytest.raises(DataValidationError, match="periods 0, 1, 2"):
        cohort_table(pd.Series([100, 80], index=[1, 2]))
    bad = cohort_table(pd.Series([100, 80, 60])).assign(churned=2)
    with pytest.raises(DataValidationError, match="'churned' must be 0"):
        ShiftedBetaGeo().fit(bad, method="mle")


def test_one_row_per_customer_gives_the_same_fit(survivors, regular):
    table = cohort_table(survivors.loc[:7, "regular"])
    customers = table.loc[table.index.repeat(table["customers"].astype(int))].drop(
        columns="customers"
    )
    customers["customer_id"] = np.arange(len(customers))
    model = ShiftedBetaGeo(weights=None).fit(customers, method="mle")
    assert model.log_likelihood_ == pytest.approx(regular.log_likelihood_, rel=1e-10)
    assert model.params["alpha"] == pytest.approx(regular.params["alpha"], rel=1e-6)


def test_registered_and_save_load_round_trip(tmp_path, regular):
    assert MODELS["sbg"] is ShiftedBetaGeo
    loaded = CLVModel.load(regular.save(tmp_path / "sbg.nc"))
    assert type(loaded) is ShiftedBetaGeo and loaded.weights == "customers"
    assert loaded.params == regular.params
    assert loaded.log_likelihood() == regular.log_likelihood()
    xr.testing.assert_identical(
        loaded.survival(periods=[0, 5, 12]), regular.survival(periods=[0, 5, 12])
    )


@pytest.mark.slow
def test_nuts_posterior_means_are_within_one_sd_of_the_mle(survivors, regular):
    table = cohort_table(survivors.loc[:7, "regular"])
    model = ShiftedBetaGeo().fit(table, draws=500, tune=500, chains=2, random_seed=1)
    posterior = model.posterior
    for name, value in regular.params.items():
        draws = posterior[name].to_numpy()
        assert abs(draws.mean() - value) < draws.std(), name
    projection = projection_table(model, survivors["regular"], fitted_through=7)
    late = projection[projection["projected"]]
    assert bool((late["low"] < late["expected"]).all() and (late["expected"] < late["high"]).all())
