"""Parsing dates and money as they come in real transaction logs.

Real exports write dates as ``2024-03-01``, ``01.03.2024``, ``03/01/2024``, ``20240301``
or as Excel serial numbers (``45352``), sometimes several of these in one column, and
amounts as ``19.90``, ``19,90 €``, ``1.234,50``, ``1,234.50`` or ``1'234.50``. Reading
each value on its own guesses differently from row to row (``03.04.2024`` as 4 March in
one row, 13 April in the next), so both parsers decide from the **whole column**:

* Dates: every value is matched against the written forms of :data:`DATE_FORMS`. Forms
  that say which field is the day (ISO ``2024-03-01``, dotted ``01.03.2024``, ``20240301``,
  Excel serials) are read row by row, each by its own form. Forms that do not (``03/04/2024``,
  ``03-04-2024``) are read one way for the whole column, decided by evidence: a first
  field above 12 means day first, a second field above 12 means month first. A column with
  both, or with neither, is refused with a message that asks for ``date_format``.
* Amounts: a row such as ``19,90`` can only be a decimal comma and ``19.90`` only a
  decimal point, while ``1.000`` is a thousands separator under one convention and a
  decimal point under the other. The column's convention is taken from the rows that can
  only be read one way; a column with rows of both kinds is refused, naming examples.

Both parsers return :class:`Parsed`: the values and how many rows were read in which way,
for the validation report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError

MAX_AMOUNT = 1e12
"""Largest absolute amount accepted for one purchase; larger values are rejected as bad."""

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
"""Day 0 of Excel's serial dates (1900 date system, after Excel's leap-year bug)."""

# Patterns spell digits [0-9] and spaces as characters: pandas then runs them in pyarrow's
# RE2 engine, while \d and \s fall back to Python's re, row by row.
_CLOCK = r"(?: [0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
_CLOCKS = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f")
_ZONE = r" *(?:Z|UTC|GMT|[+-][0-9][0-9](?::?[0-9][0-9])?)$"
_SECONDS = r"[0-9]:[0-9][0-9](?::[0-9][0-9](?:\.[0-9]+)?)?"
_ABOVE_12 = r"(?:1[3-9]|[2-9][0-9])"


@dataclass(frozen=True)
class DateForm:
    """A written form of dates: its name (a strptime format), its pattern, its day order.

    ``day_first`` is None for forms where the first two fields can be day or month; the
    column's evidence decides, and ``default`` says what to assume without evidence (None:
    refuse). For those forms ``name`` is the day-first reading.
    """

    name: str
    pattern: str
    day_first: bool | None = True
    default: bool | None = None

    @property
    def separator(self) -> str:
        """The character between day and month (ambiguous forms only)."""
        return self.name[2]


DATE_FORMS: tuple[DateForm, ...] = (
    DateForm(
        "ISO8601",
        r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
        r" *(?:Z|UTC|GMT|[+-][0-9][0-9](?::?[0-9][0-9])?)?)?",
    ),
    DateForm("%Y/%m/%d", r"[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}" + _CLOCK),
    DateForm("%Y%m%d", r"[0-9]{8}"),
    DateForm("Excel serial number", r"[0-9]{5}(?:\.[0-9]+)?"),
    DateForm("%d.%m.%Y", r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}" + _CLOCK, None, True),
    DateForm("%d.%m.%y", r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{2}" + _CLOCK, None, True),
    DateForm("%d/%m/%Y", r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}" + _CLOCK, None),
    DateForm("%d/%m/%y", r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{2}" + _CLOCK, None),
    DateForm("%d-%m-%Y", r"[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}" + _CLOCK, None),
)
"""Written forms of dates recognised without ``date_format``, in the order they are tried.

