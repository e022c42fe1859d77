"""PSIS-LOO through ArviZ on the stored pointwise log-likelihood."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from clvlab import evaluate
from clvlab.errors import ConvergenceWarning
from clvlab.models import BetaGeo, ModifiedBetaGeo


@pytest.fixture(scope="module")
def posterior_fits(cdnow_rfm):
    data = cdnow_rfm.iloc[:300]
    options = {"method": "nuts", "draws": 150, "tune": 150, "chains": 2, "random_seed": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # short chains, on purpose
        return {
            "BG/NBD": BetaGeo().fit(data, **options),
            "MBG/NBD": ModifiedBetaGeo().fit(data, **options),
        }


@pytest.mark.slow
def test_loo_table_ranks_models_and_matches_arviz(posterior_fits):
    import arviz as az

    table = evaluate.loo_table(posterior_fits)
    assert sorted(table["model"]) == ["BG/NBD", "MBG/NBD"]
    assert table["rank"].tolist() == [0, 1] and table["elpd_diff"].iloc[0] == 0.0
    row = table.set_index("model").loc["BG/NBD"]
    # PSIS once per distinct history, expanded: the same as ArviZ on every customer
    direct = az.loo(posterior_fits["BG/NBD"].idata, pointwise=True, var_name="log_likelihood")
    assert row["elpd"] == pytest.approx(direct.elpd, rel=1e-12)
    assert row["se"] == pytest.approx(direct.se, rel=1e-12)
    assert row["p"] == pytest.approx(direct.p, rel=1e-9)
    ours = evaluate.loo(posterior_fits["BG/NBD"])
    np.testing.assert_allclose(ours.pareto_k, direct.pareto_k)
    np.testing.assert_allclose(ours.elpd_i, direct.elpd_i)
    # elpd is a sum over customers of log predictive densities, bounded by the in-sample fit
    log_lik = posterior_fits["BG/NBD"].idata["log_likelihood"]["log_likelihood"]
    assert row["elpd"] < float(np.log(np.exp(log_lik).mean(("chain", "draw"))).sum())
    assert (table["pareto_k_high"] >= 0).all()


@pytest.mark.slow
def test_high_pareto_k_is_named_in_a_warning(posterior_fits):
    model = posterior_fits["BG/NBD"]
    tree = model.idata.copy()
    log_lik = tree["log_likelihood"].to_dataset()
    values = log_lik["log_likelihood"].to_numpy().copy()
    values[:, :, 0] = np.random.default_rng(0).normal(0, 30, values.shape[:2])  # one outlier
    log_lik["log_likelihood"].values = values
    model.idata["log_likelihood"] = log_lik
    first = model.idata["log_likelihood"]["customer_id"].to_numpy()[0]
    with pytest.warns(UserWarning, match=rf"PSIS-LOO of BG/NBD: 1 customer\(s\).*{first}"):
        result = evaluate.loo(model, "BG/NBD")
    assert float(result.pareto_k[0]) > result.good_k
    model.idata = tree


def test_point_fits_have_no_loo(published_models):
    with pytest.raises(ValueError, match="stores no pointwise log-likelihood"):
        evaluate.loo(published_models["BG/NBD"])
