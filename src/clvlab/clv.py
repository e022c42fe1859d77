"""The simple CLV formula of the practitioner articles, with one definition of its factors.

.. math::

    \\text{CLV} = \\underbrace{\\frac{R}{O}}_{\\text{average order value}}
    \\times \\underbrace{\\frac{O}{E}}_{\\text{purchase frequency}}
    \\times L = \\frac{R}{E}\\, L,

where an *order* is everything one customer bought on one day (same-day purchases merged,
as in :func:`clvlab.rfm.purchase_periods`), :math:`O` is the number of orders and :math:`R`
their revenue up to the end of the observation window, :math:`E = \\sum_i e_i` the
customer-years of observation (customer :math:`i` is observed from the first purchase to the
end of the window, :math:`e_i` years of 365.25 days) and :math:`L` the assumed lifespan in
years. The first two factors multiply to the revenue per customer-year.
"""

from __future__ import annotations

import pandas as pd

from clvlab import rfm

DAYS_PER_YEAR = 365.25


def simple_clv(
    log: pd.DataFrame, lifespan: float, end: str | pd.Timestamp | None = None
) -> pd.Series:
    """Average order value, purchase frequency and the simple CLV of a transaction log.

    Parameters
    ----------
    log : pandas.DataFrame
        A clean log with ``customer_id``, ``date`` and ``amount`` (see
        :func:`clvlab.transactions.validate`).
    lifespan : float
        Assumed customer lifespan :math:`L` in years (the data cannot tell it).
    end : str or Timestamp, optional
        Last day of the observation window (inclusive); purchases after it are ignored.
        Default: the last purchase date in the log.

    Returns
    -------
    pandas.Series
        ``customers``, ``orders``, ``revenue``, ``customer_years`` (:math:`E`),
        ``average_order_value`` (:math:`R/O`), ``purchase_frequency`` (orders per
        customer-year, :math:`O/E`), ``revenue_per_customer_year`` (:math:`R/E`),
        ``lifespan`` and ``clv`` (:math:`R L / E`).
    """
    if lifespan <= 0:
        raise ValueError(f"lifespan must be a positive number of years, got {lifespan}")
    orders = rfm.purchase_periods(log)
    last_day = orders["date"].max() if end is None else pd.Timestamp(end)
    orders = orders[orders["date"] <= last_day]
    if orders.empty:
        raise ValueError(f"no purchases on or before {last_day.date()}; pass a later end")
    first = orders.groupby("customer_id")["date"].min()
    customer_years = float(((last_day - first).dt.days + 1).sum()) / DAYS_PER_YEAR
    revenue = float(orders["amount"].sum())
    per_year = revenue / customer_years
    return pd.Series(
        {
            "customers": len(first),
            "orders": len(orders),
            "revenue": revenue,
            "customer_years": customer_years,
            "average_order_value": revenue / len(orders),
            "purchase_frequency": len(orders) / customer_years,
            "revenue_per_customer_year": per_year,
            "lifespan": float(lifespan),
            "clv": per_year * lifespan,
        }
    )