ISO 8601 dates (``2024-03-01``, ``2024-03-01T14:30:00+01:00``), ``yyyymmdd`` and Excel
serial numbers (days since 1899-12-30, five digits) say which field is the day. Dotted
dates are read day first (the German convention) unless the column shows otherwise;
slashed and dashed ones as the column shows, or not at all. A time of day may follow.
"""


@dataclass(frozen=True)
class Parsed:
    """A parsed column and how its rows were read.

    Attributes
    ----------
    values : Series
        The parsed values, same index as the input; missing where a row could not be read.
    formats : dict[str, int]
        Form or convention -> number of rows read with it.
    notes : tuple[str, ...]
        Sentences for the report about decisions taken for the whole column.
    """

    values: pd.Series
    formats: dict[str, int]
    notes: tuple[str, ...] = ()


def where(index: pd.Index, mask: np.ndarray | pd.Series, limit: int = 5) -> str:
    """The first rows of ``index`` marked in ``mask``, as a person finds them.

    An index named ``"line"`` (see :func:`clvlab.transactions.read`) holds line numbers of
    the file (header = line 1) and is written ``lines 2, 7``; any other as ``rows 0, 5``.
    """
    mask = np.asarray(mask, dtype=bool)
    labels = list(index[mask][:limit])
    count = int(mask.sum())
    word = "lines" if index.name == "line" else "rows"
    more = f" and {count - len(labels)} more" if count > len(labels) else ""
    return f"{word} {', '.join(map(str, labels))}{more}"


def parse_dates(values: pd.Series, date_format: str | None = None, column: str = "date") -> Parsed:
    """Parse a column of dates; values that fit no form become NaT.

    Parameters
    ----------
    values : Series
        Dates as text, ``YYYYMMDD`` or Excel serial numbers, or ``datetime64`` (time zones
        are dropped, keeping the local time).
    date_format : str, optional
        A :func:`~datetime.datetime.strptime` format applied to every row. Without it, each
        row is read by its own form of :data:`DATE_FORMS` (see the module docstring).
    column : str
        The column's name, for messages.

    Returns
    -------
    Parsed
        ``datetime64`` values; ``formats`` counts the rows per form. Offsets such as
        ``+02:00`` (which change with daylight saving) are dropped and the local time as
        written is kept, so that each purchase stays on the customer's calendar day; a note
        says how many rows had one.

    Raises
    ------
    DataValidationError
        ``date_format="mixed"`` (it would read each row on its own and flip day and month),
        an invalid ``date_format``, or a column whose day/month order is ambiguous or
        contradicts itself: the message names the column, example rows and the fix.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_localize(None)
        return Parsed(values, {"date values": int(values.notna().sum())})
    text = _as_text(values)
    if date_format is not None:
        return _parse_with_format(text, date_format, column)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    formats: dict[str, int] = {}
    notes: list[str] = []
    order: dict[str, bool] = {}
    left = text.notna().to_numpy(dtype=bool, copy=True)
    for form in DATE_FORMS:
        if not left.any():
            break
        hit = np.zeros(len(text), dtype=bool)
        hit[left] = text[left].str.fullmatch(form.pattern).to_numpy(dtype=bool, na_value=False)
        if not hit.any():
            continue
        part = text[hit]
        name = form.name
        if form.name == "ISO8601":
            zoned = part.str.contains(_SECONDS + _ZONE, regex=True).to_numpy(dtype=bool)
            if zoned.any():
                example = part[zoned].iloc[0]
                notes.append(
                    f"{int(zoned.sum()):,} dates carried a time zone or UTC offset (e.g. "
                    f"{example!r}); the local time as written was kept and the offset dropped, "
                    "so each purchase stays on the calendar day the customer saw"
                )
                part = part.str.replace(f"({_SECONDS}){_ZONE}", r"\1", regex=True)
            read = pd.to_datetime(part, format="ISO8601", errors="coerce")
            name = "%Y-%m-%d (ISO 8601)"
        elif form.name == "Excel serial number":
            read = EXCEL_EPOCH + pd.to_timedelta(part.astype(float), unit="D")
        else:
            if form.day_first is None:
                if form.separator not in order:
                    order[form.separator] = _day_first(text, hit, form, column)
                if not order[form.separator]:
                    name = _month_first(form.name)
            read = _read_form(part, name)
        parsed[hit] = read.to_numpy(dtype="datetime64[us]")
        formats[name] = int(hit.sum())
        left &= ~hit
    recognised = text.notna().to_numpy() & ~left
    invalid = recognised & parsed.isna().to_numpy()
    if invalid.any():
        notes.append(
            f"{int(invalid.sum()):,} date(s) such as {text[invalid].iloc[0]!r} "
            f"({where(text.index, invalid)}) have a known form but name no real day"
        )
    return Parsed(parsed, formats, tuple(notes))


def _read_form(text: pd.Series, name: str) -> pd.Series:
    """Rows written in the form ``name`` (a strptime format without time) to datetimes.

    Forms with a four-digit year and a separator are rewritten as ISO 8601 text (pandas'
    fast path); the others are parsed with ``name`` and the time of day the row has.
    """
    fields = re.split(r"[./-]", name)
    if len(fields) == 3 and "%Y" in fields:
        groups = {field: f"\\{i + 1}" for i, field in enumerate(fields)}
        pattern = "^" + re.escape(name[2]).join([r"([0-9]+)"] * 3)
        iso = text.str.replace(pattern, f"{groups['%Y']}-{groups['%m']}-{groups['%d']}", regex=True)
        return pd.to_datetime(iso, format="ISO8601", errors="coerce")
    read = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    colons = text.str.count(":").to_numpy()
    colons = colons + text.str.contains(r":[0-9][0-9]\.", regex=True).to_numpy(dtype=bool)
    for count, clock in enumerate(_CLOCKS):
        rows = colons == count
        if rows.any():
            read[rows] = pd.to_datetime(text[rows], format=name + clock, errors="coerce").to_numpy(
                dtype="datetime64[us]"
            )
    return read


