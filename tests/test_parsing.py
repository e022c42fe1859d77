import numpy as np
import pandas as pd
import pytest

from clvlab.errors import DataValidationError
from clvlab.parsing import MAX_AMOUNT, parse_amounts, parse_dates


def dates(texts, **kwargs):
    return parse_dates(pd.Series(texts), **kwargs)


@pytest.mark.parametrize(
    "texts",
    [
        ["2024-03-01", "2024-04-13"],
        ["01.03.2024", "13.04.2024"],
        ["01.03.24", "13.04.24"],
        ["20240301", "20240413"],
        ["2024/03/01", "2024/04/13"],
        ["01.03.2024 09:15", "13.04.2024 18:00"],
        ["03/01/2024", "04/13/2024"],  # month first: 13 cannot be a month
        ["01/03/2024", "13/04/2024"],  # day first
        ["45352", "45395"],  # Excel serial numbers
    ],
)
def test_one_format_per_column(texts):
    parsed = dates(texts).values
    assert parsed.dt.normalize().tolist() == [
        pd.Timestamp("2024-03-01"),
        pd.Timestamp("2024-04-13"),
    ]


def test_mixed_forms_in_one_column_are_each_read_by_their_own():
    # Regression: one format per column dropped every dd.mm.yyyy row among ISO rows.
    texts = ["2024-03-01", "02.03.2024", "20240303", "45355", "2024-03-05", None, "gestern"]
    parsed = dates(texts)
    assert parsed.values.tolist()[:5] == list(pd.date_range("2024-03-01", periods=5))
    assert parsed.values.iloc[5:].isna().all()
    assert parsed.formats == {
        "%Y-%m-%d (ISO 8601)": 2,
        "%Y%m%d": 1,
        "Excel serial number": 1,
        "%d.%m.%Y": 1,
    }


def test_mixed_is_refused_rather_than_flipping_day_and_month():
    with pytest.raises(DataValidationError, match="date_format='mixed' would read each row"):
        dates(["01.09.1997", "30.09.1997"], date_format="mixed")


def test_invalid_date_format_is_a_clear_error():
    with pytest.raises(DataValidationError, match=r"column 'Datum': date_format '%Q' is not"):
        dates(["2024-01-01"], date_format="%Q", column="Datum")


def test_day_first_is_not_guessed_row_by_row():
    # Read one value at a time, 03.04.2024 could become 4 March; the column says day first.
    parsed = dates(["03.04.2024", "25.12.2024"]).values
    assert parsed.iloc[0] == pd.Timestamp("2024-04-03")


def test_two_digit_years_with_slashes_follow_the_column():
    # Regression: dd/mm/yy was guessed row by row and 45 of 120 dates were swapped.
    days = pd.date_range("2023-12-01", periods=120)
    parsed = dates(list(days.strftime("%d/%m/%y")))
    assert parsed.values.tolist() == list(days)
    assert parsed.formats == {"%d/%m/%y": 120}


def test_month_first_with_dashes_is_not_read_day_first():
    # Regression: mm-dd-yyyy was read as dd-mm-yyyy (36 dropped, 22 swapped).
    days = pd.date_range("2024-01-01", periods=60, freq="5D")
    parsed = dates(list(days.strftime("%m-%d-%Y")))
    assert parsed.values.tolist() == list(days)
    assert parsed.formats == {"%m-%d-%Y": 60}


def test_ambiguous_slashes_ask_for_a_format():
    with pytest.raises(
        DataValidationError,
        match=r"column 'Datum': dates such as '03/04/2024' \(rows 0, 1\) can be read as "
        r"'%d/%m/%Y' or '%m/%d/%Y' and no day above 12 shows which; pass date_format",
    ):
        dates(["03/04/2024", "05/06/2024"], column="Datum")
    parsed = dates(["03/04/2024"], date_format="%m/%d/%Y").values
    assert parsed.iloc[0] == pd.Timestamp("2024-03-04")


def test_contradicting_day_month_order_names_the_lines():
    texts = pd.Series(["13/04/2024", "01/01/2024", "04/13/2024"], index=pd.RangeIndex(2, 5))
    texts.index.name = "line"
    with pytest.raises(
        DataValidationError,
        match=r"'13/04/2024' \(lines 2\) have the day first, others such as '04/13/2024' "
        r"\(lines 4\) the month first",
    ):
        parse_dates(texts)


