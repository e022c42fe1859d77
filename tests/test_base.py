"""The shared model machinery in clvlab.models.base, exercised through BG/NBD."""

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from clvlab.datasets import load_cdnow_summary
from clvlab.models import (
    MODELS,
    BetaGeo,
    CLVModel,
    ModifiedBetaGeo,
    ParetoNBD,
    fitting,
    model_class,
)
from clvlab.models.mle import negative_log_likelihood, numerical_hessian

PUBLISHED_BG = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def bg_mle(cdnow):
    return BetaGeo().fit(cdnow, method="mle")


def point(model_class, values=(0.5, 8.0, 0.8, 3.0)):
    return dict(zip(model_class.param_names, values, strict=True))


def test_fit_returns_self_and_stores_a_one_draw_posterior(cdnow):
    model = BetaGeo()
    assert model.fit(cdnow, method="mle") is model
    assert model.method == "mle"
    posterior = model.posterior
    assert dict(posterior.sizes) == {"chain": 1, "draw": 1}
    assert set(posterior.data_vars) == {"r", "alpha", "a", "b"}
    assert model.idata["fit_data"]["frequency"].sum() == 2457


def test_unknown_method_is_rejected(cdnow):
    with pytest.raises(ValueError, match="method must be one of"):
        BetaGeo().fit(cdnow, method="em")


def test_priors_override_defaults_and_reach_the_pymc_model(cdnow):
    model = BetaGeo(priors={"r": {"dist": "Gamma", "alpha": 2.0, "beta": 4.0}})
    priors = model.resolved_priors(cdnow)
    assert priors["r"] == {"dist": "Gamma", "alpha": 2.0, "beta": 4.0}
    # alpha's default scales with the time unit: 10 * the mean time per repeat purchase.
    per_purchase = cdnow["T"].sum() / cdnow["frequency"].sum()
    assert priors["alpha"] == {"dist": "HalfNormal", "sigma": pytest.approx(10 * per_purchase)}
    pymc_model = model.build_model(cdnow)
    assert type(pymc_model["r"].owner.op).__name__ == "GammaRV"
    assert type(pymc_model["a"].owner.op).__name__ == "HalfNormalRV"


@pytest.mark.parametrize(
    ("priors", "message"),
    [
        ({"p": {"dist": "HalfNormal"}}, "has no parameter"),
        ({"r": "HalfNormal"}, "must be a dict"),
    ],
)
def test_bad_priors_are_rejected(priors, message):
    with pytest.raises(ValueError, match=message):
        BetaGeo(priors=priors)


@pytest.mark.slow
def test_pymc_potential_equals_the_numpy_log_likelihood(cdnow):
    pymc_model = BetaGeo().build_model(cdnow)
    logp = pymc_model.compile_logp(vars=pymc_model.potentials, jacobian=False)
    values = point(BetaGeo)
    at = {f"{k}_log__": np.log(v) for k, v in values.items()}
    assert logp(at) == pytest.approx(BetaGeo().log_likelihood(cdnow, values), rel=1e-10)


@pytest.mark.parametrize(
    "model_class", [BetaGeo, ModifiedBetaGeo, pytest.param(ParetoNBD, marks=pytest.mark.slow)]
)
def test_numpy_and_pytensor_likelihoods_agree(model_class):
    import pytensor.tensor as pt

    data = model_class.simulate_population(point(model_class), 40, T=30.0, seed=1)
    model = model_class()
    columns = model._columns(model.validate_data(data))
    values = point(model_class)
    expected = model._log_likelihood(columns, values, np)
    symbolic = {k: pt.as_tensor(np.float64(v)) for k, v in values.items()}
    np.testing.assert_allclose(
        model._log_likelihood(columns, symbolic, pt).eval(), expected, rtol=1e-9
    )


