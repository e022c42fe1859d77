"""A messy CRM export, built here, goes through clvlab without losing a customer silently.

German column names, Windows-1252 text, ids with leading zeros, a fifth of the dates
written dd.mm.yyyy among ISO dates, German amounts with a euro sign, exact duplicates and
duplicates that differ only in how the date is written, returns, blank ids, text in the
amount column, customers whose every row is bad and customers whose orders are all free.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clvlab import rfm, transactions
from clvlab.cli import main

N_CUSTOMERS = 300


def _euro(value: float) -> str:
    return f"{value:,.2f} €".replace(",", "X").replace(".", ",").replace("X", ".")


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """The export file and what it holds, row by row, as the generator knows it."""
    rng = np.random.default_rng(9)
    start = dt.date(2023, 1, 1)
    rows = []  # (id, date, amount or None, kind)
    for n in range(N_CUSTOMERS):
        customer = f"{n:06d}"
        for _ in range(rng.integers(1, 6)):
            day = start + dt.timedelta(days=int(rng.integers(0, 540)))
            rows.append((customer, day, round(float(rng.uniform(1, 2500)), 2), "purchase"))
    # A return for every tenth customer, on the day of their last purchase.
    for n in range(0, N_CUSTOMERS, 10):
        mine = [r for r in rows if r[0] == f"{n:06d}"]
        last = max(mine, key=lambda r: r[1])
        rows.append((last[0], last[1], -min(last[2], 10.0), "return"))
    rows += [("", start, 10.0, "blank id"), ("   ", start, 12.0, "blank id")]
    rows += [("000007", start, None, "text amount"), ("000011", start, None, "text amount")]
    # Customers with only bad rows: text amounts, a return only, a blank date.
    rows += [("900001", start, None, "text amount"), ("900002", start, -5.0, "return")]
    rows += [("900003", None, 5.0, "bad date")]
    rows += [
        ("900004", start, 0.0, "purchase"),
        ("900004", start + dt.timedelta(1), 0.0, "purchase"),
    ]
    frame = pd.DataFrame(rows, columns=["id", "date", "amount", "kind"])
    german = rng.random(len(frame)) < 0.2
    written_dates = [
        "" if d is None else (d.strftime("%d.%m.%Y") if g else d.isoformat())
        for d, g in zip(frame["date"], german, strict=True)
    ]
    written_amounts = [
        ("storniert" if i % 2 else "k.A.") if a is None or np.isnan(a) else _euro(a)
        for i, a in enumerate(frame["amount"])
    ]
    table = pd.DataFrame(
        {
            "Kundennummer": frame["id"],
            "Bestelldatum": written_dates,
            "Betrag": written_amounts,
            "Filiale": "Köln",
        }
    )
    # Duplicates: 8 exact copies and 4 copies with the date written the other way.
    exact = table.iloc[:8]
    other = table.iloc[20:24].copy()
    other["Bestelldatum"] = [
        pd.Timestamp(d).strftime("%d.%m.%Y")
        if "-" in d
        else pd.Timestamp(dt.datetime.strptime(d, "%d.%m.%Y")).date().isoformat()
        for d in other["Bestelldatum"]
    ]
    table = pd.concat([table, exact, other], ignore_index=True)
    frame = pd.concat([frame, frame.iloc[:8], frame.iloc[20:24]], ignore_index=True)
    frame.loc[len(frame) - 12 :, "kind"] = "duplicate"
    path = tmp_path_factory.mktemp("export") / "Umsätze.csv"
    table.to_csv(path, sep=";", index=False, encoding="cp1252")
    return path, frame


def test_every_customer_with_a_valid_purchase_comes_out(export):
    path, frame = export
    raw = transactions.read(path)
    log, report = transactions.validate(
        raw, "Kundennummer", "Bestelldatum", "Betrag", policy={"duplicate": "drop"}
    )
    kinds = frame["kind"].value_counts()
    assert report.rows_in == len(frame) and report.reconciles
    assert report.removed == {
        "missing_customer": kinds["blank id"],
        "bad_date": kinds["bad date"],
        "bad_amount": kinds["text amount"],
        "duplicate": kinds["duplicate"],
        "negative_amount": kinds["return"],
    }
    valid = frame[(frame["kind"] == "purchase") & frame["date"].notna()]
    assert sorted(log["customer_id"].unique()) == sorted(valid["id"].unique())
    assert log["customer_id"].str.len().eq(6).all()  # leading zeros kept

    written = frame.loc[frame["id"].str.strip() != "", "id"]
    assert report.customers_in == written.nunique()
    assert report.customers_kept == valid["id"].nunique()
    assert report.customers_lost == {
        "missing_customer": 0,
        "bad_date": 1,
        "bad_amount": 1,
        "duplicate": 0,
        "negative_amount": 1,
    }
    assert sorted(report.lost_examples) == ["900001", "900002", "900003"]
    assert report.zero_amount_customers == 1 and report.zero_amount_examples == ["900004"]
    assert report.date_formats["%d.%m.%Y"] > 0.15 * len(frame)
    assert sum(report.date_formats.values()) == len(frame) - kinds["bad date"]
    assert report.source["encoding"].startswith("cp1252")

    summary = rfm.summarize(log)
    assert sorted(summary["customer_id"]) == sorted(valid["id"].unique())
    table = report.to_frame()
    assert table.loc[("rows", "total"), "count"] == len(frame)
    customers = table.loc["customers", "count"]
    assert customers.drop(["total", "zero_amount"]).sum() == customers["total"]
    text = str(report)
    assert f"customers: {report.customers_in} ids in the file" in text
    assert "lost entirely (e.g. '900003', '900001', '900002')" in text  # by reason
    assert "rows %d.%m.%Y" in text and "revenue: gross" in text


def test_the_command_line_takes_the_same_export(export, tmp_path, capsys):
    path, frame = export
    out = tmp_path / "rfm.csv"
    argv = [
        "summarize",
        str(path),
        "--customer-col",
        "Kundennummer",
        "--date-col",
        "Bestelldatum",
        "--amount-col",
        "Betrag",
        "--calibration-end",
        "2024-06-30",
        "--returns",
        "net",
        "--duplicates",
        "drop",
        "--encoding",
        "cp1252",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "netted against the same customer's purchases" in printed
    assert "encoding cp1252 (given)" in printed
    summary = pd.read_csv(out, dtype={"customer_id": str})
    valid = frame[(frame["kind"] == "purchase") & frame["date"].notna()]
    assert set(summary["customer_id"]) <= set(valid["id"])
    assert summary["customer_id"].str.len().eq(6).all()
