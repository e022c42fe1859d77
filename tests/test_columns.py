"""Column detection: English and German names, overrides, price x quantity, ambiguity."""

from __future__ import annotations

import pandas as pd
import pytest

from clvlab import columns, transactions
from clvlab.errors import DataValidationError


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["customer_id", "master_id", "date", "quantity", "amount"],
         ("customer_id", "date", "amount")),
        (["Kundennummer", "Bestelldatum", "Umsatz"], ("Kundennummer", "Bestelldatum", "Umsatz")),
        (["Kunde", "Datum", "Betrag (EUR)"], ("Kunde", "Datum", "Betrag (EUR)")),
        (["Client", "Invoice Date", "Revenue"], ("Client", "Invoice Date", "Revenue")),
        (["Kunden-Nr.", "Rechnungsdatum", "Gesamtbetrag"],
         ("Kunden-Nr.", "Rechnungsdatum", "Gesamtbetrag")),
        # keyword level: names not in the list but containing a word for the role
        (["customer_key", "order_date_utc", "amount_eur"],
         ("customer_key", "order_date_utc", "amount_eur")),
    ],
)  # fmt: skip
def test_detects_common_english_and_german_names(names, expected):
    chosen = columns.detect(names)
    assert (chosen.customer, chosen.date, chosen.amount) == expected
    assert all(reason.startswith("detected") for reason in chosen.reasons.values())


def test_a_known_name_wins_over_a_name_that_only_contains_the_word():
    chosen = columns.detect(["Kunde", "Kundenname", "Datum", "Umsatz"])
    assert chosen.customer == "Kunde"


def test_given_names_win_and_are_reported_as_given():
    chosen = columns.detect(["id", "when", "Umsatz", "Betrag"], "id", "when", "Betrag")
    assert (chosen.customer, chosen.date, chosen.amount) == ("id", "when", "Betrag")
    assert chosen.reasons["customer"] == "given with --customer-col"
    assert "'Betrag' (given with --amount-col)" in str(chosen)


def test_a_given_column_that_is_not_there_is_an_error_listing_the_columns():
    with pytest.raises(DataValidationError, match=r"'Kunde' given with --customer-col .*'id'"):
        columns.detect(["id", "Datum"], customer="Kunde")


def test_two_equally_good_columns_are_ambiguous_and_listed():
    with pytest.raises(
        DataValidationError,
        match=r"several columns could be the purchase date: 'Bestelldatum', 'Rechnungsdatum'; "
        r"name one with --date-col",
    ):
        columns.detect(["Kunde", "Bestelldatum", "Rechnungsdatum", "Umsatz"])


def test_no_customer_column_is_an_error_naming_the_option():
    with pytest.raises(DataValidationError, match=r"no customer id column .*--customer-col"):
        columns.detect(["Datum", "Umsatz"])


def test_a_column_serves_one_role_only():
    # "Kundendatum" contains a word for the customer and for the date; "Kunde" is the id.
    chosen = columns.detect(["Kunde", "Kundendatum", "Umsatz"])
    assert (chosen.customer, chosen.date) == ("Kunde", "Kundendatum")


def test_price_times_quantity_when_there_is_no_amount():
    raw = pd.DataFrame(
        {
            "Kunde": ["007", "007", "12"],
            "Datum": ["01.02.2024", "2024-02-03", "05.02.2024"],
            "Einzelpreis": ["1,50", "2,00", "x"],
            "Menge": ["2", "3", "1"],
        }
    )
    chosen = columns.detect(raw.columns)
    assert chosen.amount == columns.PRICE_TIMES_QUANTITY
    assert (chosen.price, chosen.quantity) == ("Einzelpreis", "Menge")
    assert "times 'Menge'" in chosen.reasons["amount"]
    table = columns.amounts(raw, chosen)
    assert table[columns.PRICE_TIMES_QUANTITY].tolist()[:2] == [3.0, 6.0]
    log, report = transactions.validate(table, chosen.customer, chosen.date, chosen.amount)
    assert report.removed["bad_amount"] == 1 and log["customer_id"].tolist() == ["007", "007"]


def test_an_amount_column_wins_over_price_and_quantity():
    chosen = columns.detect(["customer_id", "date", "quantity", "price", "amount"])
    assert chosen.amount == "amount" and chosen.price is None and chosen.quantity is None
    assert columns.amounts(pd.DataFrame(columns=["amount"]), chosen).columns.tolist() == ["amount"]


def test_no_amount_is_none_with_the_reason():
    chosen = columns.detect(["Kunde", "Datum", "Menge"])
    assert chosen.amount is None and "--amount-col" in chosen.reasons["amount"]
    assert "amount      none" in str(chosen)


def test_the_amount_can_be_left_alone():
    # Two amount-like columns are no problem when the amount is not looked for.
    chosen = columns.detect(["Kunde", "Datum", "Umsatz", "Betrag"], find_amount=False)
    assert (chosen.customer, chosen.date, chosen.amount) == ("Kunde", "Datum", None)
    assert "not looked for" in chosen.reasons["amount"]
