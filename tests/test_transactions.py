import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clvlab import transactions
from clvlab.errors import ClvlabError, DataValidationError


def raw(**columns):
    base = {
        "Kunde": ["a", "b", "c"],
        "Datum": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "Umsatz": [1.0, 2.0, 3.0],
    }
    return pd.DataFrame(base | columns)


def check(df, **kwargs):
    return transactions.validate(df, customer="Kunde", date="Datum", amount="Umsatz", **kwargs)


def test_clean_log_columns_and_types():
    log, report = check(raw())
    assert list(log.columns) == ["customer_id", "date", "amount"]
    assert pd.api.types.is_datetime64_dtype(log["date"])
    assert report.rows_in == report.rows_kept == 3 and report.reconciles


def test_missing_column_names_it_and_lists_the_columns():
    message = (
        "column 'Kundennummer' (the customer column) not found; available columns: "
        "'Kunde', 'Datum', 'Umsatz'. Did you mean 'Kunde'? Pass customer='<column name>'."
    )
    with pytest.raises(DataValidationError, match=re.escape(message)):
        transactions.validate(raw(), customer="Kundennummer", date="Datum")


def test_missing_amount_column():
    with pytest.raises(DataValidationError, match=r"column 'Betrag' \(the amount column\)"):
        transactions.validate(raw(), customer="Kunde", date="Datum", amount="Betrag")


@pytest.mark.parametrize(
    ("columns", "reason", "message"),
    [
        (
            {"Kunde": ["a", None, "  "]},
            "missing_customer",
            "column 'Kunde': 2 row(s) with customer id missing or blank (rows 1, 2); fix: fill in "
            "the customer ids or pass policy={'missing_customer': 'drop'}",
        ),
        (
            {"Datum": ["2024-01-01", "31.02.2024", None]},
            "bad_date",
            "column 'Datum': 2 row(s) with date missing or not parseable (rows 1, 2); fix: correct "
            "the dates, pass date_format=..., or policy={'bad_date': 'drop'}",
        ),
        (
            {"Umsatz": ["1.0", "zwei", None]},
            "bad_amount",
            "column 'Umsatz': 2 row(s) with amount missing, not a number or implausibly large "
            "(rows 1, 2); fix: correct the amounts or pass policy={'bad_amount': 'drop'}",
        ),
        (
            {"Umsatz": [1.0, -2.0, 3.0]},
            "negative_amount",
            "column 'Umsatz': 1 row(s) with negative amount (return or refund) (rows 1); fix: "
            "pass returns='net' to subtract returns from the purchases, or "
            "policy={'negative_amount': 'drop'}",
        ),
        (
            {"Kunde": ["a", "a", "b"], "Datum": ["2024-01-01"] * 3, "Umsatz": [1.0, 1.0, 2.0]},
            "duplicate",
            "column 'all columns': 1 row(s) with duplicate of an earlier row (same parsed values) "
            "(rows 1); fix: if they were recorded twice by mistake, pass "
            "policy={'duplicate': 'drop'}",
        ),
    ],
)
def test_each_bad_input_class(columns, reason, message):
    df = raw(**columns)
    with pytest.raises(DataValidationError) as info:
        check(df, policy={reason: "raise"})
    assert str(info.value) == message
    log, report = check(df, policy={reason: "drop"})
    expected = 2 if reason in {"missing_customer", "bad_date", "bad_amount"} else 1
    assert report.removed[reason] == expected
    assert len(log) == 3 - expected and report.reconciles
    assert f"{expected:,} removed: {transactions.REASONS[reason]}" in str(report)


def test_duplicates_are_kept_and_flagged_by_default():
    df = raw(Kunde=["a", "a", "b"], Datum=["2024-01-01"] * 3, Umsatz=[1.0, 1.0, 2.0])
    log, report = check(df)
    assert len(log) == 3 and report.flagged["duplicate"] == 1 and report.rows_removed == 0
    assert "1 kept but flagged: duplicate of an earlier row" in str(report)


def test_more_than_five_bad_rows_are_summarised():
    df = pd.DataFrame(
        {"Kunde": [None] * 8 + ["a"], "Datum": ["2024-01-01"] * 9, "Umsatz": [1.0] * 9}
    )
    with pytest.raises(DataValidationError, match=r"\(rows 0, 1, 2, 3, 4 and 3 more\)"):
        check(df, policy={"missing_customer": "raise"})