def test_integers_and_bad_values():
    parsed = parse_dates(pd.Series([19970101, 19970230, None], dtype="Int64")).values
    assert parsed.iloc[0] == pd.Timestamp("1997-01-01")
    assert parsed.iloc[1:].isna().all()
    assert dates([None, None]).values.isna().all()


def test_time_zones_keep_local_time():
    stamps = pd.Series(pd.to_datetime(["2024-03-01 23:30"]).tz_localize("Europe/Berlin"))
    assert parse_dates(stamps).values.iloc[0] == pd.Timestamp("2024-03-01 23:30")


def test_offsets_that_change_with_daylight_saving_keep_the_local_time():
    # Regression: "+01:00" next to "+02:00" raised a raw pandas ValueError.
    parsed = dates(["2024-03-30T23:30:00+01:00", "2024-03-31 23:30+02:00", "2024-04-01"])
    assert parsed.values.tolist() == [
        pd.Timestamp("2024-03-30 23:30"),
        pd.Timestamp("2024-03-31 23:30"),
        pd.Timestamp("2024-04-01"),
    ]
    assert "2 dates carried a time zone" in parsed.notes[0]


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["19.90", "5", "1234.5"], [19.9, 5.0, 1234.5]),
        (["19,90 €", "5", "1.234,50"], [19.9, 5.0, 1234.5]),
        (["$1,234.50", "12.00", "$7"], [1234.5, 12.0, 7.0]),
        (["CHF 12.50", "EUR 3", "-4.5"], [12.5, 3.0, -4.5]),
        (["1.000 €", "250 €", "12.500 €"], [1000.0, 250.0, 12500.0]),  # whole-euro thousands
        (["1'234.50", "3.20"], [1234.5, 3.2]),  # Swiss
        (["kr 12,50", "3,00", "1.000"], [12.5, 3.0, 1000.0]),  # kr did disable commas
        (["1 234,50", "7"], [1234.5, 7.0]),
    ],
)
def test_amounts(texts, expected):
    assert parse_amounts(pd.Series(texts)).values.tolist() == expected


def test_amount_convention_is_reported():
    parsed = parse_amounts(pd.Series(["19,90 €", "5", "1.234,50"]))
    assert parsed.formats == {
        "plain numbers (no separator)": 1,
        "decimal comma, thousands separator '.'": 2,
    }


def test_contradicting_decimal_separators_are_refused():
    # Regression: "1,5" next to "19.90" made 19.90 into 1990.
    with pytest.raises(
        DataValidationError,
        match=r"column 'Umsatz': amounts such as '19.90' \(rows 1\) have a decimal point, "
        r"others such as '1,5' \(rows 0\) a decimal comma; correct the rows or pass decimal=",
    ):
        parse_amounts(pd.Series(["1,5", "19.90"]), column="Umsatz")
    chosen = parse_amounts(pd.Series(["1,5", "19.90"]), decimal=",").values.tolist()
    assert chosen[0] == 1.5 and np.isnan(chosen[1])


def test_absurd_and_non_finite_amounts_become_missing():
    # Regression: 1e308 overflowed monetary_value to inf.
    parsed = parse_amounts(pd.Series(["1e308", "5", str(MAX_AMOUNT * 10), "-inf"])).values
    assert parsed.isna().tolist() == [True, False, True, True]
    assert parse_amounts(pd.Series([1e308, np.inf, 3.0])).values.isna().tolist() == [
        True,
        True,
        False,
    ]


def test_bad_amounts_become_missing():
    parsed = parse_amounts(pd.Series(["zwölf", None, "inf", "1,2,3"])).values
    assert parsed.isna().all()


def test_offsets_with_a_given_format_are_converted_to_utc_and_noted():
    parsed = dates(["2024-03-30T23:30:00+01:00", "2024-03-31 23:30+02:00"], date_format="ISO8601")
    assert parsed.values.tolist() == [
        pd.Timestamp("2024-03-30 22:30"),
        pd.Timestamp("2024-03-31 21:30"),
    ]
    assert parsed.notes == ("2 dates with a UTC offset were converted to UTC",)
