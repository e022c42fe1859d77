"""Tests for clvlab.funnel: synthetic funnels and the hierarchical beta-binomial model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvlab.errors import DataValidationError
from clvlab.funnel import TYPICAL, FunnelModel, funnel_from_long, simulate_funnel

MEAN_RATES = (0.3, 0.4, 0.5)


CHANNELS = tuple(f"channel_{i}" for i in range(10))


@pytest.fixture(scope="module")
def simulated():
    return simulate_funnel(CHANNELS, mean_rates=MEAN_RATES, concentration=30.0, seed=1)


@pytest.fixture(scope="module")
def fitted(simulated):
    counts, _ = simulated
    return FunnelModel().fit(counts, draws=500, tune=500, chains=4, random_seed=7)


def test_simulate_funnel_is_seeded_and_consistent(simulated):
    counts, truth = simulated
    again, truth_again = simulate_funnel(
        CHANNELS, mean_rates=MEAN_RATES, concentration=30.0, seed=1
    )
    pd.testing.assert_frame_equal(counts, again)
    pd.testing.assert_frame_equal(truth, truth_again)
    assert list(counts.columns) == ["awareness", "consideration", "decision", "purchase"]
    assert (counts["awareness"] == 5000).all()
    assert (np.diff(counts.to_numpy(), axis=1) <= 0).all()
    np.testing.assert_allclose(truth["overall"], truth.iloc[:, :3].prod(axis=1))
    other, _ = simulate_funnel(CHANNELS, mean_rates=MEAN_RATES, seed=2)
    assert not counts.equals(other)


@pytest.mark.slow
def test_posterior_94_percent_intervals_cover_the_true_rates(fitted, simulated):
    _, truth = simulated
    summary = fitted.summary(hdi_prob=0.94)
    per_channel = summary.drop(index=TYPICAL, level="channel")
    true = truth.stack().reindex(per_channel.index)
    covered = (per_channel["hdi_lower"] <= true) & (true <= per_channel["hdi_upper"])
    # 40 rates with a known truth (10 channels x 3 steps and overall). 94% intervals miss
    # about 2.4 of them on average; with this seed 4 miss, where the binomial draws
    # themselves stray 2.5 standard errors from the true rate. Allow up to 6 misses.
    assert len(covered) == 40
    assert covered.sum() >= 34, per_channel.assign(truth=true)[~covered]
    error = np.abs(per_channel["mean"] - true)
    assert error.median() < 0.01 and error.max() < 0.08
    # the typical channel is centred on the channels' true rates: its interval for each
    # step covers their average (with 10 channels that average is itself ~2 standard
    # errors from the generator's mean rate, 0.245 instead of 0.3 for the first step)
    typical = summary.loc[TYPICAL].iloc[:3]
    centre = truth.iloc[:, :3].mean()
    assert ((typical["hdi_lower"] <= centre) & (centre <= typical["hdi_upper"])).all()
    assert summary["r_hat"].max() < 1.01
    assert int(fitted.idata["sample_stats"]["diverging"].sum()) == 0


@pytest.mark.slow
def test_posterior_shapes_and_observed_rates(fitted, simulated):
    counts, _ = simulated
    rates = fitted.conversion_rates()
    assert rates.dims == ("chain", "draw", "channel", "step")
    assert rates.shape == (4, 500, 10, 3)
    overall = fitted.overall_rate()
    np.testing.assert_allclose(overall, rates.prod("step"))
    observed = fitted.observed_rates()
    expected = counts["purchase"] / counts["awareness"]
    np.testing.assert_allclose(observed["overall"], expected)
    assert observed.loc["channel_3", "decision→purchase"] == pytest.approx(
        counts.loc["channel_3", "purchase"] / counts.loc["channel_3", "decision"]
    )


def test_group_column_and_long_data():
    long = pd.DataFrame(
        {
            "campaign": ["spring", "spring", "spring", "fall", "fall", "fall", "fall"],
            "stage": ["seen", "clicked", "bought", "seen", "clicked", "bought", "clicked"],
            "count": [1000, 100, 10, 800, 60, 8, 20],
        }
    )
    wide = funnel_from_long(long, group="campaign")
    assert list(wide.columns) == ["seen", "clicked", "bought"]
    assert wide.loc["fall", "clicked"] == 80
    model = FunnelModel(group="campaign")
    built = model.build_model(wide.reset_index())
    assert list(built.coords["campaign"]) == ["fall", "spring"]
    assert list(built.coords["step"]) == ["seen→clicked", "clicked→bought"]
    with pytest.raises(DataValidationError, match="'count'"):
        funnel_from_long(long.rename(columns={"count": "n"}), group="campaign")
    with pytest.raises(DataValidationError, match="'lost'"):
        funnel_from_long(long, group="campaign", stages=["seen", "clicked", "lost"])


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({"awareness": [100, 50], "purchase": [120, 5]}, r"\('a', 'awareness', 'purchase'\)"),
        ({"awareness": [100, -5], "purchase": [10, 1]}, r"\('b', 'awareness'\)"),
        ({"awareness": [100, 50.5], "purchase": [10, 1]}, "whole numbers"),
        ({"awareness": [100, 50]}, "at least two stages"),
    ],
)
def test_bad_counts_are_named(counts, message):
    frame = pd.DataFrame(counts, index=pd.Index(["a", "b"], name="channel"))
    with pytest.raises(DataValidationError, match=message):
        FunnelModel().build_model(frame)


def test_missing_stage_and_duplicate_groups():
    frame = pd.DataFrame({"awareness": [100, 50], "purchase": [10, 5]}, index=["a", "a"])
    with pytest.raises(DataValidationError, match="'decision'"):
        FunnelModel(stages=["awareness", "decision", "purchase"]).build_model(frame)
    with pytest.raises(DataValidationError, match="more than one row"):
        FunnelModel().build_model(frame)
    with pytest.raises(ValueError, match="mean_rates"):
        simulate_funnel(mean_rates=(0.3, 0.4))


@pytest.mark.slow
def test_plot_conversion_rates_draws_every_interval(fitted, simulated):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from clvlab.plots.lifecycle import plot_conversion_rates

    _, truth = simulated
    summary = fitted.summary()
    axes = plot_conversion_rates(summary, truth=truth)
    assert [ax.get_title() for ax in axes] == [*truth.columns]
    lines = axes[-1].collections[0].get_segments()
    overall = summary.xs("overall", level="step")
    assert len(lines) == len(overall) == 11
    # the top row is the first channel: its segment spans the HDI of its overall rate
    np.testing.assert_allclose(
        [lines[0][0][0], lines[0][1][0]], overall.iloc[0][["hdi_lower", "hdi_upper"]]
    )
    plt.close("all")


def test_priors_are_dicts_like_the_clv_models():
    frame = pd.DataFrame({"awareness": [100, 50], "purchase": [10, 5]}, index=["a", "b"])
    model = FunnelModel(priors={"mu": {"dist": "Beta", "alpha": 2.0, "beta": 8.0}})
    built = model.build_model(frame)
    assert type(built["mu"].owner.op).__name__ == "BetaRV"
    assert model.counts_ is None  # building a model is not fitting it
    with pytest.raises(ValueError, match="no parameter"):
        FunnelModel(priors={"p": {"dist": "Beta"}})
    with pytest.raises(ValueError, match="must be a dict"):
        FunnelModel(priors={"mu": (1.0, 1.0)})


def test_fit_checks_options_first_and_changes_nothing_on_failure(simulated):
    counts, _ = simulated
    model = FunnelModel()
    with pytest.raises(ValueError, match=r"\['pymc', 'nutpie'\]"):
        model.fit(counts, nuts_sampler="stan")
    with pytest.raises(TypeError, match="random_sed"):
        model.fit(counts, random_sed=3)
    with pytest.raises(DataValidationError):
        model.fit(counts.assign(purchase=-1))
    assert model.idata is None and model.counts_ is None
    with pytest.raises(ValueError, match="not fitted yet"):
        model.summary()
