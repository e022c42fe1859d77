"""Data sets of the CLV literature, and a simulator of transaction logs.

The files live in the repository's ``data/`` folder (see ``data/README.md`` for sources and
citations); wheels carry a copy inside the package (``clvlab/data/``, copied by
``setup.py``), so the loaders work from any working directory, installed or in a checkout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError

#: Where the data files are: inside an installed wheel, then in a source checkout.
DATA_DIRS = (Path(__file__).parent / "data", Path(__file__).parents[2] / "data")


def data_path(name: str) -> Path:
    """Path of a file in clvlab's data folder: the installed package's copy (a wheel), or
    the repository's ``data/`` (a source checkout or editable install)."""
    for folder in DATA_DIRS:
        if (folder / name).is_file():
            return folder / name
    places = " or ".join(str(folder) for folder in DATA_DIRS)
    raise FileNotFoundError(f"clvlab data file '{name}' not found in {places}")


def load_cdnow() -> pd.DataFrame:
    """The CDNOW sample: 6,919 purchases of 2,357 customers who first bought in Q1 1997.

    Returns
    -------
    DataFrame
        ``customer_id`` (sample id 1-2357, as text like every customer id in clvlab),
        ``master_id``, ``date`` (datetime64),
        ``quantity`` (CDs) and ``amount`` (US dollars), 1997-01-01 to 1998-06-30.
    """
    return pd.read_csv(
        data_path("cdnow_transactions.csv"),
        dtype={"customer_id": "string", "master_id": "string"},
        parse_dates=["date"],
    )


def load_cdnow_summary() -> pd.DataFrame:
    """The published per-customer calibration summary of the CDNOW sample (weeks).

    Calibration ends 1997-09-30 (FHL 2005). Values are rounded to 2 decimals in the source.

    Returns
    -------
    DataFrame
        ``customer_id`` (text, as in :func:`load_cdnow`), ``frequency`` (x), ``recency``
        (t_x), ``T`` and ``monetary_value`` (zbar, mean repeat-purchase value).
    """
    summary = pd.read_csv(data_path("cdnow_summary_reference.csv"), dtype={"ID": "string"})
    return summary.rename(
        columns={"ID": "customer_id", "x": "frequency", "t_x": "recency", "zbar": "monetary_value"}
    )


def load_donations() -> pd.DataFrame:
    """Repeat donations of 11,104 first-time donors over 6 annual opportunities (BG/BB).

    Returns
    -------
    DataFrame
        ``frequency``, ``recency``, ``periods`` and ``weights`` (number of donors with that
        pattern); Fader, Hardie & Shang (2010).
    """
    return pd.read_csv(data_path("donations_summary.csv"))


def load_sbg_retention() -> pd.DataFrame:
    """Survivors per 1,000 customers of two contract cohorts by year (Fader & Hardie 2007).

    Returns
    -------
    DataFrame
        ``year`` (0-12), ``regular`` and ``high_end``.
    """
    return pd.read_csv(data_path("sbg_retention.csv"))


def load_grocery() -> pd.DataFrame:
    """Purchase days of 1,525 customers of an online grocery, 2006-2007 (no amounts).

    Returns
    -------
    DataFrame
        ``customer_id`` and ``date`` (datetime64); ``groceryElog`` of BTYDplus.
    """
    log = pd.read_csv(
        data_path("grocery_transactions.csv"), dtype={"cust": "string"}, parse_dates=["date"]
    )
    return log.rename(columns={"cust": "customer_id"})


def load_apparel(covariates: bool = False) -> pd.DataFrame:
    """Purchases of 600 customers of an apparel retailer, 2005-2010 (``apparelTrans``).

    Parameters
    ----------
    covariates : bool
        If True, return the per-customer static covariates (``customer_id``, ``gender``,
        ``channel``) instead of the transactions.

    Returns
    -------
    DataFrame
        ``customer_id``, ``date`` (datetime64) and ``amount``.
    """
    if covariates:
        table = pd.read_csv(data_path("apparel_static_covariates.csv"), dtype={"Id": "string"})
        return table.rename(columns={"Id": "customer_id", "Gender": "gender", "Channel": "channel"})
    log = pd.read_csv(
        data_path("apparel_transactions.csv"), dtype={"Id": "string"}, parse_dates=["Date"]
    )
    return log.rename(columns={"Id": "customer_id", "Date": "date", "Price": "amount"})


