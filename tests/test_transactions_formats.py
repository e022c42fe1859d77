"""Property test: logs written in real export formats summarise like the data behind them.

Each example draws customers and purchases, writes them as a real export would (id styles
with leading zeros and long numbers, date styles including mixed columns, amount
conventions, separators, compression, encodings), reads and validates the file with
clvlab and compares :func:`clvlab.rfm.summarize` with a plain-Python summary of the
generating data, customer by customer.
"""

from __future__ import annotations

import bz2
import csv
import datetime as dt
import gzip
import io
import lzma
import zipfile
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clvlab import rfm, transactions

START = dt.date(2020, 1, 1)
CALIBRATION_END = dt.date(2023, 6, 30)
EXCEL_EPOCH = dt.date(1899, 12, 30)

ID_STYLES = {
    "digits": lambda n: str(100 + n),
    "leading zeros": lambda n: f"{n:06d}",
    "both": lambda n: f"{n // 2:05d}" if n % 2 else str(n // 2),  # 00003 and 3 differ
    "long": lambda n: str(2**53 + n),  # floats would merge neighbours
    "text": lambda n: f"K-{n}",
}
DATE_STYLES = {
    "iso": lambda d: d.isoformat(),
    "iso time": lambda d: f"{d.isoformat()}T10:30:00+01:00",
    "german": lambda d: d.strftime("%d.%m.%Y"),
    "compact": lambda d: d.strftime("%Y%m%d"),
    "excel": lambda d: str((d - EXCEL_EPOCH).days),
    "us": lambda d: d.strftime("%m/%d/%Y"),
    "british short": lambda d: d.strftime("%d/%m/%y"),
}
MIXABLE = ("iso", "german", "compact", "excel")


def _grouped(cents: int, thousands: str, decimal: str) -> str:
    whole, rest = divmod(cents, 100)
    return f"{whole:,}".replace(",", thousands) + f"{decimal}{rest:02d}"


AMOUNT_STYLES = {
    "point": lambda c: _grouped(c, "", "."),
    "comma euro": lambda c: _grouped(c, "", ",") + " €",
    "german": lambda c: _grouped(c, ".", ","),
    "us dollars": lambda c: "$" + _grouped(c, ",", "."),
    "swiss": lambda c: "CHF " + _grouped(c, "'", "."),
    "krona": lambda c: "kr " + _grouped(c, " ", ","),
}
COMPRESSORS = {
    "": lambda data, name: data,
    ".gz": lambda data, name: gzip.compress(data),
    ".bz2": lambda data, name: bz2.compress(data),
    ".xz": lambda data, name: lzma.compress(data),
    ".zip": lambda data, name: _zipped(data, name),
}


def _zipped(data: bytes, name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


purchases = st.lists(
    st.tuples(
        st.integers(0, 11),  # customer number
        st.integers(0, 4 * 365),  # day after START
        st.integers(0, 250_000_00),  # cents
    ),
    min_size=1,
    max_size=40,
)


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=purchases,
    id_style=st.sampled_from(sorted(ID_STYLES)),
    date_style=st.sampled_from([*sorted(DATE_STYLES), "mixed"]),
    mixed=st.lists(st.sampled_from(MIXABLE), min_size=40, max_size=40),
    amount_style=st.sampled_from(sorted(AMOUNT_STYLES)),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    compression=st.sampled_from(sorted(COMPRESSORS)),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_summary_matches_the_generating_data(
    tmp_path, rows, id_style, date_style, mixed, amount_style, sep, compression, encoding
):
    ids = [ID_STYLES[id_style](customer) for customer, _, _ in rows]
    days = [START + dt.timedelta(days=day) for _, day, _ in rows]
    if date_style == "mixed":
        written = [DATE_STYLES[mixed[i]](d) for i, d in enumerate(days)]
    else:
        written = [DATE_STYLES[date_style](d) for d in days]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\n")
    writer.writerow(["Kundennr", "Bestelldatum", "Betrag", "Straße"])
    for i, (_, _, cents) in enumerate(rows):
        writer.writerow([ids[i], written[i], AMOUNT_STYLES[amount_style](cents), "Hauptstraße"])
    path = tmp_path / f"export.csv{compression}"
    path.write_bytes(COMPRESSORS[compression](buffer.getvalue().encode(encoding), "export.csv"))

    date_format = None
    if date_style in ("us", "british short") and not _evidence(days, date_style):
        date_format = {"us": "%m/%d/%Y", "british short": "%d/%m/%y"}[date_style]
    raw = transactions.read(path)
    assert raw.attrs["source"]["encoding"].startswith("cp1252" if encoding == "cp1252" else "utf")
    log, report = transactions.validate(
        raw, "Kundennr", "Bestelldatum", "Betrag", date_format=date_format
    )
    assert report.reconciles and report.rows_in == len(rows) and report.rows_removed == 0
    assert report.customers_in == report.customers_kept == len(set(ids))

    expected = _summary(ids, days, [cents for _, _, cents in rows])
    if not expected:
        return
    summary = rfm.summarize(log, CALIBRATION_END.isoformat(), time_unit="D")
    actual = summary.set_index("customer_id")
    assert sorted(actual.index) == sorted(expected)
    for customer, (frequency, recency, age, value) in expected.items():
        row = actual.loc[customer]
        assert row["frequency"] == frequency, customer
        assert row["recency"] == recency and row["T"] == age, customer
        assert row["monetary_value"] == pytest.approx(value, rel=1e-12, abs=1e-9), customer


def _evidence(days: list[dt.date], style: str) -> bool:
    """Whether a day above 12 shows the day/month order (else the column is ambiguous)."""
    return any(d.day > 12 for d in days)


def _summary(
    ids: list[str], days: list[dt.date], cents: list[int]
) -> dict[str, tuple[int, int, int, float]]:
    """Frequency, recency and T in days and mean repeat value per customer, by hand."""
    totals: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    for customer, day, amount in zip(ids, days, cents, strict=True):
        totals[customer][day] += amount
    summary = {}
    for customer, by_day in totals.items():
        first = min(by_day)
        if first > CALIBRATION_END:
            continue
        repeat = [d for d in sorted(by_day) if first < d <= CALIBRATION_END]
        value = sum(by_day[d] for d in repeat) / 100 / len(repeat) if repeat else 0.0
        recency = (repeat[-1] - first).days if repeat else 0
        summary[customer] = (len(repeat), recency, (CALIBRATION_END - first).days, value)
    return summary
