"""Tests for ``clvlab phases``."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from clvlab import lifecycle


@pytest.fixture
def phase_args(german_args):
    def arguments(path, as_of, *extra):
        return german_args("phases", path, "--date-format", "%d.%m.%Y", "--as-of", as_of, *extra)

    return arguments


def test_json_counts_add_up_to_customers_known_at_as_of(german_csv, cli, phase_args):
    run = cli(*phase_args(german_csv, "1997-12-31", "--json"))
    assert run.code == 0
    counts = json.loads(run.out)
    assert list(counts) == ["new", "growing", "retained", "at_risk", "lapsed"]
    assert counts == {"new": 0, "growing": 243, "retained": 332, "at_risk": 164, "lapsed": 1618}
    assert sum(counts.values()) == 2357
    # the validation report and the short-history warning go to stderr, not into the JSON
    assert "Validation report" in run.err
    (warning,) = [line for line in run.err.splitlines() if "warning" in line]
    assert warning.startswith("clvlab phases: warning: phase thresholds derived from only")
    assert warning.endswith("(on the command line: --at-risk-days, --lapsed-days)")


def test_as_of_inside_acquisition_leaves_later_customers_out(
    german_csv, cli, phase_args, cdnow_log
):
    args = phase_args(german_csv, "15.02.1997", "--json", "--at-risk-days", "60")
    run = cli(*args, "--lapsed-days", "180")
    counts = json.loads(run.out)
    first = cdnow_log.groupby("customer_id")["date"].min()
    assert sum(counts.values()) == int((first <= "1997-02-15").sum()) == 1229
    assert counts["lapsed"] == 0
    # 45 days of history cannot show a gap of 180 days: said, not silent
    assert "fewer than lapsed_days=180" in run.err


def test_table_output(german_csv, cli, phase_args):
    run = cli(*phase_args(german_csv, "1998-06-30", "--onboarding-days", "30"))
    assert run.code == 0
    assert "Phases at 1998-06-30 (2,357 customers" in run.out
    assert "lapsed" in run.out and "onboarding 30," in run.out
    assert "after the last purchase" not in run.err  # the last day of the log


def test_out_writes_each_customer_with_phase_and_measures(german_csv, cli, phase_args, tmp_path):
    out = tmp_path / "phasen.csv"
    run = cli(*phase_args(german_csv, "1997-12-31", "--out", out, "--language", "de"))
    assert run.code == 0
    table = pd.read_csv(out)
    assert len(table) == 2357 and table["customer_id"].is_unique
    assert list(table.columns[:4]) == ["customer_id", "phase", "phase_name", "recommended_measures"]
    assert table["phase"].value_counts()["lapsed"] == 1618  # as in the counts
    lapsed = table[table["phase"] == "lapsed"].iloc[0]
    assert lapsed["phase_name"] == "Abgewandert"
    measures = lifecycle.recommended_measures("lapsed", "clv_phases", language="de")["measure"]
    assert lapsed["recommended_measures"] == "; ".join(measures)
    assert table["recommended_measures"].notna().all()


def test_a_framework_without_measures_for_a_phase_is_warned_about(
    german_csv, cli, phase_args, tmp_path
):
    run = cli(*phase_args(german_csv, "1997-12-31", "--out", tmp_path / "p.csv",
                          "--framework", "clm_reach_to_loyalty"))  # fmt: skip
    assert run.code == 0
    assert "warning: framework 'clm_reach_to_loyalty' recommends no measures for" in run.err


def test_as_of_far_past_the_data_is_warned_about(german_csv, cli, phase_args):
    run = cli(*phase_args(german_csv, "2005-01-01", "--json"))
    assert run.code == 0
    assert json.loads(run.out)["lapsed"] > 2000
    assert (
        "clvlab phases: warning: as_of 2005-01-01 is 2,377 days after the last purchase in "
        "the log (1998-06-30)" in run.err
    )


def test_errors_end_with_status_2(german_csv, cli, phase_args, tmp_path):
    run = cli(*phase_args(german_csv, "1996-01-01", "--json"))
    assert run.code == 2 and "before the first purchase" in run.err
    run = cli(*phase_args(german_csv, "1997-12-31", "--at-risk-days", "300",
                          "--lapsed-days", "100"))  # fmt: skip
    assert run.code == 2 and "at_risk_days must not exceed lapsed_days" in run.err
    for bad in (["--lapsed-days", "nan"], ["--at-risk-days", "-1"], ["--as-of", "12/31/1997"]):
        line = cli(*phase_args(german_csv, "1997-12-31", *bad)).error_line()
        assert line.startswith(f"clvlab phases: error: argument {bad[0]}")
    line = cli(*phase_args(german_csv, "1997-12-31", "--out", tmp_path / "no" / "p.csv"))
    assert line.error_line().startswith("clvlab phases: error: argument --out: folder")
