import bz2
import gzip
import lzma
import re
import zipfile

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
@pytest.mark.slow
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


def write(path, text, encoding="utf-8"):
    """Write ``text`` to ``path``, compressed as its suffix says."""
    data = text.encode(encoding)
    openers = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(path.stem, data)
    else:
        with openers.get(path.suffix, open)(path, "wb") as handle:
            handle.write(data)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip"])
@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_read_sniffs_the_separator_after_decompressing(tmp_path, suffix, sep):
    # Regression: the separator was sniffed from the compressed bytes of .bz2/.xz/.zip.
    text = sep.join(["Kunde", "Datum", "Umsatz"]) + "\n" + sep.join(["007", "2024-01-01", "5"])
    back = transactions.read(write(tmp_path / f"log{suffix}", text + "\n"))
    assert list(back.columns) == ["Kunde", "Datum", "Umsatz"]
    assert back["Kunde"].tolist() == ["007"]
    assert back.attrs["source"]["separator"] == repr(sep)


def test_read_detects_windows_1252_and_says_so(tmp_path):
    path = write(tmp_path / "log.csv", "Kunde;Datum;Umsatz\nMüller;01.03.2024;5 €\n", "cp1252")
    back = transactions.read(path)
    assert back["Kunde"].tolist() == ["Müller"]
    assert back.attrs["source"]["encoding"].startswith("cp1252 (not UTF-8: byte b'\\xfc' on line 2")
    _, report = check(back)
    assert "encoding cp1252 (not UTF-8" in str(report)
    assert transactions.read(path, encoding="latin-1")["Kunde"].tolist() == ["Müller"]
    with pytest.raises(ClvlabError, match=r"as utf-8: byte b'\\xfc' on line 2 is not valid"):
        transactions.read(path, encoding="utf-8")


def test_read_refuses_a_first_data_line_with_an_extra_field(tmp_path):
    # Regression: pandas silently made the first column the index.
    path = write(tmp_path / "log.csv", "Kunde,Datum,Umsatz\n1,2024-01-01,5,x\n2,2024-01-02,6\n")
    with pytest.raises(ClvlabError, match=r"line 2 has 4 fields but the header \(line 1\) has 3"):
        transactions.read(path)


def test_messages_give_the_line_of_the_file(tmp_path):
    text = "Kunde;Datum;Umsatz\na;2024-01-01;5\n\nb;kein Datum;6\n"
    back = transactions.read(write(tmp_path / "log.csv", text))
    assert list(back.index) == [2, 4]
    assert "blank lines skipped" in back.attrs["source"]
    with pytest.raises(DataValidationError, match=r"\(lines 4\)"):
        check(back, policy={"bad_date": "raise"})
    _, report = check(back)
    assert "(e.g. lines 4)" in str(report)


def test_ids_are_text_as_written_in_every_format(tmp_path):
    # Regression: 00123 and 123 merged; a blank id turned the column into floats, so ids
    # above 2**53 merged; 123.0 and 123 merged or not depending on other rows.
    ids = ["00123", "123", "123.0", "", "9007199254740993", "9007199254740992", " 42 "]
    df = pd.DataFrame(
        {"Kunde": ids, "Datum": ["2024-01-01"] * len(ids), "Umsatz": ["1"] * len(ids)}
    )
    expected = sorted(["00123", "123", "123.0", "9007199254740993", "9007199254740992", "42"])
    df.to_csv(tmp_path / "log.csv", index=False)
    df.to_excel(tmp_path / "log.xlsx", index=False)
    df.to_parquet(tmp_path / "log.parquet")
    for name in ("log.csv", "log.xlsx", "log.parquet"):
        log, report = check(transactions.read(tmp_path / name))
        assert log["customer_id"].tolist() == expected, name
        assert report.customers_in == 6 and report.removed["missing_customer"] == 1, name


def test_integer_ids_in_a_frame_become_their_digits():
    log, _ = check(raw(Kunde=[10, 2, 2**60 + 1]))
    assert log["customer_id"].tolist() == ["10", "1152921504606846977", "2"]


def test_duplicates_are_compared_on_parsed_values():
    # Regression: rows that differed only in how the date was written were not duplicates.
    df = raw(Kunde=["a", "a", "b"], Datum=["2024-01-01", "01.01.2024", "2024-01-01"])
    df["Umsatz"] = ["5,00", "5", "5"]
    log, report = check(df, policy={"duplicate": "drop"})
    assert report.removed["duplicate"] == 1 and len(log) == 2
    different = raw(Kunde=["a", "a", "b"], Datum=["2024-01-01"] * 3, Artikel=["x", "y", "x"])
    assert check(different, policy={"duplicate": "drop"})[1].removed["duplicate"] == 0


