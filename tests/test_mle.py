"""Maximum likelihood (clvlab.models.mle): the optimum, and fits that report their failure."""

import warnings

import numpy as np
import pandas as pd
import pytest

from clvlab.datasets import load_cdnow_summary
from clvlab.errors import ConvergenceWarning
from clvlab.models import BetaGeo, ParetoNBD
from clvlab.models.mle import hessian_from_gradient, numerical_hessian


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


def test_hessian_helpers_agree_on_a_quadratic():
    matrix = np.array([[2.0, 0.5], [0.5, 1.0]])

    def f(x):
        return 0.5 * x @ matrix @ x

    x = np.array([0.3, -0.2])
    np.testing.assert_allclose(numerical_hessian(f, x), matrix, rtol=1e-6)
    np.testing.assert_allclose(hessian_from_gradient(lambda v: matrix @ v, x), matrix)


def test_a_converged_fit_is_silent(cdnow):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = BetaGeo().fit(cdnow, method="mle")
    assert model.mle_result_.success


def test_an_optimiser_stopped_early_warns_with_what_to_do(cdnow):
    # Regression: maxiter=2 returned log-likelihood -9595.61 (optimum -9594.97) silently.
    with pytest.warns(ConvergenceWarning, match=r"did not converge.*maxiter"):
        model = ParetoNBD().fit(cdnow, method="mle", maxiter=2)
    assert model.log_likelihood_ < -9595.0


def test_estimates_running_to_the_boundary_are_named():
    # Identical customers: no heterogeneity, so gamma/beta shapes and rates run off together.
    same = pd.DataFrame({"customer_id": range(100), "frequency": 2, "recency": 20.0, "T": 30.0})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        BetaGeo().fit(same, method="mle")
    messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    assert any("alpha = " in m and "edge of the parameter range" in m for m in messages)
    assert any("standard errors of" in m and "not finite" in m for m in messages)


def test_a_misspelt_keyword_is_rejected(cdnow):
    # Regression: random_sed=3 was passed to scipy as an option and silently ignored.
    with pytest.raises(TypeError, match=r"random_sed.*maxiter"):
        BetaGeo().fit(cdnow, method="mle", random_sed=3)
