import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from clvlab.models import BetaGeo
from clvlab.plots import models as plots

FULL = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}


@pytest.fixture(scope="module")
def fitted(cdnow_rfm):
    """BG/NBD at the published values, with a small fake posterior around them."""
    model = BetaGeo.from_params(FULL, data=cdnow_rfm)
    rng = np.random.default_rng(0)
    scale = rng.normal(1.0, 0.05, size=(2, 50))
    posterior = xr.Dataset(
        {k: (("chain", "draw"), v * scale) for k, v in FULL.items()},
        coords={"chain": [0, 1], "draw": np.arange(50)},
    )
    model.idata["posterior"] = xr.DataTree(posterior)
    yield model
    plt.close("all")


def test_frequency_recency_matrix(fitted):
    ax = plots.plot_frequency_recency_matrix(fitted, t=39, max_frequency=10)
    image = ax.get_images()[0].get_array()
    assert image.shape == (11, 20)
    # More purchases with a recent last purchase means more expected purchases.
    assert image[10, -1] > image[10, 0] and image[10, -1] > image[1, -1]
    ax = plots.plot_frequency_recency_matrix(fitted, quantity="probability_alive")
    assert np.nanmax(ax.get_images()[0].get_array()) <= 1.0
    with pytest.raises(ValueError, match="quantity"):
        plots.plot_frequency_recency_matrix(fitted, quantity="clv")


def test_frequency_recency_matrix_labels(fitted):
    ax = plots.plot_frequency_recency_matrix(fitted, t=39, max_frequency=10)
    assert ax.get_title().startswith("BG/NBD: expected purchases in the next 39 weeks")
    colorbar = ax.figure.axes[-1]
    assert colorbar.get_ylabel() == "expected number of purchases in the next 39 weeks"
    assert all(float(tick).is_integer() for tick in ax.get_yticks())
    ax = plots.plot_frequency_recency_matrix(fitted, quantity="probability_alive")
    assert ax.figure.axes[-1].get_ylabel().startswith("P(alive): probability that")


def test_calibration_vs_holdout(fitted, cdnow_rfm):
    ax = plots.plot_calibration_vs_holdout(fitted, cdnow_rfm)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["actual", "BG/NBD"]
    actual, model = (line.get_ydata() for line in ax.get_lines())
    assert len(actual) == 8
    # FHL 2005 Figure 4: customers without repeat purchases buy ~0.24 times in the holdout.
    assert actual[0] == pytest.approx(0.24, abs=0.02) and model[0] == pytest.approx(0.23, abs=0.03)
    with pytest.raises(ValueError, match="frequency_holdout"):
        plots.plot_calibration_vs_holdout(fitted, cdnow_rfm.drop(columns="frequency_holdout"))


def test_period_transactions(fitted):
    ax = plots.plot_period_transactions(fitted, random_seed=1)
    heights = [patch.get_height() for patch in ax.patches]
    assert heights[0] == 1411 and sum(heights) == 2357
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["observed", "BG/NBD (94% interval)"]
    assert all(float(tick).is_integer() for tick in ax.get_yticks())


def test_posterior_vs_mle(fitted):
    axes = plots.plot_posterior_vs_mle(fitted)
    assert [ax.get_title() for ax in axes] == ["r", "alpha", "a", "b"]