def test_report_accounts_for_every_customer():
    df = pd.DataFrame(
        {
            "Kunde": ["a", "a", "b", "c", "c", "d", "e", None],
            "Datum": [
                "2024-01-01",
                "x",
                "x",
                "2024-01-02",
                "2024-01-03",
                "2024-01-01",
                "2024-01-01",
                "2024-01-01",
            ],
            "Umsatz": ["5", "5", "5", "zwei", "-1", "0", "0,00", "5"],
        }
    )
    _, report = check(df)
    assert report.customers_in == 5 and report.customers_kept == 3
    assert report.customers_lost == {
        "missing_customer": 0,
        "bad_date": 1,  # b
        "bad_amount": 0,
        "duplicate": 0,
        "negative_amount": 1,  # c: one bad amount, then its only purchase was a return
    }
    assert report.lost_examples == ["b", "c"] and report.reconciles
    assert report.zero_amount_customers == 2 and report.zero_amount_examples == ["d", "e"]
    text = str(report)
    assert "customers: 5 ids in the file, 3 kept, 2 lost entirely (e.g. 'b', 'c')" in text
    assert "2 customers kept whose orders all have amount 0 (e.g. 'd', 'e')" in text
    table = report.to_frame()
    customers = table.loc["customers", "count"]
    assert customers["total"] == 5 and customers["kept"] == 3
    assert customers.drop(["total", "zero_amount"]).sum() == 5
    assert table.loc[("customers", "zero_amount"), "flagged"] == 2
    assert table.loc[("rows", "total"), "count"] == 8


def test_returns_drop_or_net_and_the_revenue_effect():
    df = pd.DataFrame(
        {
            "Kunde": ["a", "a", "a", "a", "b", "c", "c"],
            "Datum": [
                "2024-01-01",
                "2024-01-05",
                "2024-01-06",
                "2024-01-10",
                "2024-01-01",
                "2024-01-01",
                "2024-01-02",
            ],
            "Umsatz": [10.0, 4.0, -6.0, 3.0, -2.0, 5.0, -5.0],
        }
    )
    log, report = check(df)
    assert report.returns == "drop" and log["amount"].sum() == 22
    assert (report.gross_revenue, report.returned, report.net_revenue) == (22, 13, 11)
    assert "returns were dropped: the clean log holds the gross revenue" in str(report)

    log, report = check(df, returns="net")
    amounts = log.set_index(["customer_id", "date"])["amount"]
    # a: the return of 6 on Jan 6 takes 4 from Jan 5, then 2 from Jan 1; Jan 10 is later.
    assert amounts.loc["a"].tolist() == [8.0, 0.0, 3.0]
    assert amounts.loc["c"].tolist() == [0.0]  # fully returned, never below zero
    assert report.unmatched_returns == 2  # b returned without a purchase
    assert report.removed["negative_amount"] == 3 and report.fully_returned == 2
    assert report.net_revenue == log["amount"].sum() == 11
    assert report.customers_lost["negative_amount"] == 1  # b
    assert "netted against the same customer's purchases" in str(report)
    assert report.to_frame().loc[("revenue", "net"), "amount"] == 11


def test_mixed_dates_and_amount_conventions_are_reported():
    df = raw(Datum=["2024-01-01", "02.01.2024", "45294"], Umsatz=["1.000 €", "2 €", "3,50 €"])
    log, report = check(df)
    assert log["date"].tolist() == list(pd.date_range("2024-01-01", periods=3))
    assert log["amount"].tolist() == [1000.0, 2.0, 3.5]
    text = str(report)
    assert "dates: 1 rows %Y-%m-%d (ISO 8601); 1 rows Excel serial number; 1 rows %d.%m.%Y" in text
    assert (
        "amounts: 1 rows plain numbers (no separator); "
        "2 rows decimal comma, thousands separator '.'" in text
    )
    assert report.to_frame().loc[("dates", "%d.%m.%Y"), "count"] == 1


def test_contradicting_amounts_are_refused_with_the_column_named():
    with pytest.raises(DataValidationError, match=r"column 'Umsatz': amounts such as '19\.90'"):
        check(raw(Umsatz=["1,5", "19.90", "3"]))
    log, report = check(raw(Umsatz=["1,5", "19.90", "3"]), decimal=",")
    assert log["amount"].tolist() == [1.5, 3.0] and report.removed["bad_amount"] == 1


def test_overflowing_amounts_are_rejected():
    # Regression: 1e308 made monetary_value inf.
    log, report = check(raw(Umsatz=["1e308", "1e308", "3"]))
    assert report.removed["bad_amount"] == 2 and np.isfinite(log["amount"]).all()


def test_excel_number_cells_stay_numbers_and_text_cells_text(tmp_path):
    # Regression: Excel text cells such as "00123" were converted to numbers; number cells
    # must not go through text either, where 1.125 would read as 1,125.
    df = pd.DataFrame(
        {
            "Kunde": ["00123", "123"],
            "Datum": [pd.Timestamp("2024-01-01"), 45293],
            "Umsatz": [1.125, 2],
        }
    )
    df.to_excel(tmp_path / "log.xlsx", index=False)
    log, report = check(transactions.read(tmp_path / "log.xlsx"))
    assert log["customer_id"].tolist() == ["00123", "123"]
    assert log["amount"].tolist() == [1.125, 2.0]
    assert log["date"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]
    assert report.amount_formats == {"numbers": 2}


def test_whole_euro_thousands_are_read_as_such_and_noted():
    # Regression: "1.000 €" was read as 1.0.
    log, report = check(raw(Umsatz=["1.000 €", "250 €", "12.500 €"]))
    assert log["amount"].tolist() == [1000.0, 250.0, 12500.0]
    assert "'1.000' were read with '.' as thousands separator" in str(report)


def test_a_later_line_with_an_extra_field_is_named(tmp_path):
    path = write(tmp_path / "log.csv", "Kunde,Datum,Umsatz\n1,2024-01-01,5\n2,2024-01-02,6,x\n")
    with pytest.raises(ClvlabError, match=r"Expected 3 fields in line 3, saw 4"):
        transactions.read(path)
