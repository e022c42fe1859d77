import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from clvlab.datasets import load_sbg_retention
from clvlab.models import ShiftedBetaGeo
from clvlab.models.shifted_beta_geo import projection_table
from clvlab.plots import retention as plots

# Fader & Hardie (2007): the regular cohort, fitted on years 0-7.
REGULAR = {"alpha": 0.704, "beta": 1.182}


@pytest.fixture(scope="module")
def survivors():
    return load_sbg_retention().set_index("year")["regular"]


@pytest.fixture(scope="module")
def point():
    yield ShiftedBetaGeo.from_params(REGULAR)
    plt.close("all")


@pytest.fixture(scope="module")
def posterior():
    """The published values with a small fake posterior around them."""
    model = ShiftedBetaGeo.from_params(REGULAR)
    scale = np.random.default_rng(0).normal(1.0, 0.05, size=(2, 50))
    draws = xr.Dataset(
        {k: (("chain", "draw"), v * scale) for k, v in REGULAR.items()},
        coords={"chain": [0, 1], "draw": np.arange(50)},
    )
    model.idata["posterior"] = xr.DataTree(draws)
    yield model
    plt.close("all")


def test_survival_projection_shows_the_projection_table(posterior, survivors):
    ax = plots.plot_survival_projection(posterior, survivors, fitted_through=7)
    table = projection_table(posterior, survivors, fitted_through=7)
    actual, expected = ax.get_lines()[:2]
    np.testing.assert_array_equal(actual.get_ydata(), table["actual"])
    np.testing.assert_allclose(expected.get_ydata(), table["expected"])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(table["low"].min())
    assert band.max() == pytest.approx(table["high"].max())
    assert ax.get_xlabel() == "years since acquisition"
    assert ax.get_ylabel() == "customers still active"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "actual",
        "sBG",
        "sBG, 94% interval",
        "end of fitted data",
    ]
    assert all(float(t).is_integer() for t in ax.get_xticks())


def test_a_point_fit_has_no_band(point, survivors):
    ax = plots.plot_survival_projection(point, survivors, fitted_through=7, period_name="month")
    assert not ax.collections and ax.get_xlabel() == "months since acquisition"


def test_retention_rates_rise_and_match_the_observed_ratios(posterior, point, survivors):
    ax = plots.plot_retention_rates(point, survivors)
    observed, model = (line.get_ydata() for line in ax.get_lines())
    counts = survivors.to_numpy()
    np.testing.assert_allclose(observed, counts[1:] / counts[:-1])
    assert len(model) == 12 and np.all(np.diff(model) > 0)  # the retention-curve paradox
    # FH 2007: r_1 = beta / (alpha + beta)
    assert model[0] == pytest.approx(REGULAR["beta"] / sum(REGULAR.values()))
    ax = plots.plot_retention_rates(posterior, survivors)
    assert len(ax.collections) == 1
    assert all(float(t).is_integer() for t in ax.get_xticks())
