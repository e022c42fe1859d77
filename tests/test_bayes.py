"""The PyMC model and its fitting methods (clvlab.models.bayes): options checked first."""

import warnings

import pandas as pd
import pytest

from clvlab.datasets import load_cdnow_summary
from clvlab.errors import ConvergenceWarning
from clvlab.models import BetaGeo, ParetoNBD, fitting


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


def test_an_unknown_sampler_lists_the_valid_ones(cdnow):
    # Regression: the name reached PyMC, whose error did not list "nutpie-pyfunc".
    with pytest.raises(ValueError, match=r"nutpie-pyfunc.*nutpie.*pymc.*got 'stan'"):
        BetaGeo().fit(cdnow, nuts_sampler="stan")


@pytest.mark.parametrize("sampler", ["nutpie-pyfunc", "pymc", "nutpie"])
def test_an_unknown_sampler_keyword_fails_before_any_work(cdnow, sampler, monkeypatch):
    # Regression: with the default sampler it failed inside a worker as a RuntimeError.
    def no_work(*args, **kwargs):
        raise AssertionError("the fit started")

    monkeypatch.setattr(fitting, "run", no_work)
    with pytest.raises(TypeError, match=r"max_tree_dept"):
        ParetoNBD().fit(cdnow, nuts_sampler=sampler, max_tree_dept=12)


@pytest.mark.parametrize(
    ("method", "keyword"), [("map", "maxitr"), ("advi", "iterations"), ("nuts", "seed")]
)
def test_unknown_keywords_are_type_errors_for_every_method(cdnow, method, keyword):
    with pytest.raises(TypeError, match=keyword):
        BetaGeo().fit(cdnow, method=method, **{keyword: 1})


def test_valid_sampler_keywords_pass_the_check():
    from clvlab.models.bayes import check_options

    check_options("nuts", "nutpie-pyfunc", {"cores": 1, "maxdepth": 8, "adaptation": "diag"})
    check_options("nuts", "pymc", {"cores": 1, "max_treedepth": 8, "init": "adapt_diag"})
    check_options("advi", None, {"n": 100, "obj_optimizer": None})
    check_options("map", None, {"options": {"maxiter": 10}, "initvals": None, "tol": 1e-6})


@pytest.mark.slow
def test_advi_on_identical_customers_does_not_run_away():
    # Regression: ADVI started at the boundary MLE and gave r = 4.8e14 (NUTS/MAP: about 20).
    same = pd.DataFrame({"customer_id": range(100), "frequency": 2, "recency": 20.0, "T": 30.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = BetaGeo().fit(same, method="advi", draws=100, random_seed=1, n=3000)
    assert model.params["r"] < 100


@pytest.mark.filterwarnings("ignore:The optimizer did not converge")
def test_map_running_to_the_edge_warns():
    # Identical customers and priors too wide to hold the shapes and rates.
    same = pd.DataFrame({"customer_id": range(100), "frequency": 2, "recency": 20.0, "T": 30.0})
    wide = {k: {"dist": "HalfFlat"} for k in ("r", "alpha", "a", "b")}
    with pytest.warns(ConvergenceWarning, match=r"MAP for BetaGeo failed: .* edge"):
        BetaGeo(priors=wide).fit(
            same, method="map", initvals={"r": 1e8, "alpha": 1e9, "a": 1.0, "b": 1e8}
        )