def test_no_valid_rows_left():
    with pytest.raises(DataValidationError, match="no valid rows left: all 3 rows were removed"):
        check(raw(Datum=["x", "y", "z"]))


def test_unknown_policy():
    with pytest.raises(DataValidationError, match="unknown policy reason"):
        check(raw(), policy={"typo": "drop"})
    with pytest.raises(DataValidationError, match="policy 'keep' for 'bad_date'"):
        check(raw(), policy={"bad_date": "keep"})


def test_date_formats():
    df = raw(Datum=[19970101, 19970102, 19970103])
    log, _ = check(df)
    assert log["date"].iloc[0] == pd.Timestamp("1997-01-01")
    df = raw(Datum=["01.02.2024", "02.02.2024", "03.02.2024"])
    log, _ = check(df, date_format="%d.%m.%Y")
    assert log["date"].iloc[0] == pd.Timestamp("2024-02-01")
    df = raw(Datum=pd.to_datetime(["2024-01-01 23:00"] * 3).tz_localize("Europe/Berlin"))
    log, _ = check(df)
    assert log["date"].dt.tz is None


def test_amounts_with_currency_signs():
    log, report = check(raw(Umsatz=["$1.50", "2 €", "inf"]))
    assert log["amount"].tolist() == [1.5, 2.0]
    assert report.removed["bad_amount"] == 1


def test_read_csv_semicolon_parquet_excel(tmp_path):
    df = raw()
    df.to_csv(tmp_path / "log.csv", sep=";", index=False)
    df.to_parquet(tmp_path / "log.parquet")
    df.to_excel(tmp_path / "log.xlsx", index=False)
    for name in ("log.csv", "log.parquet", "log.xlsx"):
        back = transactions.read(tmp_path / name)
        assert list(back.columns) == ["Kunde", "Datum", "Umsatz"], name
        assert len(back) == 3


def test_read_errors(tmp_path):
    with pytest.raises(ClvlabError, match=r"cannot read '.*nothing.csv': no such file"):
        transactions.read(tmp_path / "nothing.csv")
    (tmp_path / "log.json").write_text("{}")
    with pytest.raises(ClvlabError, match=r"unknown file type '.json'"):
        transactions.read(tmp_path / "log.json")
    (tmp_path / "broken.parquet").write_text("not parquet")
    with pytest.raises(ClvlabError, match=r"cannot read '.*broken.parquet'"):
        transactions.read(tmp_path / "broken.parquet")


cells = st.one_of(st.none(), st.just(""), st.just("  "), st.text(max_size=4), st.integers(-5, 5))
dates = st.one_of(
    st.none(),
    st.just("2024-13-45"),
    st.just("gestern"),
    st.dates().map(str),
    st.integers(19000101, 20991231),
)
amounts = st.one_of(st.none(), st.just("n/a"), st.floats(allow_nan=True), st.integers(-100, 100))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(cells, dates, amounts), min_size=1, max_size=30),
    st.sampled_from(["drop", "keep"]),
)
def test_report_always_reconciles(rows, duplicate_policy):
    df = pd.DataFrame(rows, columns=["Kunde", "Datum", "Umsatz"])
    try:
        log, report = check(df, policy={"duplicate": duplicate_policy})
    except DataValidationError as err:
        assert str(err).startswith("no valid rows left")
        return
    assert report.reconciles
    assert report.rows_in == len(df) == len(log) + report.rows_removed
    table = report.to_frame()
    assert table.loc[("rows", "total"), "count"] == len(df)
    assert table.loc["customers"].drop(["total", "zero_amount"])["count"].sum() == (
        report.customers_in
    )
    assert log["customer_id"].notna().all() and log["date"].notna().all()
    assert np.isfinite(log["amount"]).all() and (log["amount"] >= 0).all()


def test_integer_ids_read_as_floats_become_their_digits():
    log, report = check(raw(Kunde=[17.0, None, 4.0]))
    assert log["customer_id"].tolist() == ["17", "4"]
    assert report.removed["missing_customer"] == 1
    assert "ids above 2**53 cannot be told apart" in str(report)
