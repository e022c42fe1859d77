"""Every prediction of BG/NBD, MBG/NBD and Pareto/NBD is finite and in range on an extreme
grid of parameters (boundary-MLE-like values included), for extreme customer histories.

Issue 8: scipy's hyp2f1 made BG/NBD and MBG/NBD predictions NaN at a = 1, for a ~ 1e4 with a
history and for new customers at a ~ 300 (a boundary MLE then wrote an empty
``expected_purchases`` column), and Pareto/NBD's count distribution was off at extremes.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from clvlab.models import BetaGeo, ModifiedBetaGeo, ParetoNBD

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": range(7),
        "frequency": [0, 1, 1, 10, 1000, 1000, 3],
        "recency": [0.0, 1e-6, 50.0, 49.9, 500.0, 1e-3, 0.01],
        "T": [50.0, 50.0, 50.0, 50.0, 500.0, 500.0, 0.01],
    }
)
HORIZONS = [1e-3, 1.0, 52.0, 1e4]
COUNTS = [0, 1, 10, 1000]
# r and alpha (both models); a, b (BG/NBD, MBG/NBD) or s, beta (Pareto/NBD)
RATE = [(0.01, 0.01), (0.25, 4.4), (1e3, 0.01), (0.01, 1e3), (1e3, 1e3)]
BETA = [0.01, 1.0, 300.0, 1950.0, 1e5]
LOMAX = [(0.01, 0.01), (0.6, 11.7), (1e3, 0.01), (0.01, 1e3), (1e3, 1e5)]


def _sets(model):
    if model is ParetoNBD:
        return [(*rate, *dropout) for rate, dropout in itertools.product(RATE, LOMAX)]
    return [(*rate, a, b) for rate, a, b in itertools.product(RATE, BETA, BETA)]


@pytest.mark.slow
@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo, ParetoNBD])
def test_predictions_finite_and_in_range_on_an_extreme_grid(model):
    bad = []
    for values in _sets(model):
        fitted = model.from_params(dict(zip(model.param_names, values, strict=True)))
        alive = fitted.probability_alive(CUSTOMERS).to_numpy()
        new = fitted.expected_purchases_new_customer(t=HORIZONS).to_numpy()
        checks = {"probability_alive": (alive, 1.0), "new customer": (new, np.inf)}
        for t in HORIZONS:
            expected = fitted.expected_purchases(CUSTOMERS, t=t).to_numpy()
            checks[f"expected_purchases t={t}"] = (expected, np.inf)
            for n in COUNTS:
                prob = fitted.probability_of_purchases(CUSTOMERS, n=n, t=t).to_numpy()
                checks[f"P(X={n}) t={t}"] = (prob, 1.0 + 1e-12)
        for name, (value, upper) in checks.items():
            if not (np.all(np.isfinite(value)) and np.all(value >= 0) and np.all(value <= upper)):
                bad.append((values, name, value.ravel()))
    assert not bad, f"{len(bad)} failures, e.g. {bad[:3]}"


def test_boundary_estimates_give_finite_expectations():
    # a at exactly 1 and a large Beta (no dropout heterogeneity: a, b -> inf), as a
    # boundary MLE returns them
    for values in [(0.24, 4.4, 1.0, 2.4), (0.24, 4.4, 2e4, 6e4), (0.24, 4.4, 300.0, 1950.0)]:
        for model in (BetaGeo, ModifiedBetaGeo):
            fitted = model.from_params(dict(zip(model.param_names, values, strict=True)))
            expected = fitted.expected_purchases(CUSTOMERS, t=39.0).to_numpy()
            new = fitted.expected_purchases_new_customer(t=[1.0, 78.0]).to_numpy()
            assert np.all(np.isfinite(expected)) and np.all(np.isfinite(new)), values
