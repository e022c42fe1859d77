"""Default priors: scales from the data's averages, and posteriors that stay with the data."""

from __future__ import annotations

import numpy as np
import pytest

from clvlab.models import BetaGeo, ModifiedBetaGeo, ParetoNBD
from clvlab.models.prior_scales import mean_interpurchase_time, mean_observation_time


def test_scales_are_averages_in_the_data_time_unit(cdnow_rfm):
    data = {"x": cdnow_rfm["frequency"].to_numpy(float), "T": cdnow_rfm["T"].to_numpy(float)}
    assert mean_interpurchase_time(data) == pytest.approx(31.38, abs=0.01)  # weeks
    assert mean_observation_time(data) == pytest.approx(32.72, abs=0.01)
    in_days = {"x": data["x"], "T": 7 * data["T"]}
    assert mean_interpurchase_time(in_days) == pytest.approx(7 * mean_interpurchase_time(data))
    # one very long-standing customer does not move them much (max(T) did, by design)
    longer = {"x": np.append(data["x"], 0.0), "T": np.append(data["T"], 1e4)}
    assert mean_observation_time(longer) < 1.15 * mean_observation_time(data)
    assert mean_interpurchase_time({"x": np.zeros(3), "T": np.ones(3)}) == 3.0


@pytest.mark.slow
@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo, ParetoNBD])
def test_nuts_posterior_means_within_one_sd_of_the_mle(model, cdnow_rfm):
    """CDNOW, 2 chains x 500 draws under the default priors (figures in the docstrings)."""
    mle = model().fit(cdnow_rfm, method="mle")
    fitted = model().fit(cdnow_rfm, draws=500, tune=500, chains=2, random_seed=1)
    posterior = fitted.posterior
    divergences = int(fitted.idata["sample_stats"]["diverging"].sum())
    rows = []
    for name, value in mle.params.items():
        draws = posterior[name].to_numpy()
        rows.append((name, draws.mean(), draws.std(), value))
        assert abs(draws.mean() - value) < draws.std(), (name, draws.mean(), draws.std(), value)
    print(model.__name__, f"divergences={divergences}", rows)
    assert divergences <= 10
