"""Tests for clvlab.phases: phase assignment, snapshots, transitions and revenue."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from clvlab import datasets, explore, phases
from clvlab.errors import DataValidationError
from clvlab.phases import PHASES, PhaseRules

AS_OF = "2020-12-31"
RULES = PhaseRules(onboarding_days=30, at_risk_days=60, lapsed_days=180)
MONTHLY = [f"2020-{m:02d}-15" for m in range(1, 13)]


def _rows(customer, dates, amounts=None):
    amounts = amounts if amounts is not None else [10.0] * len(dates)
    return [(customer, d, a) for d, a in zip(dates, amounts, strict=True)]


@pytest.fixture(scope="module")
def toy_log() -> pd.DataFrame:
    """Customers built to land in known phases with RULES at AS_OF."""
    rows = [
        *_rows("a_new_single", ["2020-12-20"]),
        *_rows("b_risk_single", ["2020-09-01"]),
        *_rows("c_lapsed_single", ["2020-01-01"]),
        *_rows("d_new_repeat", ["2020-12-05", "2020-12-15", "2020-12-15"]),
        *_rows("e_retained", MONTHLY),
        *_rows(
            "f_growing_rate",
            ["2020-01-01", "2020-06-01", "2020-10-01", "2020-11-01", "2020-12-01", "2020-12-20"],
        ),
        *_rows("g_growing_value", MONTHLY, [10.0] * 6 + [30.0] * 6),
        # every 50 days; the gap of 195 days is beyond the population's 180 but not 4 x 50
        *_rows("h_risk_own_rhythm", ["2020-01-21", "2020-03-11", "2020-04-30", "2020-06-19"]),
        *_rows("i_lapsed_repeat", ["2020-01-01", "2020-01-10"]),
        *_rows("z_later", ["2021-01-05", "2021-02-01"]),
    ]
    log = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    log["date"] = pd.to_datetime(log["date"])
    return log


EXPECTED = {
    "a_new_single": "new",
    "b_risk_single": "at_risk",
    "c_lapsed_single": "lapsed",
    "d_new_repeat": "new",
    "e_retained": "retained",
    "f_growing_rate": "growing",
    "g_growing_value": "growing",
    "h_risk_own_rhythm": "at_risk",
    "i_lapsed_repeat": "lapsed",
}


def test_each_rule_gives_the_documented_phase(toy_log):
    table = phases.assign_phases(toy_log, AS_OF, rules=RULES)
    assert dict(zip(table["customer_id"], table["phase"].astype(str), strict=True)) == EXPECTED
    assert table.attrs["customers_not_yet_acquired"] == 1
    assert table.attrs["merged_same_day"] == 1
    h = table.set_index("customer_id").loc["h_risk_own_rhythm"]
    assert h["gap_days"] == 195
    assert h["usual_ipt_days"] == 50
    assert h["lapsed_after_days"] == 200
    assert h["at_risk_after_days"] == 100
    single = table.set_index("customer_id").loc["b_risk_single"]
    assert single["at_risk_after_days"] == 60 and np.isnan(single["usual_ipt_days"])
    d = table.set_index("customer_id").loc["d_new_repeat"]
    assert d["n_purchases"] == 2 and d["revenue"] == 30.0


def test_lapsed_limit_follows_own_rhythm(toy_log):
    # with the individual factor switched down to the minimum, h is judged like everyone
    rules = PhaseRules(
        onboarding_days=30, at_risk_days=60, lapsed_days=180, at_risk_factor=1.0, lapsed_factor=1.0
    )
    table = phases.assign_phases(toy_log, AS_OF, rules=rules).set_index("customer_id")
    assert table.loc["h_risk_own_rhythm", "phase"] == "lapsed"


def test_other_column_names_and_no_amount(toy_log):
    raw = toy_log.rename(columns={"customer_id": "Kunde", "date": "Datum", "amount": "Umsatz"})
    table = phases.assign_phases(raw, AS_OF, RULES, customer="Kunde", date="Datum", amount="Umsatz")
    assert table["phase"].astype(str).tolist() == list(EXPECTED.values())
    without = phases.assign_phases(
        raw[["Kunde", "Datum"]], AS_OF, RULES, customer="Kunde", date="Datum"
    )
    assert "revenue" not in without.columns
    # without amounts only the purchase rate can show growth
    assert without.set_index("customer_id").loc["g_growing_value", "phase"] == "retained"
    assert without.set_index("customer_id").loc["f_growing_rate", "phase"] == "growing"


def test_derived_thresholds_are_quantiles_of_inter_purchase_times(toy_log):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a year of history is enough here: no warning
        table = phases.assign_phases(toy_log, AS_OF)
    ipt = explore.interpurchase_times(toy_log, as_of=AS_OF)["gap"]
    assert len(ipt) == 1 + 11 + 5 + 11 + 3 + 1  # repeat purchase days up to AS_OF
    rules = table.attrs["rules"]
    assert rules["onboarding_days"] == pytest.approx(np.quantile(ipt, 0.5))
    assert rules["at_risk_days"] == pytest.approx(np.quantile(ipt, 0.75))
    assert rules["lapsed_days"] == pytest.approx(np.quantile(ipt, 0.95))
    # by hand: the 32 sorted IPTs end ..., 50, 122, 152; position 0.95 * 31 = 29.45
    assert rules["lapsed_days"] == pytest.approx(50 + 0.45 * (122 - 50))
    # fixed days win over quantiles, and unset ones are still derived
    partial = phases.assign_phases(toy_log, AS_OF, PhaseRules(lapsed_days=400))
    assert partial.attrs["rules"]["lapsed_days"] == 400
    assert partial.attrs["rules"]["at_risk_days"] == pytest.approx(np.quantile(ipt, 0.75))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"at_risk_quantile": 1.2}, "at_risk_quantile"),
        ({"at_risk_days": 100, "lapsed_days": 50}, "at_risk_days"),
        ({"lapsed_days": -3}, "lapsed_days"),
        ({"at_risk_factor": 5.0}, "at_risk_factor"),
        ({"growth_ratio": 0.5}, "growth_ratio"),
        ({"min_purchases_for_trend": 2}, "min_purchases_for_trend"),
    ],
)
def test_bad_rules_name_the_field(kwargs, field):
    with pytest.raises(DataValidationError, match=field):
        PhaseRules(**kwargs)


def test_bad_input(toy_log):
    with pytest.raises(DataValidationError, match="before the first purchase"):
        phases.assign_phases(toy_log, "2019-06-30", RULES)
    with pytest.raises(DataValidationError, match="not a date"):
        phases.assign_phases(toy_log, "end of year", RULES)
    with pytest.raises(DataValidationError, match="'Kunde'"):
        phases.assign_phases(toy_log, AS_OF, RULES, customer="Kunde")
    with pytest.raises(DataValidationError, match="no rows"):
        phases.assign_phases(toy_log.iloc[:0], AS_OF, RULES)
    singles = toy_log[toy_log["customer_id"].str.contains("single")]
    with pytest.raises(DataValidationError, match="two different days"):
        phases.assign_phases(singles, AS_OF)
    # with fixed thresholds, single buyers need no inter-purchase times
    assert len(phases.assign_phases(singles, AS_OF, RULES)) == 3


@pytest.fixture(scope="module")
def cdnow_snapshots(cdnow_log):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return phases.phase_snapshots(cdnow_log)


def test_cdnow_phases_at_end_of_1997_cover_every_customer_once(cdnow_log):
    with pytest.warns(UserWarning, match="only 364 days of history"):
        table = phases.assign_phases(cdnow_log, "1997-12-31")
    assert len(table) == 2357
    assert table["customer_id"].is_unique
    assert table["phase"].notna().all()
    counts = table["phase"].value_counts().reindex(PHASES).to_dict()
    assert counts == {"new": 0, "growing": 243, "retained": 332, "at_risk": 164, "lapsed": 1618}
    assert table.attrs["customers_not_yet_acquired"] == 0
    assert table.attrs["rules"]["at_risk_days"] == 74.0


def test_cdnow_snapshots_sizes_and_transitions(cdnow_snapshots):
    snaps = cdnow_snapshots
    assert snaps.shape == (2357, 18)
    assert snaps.columns[0] == pd.Timestamp("1997-01-31")
    assert snaps.attrs["rules"]["lapsed_days"] == 279.0
    sizes = phases.phase_sizes(snaps, include_not_yet=True)
    assert (sizes.sum(axis=1) == 2357).all()
    assert sizes.loc["1997-01-31", "not_yet_customer"] == 2357 - 781
    assert sizes.loc["1997-12-31"].to_dict() == {
        "not_yet_customer": 0,
        "new": 0,
        "growing": 245,
        "retained": 337,
        "at_risk": 281,
        "lapsed": 1494,
    }

    probs = phases.transition_matrix(snaps, normalize=True)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert list(probs.columns) == list(PHASES)
    assert "not_yet_customer" in probs.index
    assert probs.loc["lapsed", "lapsed"] == pytest.approx(0.983, abs=5e-4)

    pair = phases.transition_matrix(snaps, "1997-01-31", "1997-02-28")
    # origin rows only for states with customers: nobody was lapsed in January 1997
    assert list(pair.index) == ["not_yet_customer", "new"]
    assert pair.to_numpy().sum() == 2357 - sizes.loc["1997-02-28", "not_yet_customer"]
    assert pair.loc["not_yet_customer"].sum() == 1638 - 781


def test_transition_matrix_bad_dates(cdnow_snapshots):
    with pytest.raises(DataValidationError, match="not snapshot dates"):
        phases.transition_matrix(cdnow_snapshots, "1997-01-15", "1997-02-28")
    with pytest.raises(DataValidationError, match="before end"):
        phases.transition_matrix(cdnow_snapshots, "1997-02-28", "1997-01-31")
    with pytest.raises(DataValidationError, match="both"):
        phases.transition_matrix(cdnow_snapshots, "1997-02-28")


def test_revenue_by_phase_adds_up(cdnow_log, cdnow_snapshots):
    after = phases.revenue_by_phase(cdnow_log, cdnow_snapshots, period="next")
    dates = cdnow_snapshots.columns
    assert len(after) == len(dates) - 1
    day = cdnow_log["date"]
    for start, end in [(dates[0], dates[1]), (dates[11], dates[12])]:
        window = (day > start) & (day <= end)
        assert after.loc[start].sum() == pytest.approx(cdnow_log.loc[window, "amount"].sum())
    # new customers' first purchases in February count as not_yet_customer in January
    assert after.loc["1997-01-31", "not_yet_customer"] > 0
    assert after.loc["1997-12-31", "lapsed"] == pytest.approx(942.0, abs=1)
    before = phases.revenue_by_phase(cdnow_log, cdnow_snapshots, period="previous")
    assert before.to_numpy().sum() == pytest.approx(cdnow_log["amount"].sum())
    # a customer who just bought cannot be lapsed
    assert (before["lapsed"] == 0).all()
    with pytest.raises(DataValidationError, match="'amount'"):
        phases.revenue_by_phase(cdnow_log.drop(columns="amount"), cdnow_snapshots)


def test_regular_grocery_buyers_and_as_of_inside_acquisition():
    log = datasets.load_grocery()
    with pytest.warns(UserWarning, match="only 31 days of history"):
        phases.assign_phases(log, "2006-02-01")
    rules = PhaseRules(onboarding_days=21, at_risk_days=42, lapsed_days=127)
    with pytest.warns(UserWarning, match="only 45 days of purchase history, fewer than lapsed"):
        table = phases.assign_phases(log, "2006-02-15", rules)
    first = log.groupby("customer_id")["date"].min()
    assert len(table) == int((first <= "2006-02-15").sum())
    assert table.attrs["customers_not_yet_acquired"] == int((first > "2006-02-15").sum())
    assert set(table["phase"].astype(str)) <= set(PHASES)
    snaps = phases.phase_snapshots(log, dates=["2006-03-31", "2006-06-30"], rules=rules)
    assert snaps.attrs["rules"]["at_risk_days"] == 42
    counts = phases.transition_matrix(snaps)
    assert counts.to_numpy().sum() == len(snaps)


def test_plots_draw_what_the_tables_hold(cdnow_snapshots):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import PathPatch

    from clvlab.plots import lifecycle as plots

    sizes = phases.phase_sizes(cdnow_snapshots)
    ax = plots.plot_phase_sizes(sizes)
    assert len(ax.collections) == len(PHASES)
    top = ax.collections[-1].get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(sizes.sum(axis=1).max())

    matrix = phases.transition_matrix(cdnow_snapshots, normalize=True)
    ax = plots.plot_transition_heatmap(matrix)
    labels = [t.get_text() for t in ax.texts]
    assert len(labels) == matrix.size and labels[0] == f"{matrix.iloc[0, 0]:.2f}"

    counts = phases.transition_matrix(cdnow_snapshots, "1997-03-31", "1997-12-31")
    ax = plots.plot_phase_flow(cdnow_snapshots, "1997-03-31", "1997-12-31")
    bands = [p for p in ax.patches if isinstance(p, PathPatch)]
    assert len(bands) == int((counts.to_numpy() > 0).sum())
    assert "2,357 customers" in ax.get_title()
    plt.close("all")


def test_plots_show_readable_phase_labels_and_integer_counts(cdnow_snapshots):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from clvlab.plots import lifecycle as plots

    sizes = phases.phase_sizes(cdnow_snapshots, include_not_yet=True)
    ax = plots.plot_phase_sizes(sizes)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Not yet a customer", "New", "Growing", "Retained", "At risk", "Lapsed"]
    assert ax.get_xlabel() == "snapshot date"
    assert all(float(tick).is_integer() for tick in ax.get_yticks())

    matrix = phases.transition_matrix(cdnow_snapshots, normalize=True)
    ax = plots.plot_transition_heatmap(matrix)
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[0] == "Not yet a customer" and "At risk" in rows
    colorbar = ax.figure.axes[-1]
    assert colorbar.get_ylabel().startswith("probability of moving from")

    ax = plots.plot_phase_flow(cdnow_snapshots, "1997-03-31", "1997-12-31")
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "At risk (" in texts and "at_risk" not in texts
    plt.close("all")


def test_phase_labels_and_readable_tables(cdnow_snapshots):
    assert phases.phase_label("at_risk") == "At risk"
    assert set(phases.STATE_LABELS) == set(phases.STATES)
    with pytest.raises(KeyError, match="states"):
        phases.phase_label("churned")
    matrix = phases.transition_matrix(cdnow_snapshots, normalize=True)
    shown = phases.readable(matrix)
    assert list(shown.columns) == ["New", "Growing", "Retained", "At risk", "Lapsed"]
    assert (shown.index.name, shown.columns.name) == ("From state", "To phase")
    np.testing.assert_array_equal(shown.to_numpy(), matrix.to_numpy())
    assert list(matrix.columns) == list(PHASES)  # the input is unchanged
    sizes = phases.readable(phases.phase_sizes(cdnow_snapshots))
    assert sizes.index.name == "Snapshot date" and "Lapsed" in sizes.columns
    table = cdnow_snapshots.iloc[:, -1].rename("phase").to_frame()
    assert set(phases.readable(table)["phase"].dropna().unique()) <= set(
        phases.STATE_LABELS.values()
    )


def test_model_based_phases_use_probability_alive(cdnow_log):
    from clvlab.models import BetaGeo

    # published BG/NBD estimates for CDNOW in weeks (Fader, Hardie & Lee 2005)
    model = BetaGeo.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = phases.assign_phases_model(cdnow_log, "1997-12-31", model)
    assert len(table) == 2357 and table["phase"].notna().all()
    assert table.attrs["model"] == "BetaGeo"
    lapsed = table["phase"] == "lapsed"
    assert (table.loc[lapsed, "probability_alive"] < 0.3).all()
    retained = table["phase"] == "retained"
    assert (table.loc[retained, "probability_alive"] >= 0.7).all()
    assert (table.loc[retained, "expected_purchases"] >= 0.5).all()
    # growth comes from the purchase data; BG/NBD cannot declare a single buyer gone
    growing = table["phase"] == "growing"
    assert (table.loc[growing, "phase_rules"] == "growing").all()
    singles = table["n_purchases"] == 1
    np.testing.assert_allclose(table.loc[singles, "probability_alive"], 1.0)
    assert not (lapsed & singles).any()
    # FHL (2005) eq. 10 at x = 0 (the second term of its denominator vanishes), by hand
    one = table.loc[singles].iloc[0]
    T = one["age_days"] / 7
    a, b, r, alpha = 0.793, 2.426, 0.243, 4.414
    ratio = (alpha + T) / (alpha + T + 52)
    expected = (a + b - 1) / (a - 1) * (1 - ratio**r * _hyp2f1_z(r, b, a + b - 1, 52, alpha + T))
    assert one["expected_purchases"] == pytest.approx(expected, rel=1e-6)
    counts = table["phase"].value_counts().reindex(PHASES).to_dict()
    assert counts == {"new": 0, "growing": 206, "retained": 151, "at_risk": 1724, "lapsed": 276}


def _hyp2f1_z(r, b, c, t, alpha_t):
    from scipy.special import hyp2f1

    return hyp2f1(r, b, c, t / (alpha_t + t))


def test_as_of_after_the_last_purchase_is_warned_about(toy_log):
    log = toy_log[toy_log["customer_id"] != "z_later"]  # last purchase 2020-12-20
    with pytest.warns(UserWarning) as caught:
        table = phases.assign_phases(log, "2030-01-01", RULES)
    (message,) = [str(w.message) for w in caught]
    assert message.startswith(
        "as_of 2030-01-01 is 3,299 days after the last purchase in the log (2020-12-20)"
    )
    assert caught[0].filename == __file__
    assert (table["phase"] == "lapsed").all()
    with pytest.warns(UserWarning, match="the last date 2030-01-01 is 3,299 days after"):
        phases.phase_snapshots(log, dates=["2020-12-31", "2030-01-01"], rules=RULES)


def test_thresholds_from_a_log_that_ends_early_are_warned_about(toy_log):
    # The history ends with the log, not at as_of: ten years after the last purchase,
    # the derived thresholds still come from a year of data.
    log = toy_log[toy_log["customer_id"] != "z_later"]
    with pytest.warns(UserWarning) as caught:
        phases.assign_phases(log, "2030-01-01", PhaseRules(lapsed_days=500))
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("only 354 days of purchase history, fewer than lapsed_days=500")
               for m in messages)  # fmt: skip
