"""A first exploratory look at a transaction log, as tidy frames.

Each function takes a clean log (see :func:`clvlab.transactions.validate`) and returns a
long-format :class:`~pandas.DataFrame` that seaborn plots directly
(:mod:`clvlab.plots.explore`). Same-day purchases are merged first, as in :mod:`clvlab.rfm`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clvlab.rfm import TIME_UNITS, purchase_periods


def purchases_per_customer(log: pd.DataFrame) -> pd.DataFrame:
    """How many customers made 1, 2, 3, ... purchases (purchase days) in the log.

    Returns
    -------
    DataFrame
        ``purchases`` and ``customers``, one row per observed number of purchases.
    """
    counts = purchase_periods(log, amount=None).groupby("customer_id").size()
    table = counts.value_counts().sort_index().rename_axis("purchases")
    return table.rename("customers").reset_index()


def interpurchase_times(
    log: pd.DataFrame, time_unit: str = "D", as_of: str | pd.Timestamp | None = None
) -> pd.DataFrame:
    """Time between consecutive purchase days of each customer.

    Parameters
    ----------
    log : DataFrame
        A clean transaction log.
    time_unit : {"D", "W"}
        Unit of the gaps: days or weeks.
    as_of : date-like, optional
        Use only the purchases on or before this day (default: all).

    Returns
    -------
    DataFrame
        ``customer_id``, ``purchase`` (2 for the gap before the second purchase, ...) and
        ``gap`` in ``time_unit``. Customers with a single purchase have no gap and no row.
    """
    periods = purchase_periods(log, amount=None)
    if as_of is not None:
        periods = periods[periods["date"] <= pd.Timestamp(as_of)]
    ids = periods["customer_id"].to_numpy()
    days = periods["date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    same = ids[1:] == ids[:-1]
    number = periods.groupby("customer_id").cumcount().to_numpy() + 1
    return pd.DataFrame(
        {
            "customer_id": ids[1:][same],
            "purchase": number[1:][same],
            "gap": np.diff(days)[same] / TIME_UNITS[time_unit],
        }
    )


def cohort_sizes(log: pd.DataFrame, freq: str = "W") -> pd.DataFrame:
    """New customers per period of first purchase (acquisition cohorts).

    Parameters
    ----------
    freq : str
        A pandas period alias: ``"D"``, ``"W"`` (weeks starting Monday) or ``"M"``.

    Returns
    -------
    DataFrame
        ``cohort`` (start of the period) and ``customers``, with empty periods as 0.
    """
    first = log.groupby("customer_id")["date"].min()
    cohorts = first.dt.to_period(freq).value_counts().sort_index()
    full = pd.period_range(cohorts.index.min(), cohorts.index.max(), freq=cohorts.index.freq)
    cohorts = cohorts.reindex(full, fill_value=0)
    return pd.DataFrame(
        {"cohort": cohorts.index.start_time, "customers": cohorts.to_numpy(dtype=np.int64)}
    )
