"""Parsing dates and money as they come in real transaction logs.

Real logs write dates as ``2024-03-01``, ``01.03.2024``, ``03/01/2024`` or ``20240301``,
and amounts as ``19.90``, ``19,90 €`` or ``1,234.50``. Parsing each value on its own
guesses differently from row to row (``03.04.2024`` as 4 March in one row, 13 April read
correctly in the next), so both parsers decide **one format per column**, from the values
themselves, and refuse to guess when the column is ambiguous.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError

DATE_FORMATS: tuple[str, ...] = (
    "ISO8601",  # 2024-03-01, 2024-03-01 14:30, 2024-03-01T14:30:00+01:00
    "%d.%m.%Y",
    "%d.%m.%y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%Y/%m/%d",
    "%d-%m-%Y",
    "%Y%m%d",
)
"""Formats tried, in this order, when no ``date_format`` is given."""

_SAMPLE = 2000
_CURRENCY = re.compile(r"[\s\u00a0$€£¥]|CHF|EUR|USD|GBP")
_DECIMAL_COMMA = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")
_THOUSANDS_COMMA = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_dates(values: pd.Series, date_format: str | None = None) -> pd.Series:
    """Parse a column of dates with one format; values that don't fit become NaT.

    Parameters
    ----------
    values : Series
        Dates as text, ``YYYYMMDD`` integers or ``datetime64`` (time zones are dropped,
        keeping the local time).
    date_format : str, optional
        A :func:`~datetime.datetime.strptime` format. Without it, every format of
        :data:`DATE_FORMATS` is tried on a sample of the distinct values and the one that
        reads the most of them is used for the whole column.

    Raises
    ------
    DataValidationError
        Two formats read the column equally well but disagree (``03/04/2024``: day or
        month first?): the message asks for ``date_format``.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        text = values.astype("string").str.strip()
        fmt = date_format or _choose_date_format(text)
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)
    if not pd.api.types.is_datetime64_dtype(parsed):  # e.g. all values missing
        parsed = pd.to_datetime(parsed, errors="coerce")
    return parsed


def _choose_date_format(text: pd.Series) -> str:
    """The format of :data:`DATE_FORMATS` that reads most of a sample of the values."""
    sample = pd.Series(text.dropna().unique()[:_SAMPLE], dtype="string")
    if sample.empty:
        return "ISO8601"
    readings = {}
    for fmt in DATE_FORMATS:
        try:
            readings[fmt] = pd.to_datetime(sample, format=fmt, errors="coerce")
        except (ValueError, TypeError):
            continue
    counts = {fmt: int(parsed.notna().sum()) for fmt, parsed in readings.items()}
    best = max(counts.values())
    if best == 0:
        return "mixed"  # leave it to pandas; what it cannot read is counted as bad
    winners = [fmt for fmt, count in counts.items() if count == best]
    first = readings[winners[0]]
    for other in winners[1:]:
        if not first.equals(readings[other]):
            example = sample[first.ne(readings[other]) & first.notna()].iloc[0]
            raise DataValidationError(
                f"dates such as {example!r} can be read as {winners[0]!r} or {other!r}; "
                f"pass date_format (e.g. date_format={other!r}) to say which"
            )
    return winners[0]


def parse_amounts(values: pd.Series) -> pd.Series:
    """Parse monetary values to float; what is not a finite number becomes NaN.

    Currency signs, codes and spaces are removed. A column whose text uses a decimal comma
    (``19,90`` or ``1.234,50``) is read as such, one with thousands commas (``1,234.50``)
    too; the decision is made once for the whole column.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
    else:
        text = values.astype("string").str.replace(_CURRENCY, "", regex=True)
        text = _normalise_separators(text)
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    return numbers.where(np.isfinite(numbers))


def _normalise_separators(text: pd.Series) -> pd.Series:
    """Rewrite decimal commas or thousands commas as plain decimal points, per column."""
    with_comma = text[text.str.contains(",", regex=False).fillna(False)]
    if with_comma.empty:
        return text
    if with_comma.str.fullmatch(_THOUSANDS_COMMA.pattern).fillna(False).all() and not (
        with_comma.str.fullmatch(r"[-+]?\d+,\d{1,2}").fillna(False).any()
    ):
        return text.str.replace(",", "", regex=False)
    if with_comma.str.fullmatch(_DECIMAL_COMMA.pattern).fillna(False).all():
        return text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return text
