"""Tests for clvlab.models.fitting: which results a fit stores."""

import warnings

import numpy as np
import pytest
import xarray as xr

from clvlab.models import fitting


def _posterior(chains: int, draws: int) -> xr.Dataset:
    return xr.Dataset({"r": (("chain", "draw"), np.ones((chains, draws)))})


def test_pointwise_log_likelihood_is_stored_by_default_while_it_is_small():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fitting._store_pointwise(None, _posterior(4, 1000), 2357)


def test_a_pointwise_log_likelihood_beyond_the_budget_is_skipped_with_a_warning():
    # Regression: 4 x 1,000 draws of a million customers (32 GB) were materialised and
    # the fit was killed for lack of memory.
    with pytest.warns(UserWarning, match=r"4,000,000,000 values, 32.0 GB.*store_log_likeli"):
        assert not fitting._store_pointwise(None, _posterior(4, 1000), 1_000_000)


def test_an_explicit_choice_wins_over_the_budget():
    assert fitting._store_pointwise(True, _posterior(4, 1000), 1_000_000)
    assert not fitting._store_pointwise(False, _posterior(1, 10), 10)