def _as_text(values: pd.Series) -> pd.Series:
    """Values as trimmed text, blanks missing; whole numbers without a trailing ``.0``."""
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if (whole == np.round(whole)).all():
            values = values.astype("Int64")
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _parse_with_format(text: pd.Series, date_format: str, column: str) -> Parsed:
    """Every row with one given strptime format (or ``"ISO8601"``)."""
    if date_format == "mixed":
        raise DataValidationError(
            f"column '{column}': date_format='mixed' would read each row on its own and flip "
            "day and month wherever the day is 12 or less; leave date_format out (clvlab then "
            "reads ISO, dd.mm.yyyy, yyyymmdd and Excel serial dates row by row) or give one "
            "format such as date_format='%d/%m/%Y'"
        )
    try:
        parsed = pd.to_datetime(text, format=date_format, errors="coerce", utc=True)
    except (ValueError, TypeError) as err:
        raise DataValidationError(
            f"column '{column}': date_format {date_format!r} is not a valid date format "
            f"({err}); use strptime codes such as '%d.%m.%Y' or '%m/%d/%Y'"
        ) from None
    zoned = int(text.str.contains(_SECONDS + _ZONE, regex=True).fillna(False).sum())
    note = (f"{zoned:,} dates with a UTC offset were converted to UTC",) if zoned else ()
    parsed = parsed.dt.tz_localize(None)
    return Parsed(parsed, {date_format: int(parsed.notna().sum())}, note)


def _day_first(text: pd.Series, hit: np.ndarray, form: DateForm, column: str) -> bool:
    """Decide from the rows ``hit`` of the column whether the first field is the day."""

    def rows(mask: np.ndarray) -> str:
        return f"{text[mask].iloc[0]!r} ({where(text.index, mask)})"

    sep = re.escape(form.separator)
    part = text[hit]
    first_day = hit.copy()
    first_day[hit] = part.str.match(_ABOVE_12 + sep).to_numpy(dtype=bool)
    second_day = hit.copy()
    second_day[hit] = part.str.match(r"[0-9]{1,2}" + sep + _ABOVE_12 + sep).to_numpy(dtype=bool)
    day_first, month_first = form.name, _month_first(form.name)
    fix = (
        f"pass date_format={day_first!r} or date_format={month_first!r} "
        f"(command line: --date-format '{day_first}') to say which"
    )
    if first_day.any() and second_day.any():
        raise DataValidationError(
            f"column '{column}': dates such as {rows(first_day)} have the day first, others "
            f"such as {rows(second_day)} the month first; correct the rows or {fix}"
        )
    if first_day.any() or second_day.any():
        return bool(first_day.any())
    if form.default is not None:
        return form.default
    raise DataValidationError(
        f"column '{column}': dates such as {rows(hit)} can be read as {day_first!r} "
        f"or {month_first!r} and no day above 12 shows which; {fix}"
    )


def _month_first(name: str) -> str:
    """``'%d/%m/%Y'`` -> ``'%m/%d/%Y'``."""
    return name.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


_MONEY = r"(?:[A-Z]{3}|kr\.?|Kr\.?|SFr\.?|Fr\.?|[$€£¥₹¤])"
_SPACES = "[ \t\u00a0\u202f'’]"  # the characters themselves: RE2 runs them
_POINT = r"[-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]*\.?[0-9]+)"
"""A number with a decimal point and optional thousands commas."""
_COMMA = r"[-+]?(?:[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?|[0-9]*,?[0-9]+)"
"""A number with a decimal comma and optional thousands points."""
_PLAIN = r"[-+]?[0-9]+(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]*\.[0-9]+[eE][-+]?[0-9]+"
"""A whole number, or a number in scientific notation, read the same way by both."""

CONVENTIONS: dict[str, str] = {
    ".": "decimal point, thousands separator ','",
    ",": "decimal comma, thousands separator '.'",
}


