"""Tests for ``clvlab.cli.checks``: the values each option accepts, and the messages."""

from __future__ import annotations

import argparse

import pytest

from clvlab.cli import checks
from clvlab.errors import ClvlabError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1997-09-30", "1997-09-30"),
        ("1997-9-3", "1997-09-03"),
        ("30.09.1997", "1997-09-30"),
        ("01.09.1997", "1997-09-01"),  # German: day first, always (was 9 January)
        ("1.9.1997", "1997-09-01"),
        (" 2024-02-29 ", "2024-02-29"),
    ],
)
def test_dates_iso_or_day_first_dotted(text, expected):
    assert checks.calendar_date(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a date is required"),
        ("   ", "a date is required"),
        ("01/02/2024", "'01/02/2024' is ambiguous"),
        ("30/09/1997", "is ambiguous"),
        ("01.09.97", "two-digit year"),
        ("31.02.2024", "'31.02.2024' is not a date: day is out of range"),
        ("2024-13-01", "is not a date: month must be in 1..12"),
        ("yesterday", "'yesterday' is not a date; write it as YYYY-MM-DD"),
        ("19970930", "is not a date"),
        ("9999-12-31", "lies outside the dates that can be handled (1677-09-22 to 2262-04-11)"),
    ],
)
def test_other_dates_are_refused_with_the_fix(text, message):
    with pytest.raises(argparse.ArgumentTypeError) as info:
        checks.calendar_date(text)
    assert message in str(info.value)


@pytest.mark.parametrize("fmt", ["%d.%m.%Y", "%Y%m%d", "%d/%m/%y %H:%M", "%b %d, %Y", "ISO8601"])
def test_date_formats_that_read_a_whole_date(fmt):
    assert checks.date_format(fmt) == fmt


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("%Q", "not a date format"),
        ("%d.%m.%", "not a date format"),
        ("dd.mm.yyyy", "does not hold the day, month and year"),
        ("%d.%m", "does not hold the day, month and year"),
        ("%H:%M", "does not hold the day, month and year"),
        ("", "a format is required"),
        ("mixed", "swap day and month"),
    ],
)
def test_bad_date_formats(fmt, message):
    with pytest.raises(argparse.ArgumentTypeError) as info:
        checks.date_format(fmt)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("check", "text", "expected"),
    [
        (checks.positive_int, "3", 3),
        (checks.non_negative_int, "0", 0),
        (checks.seed, "4294967295", 4294967295),
        (checks.positive_float, "39", 39.0),
        (checks.positive_float, "0.5", 0.5),
    ],
)
def test_numbers_accepted(check, text, expected):
    assert check(text) == expected


@pytest.mark.parametrize(
    ("check", "text"),
    [
        (checks.positive_int, "0"),
        (checks.positive_int, "1.5"),
        (checks.positive_int, ""),
        (checks.non_negative_int, "-1"),
        (checks.seed, "-1"),
        (checks.seed, "4294967296"),
        (checks.positive_float, "0"),
        (checks.positive_float, "-2"),
        (checks.positive_float, "nan"),
        (checks.positive_float, "-inf"),
        (checks.positive_float, "1e400"),  # overflows to inf
        (checks.positive_float, "x"),
    ],
)
def test_numbers_refused(check, text):
    with pytest.raises(argparse.ArgumentTypeError):
        check(text)


def test_output_file(tmp_path):
    assert checks.output_file(str(tmp_path / "out.csv")) == tmp_path / "out.csv"
    (tmp_path / "old.csv").write_text("x")
    assert checks.output_file(str(tmp_path / "old.csv")) == tmp_path / "old.csv"  # replaced
    for text, message in [
        (str(tmp_path), "is a folder"),
        (str(tmp_path / "missing" / "out.csv"), "does not exist; create it first"),
        (str(tmp_path / "old.csv" / "out.csv"), "is not a folder"),
        ("", "a file name is required"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            checks.output_file(text)


def test_distinct_files(tmp_path):
    checks.distinct_files([tmp_path / "in.csv"], {"--out": tmp_path / "a.csv", "--save": None})
    with pytest.raises(ClvlabError, match=r"--out '.*in\.csv' is the same file as FILE"):
        checks.distinct_files([tmp_path / "in.csv"], {"--out": tmp_path / "in.csv"})
    with pytest.raises(ClvlabError, match=r"--report '.*a\.csv' is the same file as --out"):
        outputs = {"--out": tmp_path / "a.csv", "--report": tmp_path / "." / "a.csv"}
        checks.distinct_files([tmp_path / "in.csv"], outputs)


def test_input_file(tmp_path):
    (tmp_path / "log.csv").write_text("x")
    assert checks.input_file(str(tmp_path / "log.csv")) == str(tmp_path / "log.csv")
    for text, message in [
        (str(tmp_path / "missing.csv"), "cannot read '.*missing.csv': no such file"),
        (str(tmp_path), "is a folder"),
        ("9" * 400, "File name too long"),  # an OSError from the system before
        ("", "a file name is required"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            checks.input_file(text)
    with pytest.raises(argparse.ArgumentTypeError, match="File name too long"):
        checks.output_file("9" * 400)
