"""Tests for ``clvlab validate``."""

from __future__ import annotations

import pandas as pd


def test_writes_the_clean_log_and_the_report(german_csv, german_args, tmp_path, cli, cdnow_log):
    clean, report = tmp_path / "clean.csv", tmp_path / "report.csv"
    run = cli(*german_args("validate", german_csv, "--out", clean, "--report", report))
    assert run.code == 0, run.err
    assert "Validation report: 6,919 rows in, 6,919 kept, 0 removed" in run.out
    assert f"wrote the clean log (6,919 rows, 2,357 customers) to {clean}" in run.out
    log = pd.read_csv(clean, parse_dates=["date"])
    assert list(log.columns) == ["customer_id", "date", "amount"]
    assert log["date"].equals(cdnow_log["date"])
    assert log["amount"].sum() == cdnow_log["amount"].sum()
    table = pd.read_csv(report, index_col=["section", "item"])
    assert table.loc[("rows", "total"), "count"] == 6919
    assert table.loc[("rows", "kept"), "count"] == 6919
    assert table.loc[("customers", "kept"), "count"] == 2357


def test_report_only(german_csv, german_args, tmp_path, cli):
    run = cli(*german_args("validate", german_csv))
    assert run.code == 0 and "Validation report" in run.out and "wrote" not in run.out


def test_nothing_is_written_when_validation_fails(german_csv, german_args, tmp_path, cli):
    clean = tmp_path / "clean.csv"
    clean.write_text("earlier\n")
    args = german_args("validate", german_csv, "--out", clean, "--report", tmp_path / "r.csv")
    args[args.index("Umsatz")] = "Betrag"
    assert cli(*args).error_line().startswith("clvlab validate: error: column 'Betrag'")
    assert clean.read_text() == "earlier\n"
    assert [p.name for p in tmp_path.iterdir()] == ["clean.csv"]


def test_output_onto_the_input_is_refused(german_csv, german_args, cli):
    before = german_csv.read_bytes()
    line = cli(*german_args("validate", german_csv, "--out", german_csv)).error_line()
    assert "is the same file as FILE" in line
    assert german_csv.read_bytes() == before


def test_customer_and_date_columns_are_detected_when_not_named(german_csv, tmp_path, cli):
    out = tmp_path / "clean.csv"
    run = cli("validate", german_csv, "--out", out)
    assert run.code == 0, run.err
    assert "'Kunde' (detected: a known name for the customer id)" in run.err + run.out
    assert pd.read_csv(out).columns.tolist() == ["customer_id", "date"]  # no amount unless named
    ambiguous = tmp_path / "two_dates.csv"
    ambiguous.write_text("Kunde;Bestelldatum;Rechnungsdatum\n1;2024-01-01;2024-01-02\n")
    line = cli("validate", ambiguous, "--out", out).error_line()
    assert line.endswith(
        "several columns could be the purchase date: 'Bestelldatum', 'Rechnungsdatum'; name "
        "one with --date-col"
    )
