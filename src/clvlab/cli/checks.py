"""Checks of command-line values, run before any file is read.

Each function takes the text given on the command line and returns the checked value, or
raises :class:`argparse.ArgumentTypeError` with a message that says what to write instead;
used as ``type=`` of an argument, argparse turns that into one line on standard error and
exit status 2. So a bad number, date or output path stops a command at once, not after a
fit has run.
"""

from __future__ import annotations

import argparse
import codecs
import glob
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from clvlab.errors import ClvlabError

MAX_SEED = 2**32 - 1
"""Largest random seed accepted (NumPy's legacy seeds and most samplers take 32 bits)."""

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{2,4})")
_DATE_EXAMPLE = "write it as YYYY-MM-DD (2024-06-30) or DD.MM.YYYY (30.06.2024)"


def positive_int(text: str) -> int:
    """A whole number of at least 1 (draws, chains)."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """A whole number of at least 0 (tuning steps)."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def seed(text: str) -> int:
    """A random seed from 0 to :data:`MAX_SEED`."""
    value = _int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must lie between 0 and {MAX_SEED}, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0 (horizons and thresholds); NaN and infinity are refused."""
    return _finite(text, lambda value: value > 0, "a positive finite number")


def non_negative_float(text: str) -> float:
    """A finite number of 0 or more (rates and shares); NaN and infinity are refused."""
    return _finite(text, lambda value: value >= 0, "a finite number >= 0")


def _finite(text: str, accept: Callable[[float], bool], rule: str) -> float:
    """``text`` as a finite float that ``accept`` takes, else an ArgumentTypeError saying
    it must be ``rule``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and accept(value)):
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
    return value


def calendar_date(text: str) -> str:
    """A date written ``YYYY-MM-DD`` (ISO) or ``DD.MM.YYYY`` (German, day first).

    Dotted dates are always read day first, so ``01.09.1997`` is 1 September 1997.
    Dates with slashes are refused: ``01/02/2024`` is 1 February in Europe and 2 January
    in the US. Returns the date as ``YYYY-MM-DD``.
    """
    text = text.strip()
    if not text:
        raise argparse.ArgumentTypeError(f"a date is required; {_DATE_EXAMPLE}")
    if "/" in text:
        raise argparse.ArgumentTypeError(
            f"{text!r} is ambiguous (day or month first?); {_DATE_EXAMPLE}"
        )
    if iso := _ISO_DATE.fullmatch(text):
        year, month, day = map(int, iso.groups())
    elif dotted := _DOTTED_DATE.fullmatch(text):
        day, month, year = map(int, dotted.groups())
        if len(dotted.group(3)) != 4:
            raise argparse.ArgumentTypeError(
                f"{text!r} has a two-digit year; write the year with four digits"
            )
    else:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; {_DATE_EXAMPLE}")
    try:
        value = date(year, month, day)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: {err}") from None
    first, last = (pd.Timestamp.min + pd.Timedelta(days=1)).date(), pd.Timestamp.max.date()
    if not first <= value <= last:
        raise argparse.ArgumentTypeError(
            f"{text!r} lies outside the dates that can be handled ({first} to {last})"
        )
    return value.isoformat()


def date_format(text: str) -> str:
    """A :func:`~datetime.datetime.strptime` format that reads the day, month and year.

    ``ISO8601`` is accepted as well. The format must write a date and read it back
    unchanged, which refuses unknown directives (``%Q``), formats without a ``%`` and
    formats that leave out part of the date.
    """
    if text == "ISO8601":
        return text
    hint = "e.g. %d.%m.%Y for 30.06.2024, or leave --date-format out to detect the format"
    if not text.strip():
        raise argparse.ArgumentTypeError(f"a format is required; {hint}")
    if text == "mixed":
        raise argparse.ArgumentTypeError(
            f"'mixed' would read each row on its own and swap day and month; {hint}"
        )
    sample = datetime(2024, 3, 15, 13, 45, 30, tzinfo=UTC)
    try:
        read_back = datetime.strptime(sample.strftime(text), text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date format ({err}); {hint}") from None
    if read_back.date() != sample.date():
        raise argparse.ArgumentTypeError(
            f"{text!r} does not hold the day, month and year of a date; {hint}"
        )
    return text


def separator(text: str) -> str:
    """One character that separates the fields of a text file (``tab`` or ``\\t`` for a tab)."""
    value = "\t" if text in ("tab", "\\t") else text
    if len(value) != 1 or value in '\r\n"':
        raise argparse.ArgumentTypeError(
            f"must be one character such as ';' or tab (written tab), got {text!r}"
        )
    return value


def encoding(text: str) -> str:
    """The name of a text encoding Python knows (utf-8, cp1252, latin-1, ...)."""
    try:
        return codecs.lookup(text).name
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"unknown text encoding {text!r}; e.g. utf-8, cp1252 or latin-1"
        ) from None


def input_file(text: str) -> str:
    """A file that exists and can be read."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a file name is required")
    path = Path(text)
    if not _probe(path, Path.is_file):
        problem = "is a folder" if _probe(path, Path.is_dir) else "no such file"
        raise argparse.ArgumentTypeError(f"cannot read '{text}': {problem}")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"cannot read '{text}': no permission")
    return text


def output_file(text: str) -> Path:
    """A file to write: its folder must exist and be writable; it must not be a folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a file name is required")
    path = Path(text)
    if _probe(path, Path.is_dir):
        raise argparse.ArgumentTypeError(
            f"'{path}' is a folder; name a file in it, e.g. '{path / 'out.csv'}'"
        )
    folder = path.parent
    if not _probe(folder, Path.exists):
        raise argparse.ArgumentTypeError(f"folder '{folder}' does not exist; create it first")
    if not _probe(folder, Path.is_dir):
        raise argparse.ArgumentTypeError(f"'{folder}' is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write into folder '{folder}' (no permission)")
    return path


def _probe(path: Path, test: Callable[[Path], bool]) -> bool:
    """``test(path)``, with a name the system refuses (too long, ...) as a message."""
    try:
        return test(path)
    except OSError as err:
        raise argparse.ArgumentTypeError(f"'{path}': {err.strerror or err}") from None


def distinct_files(inputs: Sequence[str | Path], outputs: Mapping[str, Path | None]) -> None:
    """Refuse two outputs that are the same file, or an output that is an input.

    Parameters
    ----------
    inputs : sequence of path
        Files the command reads.
    outputs : mapping
        Option (``"--out"``) -> the file it writes, or None where not given.

    Raises
    ------
    ClvlabError
        Naming the two options.
    """
    seen = {Path(path).resolve(): "FILE" for path in inputs}
    for option, path in outputs.items():
        if path is None:
            continue
        other = seen.setdefault(path.resolve(), option)
        if other != option:
            raise ClvlabError(f"{option} '{path}' is the same file as {other}; choose another name")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def log_source(text: str) -> str:
    """A readable file, a folder (of Parquet files) or a glob that matches files."""
    if any(c in text for c in "*?[") and not Path(text).exists():
        if not glob.glob(text, recursive=True):
            raise argparse.ArgumentTypeError(f"cannot read '{text}': no file matches")
        return text
    if _probe(Path(text), Path.is_dir):
        return text
    return input_file(text)
