"""Shared buy-till-you-die behaviour: input checks, prediction shapes, simulation."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from clvlab.datasets import load_cdnow_summary
from clvlab.errors import DataValidationError
from clvlab.models import BetaGeo, ModifiedBetaGeo, ParetoNBD

MODELS = [BetaGeo, ModifiedBetaGeo, ParetoNBD]
PARAMS = {
    BetaGeo: {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881},
    ModifiedBetaGeo: {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
    ParetoNBD: {"r": 0.55315, "alpha": 10.57633, "s": 0.60625, "beta": 11.67150},
}


def table(**columns):
    base = {
        "customer_id": [10, 11, 12],
        "frequency": [0, 2, 1],
        "recency": [0.0, 5.0, 2.0],
        "T": [8.0, 8.0, 8.0],
    }
    base.update(columns)
    return pd.DataFrame(base)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (table().drop(columns="recency"), r"column\(s\) \['recency'\] missing"),
        (table(frequency=[0, -2, 1]), r"'frequency' is negative for customer_id 11 \(1 row\)"),
        (table(recency=[0.0, 9.0, 2.0]), r"'recency' exceeds column 'T' for customer_id 11"),
        (table(frequency=[0, 2.5, 1]), r"'frequency' .* fractional for customer_id 11"),
        (table(recency=[1.0, 5.0, 2.0]), r"'recency' must be 0 when 'frequency' is 0.*10"),
        (table(customer_id=[10, 10, 12]), r"repeats customer_id 10"),
        (table(T=[8.0, None, "x"]), r"'T' has missing or non-numeric values .* 11, 12"),
        (table().iloc[:0], "no rows"),
    ],
)
def test_bad_input_names_column_rows_and_fix(frame, message):
    with pytest.raises(DataValidationError, match=message):
        BetaGeo().fit(frame, method="mle")


def test_error_message_lists_a_few_rows_and_counts_the_rest():
    frame = pd.DataFrame({"customer_id": range(8), "frequency": [-1] * 8, "recency": 0.0, "T": 5.0})
    with pytest.raises(DataValidationError, match=r"0, 1, 2, 3, 4 and 3 more \(8 rows\)"):
        BetaGeo().validate_data(frame)


def test_a_plain_array_is_rejected():
    with pytest.raises(DataValidationError, match="expects a pandas DataFrame"):
        BetaGeo().validate_data(np.zeros((3, 4)))


@pytest.fixture(scope="module")
def two_draws():
    """A BG/NBD 'posterior' of two chains x three draws around the published values."""
    model = BetaGeo.from_params(PARAMS[BetaGeo], data=load_cdnow_summary())
    scale = np.array([[0.9, 1.0, 1.1], [0.95, 1.05, 1.0]])
    posterior = xr.Dataset(
        {k: (("chain", "draw"), v * scale) for k, v in PARAMS[BetaGeo].items()},
        coords={"chain": [0, 1], "draw": [0, 1, 2]},
    )
    model.idata["posterior"] = xr.DataTree(posterior)
    return model


def test_predictions_are_labelled_per_draw_and_customer(two_draws):
    expected = two_draws.expected_purchases(t=39)
    assert expected.dims == ("chain", "draw", "customer_id")
    assert expected.shape == (2, 3, 2357) and expected.name == "expected_purchases"
    assert expected.attrs["t"] == 39
    assert expected["customer_id"].to_numpy()[0] == "1"  # ids are text
    alive = two_draws.probability_alive()
    assert alive.name == "probability_alive" and float(alive.min()) > 0
    assert float(alive.max()) == 1.0  # BG/NBD: no repeat purchase means alive
    prob = two_draws.probability_of_purchases(n=2, t=10)
    assert prob.dims == expected.dims and prob.attrs == {"n": 2, "t": 10}
    new = two_draws.expected_purchases_new_customer(t=[1, 10, 52])
    assert new.dims == ("chain", "draw", "t") and new.shape == (2, 3, 3)
    np.testing.assert_array_equal(new["t"], [1.0, 10.0, 52.0])


def test_chunked_evaluation_matches_one_pass(two_draws, monkeypatch):
    whole = two_draws.expected_purchases(t=20)
    monkeypatch.setattr(BetaGeo, "_chunk_size", 1000)  # a single draw per chunk
    xr.testing.assert_identical(two_draws.expected_purchases(t=20), whole)


def test_negative_or_fractional_n_is_rejected(two_draws):
    with pytest.raises(ValueError, match="non-negative whole number"):
        two_draws.probability_of_purchases(n=1.5, t=10)


def test_posterior_predictive_replicates_every_customer(two_draws):
    replicated = two_draws.sample_posterior_predictive(random_seed=3)
    assert replicated["frequency"].dims == ("chain", "draw", "customer_id")
    assert replicated["frequency"].shape == (2, 3, 2357)
    assert bool((replicated["recency"] <= two_draws._data["T"].to_numpy()).all())
    # Replicated repeat purchases are close to the observed 2,457 on average.
    assert 1900 < float(replicated["frequency"].sum("customer_id").mean()) < 3100
    again = two_draws.sample_posterior_predictive(random_seed=3)
    xr.testing.assert_identical(replicated, again)


@pytest.mark.parametrize("model_class", MODELS)
def test_simulated_population_is_a_valid_summary(model_class):
    data = model_class.simulate_population(
        PARAMS[model_class], 500, T=np.linspace(20, 40, 500), seed=5
    )
    assert list(data.columns) == ["customer_id", "frequency", "recency", "T"]
    model_class().validate_data(data)  # integer frequency, 0 <= recency <= T
    with pytest.raises(ValueError, match="lacks"):
        model_class.simulate_population({"r": 1.0}, 5)


@pytest.mark.parametrize("model_class", MODELS)
def test_simulation_matches_the_expected_purchases_formula(model_class):
    """Mean simulated repeat purchases of new customers over T = E[X(T)] (eq. 9 for BG)."""
    params = PARAMS[model_class]
    data = model_class.simulate_population(params, 40_000, T=39.0, seed=11)
    expected = float(
        model_class.from_params(params).expected_purchases_new_customer(t=39).squeeze()
    )
    standard_error = data["frequency"].std() / np.sqrt(len(data))
    assert abs(data["frequency"].mean() - expected) < 4 * standard_error


@pytest.mark.parametrize("model_class", MODELS)
def test_simulated_counts_follow_the_count_distribution(model_class):
    """Share of simulated new customers with n repeat purchases in 20 = P(X(20) = n)."""
    params = PARAMS[model_class]
    data = model_class.simulate_population(params, 40_000, T=20.0, seed=12)
    newcomers = pd.DataFrame({"customer_id": [0], "frequency": [0], "recency": [0.0], "T": [0.0]})
    model = model_class.from_params(params)
    for n in range(4):
        p = float(model.probability_of_purchases(newcomers, n=n, t=20.0).squeeze())
        share = (data["frequency"] == n).mean()
        assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / len(data)) + 1e-4, n


@pytest.mark.parametrize("model_class", MODELS)
@pytest.mark.slow
def test_count_distribution_sums_to_one_and_has_the_expected_mean(model_class):
    model = model_class.from_params(PARAMS[model_class])
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "frequency": [26, 2, 0],
            "recency": [30.857, 30.43, 0.0],
            "T": [31.0, 38.86, 30.0],
        }
    )
    probs = np.array(
        [
            model.probability_of_purchases(customers, n=n, t=39).to_numpy().ravel()
            for n in range(250)
        ]
    )
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-8)
    mean = (np.arange(250)[:, None] * probs).sum(axis=0)
    np.testing.assert_allclose(
        mean, model.expected_purchases(customers, t=39).to_numpy().ravel(), rtol=1e-7
    )


@pytest.mark.parametrize("t", [-1.0, np.nan, np.inf])
def test_impossible_horizons_are_rejected(two_draws, t):
    # Regression: negative horizons gave negative expectations and probabilities above 1,
    # t = inf gave NaN or inf.
    with pytest.raises(ValueError, match="finite, non-negative horizon"):
        two_draws.expected_purchases(t=t)
    with pytest.raises(ValueError, match="finite, non-negative horizon"):
        two_draws.probability_of_purchases(n=1, t=t)
    with pytest.raises(ValueError, match="finite, non-negative horizon"):
        two_draws.expected_purchases_new_customer(t=[1.0, t])


@pytest.mark.parametrize("model_class", MODELS)
def test_nothing_happens_in_no_time(model_class):
    # Regression: Pareto/NBD's P(X(0) = 1) was NaN, e.g. at beta = 8 (exp(log 8) - 8 < 0).
    params = {**PARAMS[model_class], **({"beta": 8.0} if model_class is ParetoNBD else {})}
    model = model_class.from_params(params)
    customers = table()
    assert (model.probability_of_purchases(customers, n=0, t=0).to_numpy() == 1.0).all()
    assert (model.probability_of_purchases(customers, n=1, t=0).to_numpy() == 0.0).all()
    assert (model.expected_purchases(customers, t=0).to_numpy() == 0.0).all()
    assert float(model.expected_purchases_new_customer(t=[0.0]).squeeze()) == 0.0


@pytest.mark.parametrize("model_class", [BetaGeo, ParetoNBD])
def test_a_covariate_on_alpha_reaches_fit_gradient_and_predictions(model_class):
    from clvlab.models.mle import negative_log_likelihood, numerical_gradient

    data = model_class.simulate_population(PARAMS[model_class], 300, T=30.0, seed=4)
    data["z"] = np.random.default_rng(5).normal(size=len(data))
    model = model_class(covariates={"alpha": ["z"]}).fit(data, method="mle")
    assert model.summary().index[-1] == "gamma_alpha[z]"
    objective, gradient = negative_log_likelihood(model, model._compressed(model._data))
    u = model.layout.pack(model.params) + 0.1
    np.testing.assert_allclose(gradient(u), numerical_gradient(objective, u), rtol=1e-5)
    # alpha_i = alpha_0 exp(-gamma z_i): with gamma > 0, a larger z means more purchases.
    fixed = model_class.from_params(
        {**PARAMS[model_class], "gamma_alpha": [0.5]}, covariates={"alpha": ["z"]}
    )
    two = table().iloc[[1, 1]].assign(customer_id=[1, 2], z=[-1.0, 1.0])
    low, high = fixed.expected_purchases(two, t=10).to_numpy().ravel()
    assert high > low