def test_mle_standard_errors_come_from_the_hessian(cdnow, bg_mle):
    se = bg_mle.standard_errors_
    assert list(se.index) == ["r", "alpha", "a", "b"]
    # Independent check: invert a function-value Hessian in the natural parameters
    # (scaled, theta = theta_hat * z, so that one step size suits all of them).
    compressed = bg_mle._compressed(bg_mle._data)
    objective, _ = negative_log_likelihood(bg_mle, compressed)
    theta = np.array(list(bg_mle.params.values()))
    hessian = numerical_hessian(lambda z: objective(np.log(theta * z)), np.ones(4))
    covariance = np.diag(theta) @ np.linalg.inv(hessian) @ np.diag(theta)
    np.testing.assert_allclose(se, np.sqrt(np.diag(covariance)), rtol=1e-3)
    table = bg_mle.summary()
    assert list(table.columns) == ["estimate", "se"]
    assert table.loc["alpha", "se"] == pytest.approx(se["alpha"])


def test_from_params_predicts_without_fitting():
    model = BetaGeo.from_params(PUBLISHED_BG)
    assert model.method == "fixed" and model.params == pytest.approx(PUBLISHED_BG)
    one = pd.DataFrame({"customer_id": ["c1"], "frequency": [2], "recency": [30.43], "T": [38.86]})
    assert float(model.expected_purchases(one, t=39).squeeze()) == pytest.approx(1.226, abs=5e-4)
    with pytest.raises(ValueError, match="pass `data`"):
        model.probability_alive()
    with pytest.raises(ValueError, match="lacks"):
        BetaGeo.from_params({"r": 1.0})


def test_unfitted_model_says_fit_first():
    with pytest.raises(ValueError, match="not fitted yet"):
        BetaGeo().params  # noqa: B018


def test_save_and_load_give_identical_predictions(tmp_path, bg_mle):
    path = bg_mle.save(tmp_path / "bg.nc")
    loaded = CLVModel.load(path)
    assert type(loaded) is BetaGeo and loaded.method == "mle"
    assert loaded.params == bg_mle.params
    pd.testing.assert_series_equal(loaded.standard_errors_, bg_mle.standard_errors_)
    assert loaded.log_likelihood_ == bg_mle.log_likelihood_
    xr.testing.assert_identical(loaded.expected_purchases(t=39), bg_mle.expected_purchases(t=39))
    xr.testing.assert_identical(loaded.probability_alive(), bg_mle.probability_alive())
    assert json.loads(loaded.idata.attrs["priors"])["r"] == {"dist": "HalfNormal", "sigma": 10.0}
    with pytest.raises(ValueError, match="holds a BetaGeo model"):
        ParetoNBD.load(path)


def test_save_and_load_keep_string_customer_ids(tmp_path, cdnow):
    data = cdnow.head(200).assign(customer_id=lambda d: d["customer_id"].str.zfill(5))
    model = BetaGeo(priors={"r": {"dist": "Gamma", "alpha": 1.0, "beta": 1.0}})
    model.fit(data, method="mle")
    loaded = BetaGeo.load(model.save(tmp_path / "bg.nc"))
    assert loaded.priors == model.priors
    ids = loaded.probability_alive()["customer_id"].to_numpy()
    assert ids[0] == "00001" and all(isinstance(i, str) for i in ids)  # "00001", not 1
    np.testing.assert_array_equal(ids, data["customer_id"])
    xr.testing.assert_allclose(loaded.probability_alive(), model.probability_alive())


@pytest.mark.slow
def test_map_is_close_to_the_mle(cdnow, bg_mle):
    model = BetaGeo().fit(cdnow, method="map", random_seed=1)
    assert dict(model.posterior.sizes) == {"chain": 1, "draw": 1}
    for name, value in bg_mle.params.items():
        assert model.params[name] == pytest.approx(value, rel=0.02), name
    assert model.log_likelihood_ == pytest.approx(bg_mle.log_likelihood_, abs=0.05)