def simulate_transactions(
    n_customers: int = 1000,
    *,
    r: float = 0.25,
    alpha: float = 4.0,
    a: float = 0.8,
    b: float = 2.4,
    p: float = 6.0,
    q: float = 4.0,
    gamma: float = 15.0,
    start: str = "2024-01-01",
    acquisition_days: int = 84,
    observation_days: int = 546,
    seed: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Simulate a transaction log from BG/NBD buying and dropout with Gamma-Gamma spend.

    Each customer :math:`i` is acquired (first purchase) on a day drawn uniformly from the
    first ``acquisition_days`` days, then

    * buys at rate :math:`\\lambda_i \\sim \\text{Gamma}(r, \\text{rate}=\\alpha)` per week
      (a Poisson process) while alive,
    * becomes inactive after each repeat purchase with probability
      :math:`p_i \\sim \\text{Beta}(a, b)` (Fader, Hardie & Lee 2005),
    * spends :math:`z \\sim \\text{Gamma}(p, \\text{rate}=\\nu_i)` per purchase with
      :math:`\\nu_i \\sim \\text{Gamma}(q, \\text{rate}=\\gamma)`, so the mean spend is
      :math:`p \\gamma / (q - 1)` (Fader, Hardie & Lee 2005, JMR).

    The log runs to ``start + observation_days``. Purchase times are rounded down to days,
    so two purchases can share a day, as in real logs.

    Parameters
    ----------
    n_customers : int
        Number of customers.
    r, alpha, a, b : float
        BG/NBD parameters, with time in weeks (defaults close to CDNOW's).
    p, q, gamma : float
        Gamma-Gamma spend parameters (defaults close to CDNOW's).
    start : str
        Date of the first possible purchase.
    acquisition_days, observation_days : int
        Length of the acquisition window and of the whole log, in days.
    seed : int or Generator, optional
        Seed for reproducible logs.

    Returns
    -------
    DataFrame
        ``customer_id`` (1..n), ``date`` and ``amount``, sorted by customer and date. The
        true per-customer ``lambda``, ``p`` and ``nu`` are in ``attrs["truth"]``.
    """
    if n_customers < 1:
        raise DataValidationError(f"n_customers must be at least 1, got {n_customers}")
    if not 0 < acquisition_days <= observation_days:
        raise DataValidationError("need 0 < acquisition_days <= observation_days")
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)  # purchases per week
    drop = rng.beta(a, b, n_customers)
    nu = rng.gamma(q, 1.0 / gamma, n_customers)
    acquired = rng.integers(0, acquisition_days, n_customers).astype(np.float64)

    # Repeat purchases: a Poisson number of events on the remaining window, kept up to the
    # one after which the customer drops out (a geometric number of purchases).
    window = (observation_days - acquired) / 7.0
    n_events = rng.poisson(lam * window)
    n_until_dropout = rng.geometric(drop)
    owner = np.repeat(np.arange(n_customers), n_events)
    times = rng.uniform(0.0, 1.0, owner.size) * window[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(n_events) - n_events, n_events)
    alive = rank < n_until_dropout[owner]
    owner, times = owner[alive], times[alive]

    customer = np.concatenate([np.arange(n_customers), owner])
    day = np.concatenate([acquired, acquired[owner] + np.floor(times * 7.0)])
    spend = rng.gamma(p, 1.0 / nu[customer])
    order = np.lexsort((day, customer))
    log = pd.DataFrame(
        {
            "customer_id": customer[order] + 1,
            "date": np.datetime64(start, "D") + day[order].astype("timedelta64[D]"),
            "amount": np.round(spend[order], 2),
        }
    )
    log["date"] = log["date"].astype("datetime64[ns]")
    log.attrs["truth"] = pd.DataFrame(
        {"customer_id": np.arange(1, n_customers + 1), "lambda": lam, "p": drop, "nu": nu}
    )
    return log
