"""Tests for ``clvlab phases``."""

from __future__ import annotations

import json

from clvlab.cli import main


def _args(path, as_of, *extra):
    return [
        "phases", str(path), "--customer-col", "Kunde", "--date-col", "Datum",
        "--amount-col", "Umsatz", "--date-format", "%d.%m.%Y", "--as-of", as_of, *extra,
    ]  # fmt: skip


def test_json_counts_add_up_to_customers_known_at_as_of(german_csv, capsys):
    assert main(_args(german_csv, "1997-12-31", "--json")) == 0
    captured = capsys.readouterr()
    counts = json.loads(captured.out)
    assert list(counts) == ["new", "growing", "retained", "at_risk", "lapsed"]
    assert counts == {"new": 0, "growing": 243, "retained": 332, "at_risk": 164, "lapsed": 1618}
    assert sum(counts.values()) == 2357
    # the validation report and the short-history warning go to stderr, not into the JSON
    assert "Validation report" in captured.err
    assert "warning" in captured.err


def test_as_of_inside_acquisition_leaves_later_customers_out(german_csv, capsys, cdnow_log):
    assert main(_args(german_csv, "1997-02-15", "--json", "--at-risk-days", "60",
                      "--lapsed-days", "180")) == 0  # fmt: skip
    counts = json.loads(capsys.readouterr().out)
    first = cdnow_log.groupby("customer_id")["date"].min()
    assert sum(counts.values()) == int((first <= "1997-02-15").sum()) == 1229
    assert counts["lapsed"] == 0


def test_table_output(german_csv, capsys):
    assert main(_args(german_csv, "1998-06-30", "--onboarding-days", "30")) == 0
    out = capsys.readouterr().out
    assert "Phases at 1998-06-30 (2,357 customers" in out
    assert "lapsed" in out and "onboarding 30," in out


def test_errors_end_with_status_2(german_csv, capsys):
    assert main(_args(german_csv, "1996-01-01", "--json")) == 2
    assert "before the first purchase" in capsys.readouterr().err
    assert main(_args(german_csv, "1997-12-31", "--at-risk-days", "300",
                      "--lapsed-days", "100")) == 2  # fmt: skip
    assert "at_risk_days must not exceed lapsed_days" in capsys.readouterr().err