def parse_amounts(values: pd.Series, column: str = "amount", decimal: str | None = None) -> Parsed:
    """Parse monetary values to float; what is not a plausible number becomes NaN.

    Currency signs and codes (``€``, ``$``, ``CHF``, ``kr``, ...) before or after the number
    are removed, and so are spaces and apostrophes used to group thousands (``1 234,50``,
    ``1'234.50``). The decimal separator is decided once for the column (see the module
    docstring); without evidence either way, a single separator followed by exactly three
    digits (``1.000 €``) is read as a thousands separator, since money is not written to
    three decimals. Values that are not finite or beyond :data:`MAX_AMOUNT` become NaN.

    Parameters
    ----------
    values : Series
        Amounts as text or numbers.
    column : str
        The column's name, for messages.
    decimal : {".", ","}, optional
        The decimal separator; rows that cannot be read with it become NaN.

    Raises
    ------
    DataValidationError
        Rows of the column contradict each other (``19,90`` next to ``19.90``), or the
        column's only separated values (``1.000`` and ``2,000``) can be read either way.
    """
    if decimal not in (None, ".", ","):
        raise DataValidationError(f"decimal must be '.' or ',', not {decimal!r}")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
        return Parsed(_plausible(numbers), {"numbers": int(numbers.notna().sum())})
    # Cells that hold numbers (Excel number cells, Python floats) are numbers, not text.
    is_number = np.zeros(len(values), dtype=bool)
    if values.dtype == object:
        is_number = values.map(_is_number).to_numpy(dtype=bool)
    formats = {"numbers": int(is_number.sum())} if is_number.any() else {}
    text = _as_text(values.where(~is_number, None))
    text = text.str.replace(_SPACES, "", regex=True)
    text = text.str.replace(f"^{_MONEY}|{_MONEY}$", "", regex=True)
    plain = text.str.fullmatch(_PLAIN).fillna(False).to_numpy(bool)
    point = text.str.fullmatch(_POINT).fillna(False).to_numpy(bool) & ~plain
    comma = text.str.fullmatch(_COMMA).fillna(False).to_numpy(bool) & ~plain
    notes = ()
    if decimal is None:
        decimal, notes = _decimal(text, point, comma, column)
    readable = plain | (point if decimal == "." else comma)
    numeric = text.where(readable)
    if decimal == ".":
        numeric = numeric.str.replace(",", "", regex=False)
    else:
        numeric = numeric.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    numbers = numeric.astype("float64")  # every row left is a valid number or missing
    if is_number.any():
        numbers[is_number] = values[is_number].astype("float64")
    if plain.any():
        formats["plain numbers (no separator)"] = int(plain.sum())
    if (readable & ~plain).any():
        formats[CONVENTIONS[decimal]] = int((readable & ~plain).sum())
    return Parsed(_plausible(numbers), formats, notes)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def _plausible(numbers: pd.Series) -> pd.Series:
    """Numbers that are finite and at most :data:`MAX_AMOUNT` in size; NaN otherwise."""
    return numbers.where(np.isfinite(numbers) & (numbers.abs() <= MAX_AMOUNT))


def _decimal(
    text: pd.Series, point: np.ndarray, comma: np.ndarray, column: str
) -> tuple[str, tuple[str, ...]]:
    """The column's decimal separator, from the rows that can be read only one way, and a
    note when no row shows it."""
    only_point, only_comma = point & ~comma, comma & ~point
    if only_point.any() and only_comma.any():
        raise DataValidationError(
            f"column '{column}': amounts such as {text[only_point].iloc[0]!r} "
            f"({where(text.index, only_point)}) have a decimal point, others such as "
            f"{text[only_comma].iloc[0]!r} ({where(text.index, only_comma)}) a decimal "
            "comma; correct the rows or pass decimal='.' or decimal=',' "
            "(command line: --decimal) to read the column one way and drop the other rows"
        )
    if only_point.any():
        return ".", ()
    if only_comma.any():
        return ",", ()
    both = point & comma  # "1.000" or "1,000": three digits after one separator
    has_dot = both & text.str.contains(".", regex=False).fillna(False).to_numpy(bool)
    if has_dot.any() and (both & ~has_dot).any():
        raise DataValidationError(
            f"column '{column}': amounts such as {text[has_dot].iloc[0]!r} "
            f"({where(text.index, has_dot)}) and {text[both & ~has_dot].iloc[0]!r} "
            f"({where(text.index, both & ~has_dot)}) use different separators and no row "
            "shows which is the decimal one; pass decimal='.' or decimal=','"
        )
    if not both.any():
        return ".", ()
    example = text[both].iloc[0]
    note = (
        f"no amount shows the decimal separator; {int(both.sum()):,} amounts such as "
        f"{example!r} were read with '{example[-4]}' as thousands separator (money is not "
        "written to three decimals); pass decimal=... if that is wrong",
    )
    return ("," if has_dot.any() else "."), note