@pytest.mark.slow
def test_advi_draws_from_the_approximation(cdnow, bg_mle):
    model = BetaGeo().fit(cdnow, method="advi", draws=300, random_seed=2, n=2000)
    assert dict(model.posterior.sizes) == {"chain": 1, "draw": 300}
    # Regression: the summary showed r_hat and ESS, meaningless for ADVI's draws.
    assert list(model.summary().columns) == ["mean", "sd", "eti89_lb", "eti89_ub"]
    for name, value in bg_mle.params.items():
        assert abs(model.params[name] - value) < 3 * bg_mle.standard_errors_[name], name
    assert model.expected_purchases(t=10).shape == (1, 300, 2357)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::clvlab.diagnostics.ConvergenceWarning")  # few draws
@pytest.mark.filterwarnings("ignore:Estimated shape parameter of Pareto")
def test_nuts_is_reproducible_with_an_integer_seed_and_survives_saving(cdnow, tmp_path):
    data = cdnow.head(300)
    kwargs = dict(method="nuts", draws=30, tune=30, chains=2, cores=1, random_seed=7)
    first = BetaGeo().fit(data, **kwargs)
    second = BetaGeo().fit(data, **kwargs)
    xr.testing.assert_identical(first.posterior, second.posterior)
    assert "sample_stats" in first.idata
    assert {"r_hat", "ess_bulk"} <= set(first.summary().columns)
    # Pointwise log-likelihood per customer, for LOO and model comparison.
    log_lik = first.idata["log_likelihood"]["log_likelihood"]
    assert log_lik.dims == ("chain", "draw", "customer_id") and log_lik.shape == (2, 30, 300)
    draw = {k: float(v.isel(chain=1, draw=3)) for k, v in first.posterior.items()}
    assert float(log_lik.isel(chain=1, draw=3).sum()) == pytest.approx(
        first.log_likelihood(data, draw), rel=1e-10
    )
    assert np.isfinite(az.loo(first.idata).elpd)
    loaded = CLVModel.load(first.save(tmp_path / "nuts.nc"))
    assert loaded.method == "nuts" and "sample_stats" in loaded.idata
    xr.testing.assert_identical(loaded.expected_purchases(t=5), first.expected_purchases(t=5))


def test_a_failed_refit_leaves_the_model_as_it_was(cdnow, bg_mle, monkeypatch):
    # Regression: _data and standard_errors changed before the fit ran, so after a failed
    # refit the predictions for the fitted customers came from the old posterior.
    model = BetaGeo().fit(cdnow, method="mle")
    before = (model.idata, model._data, model.standard_errors_, model.log_likelihood_)
    empty = cdnow.head(5).assign(frequency=0, recency=0.0, T=0.0)
    with pytest.raises(ValueError, match="every customer"):
        model.fit(empty, method="mle")
    assert (model.idata, model._data, model.standard_errors_, model.log_likelihood_) == before

    def failing(*args, **kwargs):
        raise RuntimeError("sampler crashed")

    monkeypatch.setattr(fitting, "run", failing)
    with pytest.raises(RuntimeError, match="crashed"):
        model.fit(cdnow.head(50), method="map")
    assert model.method == "mle" and model._data is before[1]


def test_predictions_take_data_first_and_keyword_only_horizons(bg_mle):
    with pytest.raises(TypeError):
        bg_mle.expected_purchases(None, 39)
    with pytest.raises(TypeError):
        bg_mle.probability_of_purchases(2, 39)
    with pytest.raises(TypeError):
        bg_mle.expected_purchases_new_customer(39)


def test_the_registry_is_keyed_by_name():
    assert MODELS["bg-nbd"] is BetaGeo and model_class("pareto-nbd") is ParetoNBD
    assert model_class("BetaGeo") is BetaGeo  # files saved with the class name
    with pytest.raises(ValueError, match="bg-nbd"):
        model_class("bgnbd")
