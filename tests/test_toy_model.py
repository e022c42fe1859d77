"""A new model is one module: a toy Poisson model with a covariate, fitted by the shared core.

The toy model: customer i makes :math:`x_i \\sim \\mathrm{Poisson}(\\lambda_i T_i)` purchases
in :math:`T_i` time units, with :math:`\\lambda_i = \\lambda \\exp(\\gamma z_i)` (one positive
parameter, one real coefficient, one covariate). Nothing outside this module changes: the
specs, maximum likelihood, the PyMC model, NUTS, the DataTree, the pointwise
log-likelihood and saving all come from :mod:`clvlab.models`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import arviz as az
import numpy as np
import pandas as pd
import pytest

from clvlab.errors import ConvergenceWarning
from clvlab.models import CLVModel
from clvlab.models.params import Parameter
from clvlab.models.xp import special


class ToyPoisson(CLVModel):
    """Poisson purchase counts with rate :math:`\\lambda` (per time unit)."""

    name: ClassVar[str] = "toy-poisson"
    parameters: ClassVar[tuple[Parameter, ...]] = (Parameter("lam"),)
    data_columns: ClassVar[dict[str, str]] = {"x": "frequency", "T": "T"}

    def _log_likelihood(self, data: Mapping[str, Any], params: Mapping[str, Any], xp: Any):
        # log P(x | lam T) = x log(lam T) - lam T - log x!
        rate = params["lam"] * data["T"]
        return data["x"] * xp.log(rate) - rate - special(xp).gammaln(data["x"] + 1.0)

    def _default_priors(self, data: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
        return {"lam": {"dist": "HalfNormal", "sigma": 1.0}}

    def _initial_params(self, data: Mapping[str, np.ndarray]) -> dict[str, float]:
        return {"lam": max(float(np.mean(data["x"]) / np.mean(data["T"])), 1e-3)}


def simulate(n: int = 400, lam: float = 0.2, gamma: float = 0.7, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n).astype(float)
    T = rng.choice([10.0, 20.0, 30.0], n)
    return pd.DataFrame(
        {
            "customer_id": [f"{i:05d}" for i in range(n)],
            "frequency": rng.poisson(lam * np.exp(gamma * z) * T),
            "T": T,
            "z": z,
        }
    )


@pytest.fixture(scope="module")
def data():
    return simulate()


@pytest.fixture(scope="module")
def mle(data):
    return ToyPoisson(covariates={"lam": ["z"]}).fit(data, method="mle")


def test_the_toy_model_has_a_positive_and_a_real_parameter(mle):
    supports = {p.name: p.support.name for p in mle.layout.parameters}
    assert supports == {"lam": "positive", "gamma_lam": "real"}
    assert mle.layout.coords == {"lam_covariate": ["z"]}


def test_mle_matches_the_closed_form(data, mle):
    # Binary covariate: lam = sum x / sum T among z = 0, exp(gamma) = ratio of the rates.
    rate = data.groupby("z")["frequency"].sum() / data.groupby("z")["T"].sum()
    assert mle.params["lam"] == pytest.approx(rate[0.0], rel=1e-6)
    assert mle.params["gamma_lam"] == pytest.approx([np.log(rate[1.0] / rate[0.0])], rel=1e-6)
    # Delta method: se(lam) = lam se(log lam) = lam / sqrt(sum x | z = 0).
    n0 = data.loc[data["z"] == 0, "frequency"].sum()
    assert mle.standard_errors_["lam"] == pytest.approx(rate[0.0] / np.sqrt(n0), rel=1e-3)
    assert list(mle.summary().index) == ["lam", "gamma_lam[z]"]


def test_an_aggregated_table_with_weights_gives_the_same_mle(data, mle):
    cells = data.groupby(["frequency", "T", "z"]).size().rename("n").reset_index()
    cells["customer_id"] = np.arange(len(cells)) % 3  # ids may repeat in weighted rows
    model = ToyPoisson(covariates={"lam": "z"}, weights="n").fit(cells, method="mle")
    assert model.params["lam"] == pytest.approx(mle.params["lam"], rel=1e-9)
    np.testing.assert_allclose(model.params["gamma_lam"], mle.params["gamma_lam"], rtol=1e-9)


def test_an_unused_covariate_gives_a_warning_not_a_number(data):
    flat = data.assign(z=0.0)
    with pytest.warns(ConvergenceWarning, match="not finite"):
        ToyPoisson(covariates={"lam": ["z"]}).fit(flat, method="mle")


@pytest.mark.slow
def test_nuts_through_the_shared_machinery(data, mle, tmp_path):
    model = ToyPoisson(covariates={"lam": ["z"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # few draws for the diagnostics
        model.fit(data, draws=200, tune=200, chains=2, cores=1, random_seed=1, nuts_sampler="pymc")
    posterior = model.posterior
    assert posterior["gamma_lam"].dims == ("chain", "draw", "lam_covariate")
    assert abs(model.params["lam"] - mle.params["lam"]) < 3 * mle.standard_errors_["lam"]
    # Pointwise log-likelihood per customer: LOO works, and each draw sums to the total.
    log_lik = model.idata["log_likelihood"]["log_likelihood"]
    assert log_lik.dims == ("chain", "draw", "customer_id")
    assert log_lik.sizes["customer_id"] == len(data)
    draw = {k: v.isel(chain=0, draw=5).to_numpy() for k, v in posterior.items()}
    assert float(log_lik.isel(chain=0, draw=5).sum()) == pytest.approx(
        model.log_likelihood(data, draw), rel=1e-10
    )
    loo = az.loo(model.idata)
    assert np.isfinite(loo.elpd)
    loaded = CLVModel.load(model.save(tmp_path / "toy.nc"))
    assert type(loaded) is ToyPoisson and loaded.covariates == {"lam": ["z"]}
    assert list(loaded._data["customer_id"]) == list(data["customer_id"])  # "00012" stays
