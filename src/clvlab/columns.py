"""Which column of a raw export holds the customer, the date and the amount.

Exports name their columns in their own words and language: ``Kundennummer``,
``Rechnungsdatum``, ``Umsatz``, ``Customer ID``, ``InvoiceDate``, ``Revenue``. :func:`detect`
finds the three roles from the column names, always second to a name given by the user,
and says for each what it chose and why (:class:`Columns`):

1. a name given by the user is taken as it is (it must exist);
2. otherwise a column whose name, normalised (lower case, umlauts spelled out, every run
   of other characters one ``_``), is one of the known names of the role
   (:data:`KNOWN_NAMES`), English or German;
3. otherwise a column whose normalised name contains a keyword of the role
   (:data:`KEYWORDS`), such as ``kunde`` in ``kunden_nr`` or ``date`` in ``order_date_utc``.

Two or more columns at the first level that matches are ambiguous: :func:`detect` stops
and lists them, with the option that settles it. A column is used for one role only.

Logs without an amount column but with a unit price and a quantity get the amount as
price x quantity (:func:`amounts`), both parsed like any amount (decimal commas, currency
signs); a row whose price or quantity cannot be read has no amount and is counted as a
bad amount by :func:`clvlab.transactions.validate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from clvlab.errors import DataValidationError
from clvlab.parsing import parse_amounts

ROLES: tuple[str, ...] = ("customer", "date", "amount", "price", "quantity")
"""The roles a column can play; price and quantity only stand in for a missing amount."""

OPTIONS: dict[str, str] = {
    "customer": "--customer-col",
    "date": "--date-col",
    "amount": "--amount-col",
    "price": "--amount-col",
    "quantity": "--amount-col",
}
"""The command-line option that names each role's column (price and quantity: pass the
amount instead)."""

KNOWN_NAMES: dict[str, tuple[str, ...]] = {
    "customer": (
        "customer_id", "customer", "customerid", "customer_no", "customer_number", "cust_id",
        "client", "client_id", "clientid", "client_number", "buyer_id", "user_id",
        "kunde", "kunden_id", "kundenid", "kundennummer", "kundennr", "kunden_nr", "kd_nr",
    ),
    "date": (
        "date", "order_date", "orderdate", "invoice_date", "invoicedate", "purchase_date",
        "transaction_date", "sale_date", "datum", "bestelldatum", "rechnungsdatum",
        "kaufdatum", "belegdatum", "auftragsdatum",
    ),
    "amount": (
        "amount", "revenue", "sales", "total", "order_value", "value", "spend", "net_amount",
        "gross_amount", "umsatz", "betrag", "gesamtbetrag", "nettobetrag", "bruttobetrag",
        "wert", "summe", "rechnungsbetrag",
    ),
    "price": ("price", "unit_price", "unitprice", "preis", "einzelpreis", "stueckpreis"),
    "quantity": ("quantity", "qty", "units", "menge", "anzahl", "stueckzahl"),
}  # fmt: skip
"""Normalised column names that mean the role, English and German."""

KEYWORDS: dict[str, tuple[str, ...]] = {
    "customer": ("customer", "client", "kunde", "kunden"),
    "date": ("date", "datum"),
    "amount": ("amount", "revenue", "umsatz", "betrag"),
    "price": ("price", "preis"),
    "quantity": ("quantity", "menge"),
}
"""Parts of a normalised name that point at the role when no known name is present."""

PRICE_TIMES_QUANTITY = "price x quantity"
"""Name of the amount column :func:`amounts` adds to a log without one."""


@dataclass
class Columns:
    """The columns chosen for each role, and why.

    Attributes
    ----------
    customer, date : str
        Column names in the raw log.
    amount : str or None
        The amount column, :data:`PRICE_TIMES_QUANTITY` when it is computed from
        ``price`` and ``quantity``, or None when the log has no amounts.
    price, quantity : str or None
        The columns multiplied into the amount (else None).
    reasons : dict
        Role -> why its column was chosen (or why there is none).
    """

    customer: str
    date: str
    amount: str | None = None
    price: str | None = None
    quantity: str | None = None
    reasons: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = ["Columns:"]
        for role, label in (("customer", "customer id"), ("date", "date"), ("amount", "amount")):
            chosen = getattr(self, role)
            name = f"'{chosen}'" if chosen else "none"
            lines.append(f"  {label:<11} {name} ({self.reasons[role]})")
        return "\n".join(lines)


def normalise(name: object) -> str:
    """A column name in lower case with umlauts spelled out and other characters as ``_``.

    >>> normalise("Kunden-Nr.")
    'kunden_nr'
    >>> normalise("  Stückpreis (EUR) ")
    'stueckpreis_eur'
    >>> normalise("InvoiceDate")
    'invoicedate'
    """
    text = str(name).strip().lower()
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, spelled)
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def detect(
    columns: list[str] | pd.Index,
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    *,
    find_amount: bool = True,
) -> Columns:
    """Choose the customer, date and amount columns among ``columns``.

    Parameters
    ----------
    columns : list of str
        The column names of the raw log.
    customer, date, amount : str, optional
        Column names given by the user; they win over detection and must exist.
    find_amount : bool
        Look for an amount (or price and quantity) column when none is given; False
        leaves the amount as given (for uses where it is optional).

    Returns
    -------
    Columns
        The chosen names with the reason for each. Without an amount column, price and
        quantity columns (both found) give the amount as their product; without those, the
        amount is None.

    Raises
    ------
    DataValidationError
        A given column does not exist, no customer or date column is found, or two columns
        fit one role equally well; the message lists the columns and the option to pass.

    Examples
    --------
    >>> chosen = detect(["Kundennummer", "Bestelldatum", "Umsatz (EUR)"])
    >>> chosen.customer, chosen.date, chosen.amount
    ('Kundennummer', 'Bestelldatum', 'Umsatz (EUR)')
    """
    names = [str(c) for c in columns]
    given = {"customer": customer, "date": date, "amount": amount}
    chosen: dict[str, str | None] = {}
    reasons: dict[str, str] = {}
    for role, name in given.items():
        if name is None:
            continue
        if name not in names:
            raise DataValidationError(
                f"column '{name}' given with {OPTIONS[role]} is not in the file; its columns "
                f"are {_listing(names)}"
            )
        chosen[role], reasons[role] = name, f"given with {OPTIONS[role]}"
    roles = ROLES if find_amount else ("customer", "date")
    for role in roles:
        if role in chosen or (role in ("price", "quantity") and chosen.get("amount")):
            continue
        taken = {c for c in chosen.values() if c}
        found, why = _find(role, [n for n in names if n not in taken])
        chosen[role], reasons[role] = found, why
        if found is None and role in ("customer", "date"):
            raise DataValidationError(
                f"no {_LABELS[role]} column found among {_listing(names)}; name it with "
                f"{OPTIONS[role]}"
            )
    price, quantity = chosen.get("price"), chosen.get("quantity")
    if chosen.get("amount") is None and price and quantity:
        chosen["amount"] = PRICE_TIMES_QUANTITY
        reasons["amount"] = (
            f"no amount column; computed as '{price}' ({reasons['price']}) times "
            f"'{quantity}' ({reasons['quantity']})"
        )
    elif chosen.get("amount") is None and not find_amount:
        price = quantity = None
        reasons["amount"] = "not looked for; name it with --amount-col"
    elif chosen.get("amount") is None:
        price = quantity = None
        reasons["amount"] = (
            f"no amount, revenue or price x quantity column found among {_listing(names)}; "
            "name it with --amount-col"
        )
    else:
        price = quantity = None
    return Columns(
        customer=chosen["customer"],
        date=chosen["date"],
        amount=chosen.get("amount"),
        price=price,
        quantity=quantity,
        reasons=reasons,
    )


_LABELS = {
    "customer": "customer id",
    "date": "purchase date",
    "amount": "amount",
    "price": "price",
    "quantity": "quantity",
}


def _find(role: str, names: list[str]) -> tuple[str | None, str]:
    """The one column of ``names`` that fits ``role`` best, and why; None if none does."""
    normal = {name: normalise(name) for name in names}
    levels = (
        ([n for n in names if normal[n] in KNOWN_NAMES[role]], "a known name for the {}"),
        (
            [n for n in names if any(k in normal[n] for k in KEYWORDS[role])],
            "the only name containing a word for the {}",
        ),
    )
    for matches, why in levels:
        if len(matches) == 1:
            return matches[0], "detected: " + why.format(_LABELS[role])
        if len(matches) > 1:
            raise DataValidationError(
                f"several columns could be the {_LABELS[role]}: {_listing(matches)}; name "
                f"one with {OPTIONS[role]}"
            )
    return None, f"no column looks like the {_LABELS[role]}"


def _listing(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names) if names else "(none)"


def amounts(raw: pd.DataFrame, chosen: Columns, decimal: str | None = None) -> pd.DataFrame:
    """``raw`` with the amount column :data:`PRICE_TIMES_QUANTITY` added where ``chosen``
    computes it; otherwise ``raw`` itself.

    Price and quantity are parsed by :func:`clvlab.parsing.parse_amounts` (each column by
    its own convention unless ``decimal`` is given); a row where either cannot be read gets
    no amount, which :func:`clvlab.transactions.validate` counts as a bad amount.
    """
    if chosen.amount != PRICE_TIMES_QUANTITY:
        return raw
    price = parse_amounts(raw[chosen.price], column=chosen.price, decimal=decimal).values
    quantity = parse_amounts(raw[chosen.quantity], column=chosen.quantity, decimal=decimal)
    table = raw.copy()
    table[PRICE_TIMES_QUANTITY] = (price * quantity.values).astype("Float64")
    return table
