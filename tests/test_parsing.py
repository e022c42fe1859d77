import pandas as pd
import pytest

from clvlab.errors import DataValidationError
from clvlab.parsing import parse_amounts, parse_dates


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
    ],
)
def test_one_format_per_column(texts):
    parsed = parse_dates(pd.Series(texts))
    assert parsed.dt.normalize().tolist() == [
        pd.Timestamp("2024-03-01"),
        pd.Timestamp("2024-04-13"),
    ]


def test_day_first_is_not_guessed_row_by_row():
    # Read one value at a time, 03.04.2024 could become 4 March; the column says day first.
    parsed = parse_dates(pd.Series(["03.04.2024", "25.12.2024"]))
    assert parsed.iloc[0] == pd.Timestamp("2024-04-03")


def test_ambiguous_slashes_ask_for_a_format():
    with pytest.raises(
        DataValidationError,
        match=r"dates such as '03/04/2024' can be read as "
        r"'%d/%m/%Y' or '%m/%d/%Y'; pass date_format",
    ):
        parse_dates(pd.Series(["03/04/2024", "05/06/2024"]))
    parsed = parse_dates(pd.Series(["03/04/2024"]), date_format="%m/%d/%Y")
    assert parsed.iloc[0] == pd.Timestamp("2024-03-04")


def test_integers_and_bad_values():
    parsed = parse_dates(pd.Series([19970101, 19970230, None], dtype="Int64"))
    assert parsed.iloc[0] == pd.Timestamp("1997-01-01")
    assert parsed.iloc[1:].isna().all()
    assert parse_dates(pd.Series([None, None])).isna().all()


def test_time_zones_keep_local_time():
    stamps = pd.Series(pd.to_datetime(["2024-03-01 23:30"]).tz_localize("Europe/Berlin"))
    assert parse_dates(stamps).iloc[0] == pd.Timestamp("2024-03-01 23:30")


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["19.90", "5", "1234.5"], [19.9, 5.0, 1234.5]),
        (["19,90 €", "5", "1.234,50"], [19.9, 5.0, 1234.5]),
        (["$1,234.50", "12.00", "$7"], [1234.5, 12.0, 7.0]),
        (["CHF 12.50", "EUR 3", "-4.5"], [12.5, 3.0, -4.5]),
    ],
)
def test_amounts(texts, expected):
    assert parse_amounts(pd.Series(texts)).tolist() == expected


def test_bad_amounts_become_missing():
    parsed = parse_amounts(pd.Series(["zwölf", None, "inf", "1,2,3"]))
    assert parsed.isna().all()
