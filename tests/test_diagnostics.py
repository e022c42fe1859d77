import warnings

import numpy as np
import pytest
import xarray as xr

from clvlab.datasets import load_cdnow_summary
from clvlab.diagnostics import ConvergenceWarning, check_convergence, convergence_table
from clvlab.models import BetaGeo


def tree(draws, diverging=None):
    """A DataTree with posterior draws shaped (chain, draw) per variable."""
    posterior = xr.Dataset({k: (("chain", "draw"), v) for k, v in draws.items()})
    groups = {"posterior": posterior}
    if diverging is not None:
        groups["sample_stats"] = xr.Dataset({"diverging": (("chain", "draw"), diverging)})
    return xr.DataTree.from_dict(groups)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_independent_draws_pass(rng):
    good = tree(
        {"r": rng.normal(size=(4, 500)), "a": rng.gamma(2.0, size=(4, 500))},
        diverging=np.zeros((4, 500), bool),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_convergence(good) == []
    table = convergence_table(good)
    assert list(table.columns) == ["r_hat", "ess_bulk", "ess_tail"]
    assert table.loc["r", "r_hat"] < 1.01 and table.loc["r", "ess_bulk"] > 1000


def test_disagreeing_chains_raise_an_r_hat_warning_with_advice(rng):
    draws = rng.normal(size=(4, 500)) + np.array([0.0, 0.0, 0.0, 3.0])[:, None]
    with pytest.warns(ConvergenceWarning, match=r"r-hat above 1.01 for \['r'\].*increase tune"):
        problems = check_convergence(tree({"r": draws}))
    assert len(problems) >= 1


def test_autocorrelated_draws_raise_an_ess_warning(rng):
    walk = np.cumsum(rng.normal(size=(4, 500)), axis=1)
    with pytest.warns(ConvergenceWarning, match=r"effective sample size below 400"):
        check_convergence(tree({"r": walk}))


def test_divergences_are_counted(rng):
    diverging = np.zeros((2, 400), bool)
    diverging[1, :7] = True
    problems = check_convergence(tree({"r": rng.normal(size=(2, 400))}, diverging), warn=False)
    assert problems == [
        "7 divergent transition(s): the posterior is hard to explore; raise target_accept "
        "(e.g. target_accept=0.95), tune longer, or reparametrise / check the data for outliers."
    ]


@pytest.mark.slow
def test_a_forced_bad_nuts_fit_warns_at_the_fit_call():
    data = load_cdnow_summary().head(400)
    with pytest.warns(ConvergenceWarning) as record:
        BetaGeo().fit(data, draws=10, tune=1, chains=2, cores=1, random_seed=1)
    ours = [w for w in record if w.category is ConvergenceWarning]
    assert len(ours) == 1 and ours[0].filename == __file__  # points at the fit call
    assert "r-hat" in str(ours[0].message) or "effective sample size" in str(ours[0].message)
